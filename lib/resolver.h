/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The resolver: networking.k8s.io/v1 NetworkPolicy semantics, in two steps.
 *
 * 1. pf_resolve_netpol: a NetworkPolicy plus the cache's Pods and Namespaces
 *    to its PolicyEndpoint (what the controller publishes): the pods it
 *    selects, its isolation, its peers as CIDRs with ports.
 * 2. pf_resolve_pod_spec: the PolicyEndpoints that select one pod to that
 *    pod's policy set (struct pf_policy_spec, what the datapath compiles),
 *    with ingress named ports resolved against the pod's own ports. This
 *    needs nothing but PolicyEndpoints, so an agent that only watches them
 *    can enforce.
 *
 * The rules implemented, clause by clause, are in docs/resolver.md.
 */
#ifndef PF_RESOLVER_H
#define PF_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>

#include "k8s_objects.h"
#include "policy_endpoint.h"
#include "policy_spec.h"

/* Fills out (which the caller frees with pf_policy_endpoint_free). The
 * PolicyEndpoint takes the policy's namespace and name. */
int pf_resolve_netpol(const struct pf_k8s_cache *c, const struct pf_k8s_netpol *np,
		      struct pf_policy_endpoint *out, char *err, size_t err_len);

/*
 * The policy set of pod ns/name from the PolicyEndpoints pes (any order; those
 * that do not select the pod are skipped). A direction is PF_ISO_ISOLATED when
 * a PolicyEndpoint selecting the pod lists it in podIsolation; otherwise
 * PF_ISO_OPEN when pod_known (the pod exists and no policy isolates it) and
 * PF_ISO_UNKNOWN when not (the node's default mode decides). The result is in
 * canonical order (pf_policy_spec_canonicalize), so pods with the same rules
 * get equal specs and equal keys.
 */
int pf_resolve_pod_spec(const struct pf_policy_endpoint *const *pes, size_t n,
			const char *ns, const char *name, bool pod_known,
			struct pf_policy_spec *out, char *err, size_t err_len);

/* The same, from the PolicyEndpoints held in the cache (an agent that watches
 * PolicyEndpoints and its node's Pods); the pod is known when its Pod object
 * is in the cache. */
int pf_resolve_pod_spec_from_cache(const struct pf_k8s_cache *c, const char *ns,
				   const char *name, struct pf_policy_spec *out, char *err,
				   size_t err_len);

#endif
