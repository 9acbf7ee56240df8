/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's policy sets: which set ids are in use, what each one holds
 * and how many pods are bound to it. Pods with equal specs share one set
 * (the seed's "pods of one workload share the firewall maps", generalised:
 * any pods whose rules are equal share).
 *
 * A reconcile asks for a plan: given, for every local pod, the set it is
 * bound to now and the spec it needs, which sets to write and to which set
 * each pod goes. The plan writes as little as it can:
 *  - a pod group whose current set already holds its spec keeps it: nothing
 *    is written (after a restart a set known only by its key matches on the
 *    key and is adopted without a write);
 *  - otherwise a set held only by pods of the group is rewritten in place
 *    (one atomic swap in the datapath, no pod rebound);
 *  - otherwise a fresh id is taken (the lowest free one).
 * The caller writes the sets, rebinds the pods, records each success with
 * pf_set_table_commit / pf_set_table_move, and deletes the sets
 * pf_set_table_unused lists. The table always describes what the datapath
 * holds, so a failed step is retried by the next plan.
 */
#ifndef PF_SET_TABLE_H
#define PF_SET_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy_spec.h"

/* Set ids run from 1 to PF_SET_ID_MAX; 0 means "no set". */
#define PF_SET_ID_MAX (PF_MAX_SETS - 1)

struct pf_set_entry {
	uint32_t id;
	uint64_t key;                /* pf_policy_spec_key of what the set holds */
	bool key_known;              /* false: contents unknown, rewrite before sharing */
	struct pf_policy_spec *spec; /* NULL when only the key is known (restored) */
	size_t refs;                 /* pods bound to it */
	size_t n_rules, n_hosts;     /* its prefixes and its single addresses (/32, /128) */
	uint32_t gen;                /* its generation in pf_sets when written */
};

struct pf_set_table {
	struct pf_set_entry *e; /* sorted by id */
	size_t n, cap;
};

/* One local pod as the plan sees it. */
struct pf_set_want {
	uint32_t cur;                /* the set it is bound to, 0 for none */
	struct pf_policy_spec *spec; /* what it needs (owned by the caller) */
	uint64_t key;                /* pf_policy_spec_key(spec) */
	uint32_t set;                /* plan: the set it goes to */
};

enum pf_set_step_kind {
	PF_SET_WRITE,  /* write spec into the set (new, or rewritten in place) */
	PF_SET_ADOPT,  /* the set already holds spec (known by key): record it only */
};

struct pf_set_step {
	enum pf_set_step_kind kind;
	uint32_t id;
	size_t want; /* index of a pod whose spec the set gets */
};

struct pf_set_plan {
	struct pf_set_step *steps;
	size_t n;
};

void pf_set_table_init(struct pf_set_table *t);
void pf_set_table_free(struct pf_set_table *t);

struct pf_set_entry *pf_set_table_get(const struct pf_set_table *t, uint32_t id);
/* Adds a set known only by its key (from the state file); -EEXIST, -ENOMEM. */
int pf_set_table_restore(struct pf_set_table *t, uint32_t id, uint64_t key, bool key_known,
			 size_t n_rules, size_t n_hosts, uint32_t gen);

/* Fills w[].set and plan. Returns 0, -ENOSPC when ids ran out, -ENOMEM. */
int pf_set_table_plan(const struct pf_set_table *t, struct pf_set_want *w, size_t n,
		      struct pf_set_plan *plan);
void pf_set_plan_free(struct pf_set_plan *plan);

/* Records that set id now holds *spec (taken: *spec becomes NULL), creating
 * the entry for a fresh id. Returns 0 or -ENOMEM. */
int pf_set_table_commit(struct pf_set_table *t, uint32_t id, uint64_t key,
			struct pf_policy_spec **spec, size_t n_rules, size_t n_hosts,
			uint32_t gen);
/* A pod moved from set `from` to set `to` (either may be 0). */
void pf_set_table_move(struct pf_set_table *t, uint32_t from, uint32_t to);
/* Sets no pod is bound to (malloc'd array in *ids). */
int pf_set_table_unused(const struct pf_set_table *t, uint32_t **ids, size_t *n);
void pf_set_table_remove(struct pf_set_table *t, uint32_t id);

#endif
