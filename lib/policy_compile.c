// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_compile.h"

/* A candidate prefix and the rules that start or are excepted at it. */
struct pf_candidate {
	struct pf_cidr prefix;
	uint32_t rule;
	int is_except;
};

static int pf_candidate_cmp(const void *a, const void *b)
{
	const struct pf_candidate *x = a, *y = b;

	return pf_cidr_cmp(&x->prefix, &y->prefix);
}

/* Rules active at one level of the prefix tree walk. */
struct pf_active {
	uint32_t *rules;
	size_t n;
};

struct pf_walk_level {
	struct pf_cidr prefix;
	struct pf_active active;
	uint32_t portset; /* value of the nearest emitted entry at or above */
	int has_value;
};

/* Distinct port sets are shared by every entry that carries them: most
 * entries of a large policy (one per peer pod) carry the same few. */
struct pf_interner {
	uint32_t *slots; /* portset index + 1; 0 is free */
	size_t cap;      /* a power of two */
};

static uint64_t pf_portset_hash(const struct pf_portset *ps)
{
	uint64_t h = 1469598103934665603ull ^ ps->flags;

	for (size_t i = 0; i < ps->n; i++) {
		h = (h ^ ps->r[i].lo) * 1099511628211ull;
		h = (h ^ ps->r[i].hi) * 1099511628211ull;
	}
	return h;
}

static int pf_interner_grow(struct pf_interner *in, const struct pf_compiled *c)
{
	size_t cap = in->cap ? in->cap * 2 : 64;
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_portsets; i++) {
		size_t s = pf_portset_hash(&c->portsets[i]) & (cap - 1);

		while (slots[s])
			s = (s + 1) & (cap - 1);
		slots[s] = (uint32_t)i + 1;
	}
	free(in->slots);
	in->slots = slots;
	in->cap = cap;
	return 0;
}

/* Takes ownership of ps; *idx is its index in c->portsets. */
static int pf_portset_intern(struct pf_interner *in, struct pf_compiled *c,
			     struct pf_portset *ps, uint32_t *idx)
{
	struct pf_portset *grown;
	size_t s;
	int err;

	if ((c->n_portsets + 1) * 2 > in->cap && (err = pf_interner_grow(in, c)))
		return err;
	for (s = pf_portset_hash(ps) & (in->cap - 1); in->slots[s]; s = (s + 1) & (in->cap - 1)) {
		if (pf_portset_equal(&c->portsets[in->slots[s] - 1], ps)) {
			pf_portset_free(ps);
			*idx = in->slots[s] - 1;
			return 0;
		}
	}
	grown = realloc(c->portsets, (c->n_portsets + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	c->portsets = grown;
	c->portsets[c->n_portsets] = *ps;
	*idx = (uint32_t)c->n_portsets++;
	in->slots[s] = *idx + 1;
	return 0;
}

static int pf_rule_portset(const struct pf_peer_rule *r, struct pf_portset *ps)
{
	if (!r->n_ports)
		return pf_portset_add_all(ps);
	for (size_t i = 0; i < r->n_ports; i++) {
		int e = pf_portset_add(ps, r->ports[i].proto, r->ports[i].port,
				       r->ports[i].end_port);

		if (e)
			return e;
	}
	return 0;
}

static int pf_emit_entry(struct pf_compiled_dir *d, size_t *cap, const struct pf_cidr *p,
			 uint32_t portset, const struct pf_active *act)
{
	struct pf_flat_entry *e;

	if (d->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct pf_flat_entry *ne = realloc(d->entries, ncap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		d->entries = ne;
		*cap = ncap;
	}
	e = &d->entries[d->n];
	e->prefix = *p;
	e->portset = portset;
	e->n_sources = act->n;
	e->sources = NULL;
	if (act->n) {
		e->sources = malloc(act->n * sizeof(*e->sources));
		if (!e->sources)
			return -ENOMEM;
		memcpy(e->sources, act->rules, act->n * sizeof(*e->sources));
	}
	d->n++;
	return 0;
}

/* True when one of the rule's holes covers p. */
static bool pf_rule_excepts(const struct pf_peer_rule *r, const struct pf_cidr *p)
{
	for (size_t x = 0; x < r->n_except; x++)
		if (pf_cidr_contains(&r->except[x], p))
			return true;
	return false;
}

/* Walks the candidates in preorder with a stack of enclosing prefixes. */
static int pf_compile_dir(const struct pf_dir_policy *dp, struct pf_compiled *c,
			  struct pf_interner *in,
			  const struct pf_portset *rule_ps, struct pf_compiled_dir *out)
{
	struct pf_candidate *cand;
	struct pf_walk_level *stack = NULL;
	size_t n = 0, cap = 0, depth = 0, i = 0;
	int err = 0;

	for (size_t r = 0; r < dp->n_rules; r++)
		n += 1 + dp->rules[r].n_except;
	cand = calloc(n + 1, sizeof(*cand));
	stack = calloc(n + 2, sizeof(*stack));
	if (!cand || !stack) {
		err = -ENOMEM;
		goto out;
	}
	n = 0;
	for (uint32_t r = 0; r < dp->n_rules; r++) {
		cand[n++] = (struct pf_candidate){ dp->rules[r].cidr, r, 0 };
		for (size_t x = 0; x < dp->rules[r].n_except; x++)
			cand[n++] = (struct pf_candidate){ dp->rules[r].except[x], r, 1 };
	}
	qsort(cand, n, sizeof(*cand), pf_candidate_cmp);

	while (i < n) {
		struct pf_walk_level *parent, *lvl;
		struct pf_cidr p = cand[i].prefix;
		struct pf_portset ps = { 0 };
		uint32_t idx;

		while (depth && !pf_cidr_contains(&stack[depth - 1].prefix, &p)) {
			free(stack[depth - 1].active.rules);
			depth--;
		}
		parent = depth ? &stack[depth - 1] : NULL;
		lvl = &stack[depth++];
		memset(lvl, 0, sizeof(*lvl));
		lvl->prefix = p;
		size_t here = 0;

		while (i + here < n && !pf_cidr_cmp(&cand[i + here].prefix, &p))
			here++;
		lvl->active.rules = malloc(((parent ? parent->active.n : 0) + here) *
					   sizeof(uint32_t) + 1);
		if (!lvl->active.rules) {
			err = -ENOMEM;
			goto out;
		}
		if (parent) {
			memcpy(lvl->active.rules, parent->active.rules,
			       parent->active.n * sizeof(uint32_t));
			lvl->active.n = parent->active.n;
			lvl->has_value = parent->has_value;
			lvl->portset = parent->portset;
		}
		/* All candidates equal to p: rules whose CIDR starts here become
		 * active, rules with a hole here stop being active. */
		for (; here; here--, i++) {
			struct pf_active *a = &lvl->active;
			uint32_t r = cand[i].rule;
			size_t k;

			for (k = 0; k < a->n && a->rules[k] != r; k++)
				;
			if (cand[i].is_except) {
				if (k < a->n)
					a->rules[k] = a->rules[--a->n];
			} else if (k == a->n && !pf_rule_excepts(&dp->rules[r], &p)) {
				a->rules[a->n++] = r;
			}
		}
		for (size_t k = 0; k < lvl->active.n && !err; k++)
			err = pf_portset_union(&ps, &rule_ps[lvl->active.rules[k]]);
		if (err)
			goto out;
		pf_portset_normalize(&ps);
		err = pf_portset_intern(in, c, &ps, &idx);
		if (err)
			goto out;
		/* An entry equal to what the enclosing entry says adds nothing;
		 * an empty one with nothing enclosing it is the same as a miss. */
		if (lvl->has_value ? lvl->portset == idx : idx == 0)
			continue;
		lvl->has_value = 1;
		lvl->portset = idx;
		err = pf_emit_entry(out, &cap, &p, idx, &lvl->active);
		if (err)
			goto out;
	}
out:
	while (depth)
		free(stack[--depth].active.rules);
	free(stack);
	free(cand);
	return err;
}

int pf_policy_compile(const struct pf_policy_spec *spec, struct pf_compiled *out)
{
	struct pf_interner in = { 0 };
	struct pf_portset empty = { 0 };
	uint32_t idx;
	int err;

	memset(out, 0, sizeof(*out));
	err = pf_portset_intern(&in, out, &empty, &idx); /* index 0: deny */
	for (int d = 0; d < 2 && !err; d++) {
		const struct pf_dir_policy *dp = &spec->dir[d];
		struct pf_portset *rule_ps = calloc(dp->n_rules + 1, sizeof(*rule_ps));

		out->dir[d].isolation = dp->isolation;
		if (!rule_ps) {
			err = -ENOMEM;
			break;
		}
		for (size_t r = 0; r < dp->n_rules && !err; r++)
			err = pf_rule_portset(&dp->rules[r], &rule_ps[r]);
		if (!err)
			err = pf_compile_dir(dp, out, &in, rule_ps, &out->dir[d]);
		for (size_t r = 0; r < dp->n_rules; r++)
			pf_portset_free(&rule_ps[r]);
		free(rule_ps);
	}
	free(in.slots);
	if (err)
		pf_compiled_free(out);
	return err;
}

void pf_compiled_free(struct pf_compiled *c)
{
	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < c->dir[d].n; i++)
			free(c->dir[d].entries[i].sources);
		free(c->dir[d].entries);
	}
	for (size_t i = 0; i < c->n_portsets; i++)
		pf_portset_free(&c->portsets[i]);
	free(c->portsets);
	memset(c, 0, sizeof(*c));
}

/* Below this many entries a scan beats one binary search per prefix length. */
#define PF_LOOKUP_SCAN_MAX 64

static const struct pf_flat_entry *pf_compiled_scan(const struct pf_compiled_dir *d,
						    uint8_t family, const uint8_t *peer)
{
	const struct pf_flat_entry *best = NULL;

	for (size_t i = 0; i < d->n; i++) {
		const struct pf_flat_entry *e = &d->entries[i];

		if (e->prefix.family == family && pf_cidr_has_addr(&e->prefix, peer) &&
		    (!best || e->prefix.len > best->prefix.len))
			best = e;
	}
	return best;
}

/* Entries are sorted by pf_cidr_cmp, so each candidate prefix of the peer,
 * longest first, is one binary search: conntrack revalidation calls this for
 * every tracked flow, and sets reach tens of thousands of entries. */
static const struct pf_flat_entry *pf_compiled_search(const struct pf_compiled_dir *d,
						      uint8_t family, const uint8_t *peer)
{
	struct pf_cidr probe = { .family = family };

	for (int len = (int)pf_cidr_max_len(family); len >= 0; len--) {
		size_t lo = 0, hi = d->n;

		memset(probe.addr, 0, sizeof(probe.addr));
		memcpy(probe.addr, peer, (size_t)len / 8);
		if (len % 8)
			probe.addr[len / 8] = (uint8_t)(peer[len / 8] & (0xff << (8 - len % 8)));
		probe.len = (uint8_t)len;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int cmp = pf_cidr_cmp(&probe, &d->entries[mid].prefix);

			if (!cmp)
				return &d->entries[mid];
			if (cmp < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
	}
	return NULL;
}

const struct pf_flat_entry *pf_compiled_lookup(const struct pf_compiled *c, enum pf_dir dir,
					       uint8_t family, const uint8_t *peer)
{
	const struct pf_compiled_dir *d = &c->dir[dir];

	return d->n <= PF_LOOKUP_SCAN_MAX ? pf_compiled_scan(d, family, peer)
					  : pf_compiled_search(d, family, peer);
}

bool pf_compiled_allows(const struct pf_compiled *c, enum pf_dir dir, uint8_t family,
			const uint8_t *peer, uint8_t proto, uint16_t dport, bool ports_known)
{
	const struct pf_flat_entry *e = pf_compiled_lookup(c, dir, family, peer);

	return e && pf_portset_allows(&c->portsets[e->portset], proto, dport, ports_known);
}
