// SPDX-License-Identifier: Apache-2.0
/* The object cache: per kind, entries sorted by key ("ns/name") so lookups
 * are binary searches and every walk over the cache is in a stable order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_parse.h"
#include "policy_endpoint.h"

struct pf_k8s_ops {
	size_t size;
	int (*parse)(json_t *obj, void *out, char *err, size_t err_len);
	void (*free)(void *obj);
	const char *(*ns)(const void *obj);
	const char *(*name)(const void *obj);
};

static int pf_ns_parse(json_t *o, void *out, char *e, size_t l)
{
	return pf_k8s_namespace_from_json(o, out, e, l);
}
static int pf_pod_parse(json_t *o, void *out, char *e, size_t l)
{
	return pf_k8s_pod_from_json(o, out, e, l);
}
static int pf_np_parse(json_t *o, void *out, char *e, size_t l)
{
	return pf_k8s_netpol_from_json(o, out, e, l);
}
static int pf_pe_parse(json_t *o, void *out, char *e, size_t l)
{
	return pf_policy_endpoint_from_json(o, out, e, l);
}
static void pf_ns_free(void *o)
{
	pf_k8s_namespace_free(o);
}
static void pf_pod_free(void *o)
{
	pf_k8s_pod_free(o);
}
static void pf_np_free(void *o)
{
	pf_k8s_netpol_free(o);
}
static void pf_pe_free(void *o)
{
	pf_policy_endpoint_free(o);
}
static const char *pf_no_ns(const void *o)
{
	(void)o;
	return NULL;
}
static const char *pf_ns_name(const void *o)
{
	return ((const struct pf_k8s_namespace *)o)->name;
}
static const char *pf_pod_ns(const void *o)
{
	return ((const struct pf_k8s_pod *)o)->ns;
}
static const char *pf_pod_name(const void *o)
{
	return ((const struct pf_k8s_pod *)o)->name;
}
static const char *pf_np_ns(const void *o)
{
	return ((const struct pf_k8s_netpol *)o)->ns;
}
static const char *pf_np_name(const void *o)
{
	return ((const struct pf_k8s_netpol *)o)->name;
}
static const char *pf_pe_ns(const void *o)
{
	return ((const struct pf_policy_endpoint *)o)->ns;
}
static const char *pf_pe_name(const void *o)
{
	return ((const struct pf_policy_endpoint *)o)->name;
}

static const struct pf_k8s_ops pf_k8s_ops[PF_K8S_KIND_COUNT] = {
	[PF_K8S_NAMESPACE] = { sizeof(struct pf_k8s_namespace), pf_ns_parse, pf_ns_free,
			       pf_no_ns, pf_ns_name },
	[PF_K8S_POD] = { sizeof(struct pf_k8s_pod), pf_pod_parse, pf_pod_free, pf_pod_ns,
			 pf_pod_name },
	[PF_K8S_NETWORK_POLICY] = { sizeof(struct pf_k8s_netpol), pf_np_parse, pf_np_free,
				    pf_np_ns, pf_np_name },
	[PF_K8S_POLICY_ENDPOINT] = { sizeof(struct pf_policy_endpoint), pf_pe_parse, pf_pe_free,
				     pf_pe_ns, pf_pe_name },
};

void pf_k8s_cache_init(struct pf_k8s_cache *c)
{
	memset(c, 0, sizeof(*c));
}

void pf_k8s_cache_free(struct pf_k8s_cache *c)
{
	for (int k = 0; k < PF_K8S_KIND_COUNT; k++) {
		for (size_t i = 0; i < c->t[k].n; i++) {
			pf_k8s_ops[k].free(c->t[k].e[i].obj);
			free(c->t[k].e[i].obj);
			free(c->t[k].e[i].key);
		}
		free(c->t[k].e);
	}
	memset(c, 0, sizeof(*c));
}

static char *pf_k8s_key(const char *ns, const char *name)
{
	char *k;

	if (!ns)
		return strdup(name);
	return asprintf(&k, "%s/%s", ns, name) < 0 ? NULL : k;
}

/* Index of key, or where it would go. */
static size_t pf_table_find(const struct pf_k8s_table *t, const char *key, bool *found)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int d = strcmp(t->e[mid].key, key);

		if (!d) {
			*found = true;
			return mid;
		}
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static int pf_table_put(struct pf_k8s_table *t, enum pf_k8s_kind kind, char *key, void *obj)
{
	bool found;
	size_t i = pf_table_find(t, key, &found);

	if (found) {
		pf_k8s_ops[kind].free(t->e[i].obj);
		free(t->e[i].obj);
		free(key);
		t->e[i].obj = obj;
		return 0;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct pf_k8s_entry *e = realloc(t->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		t->e = e;
		t->cap = cap;
	}
	memmove(&t->e[i + 1], &t->e[i], (t->n - i) * sizeof(*t->e));
	t->e[i] = (struct pf_k8s_entry){ key, obj };
	t->n++;
	return 0;
}

int pf_k8s_cache_apply(struct pf_k8s_cache *c, json_t *obj, enum pf_k8s_kind *kind_out,
		       char *err, size_t err_len)
{
	const struct pf_k8s_ops *ops;
	enum pf_k8s_kind kind;
	char *key;
	void *o;
	int rc;

	rc = pf_k8s_kind_of(obj, &kind, err, err_len);
	if (rc)
		return rc;
	if (kind_out)
		*kind_out = kind;
	ops = &pf_k8s_ops[kind];
	o = calloc(1, ops->size);
	if (!o) {
		snprintf(err, err_len, "%s: out of memory", pf_k8s_kind_name(kind));
		return -ENOMEM;
	}
	rc = ops->parse(obj, o, err, err_len);
	if (rc) {
		free(o);
		return rc;
	}
	key = pf_k8s_key(ops->ns(o), ops->name(o));
	rc = key ? pf_table_put(&c->t[kind], kind, key, o) : -ENOMEM;
	if (rc) {
		snprintf(err, err_len, "%s %s: out of memory", pf_k8s_kind_name(kind), ops->name(o));
		free(key);
		ops->free(o);
		free(o);
		return rc;
	}
	c->generation++;
	return 0;
}

int pf_k8s_cache_delete(struct pf_k8s_cache *c, enum pf_k8s_kind kind, const char *ns,
			const char *name)
{
	struct pf_k8s_table *t = &c->t[kind];
	char *key = pf_k8s_key(kind == PF_K8S_NAMESPACE ? NULL : ns, name);
	bool found;
	size_t i;

	if (!key)
		return -ENOMEM;
	i = pf_table_find(t, key, &found);
	free(key);
	if (!found)
		return -ENOENT;
	pf_k8s_ops[kind].free(t->e[i].obj);
	free(t->e[i].obj);
	free(t->e[i].key);
	memmove(&t->e[i], &t->e[i + 1], (t->n - i - 1) * sizeof(*t->e));
	t->n--;
	c->generation++;
	return 0;
}

const void *pf_k8s_cache_get(const struct pf_k8s_cache *c, enum pf_k8s_kind kind,
			     const char *ns, const char *name)
{
	char *key = pf_k8s_key(kind == PF_K8S_NAMESPACE ? NULL : ns, name);
	const void *o = NULL;
	bool found;
	size_t i;

	if (!key)
		return NULL;
	i = pf_table_find(&c->t[kind], key, &found);
	if (found)
		o = c->t[kind].e[i].obj;
	free(key);
	return o;
}
