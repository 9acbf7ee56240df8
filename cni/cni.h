/* SPDX-License-Identifier: Apache-2.0 */
/* podfence-cni: one call of the plugin, and the commands that serve it. */
#ifndef PF_CNI_H
#define PF_CNI_H

#include <jansson.h>

#include "cni_error.h"
#include "cni_netconf.h"
#include "cni_result.h"
#include "netlink_pod.h"

#define PF_CNI_PROGRAM "podfence-cni"

struct pf_cni_call {
	struct pf_cni_env env;
	struct pf_cni_netconf conf;
	struct pf_cni_error err;
	char *output;      /* printed on success (ADD result); NULL: nothing */
	json_t *log;       /* fields the command adds to its call-log line */
};

/* Each returns 0, or -1 with call->err set; nothing half-done is left. */
int cmd_add(struct pf_cni_call *c);
int cmd_del(struct pf_cni_call *c);
int cmd_check(struct pf_cni_call *c);
int cmd_gc(struct pf_cni_call *c);
int cmd_status(struct pf_cni_call *c);

/* The host veth's name for this call's pod. */
int pod_host_ifname(struct pf_cni_call *c, char out[IFNAMSIZ]);
/* The owner tag stored as the host veth's alias: "podfence:<id>/<ifname>". */
void pod_owner_tag(const char *container_id, const char *ifname, char *out, size_t len);
/* Opens CNI_NETNS: a path that does not exist is code 3 (the container is
 * gone), one that is not a network namespace code 4, else code 5. */
int pod_netns_open(struct pf_cni_call *c);
/* Fills the addresses, gateways and routes of s from a result's ips and
 * routes; what does not parse is a `code` error naming `source`. */
int pod_spec_from_result(const struct pf_cni_result *r, struct pf_pod_spec *s,
			 const char *source, int code, struct pf_cni_error *e);

#endif
