// SPDX-License-Identifier: Apache-2.0
/* The change tracking (cache_changes.h) checked against the resolver
 * itself: random Pod changes (new addresses and ports, labels alone,
 * nothing at all, deletions) and Namespace changes on a small model, made
 * through pf_cache_changes_apply / _delete; every PolicyEndpoint the
 * changes do not reach must come out exactly as before. A miss here is a
 * policy the controller (or the agent in dir: mode) would leave stale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cache_changes.h"
#include "k8s_manifest.h"
#include "policy_endpoint.h"
#include "resolver.h"
#include "random_cluster.h"



static void apply(struct pf_cache_changes *ch, struct pf_k8s_cache *c, json_t *obj)
{
	char err[512] = "";

	if (pf_cache_changes_apply(ch, c, obj, NULL, err, sizeof(err)))
		fail_msg("%s", err);
	json_decref(obj);
}

static void put_namespace(struct pf_cache_changes *ch, struct pf_k8s_cache *c, const char *ns)
{
	apply(ch, c, pf_rc_namespace(ns));
}

enum change { CH_NAMESPACE, CH_DELETE, CH_NEW_VERSION, CH_RELABEL, CH_SAME, CH_COUNT };

static void unreached_policy_endpoints_do_not_change(void **state)
{
	struct pf_k8s_cache c;
	struct pf_cache_changes ch = { 0 };
	struct pf_manifest_list l;
	json_t *pods = json_object(); /* "ns/name" -> the pod's last JSON */
	char err[512] = "";
	size_t n_np, checked = 0, reached_n = 0, by_kind[CH_COUNT] = { 0 };
	unsigned seed = getenv("PF_DEPS_SEED") ? (unsigned)atoi(getenv("PF_DEPS_SEED")) : 11;

	(void)state;
	srand(seed);
	pf_k8s_cache_init(&c);
	for (size_t i = 0; i < 3; i++)
		put_namespace(&ch, &c, pf_rc_namespaces[i]);
	if (pf_manifest_parse("policies.yaml", pf_rc_policies, strlen(pf_rc_policies), &l, err, sizeof(err)))
		fail_msg("%s", err);
	for (size_t i = 0; i < l.n; i++)
		apply(&ch, &c, json_incref(l.docs[i].obj));
	pf_manifest_list_free(&l);
	n_np = pf_k8s_cache_count(&c, PF_K8S_NETWORK_POLICY);
	for (int step = 0; step < 600; step++) {
		char **before, **after, key[32];
		const char *ns = pf_rc_namespaces[rand() % 3];
		int i = rand() % 16;
		enum change what = (enum change)(rand() % CH_COUNT);
		json_t *last, *obj;

		snprintf(key, sizeof(key), "%s/p%d", ns, i);
		last = json_object_get(pods, key);
		if (!last && (what == CH_RELABEL || what == CH_SAME || what == CH_DELETE))
			what = CH_NEW_VERSION;
		pf_cache_changes_reset(&ch);
		before = pf_rc_endpoints_text(&c);
		switch (what) {
		case CH_NAMESPACE:
			put_namespace(&ch, &c, ns);
			break;
		case CH_DELETE:
			assert_int_equal(pf_cache_changes_delete(&ch, &c, PF_K8S_POD, ns,
								 strchr(key, '/') + 1), 0);
			json_object_del(pods, key);
			break;
		default:
			obj = what == CH_NEW_VERSION ? pf_rc_pod(ns, i) : json_deep_copy(last);
			if (what == CH_RELABEL)
				json_object_set_new(json_object_get(obj, "metadata"), "labels",
						    pf_rc_pod_labels());
			json_object_set(pods, key, obj);
			apply(&ch, &c, obj);
			break;
		}
		by_kind[what]++;
		after = pf_rc_endpoints_text(&c);
		for (size_t k = 0; k < n_np; k++) {
			const struct pf_k8s_netpol *np = pf_k8s_cache_at(&c, PF_K8S_NETWORK_POLICY, k);
			char pkey[64];

			snprintf(pkey, sizeof(pkey), "%s/%s", np->ns, np->name);
			if (pf_cache_changes_reach(&ch, &c, np, pkey)) {
				reached_n++;
				continue;
			}
			checked++;
			if (strcmp(before[k], after[k]))
				fail_msg("seed %u step %d: change %d of %s changed %s, which it does "
					 "not reach:\n  before %s\n  after  %s", seed, step, what, key,
					 pkey, before[k], after[k]);
		}
		/* nothing changed: nothing is reached */
		if (what == CH_SAME)
			for (size_t k = 0; k < n_np; k++)
				assert_false(pf_cache_changes_reach(
					&ch, &c, pf_k8s_cache_at(&c, PF_K8S_NETWORK_POLICY, k), "-"));
		pf_rc_texts_free(before, n_np);
		pf_rc_texts_free(after, n_np);
	}
	/* The check must have had something to check, both ways, of each kind. */
	assert_true(checked > 1000);
	assert_true(reached_n > 400);
	for (int k = 0; k < CH_COUNT; k++)
		assert_true(by_kind[k] > 20);
	pf_cache_changes_reset(&ch);
	json_decref(pods);
	pf_k8s_cache_free(&c);
}

/* A policy noted as changed is reached, and only it; too many Pod changes
 * reach everything. */
static void policies_and_overflow(void **state)
{
	struct pf_k8s_cache c;
	struct pf_cache_changes ch = { 0 };
	struct pf_manifest_list l;
	char err[512] = "";

	(void)state;
	pf_k8s_cache_init(&c);
	if (pf_manifest_parse("policies.yaml", pf_rc_policies, strlen(pf_rc_policies), &l, err, sizeof(err)))
		fail_msg("%s", err);
	for (size_t i = 0; i < l.n; i++)
		apply(&ch, &c, json_incref(l.docs[i].obj));
	pf_manifest_list_free(&l);
	const struct pf_k8s_netpol *a = pf_k8s_cache_get(&c, PF_K8S_NETWORK_POLICY, "x", "deny-c");
	const struct pf_k8s_netpol *b = pf_k8s_cache_get(&c, PF_K8S_NETWORK_POLICY, "z", "ipblock");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(pf_cache_changes_reach(&ch, &c, a, "x/deny-c"));
	pf_cache_changes_reset(&ch);
	assert_false(pf_cache_changes_any(&ch));
	assert_false(pf_cache_changes_reach(&ch, &c, b, "z/ipblock"));
	assert_int_equal(pf_cache_changes_delete(&ch, &c, PF_K8S_NETWORK_POLICY, "x", "deny-c"), 0);
	assert_true(json_object_get(ch.policies, "x/deny-c") != NULL);
	assert_false(pf_cache_changes_reach(&ch, &c, b, "z/ipblock"));
	pf_cache_changes_reset(&ch);
	for (int i = 0; i <= PF_CACHE_MAX_POD_CHANGES; i++)
		apply(&ch, &c, pf_rc_pod("y", i));
	assert_true(ch.all);
	assert_true(pf_cache_changes_reach(&ch, &c, b, "z/ipblock"));
	pf_cache_changes_reset(&ch);
	pf_k8s_cache_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unreached_policy_endpoints_do_not_change),
		cmocka_unit_test(policies_and_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
