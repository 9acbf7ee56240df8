/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a NetworkPolicy's PolicyEndpoint depends on besides the policy
 * itself, so a consumer can rebuild only the PolicyEndpoints a change of
 * the cache can reach (docs/resolver.md):
 *  - the Pods its podSelector selects (its targets) and the Pods its peers'
 *    selectors select (podSelector alone: in its namespace; with a
 *    namespaceSelector: in the namespaces whose labels match);
 *  - with an egress named port: every Pod (any address may be one's);
 *  - with a namespaceSelector: the Namespaces' labels.
 * A Pod change can only change the PolicyEndpoint when its old or its new
 * version is involved; one that changes nothing but the Pod's labels only
 * when a selector of the policy matches one version and not the other (the
 * PolicyEndpoint holds no labels, and named ports and addresses stay); a
 * Namespace change only when the policy has a namespaceSelector.
 */
#ifndef PF_RESOLVER_DEPS_H
#define PF_RESOLVER_DEPS_H

#include <stdbool.h>

#include "k8s_objects.h"

/* Could a Pod of namespace ns with these labels be one of np's targets or
 * peers, given the cache's Namespaces? */
bool pf_netpol_involves_pod(const struct pf_k8s_cache *c, const struct pf_k8s_netpol *np,
			    const char *ns, const struct pf_labels *labels);
/* A Pod of namespace ns whose labels went from was to now, nothing else
 * changing: does a selector of np (its podSelector, a peer's) match one
 * version and not the other? */
bool pf_netpol_relabel_matters(const struct pf_k8s_cache *c, const struct pf_k8s_netpol *np,
			       const char *ns, const struct pf_labels *was,
			       const struct pf_labels *now);
/* Does np's PolicyEndpoint depend on Namespace labels? */
bool pf_netpol_uses_namespace_labels(const struct pf_k8s_netpol *np);

#endif
