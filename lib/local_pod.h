/* SPDX-License-Identifier: Apache-2.0 */
/* A pod on this node as the CNI plugin reported it (POST /v1/enforce-pod):
 * who it is, its host-side veth and its addresses, and the policy set its
 * veth is bound to. JSON both ways, for the agent's state file and its API:
 *   {"namespace": "x", "name": "a", "container_id": "...", "ifname": "eth0",
 *    "host_veth": "pf1234567890a", "ifindex": 7, "ipv4": "10.244.1.5",
 *    "ipv6": "fd00::5", "policy_set": 3}            (ipv4/ipv6 when known) */
#ifndef PF_LOCAL_POD_H
#define PF_LOCAL_POD_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "cidr.h"

#define PF_LOCAL_POD_MAX_ID 255 /* container ids, as ipamd accepts them */

struct pf_local_pod {
	char *ns, *name, *container_id, *ifname;
	char host_veth[IFNAMSIZ];
	int ifindex;
	struct pf_cidr ips[2]; /* host prefixes, IPv4 first */
	size_t n_ips;
	uint32_t set_id;       /* the set its veth is bound to, 0 for none */
};

/* Reads one pod; errors name the field (path prefixes them, e.g.
 * "pods[2]"). Reading the API's request uses the same field names with
 * pod_namespace/pod_name: see pf_local_pod_from_request. */
int pf_local_pod_from_json(json_t *j, const char *path, struct pf_local_pod *out, char *err,
			   size_t err_len);
/* The enforce-pod request: {"pod_namespace", "pod_name", "container_id",
 * "ifname" (default eth0), "host_veth", "ipv4", "ipv6"}. */
int pf_local_pod_from_request(json_t *j, struct pf_local_pod *out, char *err, size_t err_len);
json_t *pf_local_pod_to_json(const struct pf_local_pod *p);
/* The address of the given family, or NULL. */
const struct pf_cidr *pf_local_pod_ip(const struct pf_local_pod *p, uint8_t family);
void pf_local_pod_free(struct pf_local_pod *p);

#endif
