/* SPDX-License-Identifier: Apache-2.0 */
/* JSON requests to podfence-ipamd and podfence-agent over their unix
 * sockets (the contracts in docs/cni.md), failures turned into CNI errors. */
#ifndef PF_CNI_RPC_H
#define PF_CNI_RPC_H

#include <stdbool.h>
#include <jansson.h>

#include "cni.h"

/* One request; req may be NULL (GET). On success *reply is the decoded JSON
 * body of a 2xx answer. Failures: code 11 when the daemon cannot be reached
 * or answers 503 (try again later), code 100 for any other refusal or a
 * reply that is not JSON, code 5 for other I/O errors. */
int rpc_call(const char *daemon, const char *socket, const char *method, const char *path,
	     json_t *req, long timeout_ms, json_t **reply, struct pf_cni_error *e);

/* The same call in two steps, so that the plugin can work while the daemon
 * answers: rpc_send sends (0, or -1 with e set as above), rpc_receive reads
 * the reply (as above) and must follow every successful rpc_send. */
struct rpc_pending {
	const char *daemon, *socket, *method, *path;
	struct pf_http_exchange *http;
};
int rpc_send(const char *daemon, const char *socket, const char *method, const char *path,
	     json_t *req, long timeout_ms, struct rpc_pending *out, struct pf_cni_error *e);
int rpc_receive(struct rpc_pending *p, json_t **reply, struct pf_cni_error *e);

struct ipamd_assignment {
	char container_id[PF_CNI_ID_MAX];
	char ifname[IFNAMSIZ];
	char ipv4[48]; /* bare address; "" when the reply has none */
};

/* POST /v1/add-network: fills r's ips (gateway set, no interface yet) and
 * routes, and *strict with the node's network policy mode. */
int ipamd_add_network(const struct pf_cni_call *c, struct pf_cni_result *r, bool *strict,
		      struct pf_cni_error *e);
/* POST /v1/del-network; *released and ipv4 (may be "") say what was freed. */
int ipamd_del_network(const char *socket, const char *container_id, const char *ifname,
		      bool *released, char *ipv4, size_t ipv4_len, struct pf_cni_error *e);
/* The same in two steps (rpc_send, rpc_receive). */
int ipamd_del_network_send(const char *socket, const char *container_id, const char *ifname,
			   struct rpc_pending *out, struct pf_cni_error *e);
int ipamd_del_network_receive(struct rpc_pending *p, bool *released, char *ipv4,
			      size_t ipv4_len, struct pf_cni_error *e);
/* GET /v1/assignments (malloc'd array). */
int ipamd_list_assignments(const char *socket, struct ipamd_assignment **out, size_t *n,
			   struct pf_cni_error *e);
/* GET /v1/health: 0 when ipamd answers {"status": "ok"}. */
int ipamd_health(const char *socket, struct pf_cni_error *e);

/* POST /v1/enforce-pod: 0 once the agent answers {"enforced": true}. */
int agent_enforce_pod(const struct pf_cni_call *c, const char *host_ifname,
		      const struct pf_cni_result *r, struct pf_cni_error *e);

/* POST /v1/release-pod, best effort: a failure is only logged. */
void agent_release_pod(const struct pf_cni_call *c);

#endif
