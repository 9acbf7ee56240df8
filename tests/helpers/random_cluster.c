// SPDX-License-Identifier: Apache-2.0
/* The random cluster of random_cluster.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "k8s_objects.h"
#include "policy_endpoint.h"
#include "resolver.h"
#include "random_cluster.h"

const char *const pf_rc_policies =
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

const char *const pf_rc_namespaces[3] = { "x", "y", "z" };
static const char *const apps[] = { "a", "b", "c", NULL };
static const char *const tiers[] = { "web", "db", NULL };
static const char *const teams[] = { "a", "b", NULL };

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

json_t *pf_rc_pod_labels(void)
{
	const char *const *kv[] = { apps, tiers };
	const char *const names[] = { "app", "tier" };

	return random_labels(kv, names, 2);
}

json_t *pf_rc_pod(const char *ns, int i)
{
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
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:{s:[{s:s, s:o}]}, s:{s:s}}",
			 "apiVersion", "v1", "kind", "Pod", "metadata", "namespace", ns, "name",
			 name, "labels", pf_rc_pod_labels(), "spec", "containers", "name", "c",
			 "ports", ports, "status", "podIP", ip);
}

json_t *pf_rc_namespace(const char *ns)
{
	const char *const *kv[] = { teams };
	const char *const names[] = { "team" };

	return json_pack("{s:s, s:s, s:{s:s, s:o}}", "apiVersion", "v1", "kind", "Namespace",
			 "metadata", "name", ns, "labels", random_labels(kv, names, 1));
}

char **pf_rc_endpoints_text(const struct pf_k8s_cache *c)
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

void pf_rc_texts_free(char **t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i]);
	free(t);
}
