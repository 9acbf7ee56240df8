// SPDX-License-Identifier: Apache-2.0
/* PolicyEndpoints, one per NetworkPolicy, rebuilt only where a change can
 * reach: building all of them for 100 pods and 1,000 policies takes about
 * 120 ms, one of them well under a millisecond. What a PolicyEndpoint
 * depends on (docs/resolver.md):
 *  - its NetworkPolicy;
 *  - the Pods of its own namespace (targets, podSelector-only peers);
 *  - with a namespaceSelector peer: every Pod and every Namespace's labels;
 *  - with an egress named port: every Pod (any address may be one).
 * So a Pod change rebuilds the policies of its namespace and those with a
 * namespaceSelector or an egress named port; a Namespace change rebuilds
 * those with a namespaceSelector. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resolver.h"
#include "agent.h"

static bool agent_np_has_ns_selector(const struct pf_k8s_netpol *np)
{
	for (int d = 0; d < 2; d++)
		for (size_t r = 0; r < np->n_rules[d]; r++)
			for (size_t p = 0; p < np->rules[d][r].n_peers; p++)
				if (np->rules[d][r].peers[p].ns_sel)
					return true;
	return false;
}

static bool agent_np_has_egress_named_port(const struct pf_k8s_netpol *np)
{
	for (size_t r = 0; r < np->n_rules[PF_DIR_EGRESS]; r++)
		for (size_t p = 0; p < np->rules[PF_DIR_EGRESS][r].n_ports; p++)
			if (np->rules[PF_DIR_EGRESS][r].ports[p].name)
				return true;
	return false;
}

static bool agent_endpoint_stale(const struct agent_changes *c, const struct pf_k8s_netpol *np,
				 const char *key)
{
	bool ns_sel;

	if (c->all || json_object_get(c->policies, key))
		return true;
	ns_sel = agent_np_has_ns_selector(np);
	if (c->namespaces && ns_sel)
		return true;
	return c->pods && (json_object_get(c->pod_namespaces, np->ns) || ns_sel ||
			   agent_np_has_egress_named_port(np));
}

/* Index of key in the (sorted) current list, or -1. */
static long agent_endpoint_index(const struct agent_endpoints *e, const char *key)
{
	size_t lo = 0, hi = e->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int d = strcmp(e->keys[mid], key);

		if (!d)
			return (long)mid;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

const struct pf_policy_endpoint *agent_endpoint_find(const struct agent *a, const char *ns,
						     const char *name)
{
	char key[600];
	long i;

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	i = agent_endpoint_index(&a->pes, key);
	return i < 0 ? NULL : a->pes.pes[i];
}

void agent_endpoints_free(struct agent_endpoints *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->keys[i]);
		if (e->pes[i]) {
			pf_policy_endpoint_free(e->pes[i]);
			free(e->pes[i]);
		}
	}
	free(e->keys);
	free(e->pes);
	memset(e, 0, sizeof(*e));
}

int agent_endpoints_update(struct agent *a, char *err, size_t err_len)
{
	const struct pf_k8s_table *t = &a->cache.t[PF_K8S_NETWORK_POLICY];
	struct agent_endpoints next = { 0 };
	size_t rebuilt = 0;
	int rc = 0;

	next.keys = calloc(t->n + 1, sizeof(*next.keys));
	next.pes = calloc(t->n + 1, sizeof(*next.pes));
	if (!next.keys || !next.pes) {
		free(next.keys);
		free(next.pes);
		snprintf(err, err_len, "PolicyEndpoints: out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->n && !rc; i++, next.n++) {
		const struct pf_k8s_netpol *np = t->e[i].obj;
		long old = agent_endpoint_index(&a->pes, t->e[i].key);

		if (!(next.keys[i] = strdup(t->e[i].key))) {
			snprintf(err, err_len, "PolicyEndpoints: out of memory");
			rc = -ENOMEM;
			break;
		}
		if (old >= 0 && !agent_endpoint_stale(&a->changes, np, t->e[i].key)) {
			next.pes[i] = a->pes.pes[old];
			a->pes.pes[old] = NULL;
			continue;
		}
		next.pes[i] = calloc(1, sizeof(*next.pes[i]));
		rc = next.pes[i] ? pf_resolve_netpol(&a->cache, np, next.pes[i], err, err_len)
				 : -ENOMEM;
		if (rc) {
			free(next.pes[i]);
			next.pes[i] = NULL;
			if (rc == -ENOMEM)
				snprintf(err, err_len, "PolicyEndpoints: out of memory");
		}
		rebuilt++;
	}
	if (rc) {
		/* Nothing changes; the same changes are looked at next time. */
		agent_endpoints_free(&next);
		return rc;
	}
	agent_endpoints_free(&a->pes);
	a->pes = next;
	if (rebuilt)
		pf_debug("rebuilt %zu of %zu PolicyEndpoints", rebuilt, t->n);
	agent_changes_reset(&a->changes);
	return 0;
}
