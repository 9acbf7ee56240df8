// SPDX-License-Identifier: Apache-2.0
/* dir: PolicyEndpoints, one per NetworkPolicy, rebuilt only where the
 * changes noted by changes.c reach; the local pods a rebuilt (or removed)
 * PolicyEndpoint selected, before or after, have their spec resolved again.
 * kube: the cache's PolicyEndpoints as they are (changes.c touches the pods
 * of those that change). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resolver.h"
#include "agent.h"

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

void agent_endpoint_touch(struct agent *a, const struct pf_policy_endpoint *pe)
{
	for (size_t i = 0; pe && i < pe->n_endpoints; i++) {
		struct agent_pod *p = agent_pod_find(a, pe->endpoints[i].ns, pe->endpoints[i].name);

		if (p)
			p->spec_dirty = true;
	}
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

void agent_policy_list_add(json_t *list, const struct pf_policy_endpoint *pe)
{
	char key[600];
	size_t i;
	json_t *v;

	snprintf(key, sizeof(key), "%s/%s", pe->policy_ns, pe->policy_name);
	json_array_foreach(list, i, v)
		if (!strcmp(json_string_value(v), key))
			return;
	json_array_append_new(list, json_string(key));
}

void agent_endpoints_free(struct agent_endpoints *e)
{
	for (size_t i = 0; !e->borrowed && i < e->n; i++) {
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

int agent_endpoints_view(struct agent *a)
{
	const struct pf_k8s_table *t = &a->cache.t[PF_K8S_POLICY_ENDPOINT];
	struct agent_endpoints *e = &a->pes;

	agent_endpoints_free(e);
	e->borrowed = true;
	e->keys = calloc(t->n + 1, sizeof(*e->keys));
	e->pes = calloc(t->n + 1, sizeof(*e->pes));
	if (!e->keys || !e->pes) {
		/* Empty rather than stale: the old pointers may be freed. */
		agent_endpoints_free(e);
		e->borrowed = e->broken = true;
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->n; i++) {
		e->keys[i] = t->e[i].key;
		e->pes[i] = t->e[i].obj;
	}
	e->n = t->n;
	return 0;
}

/* kube: nothing to build; a view that could not be made is tried again,
 * and the reconcile fails (changing nothing) while it cannot. */
static int agent_endpoints_kube(struct agent *a, char *err, size_t err_len)
{
	if (a->pes.broken && agent_endpoints_view(a)) {
		snprintf(err, err_len, "PolicyEndpoints: out of memory");
		return -ENOMEM;
	}
	pf_cache_changes_reset(&a->changes);
	return 0;
}

int agent_endpoints_update(struct agent *a, char *err, size_t err_len)
{
	const struct pf_k8s_table *t = &a->cache.t[PF_K8S_NETWORK_POLICY];
	struct agent_endpoints next = { 0 };
	bool *fresh;
	size_t rebuilt = 0;
	int rc = 0;

	if (a->cfg.source == AGENT_SOURCE_KUBE)
		return agent_endpoints_kube(a, err, err_len);
	fresh = calloc(t->n + 1, sizeof(*fresh)); /* built in this update */
	next.keys = calloc(t->n + 1, sizeof(*next.keys));
	next.pes = calloc(t->n + 1, sizeof(*next.pes));
	if (!next.keys || !next.pes || !fresh) {
		free(next.keys);
		free(next.pes);
		free(fresh);
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
		if (old >= 0 &&
		    !pf_cache_changes_reach(&a->changes, &a->cache, np, t->e[i].key)) {
			next.pes[i] = a->pes.pes[old];
			a->pes.pes[old] = NULL;
			continue;
		}
		fresh[i] = true;
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
		free(fresh);
		return rc;
	}
	/* What is left of the old list was rebuilt or removed; the new list's
	 * rebuilt entries are those not taken over. */
	for (size_t i = 0; i < a->pes.n; i++)
		agent_endpoint_touch(a, a->pes.pes[i]);
	for (size_t i = 0; i < next.n; i++)
		if (fresh[i])
			agent_endpoint_touch(a, next.pes[i]);
	free(fresh);
	agent_endpoints_free(&a->pes);
	a->pes = next;
	if (rebuilt)
		pf_debug("rebuilt %zu of %zu PolicyEndpoints", rebuilt, t->n);
	pf_cache_changes_reset(&a->changes);
	return 0;
}
