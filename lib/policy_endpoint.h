/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PolicyEndpoint (podfence.io/v1alpha1): one NetworkPolicy resolved against
 * the pods and namespaces of the moment, the shape the controller publishes
 * and the agent enforces (close to the AWS network policy controller's):
 *
 *   spec:
 *     policyRef: {name, namespace}
 *     podSelector: {...}                 the policy's, as written
 *     podSelectorEndpoints:              the pods the policy applies to
 *     - {name, namespace, podIP, podIPs: [...],
 *        namedPorts: [{name, protocol, port}]}
 *     podIsolation: [Ingress, Egress]    its policyTypes
 *     ingress: [{cidr, except: [...], ports: [{protocol, port, endPort} | {protocol, name}]}]
 *     egress:  [{cidr, except: [...], ports: [{protocol, port, endPort}]}]
 *
 * Named ports: an ingress named port depends on the target pod, so ingress
 * ports keep the name and each endpoint carries the named container ports
 * the policy refers to; whoever enforces resolves the name against the
 * target's own list (name and protocol must both match). An egress named
 * port depends on the peer, so it is resolved here, per peer address: egress
 * entries only hold numbers. Either way a PolicyEndpoint is enough, on its
 * own, to build a pod's rules (see resolver.h). See docs/resolver.md.
 */
#ifndef PF_POLICY_ENDPOINT_H
#define PF_POLICY_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "podfence_abi.h"
#include "cidr.h"
#include "k8s_objects.h"
#include "label_selector.h"

#define PF_PE_API_VERSION "podfence.io/v1alpha1"

struct pf_pe_port {
	uint8_t proto;
	uint16_t port;     /* 0 (and no name): every port of proto */
	uint16_t end_port; /* == port for a single port */
	char *name;        /* ingress: a named port of the target pod */
};

struct pf_pe_rule {
	struct pf_cidr cidr;
	struct pf_cidr *except;
	size_t n_except;
	struct pf_pe_port *ports; /* none: every port and protocol */
	size_t n_ports;
};

struct pf_pe_named_port {
	char *name;
	uint8_t proto;
	uint16_t port;
};

struct pf_pe_endpoint {
	char *ns, *name;
	struct pf_cidr *ips; /* may be none: the pod has no address yet */
	size_t n_ips;
	struct pf_pe_named_port *named_ports; /* those the ingress rules name */
	size_t n_named_ports;
};

struct pf_policy_endpoint {
	char *ns, *name;                /* the PolicyEndpoint's own */
	char *policy_ns, *policy_name;  /* spec.policyRef */
	struct pf_label_selector pod_sel;
	struct pf_pe_endpoint *endpoints; /* sorted by namespace/name */
	size_t n_endpoints;
	bool isolation[2];              /* by enum pf_dir */
	struct pf_pe_rule *rules[2];
	size_t n_rules[2];
};

/* Reads and validates a PolicyEndpoint object; errors name it and the field. */
int pf_policy_endpoint_from_json(json_t *obj, struct pf_policy_endpoint *out, char *err,
				 size_t err_len);
json_t *pf_policy_endpoint_to_json(const struct pf_policy_endpoint *pe);
void pf_policy_endpoint_free(struct pf_policy_endpoint *pe);

/* The endpoint entry for pod ns/name, or NULL when pe does not select it. */
const struct pf_pe_endpoint *pf_policy_endpoint_find(const struct pf_policy_endpoint *pe,
						     const char *ns, const char *name);

/* One PolicyEndpoint per NetworkPolicy in the cache, in the cache's order
 * (namespace/name): *out is an array of n pointers. */
int pf_policy_endpoints_build(const struct pf_k8s_cache *c, struct pf_policy_endpoint ***out,
			      size_t *n, char *err, size_t err_len);
void pf_policy_endpoints_free(struct pf_policy_endpoint **pes, size_t n);

#endif
