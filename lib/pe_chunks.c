// SPDX-License-Identifier: Apache-2.0
/* Splitting a PolicyEndpoint object into (endpoint chunk) x (rule chunk)
 * objects small enough for the API server. See pe_chunks.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pe_chunks.h"

/* Buckets per dimension at most: far more than any policy needs (a
 * 900 kB chunk holds thousands of endpoints), and a bound on the search. */
#define PF_PE_MAX_BUCKETS (1u << 16)

static const char *const pf_rule_keys[2] = { "ingress", "egress" };

/* FNV-1a, then the splitmix64 finalizer so that the low bits (the bucket)
 * depend on every input byte. Fixed forever: names and layouts derive from
 * it, and a change would rewrite every split PolicyEndpoint. */
static uint64_t pf_fnv(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t pf_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

#define PF_FNV_INIT 0xcbf29ce484222325ULL

void pf_k8s_name_fit(const char *name, size_t max, char *buf)
{
	size_t n = strlen(name), keep;

	if (n <= max) {
		memcpy(buf, name, n + 1);
		return;
	}
	keep = max > 9 ? max - 9 : 0;
	while (keep && (name[keep - 1] == '-' || name[keep - 1] == '.'))
		keep--;
	sprintf(buf, "%.*s%s%08x", (int)keep, name, keep ? "-" : "",
		(unsigned)(pf_mix(pf_fnv(PF_FNV_INIT, name)) >> 32));
}

int pf_pe_chunk_name(const char *policy, unsigned e, unsigned n_e, unsigned r, unsigned n_r,
		     char *buf, size_t len)
{
	char suffix[64], fitted[PF_K8S_NAME_MAX + 1];
	int n;

	snprintf(suffix, sizeof(suffix), "-e%uof%u-r%uof%u", e, n_e, r, n_r);
	pf_k8s_name_fit(policy, PF_K8S_NAME_MAX - strlen(suffix), fitted);
	n = snprintf(buf, len, "%s%s", fitted, suffix);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* One endpoint or rule: where it goes and what it costs. */
struct pf_chunk_item {
	json_t *v;
	int dir;        /* the rule's direction; -1 for an endpoint */
	uint64_t hash;
	size_t bytes;   /* compact JSON, plus the comma before it */
};

struct pf_chunk_dim {
	struct pf_chunk_item *it;
	size_t n, biggest;
};

/* A way to cut one dimension: n buckets, the fullest holding max bytes. */
struct pf_chunk_cut {
	unsigned n, nonempty;
	size_t max;
};

static uint64_t pf_endpoint_hash(json_t *ep)
{
	const char *ns = json_string_value(json_object_get(ep, "namespace"));
	const char *name = json_string_value(json_object_get(ep, "name"));

	return pf_mix(pf_fnv(pf_fnv(pf_fnv(PF_FNV_INIT, ns ? ns : ""), "/"), name ? name : ""));
}

/* A rule is one peer (after merging): its direction, cidr and excepts. */
static uint64_t pf_rule_hash(int dir, json_t *rule)
{
	const char *cidr = json_string_value(json_object_get(rule, "cidr"));
	uint64_t h = pf_fnv(pf_fnv(PF_FNV_INIT, pf_rule_keys[dir]), "|");
	json_t *ex;
	size_t i;

	h = pf_fnv(h, cidr ? cidr : "");
	json_array_foreach(json_object_get(rule, "except"), i, ex) {
		h = pf_fnv(h, ",");
		h = pf_fnv(h, json_string_value(ex) ? json_string_value(ex) : "");
	}
	return pf_mix(h);
}

static int pf_dim_add(struct pf_chunk_dim *d, json_t *v, int dir)
{
	struct pf_chunk_item *it = &d->it[d->n++];

	it->v = v;
	it->dir = dir;
	it->hash = dir < 0 ? pf_endpoint_hash(v) : pf_rule_hash(dir, v);
	it->bytes = json_dumpb(v, NULL, 0, JSON_COMPACT) + 1;
	if (it->bytes == 1)
		return -ENOMEM;
	if (it->bytes > d->biggest)
		d->biggest = it->bytes;
	return 0;
}

/* The cuts of d into 1, 2, 4 ... buckets, up to the first whose fullest
 * bucket holds the biggest item alone (more buckets cannot do better), or
 * four buckets per item (by then a bucket seldom holds more than two). */
static int pf_dim_cuts(const struct pf_chunk_dim *d, struct pf_chunk_cut *cuts, size_t *n_cuts)
{
	*n_cuts = 0;
	for (unsigned nb = 1; nb <= PF_PE_MAX_BUCKETS; nb *= 2) {
		size_t *fill = calloc(nb, sizeof(*fill));
		struct pf_chunk_cut *c = &cuts[(*n_cuts)++];

		if (!fill)
			return -ENOMEM;
		*c = (struct pf_chunk_cut){ .n = nb };
		for (size_t i = 0; i < d->n; i++)
			fill[d->it[i].hash & (nb - 1)] += d->it[i].bytes;
		for (unsigned b = 0; b < nb; b++) {
			c->nonempty += fill[b] > 0;
			if (fill[b] > c->max)
				c->max = fill[b];
		}
		free(fill);
		if (c->max == d->biggest || nb >= 4 * d->n)
			break;
	}
	return 0;
}

/* obj with every list of spec emptied and no name: what each chunk costs
 * besides its items. */
static int pf_base_bytes(json_t *obj, size_t *out)
{
	json_t *copy = json_copy(obj), *meta = json_copy(json_object_get(obj, "metadata"));
	json_t *spec = json_copy(json_object_get(obj, "spec"));
	int rc = -ENOMEM;

	if (copy && meta && spec && !json_object_set_new(meta, "name", json_string("")) &&
	    !json_object_set_new(spec, "podSelectorEndpoints", json_array()) &&
	    !json_object_set_new(spec, "ingress", json_array()) &&
	    !json_object_set_new(spec, "egress", json_array()) &&
	    !json_object_set(copy, "metadata", meta) && !json_object_set(copy, "spec", spec)) {
		*out = json_dumpb(copy, NULL, 0, JSON_COMPACT) + PF_K8S_NAME_MAX +
		       PF_PE_CHUNK_SLACK;
		rc = 0;
	}
	json_decref(meta);
	json_decref(spec);
	json_decref(copy);
	return rc;
}

static bool pf_in_bucket(const struct pf_chunk_item *it, unsigned b, unsigned n)
{
	return (it->hash & (n - 1)) == b;
}

/* obj's fields, shared, with metadata of its own holding name. */
static json_t *pf_chunk_named(json_t *obj, const char *name)
{
	json_t *c = json_copy(obj), *meta = json_copy(json_object_get(obj, "metadata"));

	if (!c || !meta || json_object_set_new(meta, "name", json_string(name)) ||
	    json_object_set(c, "metadata", meta)) {
		json_decref(c);
		c = NULL;
	}
	json_decref(meta);
	return c;
}

/* Chunk (e, r) of layout (n_e, n_r): obj's fields, shared, with its own
 * name and lists. */
static json_t *pf_chunk_make(json_t *obj, const char *name, const struct pf_chunk_dim *eps,
			     unsigned e, unsigned n_e, const struct pf_chunk_dim *rules,
			     unsigned r, unsigned n_r)
{
	json_t *c = pf_chunk_named(obj, name), *spec = json_copy(json_object_get(obj, "spec"));
	json_t *lists[3] = { json_array(), json_array(), json_array() };
	bool bad = !c || !spec || !lists[0] || !lists[1] || !lists[2];

	for (size_t i = 0; !bad && i < eps->n; i++)
		if (pf_in_bucket(&eps->it[i], e, n_e))
			bad = json_array_append(lists[0], eps->it[i].v) != 0;
	for (size_t i = 0; !bad && i < rules->n; i++)
		if (pf_in_bucket(&rules->it[i], r, n_r))
			bad = json_array_append(lists[1 + rules->it[i].dir], rules->it[i].v) != 0;
	bad = bad || json_object_set(spec, "podSelectorEndpoints", lists[0]) ||
	      json_object_set(spec, "ingress", lists[1]) ||
	      json_object_set(spec, "egress", lists[2]) || json_object_set(c, "spec", spec);
	for (int i = 0; i < 3; i++)
		json_decref(lists[i]);
	json_decref(spec);
	if (bad) {
		json_decref(c);
		return NULL;
	}
	return c;
}

static int pf_chunks_emit(json_t *obj, const char *policy, const struct pf_chunk_dim *eps,
			  const struct pf_chunk_cut *ce, const struct pf_chunk_dim *rules,
			  const struct pf_chunk_cut *cr, json_t *out)
{
	char name[PF_K8S_NAME_MAX + 1];

	for (unsigned e = 0; e < ce->n; e++) {
		bool has_ep = ce->n == 1;

		for (size_t i = 0; !has_ep && i < eps->n; i++)
			has_ep = pf_in_bucket(&eps->it[i], e, ce->n);
		if (!has_ep)
			continue;
		for (unsigned r = 0; r < cr->n; r++) {
			bool has_rule = cr->n == 1;
			json_t *c;

			for (size_t i = 0; !has_rule && i < rules->n; i++)
				has_rule = pf_in_bucket(&rules->it[i], r, cr->n);
			if (!has_rule)
				continue;
			if (pf_pe_chunk_name(policy, e + 1, ce->n, r + 1, cr->n, name, sizeof(name)))
				return -ENAMETOOLONG;
			c = pf_chunk_make(obj, name, eps, e, ce->n, rules, r, cr->n);
			if (!c || json_array_append_new(out, c))
				return -ENOMEM;
		}
	}
	return 0;
}

/* The cut pair with the fewest objects that fits; on a tie the fewest rule
 * chunks (each pod is listed in one object per rule chunk). */
static bool pf_choose(const struct pf_chunk_cut *ce, size_t n_ce, const struct pf_chunk_cut *cr,
		      size_t n_cr, size_t room, const struct pf_chunk_cut **be,
		      const struct pf_chunk_cut **br)
{
	size_t best = SIZE_MAX;

	for (size_t r = 0; r < n_cr; r++) {
		for (size_t e = 0; e < n_ce; e++) {
			size_t objects = (size_t)(ce[e].nonempty ? ce[e].nonempty : 1) *
					 (cr[r].nonempty ? cr[r].nonempty : 1);

			if (ce[e].max + cr[r].max > room || objects >= best)
				continue;
			best = objects;
			*be = &ce[e];
			*br = &cr[r];
		}
	}
	return best != SIZE_MAX;
}

static int pf_chunk_whole(json_t *obj, const char *policy, json_t *out, char *err,
			  size_t err_len)
{
	char name[PF_K8S_NAME_MAX + 1];
	json_t *c;

	if (pf_pe_chunk_name(policy, 1, 1, 1, 1, name, sizeof(name)) ||
	    !(c = pf_chunk_named(obj, name)) || json_array_append_new(out, c)) {
		snprintf(err, err_len, "PolicyEndpoint of policy %s: out of memory", policy);
		return -ENOMEM;
	}
	return 0;
}

#define PF_MAX_CUTS 18 /* 1, 2, 4 ... PF_PE_MAX_BUCKETS */

int pf_pe_split(json_t *obj, size_t max_bytes, json_t *out, char *err, size_t err_len)
{
	json_t *spec = json_object_get(obj, "spec"), *v;
	json_t *eps_json = json_object_get(spec, "podSelectorEndpoints");
	const char *policy = json_string_value(json_object_get(json_object_get(spec, "policyRef"),
							       "name"));
	struct pf_chunk_cut ce[PF_MAX_CUTS], cr[PF_MAX_CUTS];
	const struct pf_chunk_cut *be = NULL, *br = NULL;
	struct pf_chunk_dim eps = { 0 }, rules = { 0 };
	size_t n_ce = 0, n_cr = 0, base = 0, room, i;
	int rc;

	if (!policy) {
		snprintf(err, err_len, "PolicyEndpoint: spec.policyRef.name is missing");
		return -EINVAL;
	}
	/* Most policies fit in one object: nothing to weigh item by item. */
	if (json_dumpb(obj, NULL, 0, JSON_COMPACT) + PF_K8S_NAME_MAX + PF_PE_CHUNK_SLACK <=
	    max_bytes)
		return pf_chunk_whole(obj, policy, out, err, err_len);
	eps.it = calloc(json_array_size(eps_json) + 1, sizeof(*eps.it));
	rules.it = calloc(json_array_size(json_object_get(spec, "ingress")) +
				  json_array_size(json_object_get(spec, "egress")) + 1,
			  sizeof(*rules.it));
	rc = eps.it && rules.it ? pf_base_bytes(obj, &base) : -ENOMEM;
	json_array_foreach(eps_json, i, v)
		if (!rc)
			rc = pf_dim_add(&eps, v, -1);
	for (int d = 0; d < 2; d++)
		json_array_foreach(json_object_get(spec, pf_rule_keys[d]), i, v)
			if (!rc)
				rc = pf_dim_add(&rules, v, d);
	room = base < max_bytes ? max_bytes - base : 0;
	if (!rc)
		rc = pf_dim_cuts(&eps, ce, &n_ce);
	if (!rc)
		rc = pf_dim_cuts(&rules, cr, &n_cr);
	if (!rc && !pf_choose(ce, n_ce, cr, n_cr, room, &be, &br)) {
		snprintf(err, err_len,
			 "PolicyEndpoint of policy %s: its largest endpoint (%zu bytes) and largest "
			 "rule (%zu bytes) with the rest of the object (%zu bytes) exceed the "
			 "limit of %zu bytes", policy, eps.biggest, rules.biggest, base, max_bytes);
		rc = -E2BIG;
	}
	if (!rc)
		rc = pf_chunks_emit(obj, policy, &eps, be, &rules, br, out);
	if (rc == -ENOMEM || rc == -ENAMETOOLONG)
		snprintf(err, err_len, "PolicyEndpoint of policy %s: %s", policy,
			 rc == -ENOMEM ? "out of memory" : "chunk name too long");
	free(eps.it);
	free(rules.it);
	return rc;
}
