// SPDX-License-Identifier: Apache-2.0
/* Policy set ids, sharing and reference counts; see set_table.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_spec_key.h"
#include "set_table.h"

void pf_set_table_init(struct pf_set_table *t)
{
	memset(t, 0, sizeof(*t));
}

static void pf_set_entry_free(struct pf_set_entry *e)
{
	if (e->spec) {
		pf_policy_spec_free(e->spec);
		free(e->spec);
	}
}

void pf_set_table_free(struct pf_set_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		pf_set_entry_free(&t->e[i]);
	free(t->e);
	memset(t, 0, sizeof(*t));
}

/* Index of id, or where it would go. */
static size_t pf_set_find(const struct pf_set_table *t, uint32_t id, bool *found)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (t->e[mid].id == id) {
			*found = true;
			return mid;
		}
		if (t->e[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

struct pf_set_entry *pf_set_table_get(const struct pf_set_table *t, uint32_t id)
{
	bool found;
	size_t i = pf_set_find(t, id, &found);

	return found ? &t->e[i] : NULL;
}

static struct pf_set_entry *pf_set_insert(struct pf_set_table *t, uint32_t id)
{
	bool found;
	size_t i = pf_set_find(t, id, &found);

	if (found)
		return NULL;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct pf_set_entry *e = realloc(t->e, cap * sizeof(*e));

		if (!e)
			return NULL;
		t->e = e;
		t->cap = cap;
	}
	memmove(&t->e[i + 1], &t->e[i], (t->n - i) * sizeof(*t->e));
	memset(&t->e[i], 0, sizeof(t->e[i]));
	t->e[i].id = id;
	t->n++;
	return &t->e[i];
}

int pf_set_table_restore(struct pf_set_table *t, uint32_t id, uint64_t key, bool key_known,
			 size_t n_rules, size_t n_hosts, uint32_t gen)
{
	struct pf_set_entry *e;

	if (pf_set_table_get(t, id))
		return -EEXIST;
	e = pf_set_insert(t, id);
	if (!e)
		return -ENOMEM;
	e->key = key;
	e->key_known = key_known;
	e->n_rules = n_rules;
	e->n_hosts = n_hosts;
	e->gen = gen;
	return 0;
}

struct pf_plan_group {
	size_t rep;   /* a member whose spec stands for the group */
	uint32_t set; /* 0 until chosen */
};

struct pf_plan_ctx {
	const struct pf_set_table *t;
	struct pf_set_want *w;
	size_t n;
	size_t *group_of;
	struct pf_plan_group *g;
	size_t n_groups;
	uint32_t *claimed; /* set ids given to a group */
	size_t n_claimed;
	struct pf_set_plan *plan;
};

static bool pf_claimed(const struct pf_plan_ctx *c, uint32_t id)
{
	for (size_t i = 0; i < c->n_claimed; i++)
		if (c->claimed[i] == id)
			return true;
	return false;
}

static void pf_plan_give(struct pf_plan_ctx *c, size_t g, uint32_t id,
			 enum pf_set_step_kind kind, bool step)
{
	c->g[g].set = id;
	c->claimed[c->n_claimed++] = id;
	if (step)
		c->plan->steps[c->plan->n++] = (struct pf_set_step){ kind, id, c->g[g].rep };
}

/* Pods with equal specs form one group. */
static void pf_plan_group(struct pf_plan_ctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		size_t g;

		for (g = 0; g < c->n_groups; g++) {
			const struct pf_set_want *r = &c->w[c->g[g].rep];

			if (r->key == c->w[i].key && pf_policy_spec_equal(r->spec, c->w[i].spec))
				break;
		}
		if (g == c->n_groups)
			c->g[c->n_groups++] = (struct pf_plan_group){ .rep = i };
		c->group_of[i] = g;
	}
}

/* A set some member is bound to already holds the group's spec. */
static void pf_plan_keep(struct pf_plan_ctx *c, size_t g)
{
	const struct pf_set_want *r = &c->w[c->g[g].rep];

	for (size_t i = 0; i < c->n; i++) {
		const struct pf_set_entry *e;

		if (c->group_of[i] != g || !c->w[i].cur || pf_claimed(c, c->w[i].cur))
			continue;
		e = pf_set_table_get(c->t, c->w[i].cur);
		if (!e || !e->key_known || e->key != r->key ||
		    (e->spec && !pf_policy_spec_equal(e->spec, r->spec)))
			continue;
		/* Known by key only (restored): adopted without a write. */
		pf_plan_give(c, g, e->id, PF_SET_ADOPT, !e->spec);
		return;
	}
}

/* A set held by members of this group alone can be rewritten in place;
 * the one with the most of them saves the most rebinds. */
static void pf_plan_rewrite(struct pf_plan_ctx *c, size_t g)
{
	uint32_t best = 0;
	size_t best_count = 0;

	for (size_t i = 0; i < c->n; i++) {
		uint32_t id = c->w[i].cur;
		const struct pf_set_entry *e;
		size_t count = 0;
		bool outsider = false;

		if (c->group_of[i] != g || !id || id == best || pf_claimed(c, id))
			continue;
		e = pf_set_table_get(c->t, id);
		if (!e)
			continue;
		for (size_t k = 0; k < c->n; k++) {
			if (c->w[k].cur != id)
				continue;
			count++;
			outsider |= c->group_of[k] != g;
		}
		if (!outsider && count == e->refs && count > best_count) {
			best = id;
			best_count = count;
		}
	}
	if (best)
		pf_plan_give(c, g, best, PF_SET_WRITE, true);
}

static int pf_plan_fresh(struct pf_plan_ctx *c, size_t g)
{
	for (uint32_t id = 1; id <= PF_SET_ID_MAX; id++) {
		if (pf_set_table_get(c->t, id) || pf_claimed(c, id))
			continue;
		pf_plan_give(c, g, id, PF_SET_WRITE, true);
		return 0;
	}
	return -ENOSPC;
}

int pf_set_table_plan(const struct pf_set_table *t, struct pf_set_want *w, size_t n,
		      struct pf_set_plan *plan)
{
	struct pf_plan_ctx c = { .t = t, .w = w, .n = n, .plan = plan };
	int rc = 0;

	memset(plan, 0, sizeof(*plan));
	c.group_of = calloc(n + 1, sizeof(*c.group_of));
	c.g = calloc(n + 1, sizeof(*c.g));
	c.claimed = calloc(n + 1, sizeof(*c.claimed));
	plan->steps = calloc(n + 1, sizeof(*plan->steps));
	if (!c.group_of || !c.g || !c.claimed || !plan->steps) {
		rc = -ENOMEM;
		goto out;
	}
	pf_plan_group(&c);
	for (size_t g = 0; g < c.n_groups; g++)
		pf_plan_keep(&c, g);
	for (size_t g = 0; g < c.n_groups; g++)
		if (!c.g[g].set)
			pf_plan_rewrite(&c, g);
	for (size_t g = 0; g < c.n_groups && !rc; g++)
		if (!c.g[g].set)
			rc = pf_plan_fresh(&c, g);
	for (size_t i = 0; i < n && !rc; i++)
		w[i].set = c.g[c.group_of[i]].set;
out:
	free(c.group_of);
	free(c.g);
	free(c.claimed);
	if (rc)
		pf_set_plan_free(plan);
	return rc;
}

void pf_set_plan_free(struct pf_set_plan *plan)
{
	free(plan->steps);
	memset(plan, 0, sizeof(*plan));
}

int pf_set_table_commit(struct pf_set_table *t, uint32_t id, uint64_t key,
			struct pf_policy_spec **spec, size_t n_rules, size_t n_hosts,
			uint32_t gen)
{
	struct pf_set_entry *e = pf_set_table_get(t, id);

	if (!e && !(e = pf_set_insert(t, id)))
		return -ENOMEM;
	pf_set_entry_free(e);
	e->spec = *spec;
	*spec = NULL;
	e->key = key;
	e->key_known = true;
	e->n_rules = n_rules;
	e->n_hosts = n_hosts;
	e->gen = gen;
	return 0;
}

void pf_set_table_move(struct pf_set_table *t, uint32_t from, uint32_t to)
{
	struct pf_set_entry *e;

	if (from == to)
		return;
	if (from && (e = pf_set_table_get(t, from)) && e->refs)
		e->refs--;
	if (to && (e = pf_set_table_get(t, to)))
		e->refs++;
}

int pf_set_table_unused(const struct pf_set_table *t, uint32_t **ids, size_t *n)
{
	*n = 0;
	*ids = calloc(t->n + 1, sizeof(**ids));
	if (!*ids)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		if (!t->e[i].refs)
			(*ids)[(*n)++] = t->e[i].id;
	return 0;
}

void pf_set_table_remove(struct pf_set_table *t, uint32_t id)
{
	bool found;
	size_t i = pf_set_find(t, id, &found);

	if (!found)
		return;
	pf_set_entry_free(&t->e[i]);
	memmove(&t->e[i], &t->e[i + 1], (t->n - i - 1) * sizeof(*t->e));
	t->n--;
}
