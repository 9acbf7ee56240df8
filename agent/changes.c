// SPDX-License-Identifier: Apache-2.0
/*
 * What changed in the cache, so a reconcile rebuilds only the
 * PolicyEndpoints a change can reach: building all of them for 100 pods and
 * 1,000 policies takes about 120 ms, one of them well under a millisecond.
 * A PolicyEndpoint depends on (docs/resolver.md):
 *  - its NetworkPolicy;
 *  - the Pods its podSelector selects (its targets) and the Pods its peers'
 *    selectors select (podSelector alone: in its namespace; with a
 *    namespaceSelector: in the namespaces whose labels match);
 *  - with an egress named port: every Pod (any address may be one);
 *  - with a namespaceSelector: the Namespaces' labels.
 * So each Pod version that comes or goes (old and new labels) is noted, and
 * a policy is rebuilt when one of those versions is, or was, one of its
 * targets or peers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_parse.h"
#include "log.h"
#include "agent.h"

/* Past this many Pod versions in one reconcile, checking each against
 * every policy costs more than rebuilding them all. */
#define AGENT_MAX_POD_CHANGES 256

static void agent_note_pod(struct agent *a, const char *ns, const struct pf_labels *labels)
{
	struct agent_changes *c = &a->changes;
	struct agent_pod_change *grown;

	if (c->all)
		return;
	if (c->n_pods == AGENT_MAX_POD_CHANGES ||
	    !(grown = realloc(c->pods, (c->n_pods + 1) * sizeof(*grown))))
		goto all;
	c->pods = grown;
	memset(&grown[c->n_pods], 0, sizeof(*grown));
	if (!(grown[c->n_pods].ns = strdup(ns)) ||
	    pf_labels_copy(&grown[c->n_pods].labels, labels)) {
		free(grown[c->n_pods].ns);
		goto all;
	}
	c->n_pods++;
	return;
all:
	c->all = true;
}

static void agent_note_pod_in_cache(struct agent *a, const char *ns, const char *name)
{
	const struct pf_k8s_pod *p = pf_k8s_cache_get(&a->cache, PF_K8S_POD, ns, name);

	if (p)
		agent_note_pod(a, ns, &p->labels);
}

static void agent_note(struct agent *a, enum pf_k8s_kind kind, const char *ns,
		       const char *name)
{
	char key[600];

	if (kind == PF_K8S_NAMESPACE) {
		a->changes.namespaces = true;
	} else if (kind == PF_K8S_NETWORK_POLICY) {
		snprintf(key, sizeof(key), "%s/%s", ns, name);
		if (!a->changes.policies)
			a->changes.policies = json_object();
		if (!a->changes.policies ||
		    json_object_set_new(a->changes.policies, key, json_true()))
			a->changes.all = true;
	}
	/* PolicyEndpoints in a dir: source are cached but not enforced: this
	 * agent resolves the NetworkPolicies itself. */
}

int agent_cache_apply(struct agent *a, json_t *obj, enum pf_k8s_kind *kind_out, char *err,
		      size_t err_len)
{
	char *ns = NULL, *name = NULL, why[256];
	enum pf_k8s_kind kind;
	bool named;
	int rc = pf_k8s_kind_of(obj, &kind, err, err_len);

	if (rc)
		return rc;
	if (kind_out)
		*kind_out = kind;
	/* The identity, to note what the new version replaces (an object whose
	 * metadata is bad is refused by the apply anyway). */
	named = !pf_k8s_meta(obj, kind != PF_K8S_NAMESPACE, &ns, &name, why, sizeof(why));
	if (named && kind == PF_K8S_POD)
		agent_note_pod_in_cache(a, ns, name);
	rc = pf_k8s_cache_apply(&a->cache, obj, NULL, err, err_len);
	if (!rc && named && kind == PF_K8S_POD)
		agent_note_pod_in_cache(a, ns, name);
	else if (!rc && named)
		agent_note(a, kind, ns, name);
	free(ns);
	free(name);
	return rc;
}

int agent_cache_delete(struct agent *a, enum pf_k8s_kind kind, const char *ns,
		       const char *name)
{
	if (kind == PF_K8S_POD)
		agent_note_pod_in_cache(a, ns, name);
	if (pf_k8s_cache_delete(&a->cache, kind, ns, name))
		return -ENOENT;
	agent_note(a, kind, ns, name);
	return 0;
}

static bool agent_ns_matches(const struct pf_k8s_cache *c, const char *ns,
			     const struct pf_label_selector *sel)
{
	const struct pf_k8s_namespace *n = pf_k8s_cache_get(c, PF_K8S_NAMESPACE, NULL, ns);
	char *key = PF_K8S_NS_NAME_LABEL, *value = (char *)ns;
	struct pf_labels only_name = { &key, &value, 1 };

	return pf_label_selector_matches(sel, n ? &n->labels : &only_name);
}

/* Is a Pod with these labels in ns one of np's targets or peers? */
static bool agent_np_involves(const struct pf_k8s_cache *c, const struct pf_k8s_netpol *np,
			      const struct agent_pod_change *pod)
{
	if (!strcmp(pod->ns, np->ns) && pf_label_selector_matches(&np->pod_sel, &pod->labels))
		return true;
	for (int d = 0; d < 2; d++) {
		for (size_t r = 0; r < np->n_rules[d]; r++) {
			const struct pf_np_rule *rule = &np->rules[d][r];

			for (size_t k = 0; d == PF_DIR_EGRESS && k < rule->n_ports; k++)
				if (rule->ports[k].name)
					return true; /* any address may be a named port's pod */
			for (size_t k = 0; k < rule->n_peers; k++) {
				const struct pf_np_peer *p = &rule->peers[k];

				if (p->is_ip_block)
					continue;
				if (p->ns_sel ? !agent_ns_matches(c, pod->ns, p->ns_sel)
					      : strcmp(pod->ns, np->ns))
					continue;
				if (!p->pod_sel || pf_label_selector_matches(p->pod_sel, &pod->labels))
					return true;
			}
		}
	}
	return false;
}

static bool agent_np_has_ns_selector(const struct pf_k8s_netpol *np)
{
	for (int d = 0; d < 2; d++)
		for (size_t r = 0; r < np->n_rules[d]; r++)
			for (size_t p = 0; p < np->rules[d][r].n_peers; p++)
				if (np->rules[d][r].peers[p].ns_sel)
					return true;
	return false;
}

bool agent_changes_reach(const struct agent *a, const struct pf_k8s_netpol *np,
			 const char *key)
{
	const struct agent_changes *c = &a->changes;

	if (c->all || json_object_get(c->policies, key))
		return true;
	if (c->namespaces && agent_np_has_ns_selector(np))
		return true;
	for (size_t i = 0; i < c->n_pods; i++)
		if (agent_np_involves(&a->cache, np, &c->pods[i]))
			return true;
	return false;
}

void agent_changes_reset(struct agent_changes *c)
{
	for (size_t i = 0; i < c->n_pods; i++) {
		free(c->pods[i].ns);
		pf_labels_free(&c->pods[i].labels);
	}
	free(c->pods);
	json_decref(c->policies);
	memset(c, 0, sizeof(*c));
}
