// SPDX-License-Identifier: Apache-2.0
#include <string.h>

#include "resolver_deps.h"

static bool pf_ns_labels_match(const struct pf_k8s_cache *c, const char *ns,
			       const struct pf_label_selector *sel)
{
	const struct pf_k8s_namespace *n = pf_k8s_cache_get(c, PF_K8S_NAMESPACE, NULL, ns);
	char *key = PF_K8S_NS_NAME_LABEL, *value = (char *)ns;
	struct pf_labels only_name = { &key, &value, 1 };

	/* As the resolver reads a namespace without its object. */
	return pf_label_selector_matches(sel, n ? &n->labels : &only_name);
}

static bool pf_rule_has_named_port(const struct pf_np_rule *r)
{
	for (size_t k = 0; k < r->n_ports; k++)
		if (r->ports[k].name)
			return true;
	return false;
}

bool pf_netpol_involves_pod(const struct pf_k8s_cache *c, const struct pf_k8s_netpol *np,
			    const char *ns, const struct pf_labels *labels)
{
	if (!strcmp(ns, np->ns) && pf_label_selector_matches(&np->pod_sel, labels))
		return true;
	for (int d = 0; d < 2; d++) {
		for (size_t r = 0; r < np->n_rules[d]; r++) {
			const struct pf_np_rule *rule = &np->rules[d][r];

			/* An egress named port resolves against whatever pod holds an
			 * address the rule reaches. */
			if (d == PF_DIR_EGRESS && pf_rule_has_named_port(rule))
				return true;
			for (size_t k = 0; k < rule->n_peers; k++) {
				const struct pf_np_peer *p = &rule->peers[k];

				if (p->is_ip_block)
					continue;
				if (p->ns_sel ? !pf_ns_labels_match(c, ns, p->ns_sel)
					      : strcmp(ns, np->ns))
					continue;
				if (!p->pod_sel || pf_label_selector_matches(p->pod_sel, labels))
					return true;
			}
		}
	}
	return false;
}

/* Does sel match one of the label sets and not the other? */
static bool pf_sel_differs(const struct pf_label_selector *sel, const struct pf_labels *was,
			   const struct pf_labels *now)
{
	return pf_label_selector_matches(sel, was) != pf_label_selector_matches(sel, now);
}

bool pf_netpol_relabel_matters(const struct pf_k8s_cache *c, const struct pf_k8s_netpol *np,
			       const char *ns, const struct pf_labels *was,
			       const struct pf_labels *now)
{
	if (!strcmp(ns, np->ns) && pf_sel_differs(&np->pod_sel, was, now))
		return true;
	for (int d = 0; d < 2; d++) {
		for (size_t r = 0; r < np->n_rules[d]; r++) {
			const struct pf_np_rule *rule = &np->rules[d][r];

			for (size_t k = 0; k < rule->n_peers; k++) {
				const struct pf_np_peer *p = &rule->peers[k];

				/* ipBlocks and peers without a podSelector do not
				 * look at pod labels */
				if (p->is_ip_block || !p->pod_sel)
					continue;
				if (p->ns_sel ? !pf_ns_labels_match(c, ns, p->ns_sel)
					      : strcmp(ns, np->ns))
					continue;
				if (pf_sel_differs(p->pod_sel, was, now))
					return true;
			}
		}
	}
	return false;
}

bool pf_netpol_uses_namespace_labels(const struct pf_k8s_netpol *np)
{
	for (int d = 0; d < 2; d++)
		for (size_t r = 0; r < np->n_rules[d]; r++)
			for (size_t p = 0; p < np->rules[d][r].n_peers; p++)
				if (np->rules[d][r].peers[p].ns_sel)
					return true;
	return false;
}
