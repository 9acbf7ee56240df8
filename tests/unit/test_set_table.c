// SPDX-License-Identifier: Apache-2.0
/* Policy set ids: pods with equal specs share one set, ids are the lowest
 * free, a spec that did not change writes nothing, a set held by one group
 * is rewritten in place, splits and merges move the right pods, reference
 * counts free sets, and a set restored by key alone is adopted without a
 * write. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy_spec_key.h"
#include "set_table.h"

#define SPEC_A "{\"ingress\":{\"isolated\":true,\"rules\":[{\"cidr\":\"10.0.0.1/32\"}]}}"
#define SPEC_B "{\"ingress\":{\"isolated\":true,\"rules\":[{\"cidr\":\"10.0.0.2/32\"}]}}"
#define SPEC_C "{\"egress\":{\"isolated\":true,\"rules\":[]}}"

static struct pf_policy_spec *spec(const char *json)
{
	struct pf_policy_spec *s = calloc(1, sizeof(*s));
	json_t *j = json_loads(json, 0, NULL);
	char err[256] = "";

	assert_non_null(j);
	if (pf_policy_spec_from_json(j, s, err, sizeof(err)))
		fail_msg("%s", err);
	json_decref(j);
	assert_int_equal(pf_policy_spec_canonicalize(s), 0);
	return s;
}

static void want(struct pf_set_want *w, uint32_t cur, const char *json)
{
	w->cur = cur;
	w->spec = spec(json);
	w->key = pf_policy_spec_key(w->spec);
	w->set = 0;
}

static void free_wants(struct pf_set_want *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (w[i].spec) {
			pf_policy_spec_free(w[i].spec);
			free(w[i].spec);
		}
		w[i].spec = NULL;
	}
}

/* Does what the agent does with a plan when every write succeeds. */
static void carry_out(struct pf_set_table *t, struct pf_set_want *w, size_t n,
		      const struct pf_set_plan *plan)
{
	uint32_t *unused;
	size_t n_unused;

	for (size_t i = 0; i < plan->n; i++) {
		struct pf_set_want *r = &w[plan->steps[i].want];

		/* The spec moves into the table. */
		assert_int_equal(pf_set_table_commit(t, plan->steps[i].id, r->key, &r->spec, 1, 2, 7),
				 0);
		assert_null(r->spec);
	}
	for (size_t i = 0; i < n; i++) {
		pf_set_table_move(t, w[i].cur, w[i].set);
		w[i].cur = w[i].set;
	}
	assert_int_equal(pf_set_table_unused(t, &unused, &n_unused), 0);
	for (size_t i = 0; i < n_unused; i++)
		pf_set_table_remove(t, unused[i]);
	free(unused);
}

static size_t count_kind(const struct pf_set_plan *p, enum pf_set_step_kind k)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++)
		n += p->steps[i].kind == k;
	return n;
}

static void equal_specs_share_one_set_and_ids_are_the_lowest_free(void **state)
{
	struct pf_set_table t;
	struct pf_set_plan plan;
	struct pf_set_want w[3];

	(void)state;
	pf_set_table_init(&t);
	want(&w[0], 0, SPEC_A);
	want(&w[1], 0, SPEC_B);
	want(&w[2], 0, SPEC_A);
	assert_int_equal(pf_set_table_plan(&t, w, 3, &plan), 0);
	assert_int_equal(plan.n, 2);
	assert_int_equal(count_kind(&plan, PF_SET_WRITE), 2);
	assert_int_equal(w[0].set, 1);
	assert_int_equal(w[1].set, 2);
	assert_int_equal(w[2].set, 1);
	carry_out(&t, w, 3, &plan);
	pf_set_plan_free(&plan);
	assert_int_equal(t.n, 2);
	assert_int_equal(pf_set_table_get(&t, 1)->refs, 2);
	assert_int_equal(pf_set_table_get(&t, 2)->refs, 1);
	free_wants(w, 3);
	pf_set_table_free(&t);
}

static void an_unchanged_spec_writes_nothing(void **state)
{
	struct pf_set_table t;
	struct pf_set_plan plan;
	struct pf_set_want w[2];

	(void)state;
	pf_set_table_init(&t);
	want(&w[0], 0, SPEC_A);
	want(&w[1], 0, SPEC_A);
	assert_int_equal(pf_set_table_plan(&t, w, 2, &plan), 0);
	carry_out(&t, w, 2, &plan);
	pf_set_plan_free(&plan);
	free_wants(w, 2);
	want(&w[0], 1, SPEC_A);
	want(&w[1], 1, SPEC_A);
	assert_int_equal(pf_set_table_plan(&t, w, 2, &plan), 0);
	assert_int_equal(plan.n, 0);
	assert_int_equal(w[0].set, 1);
	assert_int_equal(w[1].set, 1);
	pf_set_plan_free(&plan);
	free_wants(w, 2);
	pf_set_table_free(&t);
}

static void a_set_held_by_one_group_is_rewritten_in_place(void **state)
{
	struct pf_set_table t;
	struct pf_set_plan plan;
	struct pf_set_want w[2];

	(void)state;
	pf_set_table_init(&t);
	want(&w[0], 0, SPEC_A);
	want(&w[1], 0, SPEC_A);
	assert_int_equal(pf_set_table_plan(&t, w, 2, &plan), 0);
	carry_out(&t, w, 2, &plan);
	pf_set_plan_free(&plan);
	free_wants(w, 2);
	/* The policy changed for both pods: same id, one write, no rebind. */
	want(&w[0], 1, SPEC_B);
	want(&w[1], 1, SPEC_B);
	assert_int_equal(pf_set_table_plan(&t, w, 2, &plan), 0);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.steps[0].kind, PF_SET_WRITE);
	assert_int_equal(plan.steps[0].id, 1);
	assert_int_equal(w[0].set, 1);
	assert_int_equal(w[1].set, 1);
	carry_out(&t, w, 2, &plan);
	pf_set_plan_free(&plan);
	assert_int_equal(pf_set_table_get(&t, 1)->key, w[0].key);
	free_wants(w, 2);
	pf_set_table_free(&t);
}

static void a_split_gives_the_changed_pods_a_fresh_set(void **state)
{
	struct pf_set_table t;
	struct pf_set_plan plan;
	struct pf_set_want w[2];

	(void)state;
	pf_set_table_init(&t);
	want(&w[0], 0, SPEC_A);
	want(&w[1], 0, SPEC_A);
	assert_int_equal(pf_set_table_plan(&t, w, 2, &plan), 0);
	carry_out(&t, w, 2, &plan);
	pf_set_plan_free(&plan);
	free_wants(w, 2);
	/* Only pod 1 changes: it must not rewrite the set pod 0 still uses. */
	want(&w[0], 1, SPEC_A);
	want(&w[1], 1, SPEC_B);
	assert_int_equal(pf_set_table_plan(&t, w, 2, &plan), 0);
	assert_int_equal(plan.n, 1);
	assert_int_equal(plan.steps[0].id, 2);
	assert_int_equal(w[0].set, 1);
	assert_int_equal(w[1].set, 2);
	carry_out(&t, w, 2, &plan);
	pf_set_plan_free(&plan);
	assert_int_equal(pf_set_table_get(&t, 1)->refs, 1);
	assert_int_equal(pf_set_table_get(&t, 2)->refs, 1);
	free_wants(w, 2);
	/* Both change: each set is held by one group alone, so each is
	 * rewritten in place and nobody is rebound. */
	want(&w[0], 1, SPEC_C);
	want(&w[1], 2, SPEC_A);
	assert_int_equal(pf_set_table_plan(&t, w, 2, &plan), 0);
	assert_int_equal(plan.n, 2);
	assert_int_equal(w[0].set, 1);
	assert_int_equal(w[1].set, 2);
	pf_set_plan_free(&plan);
	free_wants(w, 2);
	pf_set_table_free(&t);
}

static void a_shared_set_whose_pods_diverge_is_not_rewritten(void **state)
{
	struct pf_set_table t;
	struct pf_set_plan plan;
	struct pf_set_want w[2];

	(void)state;
	pf_set_table_init(&t);
	want(&w[0], 0, SPEC_A);
	want(&w[1], 0, SPEC_A);
	assert_int_equal(pf_set_table_plan(&t, w, 2, &plan), 0);
	carry_out(&t, w, 2, &plan);
	pf_set_plan_free(&plan);
	free_wants(w, 2);
	/* Rewriting set 1 for either would show it the other's rules until
	 * the other is rebound: both go to fresh sets, set 1 is freed. */
	want(&w[0], 1, SPEC_B);
	want(&w[1], 1, SPEC_C);
	assert_int_equal(pf_set_table_plan(&t, w, 2, &plan), 0);
	assert_int_equal(plan.n, 2);
	assert_int_equal(w[0].set, 2);
	assert_int_equal(w[1].set, 3);
	carry_out(&t, w, 2, &plan);
	pf_set_plan_free(&plan);
	assert_null(pf_set_table_get(&t, 1));
	assert_int_equal(t.n, 2);
	free_wants(w, 2);
	pf_set_table_free(&t);
}

static void pods_whose_specs_become_equal_merge_and_free_a_set(void **state)
{
	struct pf_set_table t;
	struct pf_set_plan plan;
	struct pf_set_want w[2];

	(void)state;
	pf_set_table_init(&t);
	want(&w[0], 0, SPEC_A);
	want(&w[1], 0, SPEC_B);
	assert_int_equal(pf_set_table_plan(&t, w, 2, &plan), 0);
	carry_out(&t, w, 2, &plan);
	pf_set_plan_free(&plan);
	free_wants(w, 2);
	want(&w[0], 1, SPEC_A);
	want(&w[1], 2, SPEC_A);
	assert_int_equal(pf_set_table_plan(&t, w, 2, &plan), 0);
	assert_int_equal(plan.n, 0);
	assert_int_equal(w[0].set, 1);
	assert_int_equal(w[1].set, 1);
	carry_out(&t, w, 2, &plan);
	pf_set_plan_free(&plan);
	assert_int_equal(pf_set_table_get(&t, 1)->refs, 2);
	assert_null(pf_set_table_get(&t, 2));
	free_wants(w, 2);
	pf_set_table_free(&t);
}

static void a_restored_set_is_adopted_by_key_and_an_unknown_one_rewritten(void **state)
{
	struct pf_set_table t;
	struct pf_set_plan plan;
	struct pf_set_want w[2];

	(void)state;
	pf_set_table_init(&t);
	want(&w[0], 5, SPEC_A);
	want(&w[1], 9, SPEC_B);
	assert_int_equal(pf_set_table_restore(&t, 5, w[0].key, true, 1, 1, 3), 0);
	assert_int_equal(pf_set_table_restore(&t, 9, w[1].key, false, 0, 0, 0), 0);
	assert_int_equal(pf_set_table_restore(&t, 9, 0, false, 0, 0, 0), -EEXIST);
	pf_set_table_move(&t, 0, 5);
	pf_set_table_move(&t, 0, 9);
	assert_int_equal(pf_set_table_plan(&t, w, 2, &plan), 0);
	assert_int_equal(plan.n, 2);
	assert_int_equal(plan.steps[0].kind, PF_SET_ADOPT);
	assert_int_equal(plan.steps[0].id, 5);
	assert_int_equal(plan.steps[1].kind, PF_SET_WRITE);
	assert_int_equal(plan.steps[1].id, 9);
	assert_int_equal(w[0].set, 5);
	assert_int_equal(w[1].set, 9);
	carry_out(&t, w, 2, &plan);
	pf_set_plan_free(&plan);
	assert_non_null(pf_set_table_get(&t, 5)->spec);
	assert_true(pf_set_table_get(&t, 9)->key_known);
	free_wants(w, 2);
	pf_set_table_free(&t);
}

static void running_out_of_ids_is_an_error(void **state)
{
	struct pf_set_table t;
	struct pf_set_plan plan;
	struct pf_set_want w[1];

	(void)state;
	pf_set_table_init(&t);
	for (uint32_t id = 1; id <= PF_SET_ID_MAX; id++)
		assert_int_equal(pf_set_table_restore(&t, id, id, true, 0, 0, 0), 0);
	want(&w[0], 0, SPEC_A);
	assert_int_equal(pf_set_table_plan(&t, w, 1, &plan), -ENOSPC);
	free_wants(w, 1);
	pf_set_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(equal_specs_share_one_set_and_ids_are_the_lowest_free),
		cmocka_unit_test(an_unchanged_spec_writes_nothing),
		cmocka_unit_test(a_set_held_by_one_group_is_rewritten_in_place),
		cmocka_unit_test(a_split_gives_the_changed_pods_a_fresh_set),
		cmocka_unit_test(a_shared_set_whose_pods_diverge_is_not_rewritten),
		cmocka_unit_test(pods_whose_specs_become_equal_merge_and_free_a_set),
		cmocka_unit_test(a_restored_set_is_adopted_by_key_and_an_unknown_one_rewritten),
		cmocka_unit_test(running_out_of_ids_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
