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

static const char *const policies =
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {namespace: x, name: from-app-a}\n"
	"spec:\n  podSelector: {}\n  ingress: [{from: [{podSelector: {matchLabels: {app: a}}}],"
	" ports: [{port: 80}]}]\n"
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {namespace: x, name: from-team-a}\n"
	"spec:\n  podSelector: {matchLabels: {app: b}}\n"
	"  ingress: [{from: [{namespaceSelector: {matchLabels: {team: a}}}]}]\n"
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {namespace: y, name: both}\n"
	"spec:\n  podSelector: {}\n"
	"  ingress: [{from: [{namespaceSelector: {matchLabels: {team: a}},"
	" podSelector: {matchLabels: {tier: web}}}]}]\n"
	"  egress: [{to: [{podSelector: {matchLabels: {app: c}}}]}]\n"
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {namespace: z, name: ipblock}\n"
	"spec:\n  podSelector: {matchLabels: {tier: db}}\n"
	"  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24]}}]}]\n"
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {namespace: x, name: named-egress}\n"
	"spec:\n  podSelector: {matchLabels: {app: a}}\n  policyTypes: [Egress]\n"
	"  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}], ports: [{port: http}]}]\n"
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {namespace: y, name: named-ingress}\n"
	"spec:\n  podSelector: {matchExpressions: [{key: tier, operator: Exists}]}\n"
	"  ingress: [{ports: [{port: http}, {protocol: UDP, port: dns}]}]\n"
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {namespace: z, name: expressions}\n"
	"spec:\n  podSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [db]}]}\n"
	"  ingress: [{from: [{namespaceSelector: {}, podSelector: {matchExpressions:"
	" [{key: app, operator: In, values: [a, b]}]}}]}]\n"
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	"metadata: {namespace: x, name: deny-c}\n"
	"spec:\n  podSelector: {matchLabels: {app: c}}\n  policyTypes: [Ingress, Egress]\n";

static const char *const namespaces[] = { "x", "y", "z" };
static const char *const apps[] = { "a", "b", "c", NULL };
static const char *const tiers[] = { "web", "db", NULL };
static const char *const teams[] = { "a", "b", NULL };

static void apply(struct pf_k8s_cache *c, json_t *obj)
{
	char err[512] = "";

	if (pf_k8s_cache_apply(c, obj, NULL, err, sizeof(err)))
		fail_msg("%s", err);
	json_decref(obj);
}

static json_t *random_labels(const char *const *keys_values[], const char *const names[],
			     size_t n)
{
	json_t *l = json_object();

	for (size_t i = 0; i < n; i++) {
		const char *const *vals = keys_values[i];
		size_t count = 0, pick;

		while (vals[count])
			count++;
		pick = (size_t)rand() % (count + 1); /* count: no such label */
		if (pick < count)
			json_object_set_new(l, names[i], json_string(vals[pick]));
	}
	return l;
}

static void put_pod(struct pf_k8s_cache *c, const char *ns, int i)
{
	const char *const *kv[] = { apps, tiers };
	const char *const names[] = { "app", "tier" };
	char name[16], ip[32];
	json_t *ports = json_array();

	snprintf(name, sizeof(name), "p%d", i);
	snprintf(ip, sizeof(ip), "10.0.%d.%d", rand() % 3, 1 + rand() % 20);
	if (rand() % 2)
		json_array_append_new(ports, json_pack("{s:s, s:i}", "name", "http",
						       "containerPort", 80 + rand() % 3));
	if (rand() % 2)
		json_array_append_new(ports, json_pack("{s:s, s:s, s:i}", "name", "dns", "protocol",
						       "UDP", "containerPort", 53));
	apply(c, json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:{s:[{s:s, s:o}]}, s:{s:s}}",
			   "apiVersion", "v1", "kind", "Pod", "metadata", "namespace", ns, "name",
			   name, "labels", random_labels(kv, names, 2), "spec", "containers",
			   "name", "c", "ports", ports, "status", "podIP", ip));
}

static void put_namespace(struct pf_k8s_cache *c, const char *ns)
{
	const char *const *kv[] = { teams };
	const char *const names[] = { "team" };

	apply(c, json_pack("{s:s, s:s, s:{s:s, s:o}}", "apiVersion", "v1", "kind", "Namespace",
			   "metadata", "name", ns, "labels", random_labels(kv, names, 1)));
}

/* Every PolicyEndpoint of the cache as JSON text, in the cache's order. */
static char **endpoints_text(const struct pf_k8s_cache *c)
{
	size_t n = pf_k8s_cache_count(c, PF_K8S_NETWORK_POLICY);
	char **out = calloc(n + 1, sizeof(*out));
	char err[512] = "";

	for (size_t i = 0; i < n; i++) {
		struct pf_policy_endpoint pe;
		json_t *j;

		if (pf_resolve_netpol(c, pf_k8s_cache_at(c, PF_K8S_NETWORK_POLICY, i), &pe, err,
				      sizeof(err)))
			fail_msg("%s", err);
		j = pf_policy_endpoint_to_json(&pe);
		out[i] = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(j);
		pf_policy_endpoint_free(&pe);
	}
	return out;
}

static void free_texts(char **t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i]);
	free(t);
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
		put_namespace(&c, namespaces[i]);
	for (int i = 0; i < 12; i++)
		put_pod(&c, namespaces[i % 3], i);
	if (pf_manifest_parse("policies.yaml", policies, strlen(policies), &l, err, sizeof(err)))
		fail_msg("%s", err);
	for (size_t i = 0; i < l.n; i++)
		apply(&c, json_incref(l.docs[i].obj));
	pf_manifest_list_free(&l);
	n_np = pf_k8s_cache_count(&c, PF_K8S_NETWORK_POLICY);
	for (int step = 0; step < 400; step++) {
		char **before = endpoints_text(&c), **after, name[16];
		const char *ns = namespaces[rand() % 3];
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
		after = endpoints_text(&c);
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
		free_texts(before, n_np);
		free_texts(after, n_np);
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
