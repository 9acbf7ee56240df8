/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a CNI runtime hands podfence-cni: the CNI_* environment and the
 * network configuration on stdin (CNI SPEC.md, sections 1 and 2). Parsing
 * checks every field the plugin relies on and fails with the spec's error
 * code and a message naming the variable or field at fault:
 *   4 for the environment, 6 for JSON that does not decode, 7 for a field
 *   that is missing or has the wrong type or value, 1 for a cniVersion the
 *   plugin does not speak or that does not have the command.
 */
#ifndef PF_CNI_NETCONF_H
#define PF_CNI_NETCONF_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "cni_error.h"

#define PF_CNI_DEFAULT_IPAMD_SOCKET "/run/podfence/ipamd.sock"
#define PF_CNI_DEFAULT_AGENT_SOCKET "/run/podfence/agent.sock"
#define PF_CNI_DEFAULT_VETH_PREFIX "pf"
#define PF_CNI_DEFAULT_MTU 1500
#define PF_CNI_DEFAULT_LOG_FILE "/var/log/podfence/plugin.log"

/* A container id is stored with the interface name as the host veth's alias
 * (IFALIASZ is 256 with the NUL), so it is held to 200 characters. */
#define PF_CNI_ID_MAX 201
#define PF_CNI_PATH_MAX 512
#define PF_CNI_K8S_NAME_MAX 254 /* a DNS subdomain: 253 characters */
#define PF_CNI_VETH_PREFIX_MAX 4 /* + 11 hex characters = IFNAMSIZ - 1 */

enum pf_cni_cmd {
	PF_CNI_CMD_ADD,
	PF_CNI_CMD_DEL,
	PF_CNI_CMD_CHECK,
	PF_CNI_CMD_VERSION,
	PF_CNI_CMD_GC,
	PF_CNI_CMD_STATUS,
};

/* Spec versions this plugin speaks, oldest first. */
#define PF_CNI_N_VERSIONS 5
extern const char *const pf_cni_versions[PF_CNI_N_VERSIONS];
#define PF_CNI_LATEST_VERSION "1.1.0"

/* Index of v in pf_cni_versions, or -1. */
int pf_cni_version_index(const char *v);
/* True when v (a supported version) is at least min. */
bool pf_cni_version_at_least(const char *v, const char *min);

const char *pf_cni_command_name(enum pf_cni_cmd cmd);

struct pf_cni_env {
	enum pf_cni_cmd cmd;
	char container_id[PF_CNI_ID_MAX];
	char netns[PF_CNI_PATH_MAX]; /* "" when not given (DEL may omit it) */
	char ifname[IFNAMSIZ];
	/* From CNI_ARGS K8S_POD_NAMESPACE and K8S_POD_NAME. Runtimes that do
	 * not send them (podman sends only K8S_POD_NAME) get "default" and the
	 * container id, so every sandbox still has a distinct identity. */
	char pod_namespace[PF_CNI_K8S_NAME_MAX];
	char pod_name[PF_CNI_K8S_NAME_MAX];
};

/* Reads the CNI_* variables from envp (a NULL-terminated "NAME=value"
 * array, such as environ) and checks the ones the command requires. On
 * failure env is all zero. */
int pf_cni_env_parse(char *const *envp, struct pf_cni_env *env, struct pf_cni_error *e);

/* One entry of cni.dev/valid-attachments (GC). */
struct pf_cni_attachment {
	char container_id[PF_CNI_ID_MAX];
	char ifname[IFNAMSIZ];
};

struct pf_cni_netconf {
	char cni_version[8];
	char name[256];
	char type[256];
	char ipamd_socket[108]; /* sizeof(sun_path) */
	char agent_socket[108];
	char veth_prefix[PF_CNI_VETH_PREFIX_MAX + 1];
	int mtu;
	char log_file[PF_CNI_PATH_MAX];
	int log_level; /* enum pf_log_level */
	json_t *prev_result; /* a reference, NULL when absent */
	struct pf_cni_attachment *valid; /* GC only */
	size_t n_valid;
};

/* Parses the network configuration for cmd (anything but VERSION). Keys the
 * plugin does not know are ignored: runtimes add their own (runtimeConfig,
 * args, capabilities). */
int pf_cni_netconf_parse(const char *text, size_t len, enum pf_cni_cmd cmd,
			 struct pf_cni_netconf *conf, struct pf_cni_error *e);
void pf_cni_netconf_free(struct pf_cni_netconf *conf);

/* Where a call's log goes, read leniently from stdin whatever the outcome
 * of the full parse (so calls with a bad field are logged too): "logFile"
 * when it is an absolute path that fits, else the default; "logLevel" when
 * it is known, else info. False when the text is not a JSON object: the
 * log then goes to stderr. */
bool pf_cni_request_log(const char *text, size_t len, char *path, size_t path_len, int *level);

/* The cniVersion a VERSION request asks about, when its stdin carries one
 * this plugin supports; else PF_CNI_LATEST_VERSION. Never fails. */
const char *pf_cni_request_version(const char *text, size_t len);

#endif
