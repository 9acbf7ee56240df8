// SPDX-License-Identifier: Apache-2.0
/* Namespaces, Pods and NetworkPolicies: what is read, the API server's
 * defaults, validation errors that name the object and the field, and a cache
 * that keeps the last good version of an object that turns bad. */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "k8s_manifest.h"
#include "k8s_objects.h"

/* The one object of a YAML text. */
static json_t *yaml(const char *text)
{
	struct pf_manifest_list l;
	char err[512] = "";
	json_t *o;

	if (pf_manifest_parse("t.yaml", text, strlen(text), &l, err, sizeof(err)))
		fail_msg("yaml: %s", err);
	assert_int_equal(l.n, 1);
	o = json_incref(l.docs[0].obj);
	pf_manifest_list_free(&l);
	return o;
}

static int apply_yaml(struct pf_k8s_cache *c, const char *text, char *err, size_t len)
{
	json_t *o = yaml(text);
	int rc = pf_k8s_cache_apply(c, o, NULL, err, len);

	json_decref(o);
	return rc;
}

#define NP_HEAD "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n" \
		"metadata: {name: allow-web, namespace: x}\nspec:\n  podSelector: {}\n"

static void a_pod_reads_labels_ports_and_addresses(void **state)
{
	json_t *o = yaml("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-1\n  namespace: shop\n"
			 "  labels: {app: web}\nspec:\n  nodeName: node-1\n  containers:\n"
			 "  - name: c\n    ports:\n    - {name: http, containerPort: 8080}\n"
			 "    - {containerPort: 53, protocol: UDP}\n"
			 "status:\n  podIP: 10.0.0.5\n  podIPs: [{ip: 10.0.0.5}, {ip: 'fd00::5'}]\n");
	struct pf_k8s_pod p;
	char err[512] = "";

	(void)state;
	if (pf_k8s_pod_from_json(o, &p, err, sizeof(err)))
		fail_msg("%s", err);
	assert_string_equal(p.ns, "shop");
	assert_string_equal(p.name, "web-1");
	assert_string_equal(p.node_name, "node-1");
	assert_string_equal(pf_labels_get(&p.labels, "app"), "web");
	assert_int_equal(p.n_ports, 2);
	assert_string_equal(p.ports[0].name, "http");
	assert_int_equal(p.ports[0].proto, IPPROTO_TCP); /* the default */
	assert_int_equal(p.ports[0].port, 8080);
	assert_null(p.ports[1].name);
	assert_int_equal(p.ports[1].proto, IPPROTO_UDP);
	assert_int_equal(p.n_ips, 2); /* podIP and podIPs[0] are one address */
	assert_int_equal(p.ips[0].family, PF_FAMILY_V4);
	assert_int_equal(p.ips[0].len, 32);
	assert_int_equal(p.ips[1].family, PF_FAMILY_V6);
	assert_int_equal(p.ips[1].len, 128);
	pf_k8s_pod_free(&p);
	json_decref(o);
}

static void a_namespace_gets_its_name_label_and_objects_default_to_default(void **state)
{
	json_t *ns = yaml("apiVersion: v1\nkind: Namespace\nmetadata: {name: x, labels: {team: a}}\n");
	json_t *pod = yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n");
	struct pf_k8s_namespace n;
	struct pf_k8s_pod p;
	char err[512] = "";

	(void)state;
	assert_int_equal(pf_k8s_namespace_from_json(ns, &n, err, sizeof(err)), 0);
	assert_string_equal(pf_labels_get(&n.labels, PF_K8S_NS_NAME_LABEL), "x");
	assert_string_equal(pf_labels_get(&n.labels, "team"), "a");
	assert_int_equal(pf_k8s_pod_from_json(pod, &p, err, sizeof(err)), 0);
	assert_string_equal(p.ns, "default");
	assert_int_equal(p.n_ips, 0);
	pf_k8s_namespace_free(&n);
	pf_k8s_pod_free(&p);
	json_decref(ns);
	json_decref(pod);
}

static void policy_types_default_as_the_api_server_does(void **state)
{
	static const struct {
		const char *spec;
		bool ingress, egress;
	} cases[] = {
		{ "  ingress: [{}]\n", true, false },
		{ "  egress: [{}]\n", true, true },    /* Egress added: egress rules exist */
		{ "  egress: []\n", true, false },     /* an empty list adds nothing */
		{ "", true, false },                    /* nothing: deny all ingress */
		{ "  policyTypes: [Egress]\n  ingress: [{}]\n", false, true }, /* explicit wins */
		{ "  policyTypes: [Ingress, Egress]\n", true, true },
	};
	char text[512], err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pf_k8s_netpol np;
		json_t *o;

		snprintf(text, sizeof(text), NP_HEAD "%s", cases[i].spec);
		o = yaml(text);
		if (pf_k8s_netpol_from_json(o, &np, err, sizeof(err)))
			fail_msg("%s", err);
		if (np.types[PF_DIR_INGRESS] != cases[i].ingress ||
		    np.types[PF_DIR_EGRESS] != cases[i].egress)
			fail_msg("case %zu: policyTypes read as ingress=%d egress=%d", i,
				 np.types[PF_DIR_INGRESS], np.types[PF_DIR_EGRESS]);
		pf_k8s_netpol_free(&np);
		json_decref(o);
	}
}

static void a_policy_reads_peers_and_ports(void **state)
{
	json_t *o = yaml(NP_HEAD
			 "  ingress:\n"
			 "  - from:\n"
			 "    - podSelector: {matchLabels: {app: db}}\n"
			 "      namespaceSelector: {}\n"
			 "    - ipBlock: {cidr: 10.0.0.1/8, except: [10.1.0.0/16]}\n"
			 "    ports:\n"
			 "    - {port: 80, endPort: 90}\n"
			 "    - {protocol: UDP, port: dns}\n"
			 "    - {protocol: SCTP}\n");
	struct pf_k8s_netpol np;
	const struct pf_np_rule *r;
	char err[512] = "";

	(void)state;
	if (pf_k8s_netpol_from_json(o, &np, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(np.n_rules[PF_DIR_INGRESS], 1);
	r = &np.rules[PF_DIR_INGRESS][0];
	assert_int_equal(r->n_peers, 2);
	assert_non_null(r->peers[0].pod_sel);
	assert_non_null(r->peers[0].ns_sel);
	assert_true(pf_label_selector_is_empty(r->peers[0].ns_sel));
	assert_true(r->peers[1].is_ip_block);
	assert_int_equal(r->peers[1].cidr.len, 8);
	assert_int_equal(r->peers[1].cidr.addr[3], 0); /* host bits cleared */
	assert_int_equal(r->peers[1].n_except, 1);
	assert_int_equal(r->n_ports, 3);
	assert_int_equal(r->ports[0].proto, IPPROTO_TCP);
	assert_int_equal(r->ports[0].port, 80);
	assert_int_equal(r->ports[0].end_port, 90);
	assert_string_equal(r->ports[1].name, "dns");
	assert_int_equal(r->ports[1].proto, IPPROTO_UDP);
	assert_int_equal(r->ports[2].proto, IPPROTO_SCTP);
	assert_int_equal(r->ports[2].port, 0);
	pf_k8s_netpol_free(&np);
	json_decref(o);
}

static void bad_policies_name_the_object_and_the_field(void **state)
{
	static const struct {
		const char *spec, *error;
	} bad[] = {
		{ "  ingress:\n  - ports: [{port: 80}, {port: 80, endPort: 70}]\n",
		  "NetworkPolicy x/allow-web: spec.ingress[0].ports[1].endPort 70 is less than port 80" },
		{ "  egress:\n  - to: [{ipBlock: {cidr: 10.0.0/8}}]\n",
		  "NetworkPolicy x/allow-web: spec.egress[0].to[0].ipBlock.cidr: invalid CIDR \"10.0.0/8\"" },
		{ "  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]\n",
		  "spec.ingress[0].from[0].ipBlock.except[0] 192.168.0.0/16 is not strictly inside "
		  "cidr 10.0.0.0/8" },
		{ "  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}]\n",
		  "except[0] 10.0.0.0/8 is not strictly inside" },
		{ "  ingress:\n  - ports: [{protocol: ICMP}]\n",
		  "spec.ingress[0].ports[0].protocol \"ICMP\" is not a supported protocol" },
		{ "  ingress:\n  - ports: [{protocol: tcp}]\n", "protocol \"tcp\" is not a supported" },
		{ "  ingress:\n  - ports: [{port: http, endPort: 90}]\n",
		  "spec.ingress[0].ports[0].endPort may not be set when port is the named port \"http\"" },
		{ "  ingress:\n  - ports: [{endPort: 90}]\n",
		  "spec.ingress[0].ports[0].endPort may not be set without port" },
		{ "  ingress:\n  - ports: [{port: 70000}]\n",
		  "spec.ingress[0].ports[0].port 70000 is outside 1-65535" },
		{ "  ingress:\n  - ports: [{port: Not_A_Name}]\n",
		  "spec.ingress[0].ports[0].port \"Not_A_Name\" is not a valid port name" },
		{ "  ingress:\n  - from: [{podSelector: {matchExpressions: [{key: a, operator: Has}]}}]\n",
		  "NetworkPolicy x/allow-web: spec.ingress[0].from[0].podSelector.matchExpressions[0]"
		  ".operator \"Has\" is not In, NotIn, Exists or DoesNotExist" },
		{ "  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]\n",
		  "spec.ingress[0].from[0] may not combine ipBlock with podSelector" },
		{ "  ingress:\n  - from: [{}]\n",
		  "spec.ingress[0].from[0] must specify podSelector, namespaceSelector or ipBlock" },
		{ "  policyTypes: [Ingres]\n", "spec.policyTypes[0] \"Ingres\" is not Ingress or Egress" },
		{ "  egress: {to: []}\n", "spec.egress must be a list" },
	};
	char text[1024], err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pf_k8s_netpol np;
		json_t *o;

		snprintf(text, sizeof(text), NP_HEAD "%s", bad[i].spec);
		o = yaml(text);
		err[0] = 0;
		assert_int_equal(pf_k8s_netpol_from_json(o, &np, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].error))
			fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err, bad[i].error);
		json_decref(o);
	}
}

static void bad_pods_and_namespaces_name_the_object_and_the_field(void **state)
{
	static const struct {
		const char *yaml, *error;
	} bad[] = {
		{ "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n"
		  "status: {podIP: 10.0.0.300}\n",
		  "Pod x/a: status.podIP: invalid address \"10.0.0.300\"" },
		{ "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nspec:\n"
		  "  containers:\n  - ports: [{name: web, containerPort: 80}]\n"
		  "  - ports: [{name: web, containerPort: 81}]\n",
		  "Pod x/a: spec.containers[1].ports[0].name \"web\" is already used" },
		{ "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nspec:\n"
		  "  containers:\n  - ports: [{containerPort: 80, protocol: ICMP}]\n",
		  "Pod x/a: spec.containers[0].ports[0].protocol \"ICMP\"" },
		{ "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {pod: 'a b'}}\n",
		  "Pod x/a: metadata.labels: label value \"a b\"" },
		{ "apiVersion: v1\nkind: Pod\nmetadata: {namespace: x}\n",
		  "Pod x/(unnamed): metadata.name is missing" },
		{ "apiVersion: v1\nkind: Namespace\nmetadata: {name: X_Y}\n",
		  "Namespace X_Y: metadata.name \"X_Y\" is not a valid DNS-1123 label" },
	};
	struct pf_k8s_cache c;
	char err[512];

	(void)state;
	pf_k8s_cache_init(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(apply_yaml(&c, bad[i].yaml, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].error))
			fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err, bad[i].error);
	}
	assert_int_equal(pf_k8s_cache_count(&c, PF_K8S_POD), 0);
	assert_int_equal(c.generation, 0);
	pf_k8s_cache_free(&c);
}

static void kinds_are_checked_and_unknown_kinds_are_not_an_error(void **state)
{
	struct pf_k8s_cache c;
	char err[512];

	(void)state;
	pf_k8s_cache_init(&c);
	assert_int_equal(apply_yaml(&c, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
				    err, sizeof(err)), -ENOTSUP);
	assert_int_equal(apply_yaml(&c, "apiVersion: networking.k8s.io/v1beta1\nkind: NetworkPolicy\n"
				    "metadata: {name: p}\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "apiVersion \"networking.k8s.io/v1beta1\" is not "
				    "networking.k8s.io/v1"));
	assert_int_equal(apply_yaml(&c, "kind: Pod\nmetadata: {name: p}\n", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "apiVersion"));
	pf_k8s_cache_free(&c);
}

static void a_bad_version_leaves_the_good_one_in_force(void **state)
{
	struct pf_k8s_cache c;
	const struct pf_k8s_netpol *np;
	enum pf_k8s_kind kind;
	char err[512] = "";
	uint64_t gen;
	json_t *o;

	(void)state;
	pf_k8s_cache_init(&c);
	o = yaml(NP_HEAD "  ingress:\n  - ports: [{port: 80}]\n");
	assert_int_equal(pf_k8s_cache_apply(&c, o, &kind, err, sizeof(err)), 0);
	json_decref(o);
	assert_int_equal(kind, PF_K8S_NETWORK_POLICY);
	gen = c.generation;

	assert_int_equal(apply_yaml(&c, NP_HEAD "  ingress:\n  - ports: [{port: 80, endPort: 10}]\n",
				    err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "NetworkPolicy x/allow-web: spec.ingress[0].ports[0].endPort"));
	assert_int_equal(c.generation, gen);
	np = pf_k8s_cache_get(&c, PF_K8S_NETWORK_POLICY, "x", "allow-web");
	assert_non_null(np);
	assert_int_equal(np->rules[PF_DIR_INGRESS][0].ports[0].port, 80);

	/* A good new version replaces it. */
	assert_int_equal(apply_yaml(&c, NP_HEAD "  ingress:\n  - ports: [{port: 81}]\n", err,
				    sizeof(err)), 0);
	assert_int_equal(pf_k8s_cache_count(&c, PF_K8S_NETWORK_POLICY), 1);
	np = pf_k8s_cache_get(&c, PF_K8S_NETWORK_POLICY, "x", "allow-web");
	assert_int_equal(np->rules[PF_DIR_INGRESS][0].ports[0].port, 81);
	assert_true(c.generation > gen);
	pf_k8s_cache_free(&c);
}

static void the_cache_keeps_objects_in_order_and_deletes_them(void **state)
{
	static const char *const names[] = { "c", "a", "b" };
	struct pf_k8s_cache c;
	char text[256], err[512];

	(void)state;
	pf_k8s_cache_init(&c);
	for (size_t i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "apiVersion: v1\nkind: Pod\nmetadata: {name: %s, "
			 "namespace: y}\n", names[i]);
		assert_int_equal(apply_yaml(&c, text, err, sizeof(err)), 0);
	}
	assert_int_equal(apply_yaml(&c, "apiVersion: v1\nkind: Pod\nmetadata: {name: z, "
				    "namespace: x}\n", err, sizeof(err)), 0);
	assert_int_equal(pf_k8s_cache_count(&c, PF_K8S_POD), 4);
	assert_string_equal(((const struct pf_k8s_pod *)pf_k8s_cache_at(&c, PF_K8S_POD, 0))->name,
			    "z");
	assert_string_equal(((const struct pf_k8s_pod *)pf_k8s_cache_at(&c, PF_K8S_POD, 1))->name,
			    "a");
	assert_int_equal(pf_k8s_cache_delete(&c, PF_K8S_POD, "y", "a"), 0);
	assert_int_equal(pf_k8s_cache_delete(&c, PF_K8S_POD, "y", "a"), -ENOENT);
	assert_null(pf_k8s_cache_get(&c, PF_K8S_POD, "y", "a"));
	assert_non_null(pf_k8s_cache_get(&c, PF_K8S_POD, "y", "b"));
	assert_int_equal(pf_k8s_cache_count(&c, PF_K8S_POD), 3);
	pf_k8s_cache_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_pod_reads_labels_ports_and_addresses),
		cmocka_unit_test(a_namespace_gets_its_name_label_and_objects_default_to_default),
		cmocka_unit_test(policy_types_default_as_the_api_server_does),
		cmocka_unit_test(a_policy_reads_peers_and_ports),
		cmocka_unit_test(bad_policies_name_the_object_and_the_field),
		cmocka_unit_test(bad_pods_and_namespaces_name_the_object_and_the_field),
		cmocka_unit_test(kinds_are_checked_and_unknown_kinds_are_not_an_error),
		cmocka_unit_test(a_bad_version_leaves_the_good_one_in_force),
		cmocka_unit_test(the_cache_keeps_objects_in_order_and_deletes_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
