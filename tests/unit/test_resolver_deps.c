// SPDX-License-Identifier: Apache-2.0
/* What a PolicyEndpoint depends on (resolver_deps.h), checked against the
 * resolver itself: random Pod and Namespace changes on a small model, and
 * every PolicyEndpoint the change does not involve must come out exactly as
 * before. A miss here is a policy an agent would leave stale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "k8s_manifest.h"
#include "policy_endpoint.h"
#include "resolver.h"
#include "resolver_deps.h"
#include "random_cluster.h"



static void apply(struct pf_k8s_cache *c, json_t *obj)
{
	char err[512] = "";

	if (pf_k8s_cache_apply(c, obj, NULL, err, sizeof(err)))
		fail_msg("%s", err);
	json_decref(obj);
}

static void put_pod(struct pf_k8s_cache *c, const char *ns, int i)
{
	apply(c, pf_rc_pod(ns, i));
}

static void put_namespace(struct pf_k8s_cache *c, const char *ns)
{
	apply(c, pf_rc_namespace(ns));
}

/* The labels of pod ns/name now, copied (none when it is not there). */
static bool pod_labels(const struct pf_k8s_cache *c, const char *ns, const char *name,
		       struct pf_labels *out)
{
	const struct pf_k8s_pod *p = pf_k8s_cache_get(c, PF_K8S_POD, ns, name);

	memset(out, 0, sizeof(*out));
	if (!p)
		return false;
	assert_int_equal(pf_labels_copy(out, &p->labels), 0);
	return true;
}

static void untouched_policy_endpoints_do_not_change(void **state)
{
	struct pf_k8s_cache c;
	struct pf_manifest_list l;
	char err[512] = "";
	size_t n_np, checked = 0, skipped = 0;
	unsigned seed = getenv("PF_DEPS_SEED") ? (unsigned)atoi(getenv("PF_DEPS_SEED")) : 7;

	(void)state;
	srand(seed);
	pf_k8s_cache_init(&c);
	for (size_t i = 0; i < 3; i++)
		put_namespace(&c, pf_rc_namespaces[i]);
	for (int i = 0; i < 12; i++)
		put_pod(&c, pf_rc_namespaces[i % 3], i);
	if (pf_manifest_parse("policies.yaml", pf_rc_policies, strlen(pf_rc_policies), &l, err, sizeof(err)))
		fail_msg("%s", err);
	for (size_t i = 0; i < l.n; i++)
		apply(&c, json_incref(l.docs[i].obj));
	pf_manifest_list_free(&l);
	n_np = pf_k8s_cache_count(&c, PF_K8S_NETWORK_POLICY);
	for (int step = 0; step < 400; step++) {
		char **before = pf_rc_endpoints_text(&c), **after, name[16];
		const char *ns = pf_rc_namespaces[rand() % 3];
		int i = rand() % 16, what = rand() % 10;
		struct pf_labels old = { 0 }, new = { 0 };
		bool had, has, ns_change = what == 0;

		snprintf(name, sizeof(name), "p%d", i);
		had = pod_labels(&c, ns, name, &old);
		if (ns_change)
			put_namespace(&c, ns);
		else if (what == 1)
			pf_k8s_cache_delete(&c, PF_K8S_POD, ns, name);
		else
			put_pod(&c, ns, i);
		has = pod_labels(&c, ns, name, &new);
		after = pf_rc_endpoints_text(&c);
		for (size_t k = 0; k < n_np; k++) {
			const struct pf_k8s_netpol *np = pf_k8s_cache_at(&c, PF_K8S_NETWORK_POLICY, k);
			bool reached;

			if (ns_change)
				reached = pf_netpol_uses_namespace_labels(np);
			else
				reached = (had && pf_netpol_involves_pod(&c, np, ns, &old)) ||
					  (has && pf_netpol_involves_pod(&c, np, ns, &new));

			if (reached) {
				skipped++;
				continue;
			}
			checked++;
			if (strcmp(before[k], after[k]))
				fail_msg("seed %u step %d: %s %s/%s changed %s/%s, which does not "
					 "depend on it:\n  before %s\n  after  %s",
					 seed, step, ns_change ? "namespace" : "pod", ns, name,
					 np->ns, np->name, before[k], after[k]);
		}
		pf_labels_free(&old);
		pf_labels_free(&new);
		pf_rc_texts_free(before, n_np);
		pf_rc_texts_free(after, n_np);
	}
	/* The check must have had something to check, both ways. */
	assert_true(checked > 400);
	assert_true(skipped > 400);
	pf_k8s_cache_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(untouched_policy_endpoints_do_not_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
