// SPDX-License-Identifier: Apache-2.0
/* The controller's pure parts: the PolicyEndpoint objects one policy
 * publishes (label, owner reference), splitting them under a size limit
 * with the union over chunks exact for every pod (random policies, checked
 * rule by rule and through pf_resolve_pod_spec as an agent reads them),
 * chunk names, stability, and the plan of writes (pf_pe_diff). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "k8s_names.h"
#include "label_selector.h"
#include "pe_chunks.h"
#include "pe_publish.h"
#include "policy_spec_key.h"
#include "resolver.h"

#define UID "0b6c2c1e-0000-4000-8000-000000000001"

static unsigned rnd_state;

/* A fixed generator, so a failure reproduces. */
static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

static json_t *random_ports(bool ingress)
{
	static const char *const protos[] = { "TCP", "UDP", "SCTP" };
	json_t *ports = json_array();
	unsigned n = rnd(4);

	for (unsigned i = 0; i < n; i++) {
		const char *proto = protos[rnd(3)];
		unsigned port = 1 + rnd(60000);

		if (ingress && !rnd(4))
			json_array_append_new(ports, json_pack("{s:s, s:s}", "protocol", proto, "name",
							       rnd(2) ? "http" : "metrics"));
		else if (!rnd(3))
			json_array_append_new(ports, json_pack("{s:s, s:i, s:i}", "protocol", proto,
							       "port", port, "endPort",
							       port + rnd(100)));
		else
			json_array_append_new(ports, json_pack("{s:s, s:i}", "protocol", proto, "port",
							       port));
	}
	return ports;
}

static json_t *random_rule(bool ingress)
{
	char cidr[64], ex[64];
	json_t *r;

	if (rnd(5)) {
		unsigned len = 8 + rnd(25);

		snprintf(cidr, sizeof(cidr), "%u.%u.0.0/%u", 10 + rnd(3), rnd(256), len < 16 ? 16 : len);
		if (len == 32)
			snprintf(cidr, sizeof(cidr), "10.%u.%u.%u/32", rnd(256), rnd(256), rnd(256));
	} else {
		snprintf(cidr, sizeof(cidr), "fd00:%x::/64", rnd(65536));
	}
	r = json_pack("{s:s}", "cidr", cidr);
	if (strstr(cidr, "/16") && rnd(2)) {
		char *slash;

		snprintf(ex, sizeof(ex), "%s", cidr);
		slash = strchr(ex, '/');
		snprintf(slash, sizeof(ex) - (size_t)(slash - ex), "/24");
		json_object_set_new(r, "except", json_pack("[s]", ex));
	}
	if (rnd(3))
		json_object_set_new(r, "ports", random_ports(ingress));
	return r;
}

/* A PolicyEndpoint with random endpoints and rules, read (validated,
 * sorted, merged) as pf_resolve_netpol would have built it. */
static void random_pe(struct pf_policy_endpoint *pe, unsigned max_eps, unsigned max_rules)
{
	json_t *eps = json_array(), *in = json_array(), *eg = json_array(), *iso = json_array();
	unsigned n_eps = rnd(max_eps + 1), n_in = rnd(max_rules + 1), n_eg = rnd(max_rules + 1);
	char err[512], ip[64], name[32];
	json_t *obj;

	for (unsigned i = 0; i < n_eps; i++) {
		json_t *ep;

		snprintf(name, sizeof(name), "pod-%u", i);
		snprintf(ip, sizeof(ip), "10.244.%u.%u", i / 250, i % 250 + 1);
		ep = json_pack("{s:s, s:s, s:s}", "namespace", "x", "name", name, "podIP", ip);
		if (rnd(2))
			json_object_set_new(ep, "namedPorts",
					    json_pack("[{s:s, s:s, s:i}]", "name", "http", "protocol",
						      "TCP", "port", 8000 + rnd(100)));
		json_array_append_new(eps, ep);
	}
	for (unsigned i = 0; i < n_in; i++)
		json_array_append_new(in, random_rule(true));
	for (unsigned i = 0; i < n_eg; i++)
		json_array_append_new(eg, random_rule(false));
	if (rnd(4))
		json_array_append_new(iso, json_string("Ingress"));
	if (rnd(2))
		json_array_append_new(iso, json_string("Egress"));
	obj = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:{s:s, s:s}, s:{s:{s:s}}, s:o, s:o, s:o, s:o}}",
			"apiVersion", "podfence.io/v1alpha1", "kind", "PolicyEndpoint", "metadata",
			"name", "web", "namespace", "x", "spec", "policyRef", "name", "web",
			"namespace", "x", "podSelector", "matchLabels", "app", "web",
			"podSelectorEndpoints", eps, "podIsolation", iso, "ingress", in, "egress", eg);
	assert_non_null(obj);
	if (pf_policy_endpoint_from_json(obj, pe, err, sizeof(err)))
		fail_msg("random PolicyEndpoint does not read: %s", err);
	json_decref(obj);
}

static json_t *publish(const struct pf_policy_endpoint *pe, size_t max)
{
	json_t *wanted = json_object();
	char err[512];

	if (pf_pe_publish(pe, UID, max, wanted, err, sizeof(err)))
		fail_msg("publish: %s", err);
	return wanted;
}

static char *compact(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	assert_non_null(s);
	return s;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The rules of both directions of spec as sorted "dir:rule" strings. */
static size_t rule_strings(json_t *spec, char **out, size_t n)
{
	static const char *const dirs[] = { "ingress", "egress" };
	json_t *r;
	size_t i;

	for (int d = 0; d < 2; d++) {
		json_array_foreach(json_object_get(spec, dirs[d]), i, r) {
			char *s = compact(r);

			assert_true(asprintf(&out[n++], "%s:%s", dirs[d], s) > 0);
			free(s);
		}
	}
	return n;
}

static bool lists_endpoint(json_t *spec, const char *ns, const char *name)
{
	json_t *ep;
	size_t i;

	json_array_foreach(json_object_get(spec, "podSelectorEndpoints"), i, ep)
		if (!strcmp(json_string_value(json_object_get(ep, "namespace")), ns) &&
		    !strcmp(json_string_value(json_object_get(ep, "name")), name))
			return true;
	return false;
}

/* What every chunk set must satisfy against the unsplit pe. */
static void check_chunks(const struct pf_policy_endpoint *pe, json_t *wanted, size_t max)
{
	size_t n = json_object_size(wanted), n_rules = pe->n_rules[0] + pe->n_rules[1], k = 0;
	struct pf_policy_endpoint *parsed = calloc(n, sizeof(*parsed));
	const struct pf_policy_endpoint **ptrs = calloc(n, sizeof(*ptrs));
	json_t *whole = pf_policy_endpoint_to_json(pe), *c;
	char **want = calloc(n_rules + 1, sizeof(char *));
	char **got = calloc(n_rules * n + 1, sizeof(char *)); /* a rule in every chunk at worst */
	char err[512];
	const char *key;

	assert_true(n >= 1);
	json_object_foreach(wanted, key, c) {
		const char *name = json_string_value(json_object_get(json_object_get(c, "metadata"),
								     "name"));
		json_t *spec = json_object_get(c, "spec");

		assert_true(json_dumpb(c, NULL, 0, JSON_COMPACT) + PF_PE_CHUNK_SLACK <= max);
		assert_true(pf_k8s_dns_subdomain_ok(name, strlen(name)));
		assert_true(strncmp(name, "web-e", 5) == 0);
		/* every chunk carries what decides isolation and whose it is */
		assert_true(json_equal(json_object_get(spec, "podSelector"),
				       json_object_get(json_object_get(whole, "spec"), "podSelector")));
		assert_true(json_equal(json_object_get(spec, "podIsolation"),
				       json_object_get(json_object_get(whole, "spec"), "podIsolation")));
		assert_true(json_equal(json_object_get(spec, "policyRef"),
				       json_object_get(json_object_get(whole, "spec"), "policyRef")));
		if (pf_policy_endpoint_from_json(c, &parsed[k], err, sizeof(err)))
			fail_msg("chunk %s does not read back: %s", key, err);
		ptrs[k] = &parsed[k];
		k++;
	}
	/* for each pod: the rules of the chunks listing it, each exactly once */
	assert_int_equal(rule_strings(json_object_get(whole, "spec"), want, 0), n_rules);
	qsort(want, n_rules, sizeof(char *), str_cmp);
	for (size_t e = 0; e < pe->n_endpoints; e++) {
		const struct pf_pe_endpoint *ep = &pe->endpoints[e];
		struct pf_policy_spec from_chunks, from_whole;
		size_t n_got = 0, listed = 0;

		json_object_foreach(wanted, key, c) {
			if (!lists_endpoint(json_object_get(c, "spec"), ep->ns, ep->name))
				continue;
			listed++;
			n_got = rule_strings(json_object_get(c, "spec"), got, n_got);
		}
		assert_true(listed >= 1);
		assert_int_equal(n_got, n_rules);
		qsort(got, n_got, sizeof(char *), str_cmp);
		for (size_t i = 0; i < n_got; i++) {
			assert_string_equal(got[i], want[i]);
			free(got[i]);
		}
		/* and as an agent reads them: the same policy set */
		assert_int_equal(pf_resolve_pod_spec(ptrs, n, ep->ns, ep->name, true, &from_chunks,
						     err, sizeof(err)), 0);
		assert_int_equal(pf_resolve_pod_spec(&pe, 1, ep->ns, ep->name, true, &from_whole,
						     err, sizeof(err)), 0);
		assert_true(pf_policy_spec_equal(&from_chunks, &from_whole));
		pf_policy_spec_free(&from_chunks);
		pf_policy_spec_free(&from_whole);
	}
	for (size_t i = 0; i < n_rules; i++)
		free(want[i]);
	for (size_t i = 0; i < k; i++)
		pf_policy_endpoint_free(&parsed[i]);
	free(want);
	free(got);
	free(parsed);
	free(ptrs);
	json_decref(whole);
}

static void a_small_policy_is_one_object_with_label_and_owner(void **state)
{
	struct pf_policy_endpoint pe;
	json_t *wanted, *o, *meta, *whole, *owner;

	(void)state;
	rnd_state = 1;
	random_pe(&pe, 3, 3);
	wanted = publish(&pe, 900000);
	assert_int_equal(json_object_size(wanted), 1);
	o = json_object_get(wanted, "x/web-e1of1-r1of1");
	assert_non_null(o);
	meta = json_object_get(o, "metadata");
	assert_string_equal(json_string_value(json_object_get(meta, "namespace")), "x");
	assert_string_equal(json_string_value(json_object_get(json_object_get(meta, "labels"),
							      PF_PE_POLICY_LABEL)), "web");
	owner = json_array_get(json_object_get(meta, "ownerReferences"), 0);
	assert_string_equal(json_string_value(json_object_get(owner, "kind")), "NetworkPolicy");
	assert_string_equal(json_string_value(json_object_get(owner, "apiVersion")),
			    "networking.k8s.io/v1");
	assert_string_equal(json_string_value(json_object_get(owner, "name")), "web");
	assert_string_equal(json_string_value(json_object_get(owner, "uid")), UID);
	assert_true(json_is_true(json_object_get(owner, "controller")));
	assert_true(json_is_true(json_object_get(owner, "blockOwnerDeletion")));
	assert_true(pf_pe_is_ours(o));
	whole = pf_policy_endpoint_to_json(&pe);
	assert_true(json_equal(json_object_get(whole, "spec"), json_object_get(o, "spec")));
	check_chunks(&pe, wanted, 900000);
	json_decref(whole);
	json_decref(wanted);
	pf_policy_endpoint_free(&pe);
}

static void split_chunks_give_every_pod_exactly_its_rules(void **state)
{
	size_t split = 0;

	(void)state;
	rnd_state = 42;
	for (int round = 0; round < 60; round++) {
		struct pf_policy_endpoint pe;
		size_t max = 2500 + rnd(6000);
		json_t *wanted;

		random_pe(&pe, 80, 60);
		wanted = publish(&pe, max);
		split += json_object_size(wanted) > 1;
		check_chunks(&pe, wanted, max);
		json_decref(wanted);
		pf_policy_endpoint_free(&pe);
	}
	/* the limits were small enough that most policies had to be split */
	assert_true(split > 30);
}

static void the_same_inputs_give_the_same_chunks(void **state)
{
	struct pf_policy_endpoint pe;
	json_t *a, *b;

	(void)state;
	rnd_state = 7;
	random_pe(&pe, 80, 60);
	a = publish(&pe, 3000);
	b = publish(&pe, 3000);
	assert_true(json_object_size(a) > 1);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	pf_policy_endpoint_free(&pe);
}

/* How many chunks of after are new or differ from before; -1 when the
 * layout (the set of names) changed. */
static int chunks_changed(json_t *before, json_t *after)
{
	const char *key;
	json_t *c;
	int n = 0;

	if (json_object_size(before) != json_object_size(after))
		return -1;
	json_object_foreach(after, key, c) {
		json_t *old = json_object_get(before, key);

		if (!old)
			return -1;
		n += !json_equal(old, c);
	}
	return n;
}

static bool holds_rule(json_t *spec, const char *dir, json_t *rule)
{
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(spec, dir), i, r)
		if (json_equal(r, rule))
			return true;
	return false;
}

/* pe changed by edit (on its JSON), read back into out. */
static void edited(const struct pf_policy_endpoint *pe, void (*edit)(json_t *spec, json_t **gone),
		   struct pf_policy_endpoint *out, json_t **gone)
{
	json_t *obj = pf_policy_endpoint_to_json(pe);
	char err[512];

	edit(json_object_get(obj, "spec"), gone);
	if (pf_policy_endpoint_from_json(obj, out, err, sizeof(err)))
		fail_msg("edited PolicyEndpoint does not read: %s", err);
	json_decref(obj);
}

static void add_pod(json_t *spec, json_t **gone)
{
	*gone = NULL;
	json_array_append_new(json_object_get(spec, "podSelectorEndpoints"),
			      json_pack("{s:s, s:s, s:s}", "namespace", "x", "name", "zz-new",
					"podIP", "10.250.0.1"));
}

static void drop_egress_peer(json_t *spec, json_t **gone)
{
	json_t *eg = json_object_get(spec, "egress");

	*gone = json_incref(json_array_get(eg, json_array_size(eg) / 2));
	json_array_remove(eg, json_array_size(eg) / 2);
}

/*
 * Splits random policies before and after edit until one keeps its layout
 * with more than two chunks; the chunks that changed must be exactly those
 * that list the new pod (after) or held the peer that went (before).
 */
static void only_the_chunks_it_touches_change(void (*edit)(json_t *spec, json_t **gone))
{
	for (int round = 0;; round++) {
		struct pf_policy_endpoint pe, pe2;
		json_t *before, *after, *gone, *c;
		const char *key;
		int touched = 0;

		assert_true(round < 200);
		random_pe(&pe, 200, 40);
		if (!pe.n_rules[1]) {
			pf_policy_endpoint_free(&pe);
			continue;
		}
		edited(&pe, edit, &pe2, &gone);
		before = publish(&pe, 4000);
		after = publish(&pe2, 4000);
		check_chunks(&pe2, after, 4000);
		if (chunks_changed(before, after) < 0 || json_object_size(after) <= 2) {
			json_decref(before);
			json_decref(after);
			json_decref(gone);
			pf_policy_endpoint_free(&pe);
			pf_policy_endpoint_free(&pe2);
			continue;
		}
		json_object_foreach(after, key, c) {
			json_t *old = json_object_get(before, key);
			bool touches = gone ? holds_rule(json_object_get(old, "spec"), "egress", gone)
					    : lists_endpoint(json_object_get(c, "spec"), "x", "zz-new");

			touched += touches;
			assert_int_equal(!json_equal(old, c), touches);
		}
		assert_true(touched >= 1);
		assert_true(touched < (int)json_object_size(after));
		json_decref(before);
		json_decref(after);
		json_decref(gone);
		pf_policy_endpoint_free(&pe);
		pf_policy_endpoint_free(&pe2);
		return;
	}
}

static void a_new_pod_rewrites_only_the_chunks_that_list_it(void **state)
{
	(void)state;
	rnd_state = 11;
	only_the_chunks_it_touches_change(add_pod);
}

static void a_peer_gone_rewrites_only_the_chunks_that_held_it(void **state)
{
	(void)state;
	rnd_state = 13;
	only_the_chunks_it_touches_change(drop_egress_peer);
}

static void an_endpoint_too_big_to_fit_is_refused(void **state)
{
	struct pf_policy_endpoint pe;
	json_t *wanted = json_object();
	char err[512] = "";

	(void)state;
	rnd_state = 5;
	memset(&pe, 0, sizeof(pe));
	do {
		pf_policy_endpoint_free(&pe);
		random_pe(&pe, 10, 10);
	} while (!pe.n_endpoints);
	assert_int_equal(pf_pe_publish(&pe, UID, 600, wanted, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "exceed the limit of 600 bytes"));
	assert_int_equal(json_object_size(wanted), 0);
	json_decref(wanted);
	pf_policy_endpoint_free(&pe);
}

static void long_policy_names_are_cut_with_a_hash(void **state)
{
	char policy[PF_K8S_NAME_MAX + 1], other[PF_K8S_NAME_MAX + 1];
	char a[PF_K8S_NAME_MAX + 1], b[PF_K8S_NAME_MAX + 1], label[PF_K8S_LABEL_VALUE_MAX + 1];

	(void)state;
	memset(policy, 'a', PF_K8S_NAME_MAX);
	policy[PF_K8S_NAME_MAX] = 0;
	policy[200] = '.'; /* a cut right after a dot must not end the name with it */
	memcpy(other, policy, sizeof(other));
	other[PF_K8S_NAME_MAX - 1] = 'b';
	assert_int_equal(pf_pe_chunk_name(policy, 3, 4, 1, 2, a, sizeof(a)), 0);
	assert_int_equal(pf_pe_chunk_name(other, 3, 4, 1, 2, b, sizeof(b)), 0);
	assert_true(strlen(a) <= PF_K8S_NAME_MAX);
	assert_true(pf_k8s_dns_subdomain_ok(a, strlen(a)));
	assert_true(pf_k8s_dns_subdomain_ok(b, strlen(b)));
	assert_string_not_equal(a, b);
	assert_non_null(strstr(a, "-e3of4-r1of2"));
	assert_int_equal(pf_pe_chunk_name("web", 1, 1, 1, 1, a, sizeof(a)), 0);
	assert_string_equal(a, "web-e1of1-r1of1");
	assert_int_equal(pf_pe_chunk_name("web", 1, 1, 1, 1, a, 8), -ENAMETOOLONG);
	pf_k8s_name_fit(policy, PF_K8S_LABEL_VALUE_MAX, label);
	assert_int_equal(strlen(label), PF_K8S_LABEL_VALUE_MAX);
	assert_int_equal(pf_label_value_check(label, a, sizeof(a)), 0);
	pf_k8s_name_fit("short", PF_K8S_LABEL_VALUE_MAX, label);
	assert_string_equal(label, "short");
}

/* --- the plan of writes ------------------------------------------------------ */

static json_t *pe_obj(const char *ns, const char *name, const char *policy, const char *rv,
		      const char *cidr, bool ours)
{
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:{s:s, s:s}, s:[{s:s}]}}", "apiVersion",
			      "podfence.io/v1alpha1", "kind", "PolicyEndpoint", "metadata", "name",
			      name, "namespace", ns, "spec", "policyRef", "name", policy,
			      "namespace", ns, "ingress", "cidr", cidr);
	json_t *meta = json_object_get(o, "metadata");

	if (ours)
		json_object_set_new(meta, "labels", json_pack("{s:s}", PF_PE_POLICY_LABEL, policy));
	if (rv) {
		/* what the server adds is not compared */
		json_object_set_new(meta, "resourceVersion", json_string(rv));
		json_object_set_new(meta, "uid", json_string("u-1"));
		json_object_set_new(meta, "generation", json_integer(3));
	}
	return o;
}

static void the_plan_creates_then_replaces_then_deletes_ours_only(void **state)
{
	json_t *wanted = json_object(), *observed = json_object(), *keep = json_object();
	struct pf_pe_plan p;

	(void)state;
	json_object_set_new(wanted, "x/b", pe_obj("x", "b", "p", NULL, "10.0.0.2/32", true));
	json_object_set_new(wanted, "x/a", pe_obj("x", "a", "p", NULL, "10.0.0.1/32", true));
	json_object_set_new(wanted, "x/same", pe_obj("x", "same", "p", NULL, "10.0.0.9/32", true));
	json_object_set_new(wanted, "x/old", pe_obj("x", "old", "p", NULL, "10.0.0.3/32", true));
	json_object_set_new(observed, "x/same", pe_obj("x", "same", "p", "7", "10.0.0.9/32", true));
	json_object_set_new(observed, "x/old", pe_obj("x", "old", "p", "8", "10.0.0.4/32", true));
	json_object_set_new(observed, "x/gone", pe_obj("x", "gone", "q", "9", "10.0.0.5/32", true));
	json_object_set_new(observed, "x/kept", pe_obj("x", "kept", "k", "10", "10.0.0.6/32", true));
	json_object_set_new(observed, "x/hand", pe_obj("x", "hand", "h", "11", "10.0.0.7/32", false));
	json_object_set_new(keep, "x/k", json_true());
	assert_int_equal(pf_pe_diff(wanted, observed, keep, &p), 0);
	assert_int_equal(p.n, 4);
	assert_int_equal(p.a[0].op, PF_PE_CREATE);
	assert_string_equal(p.a[0].name, "a");
	assert_int_equal(p.a[1].op, PF_PE_CREATE);
	assert_string_equal(p.a[1].name, "b");
	assert_true(json_equal(p.a[1].body, json_object_get(wanted, "x/b")));
	assert_int_equal(p.a[2].op, PF_PE_REPLACE);
	assert_string_equal(p.a[2].name, "old");
	assert_string_equal(p.a[2].resource_version, "8");
	/* the body carries the resourceVersion it replaces; wanted is untouched */
	assert_string_equal(json_string_value(json_object_get(json_object_get(p.a[2].body,
									      "metadata"),
							      "resourceVersion")), "8");
	assert_null(json_object_get(json_object_get(json_object_get(wanted, "x/old"), "metadata"),
				    "resourceVersion"));
	assert_int_equal(p.a[3].op, PF_PE_DELETE);
	assert_string_equal(p.a[3].ns, "x");
	assert_string_equal(p.a[3].name, "gone");
	assert_string_equal(p.a[3].resource_version, "9");
	assert_string_equal(pf_pe_op_name(p.a[3].op), "delete");
	pf_pe_plan_free(&p);
	json_decref(wanted);
	json_decref(observed);
	json_decref(keep);
}

static void a_label_or_owner_change_is_a_replace(void **state)
{
	json_t *w = pe_obj("x", "a", "p", NULL, "10.0.0.1/32", true);
	json_t *o = pe_obj("x", "a", "p", "5", "10.0.0.1/32", true);

	(void)state;
	assert_true(pf_pe_same(w, o));
	json_object_set_new(json_object_get(o, "metadata"), "ownerReferences",
			    json_pack("[{s:s}]", "uid", "old"));
	assert_false(pf_pe_same(w, o));
	json_object_del(json_object_get(o, "metadata"), "ownerReferences");
	json_object_set_new(json_object_get(json_object_get(o, "metadata"), "labels"), "extra",
			    json_string("1"));
	assert_false(pf_pe_same(w, o));
	json_decref(w);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_small_policy_is_one_object_with_label_and_owner),
		cmocka_unit_test(split_chunks_give_every_pod_exactly_its_rules),
		cmocka_unit_test(the_same_inputs_give_the_same_chunks),
		cmocka_unit_test(a_new_pod_rewrites_only_the_chunks_that_list_it),
		cmocka_unit_test(a_peer_gone_rewrites_only_the_chunks_that_held_it),
		cmocka_unit_test(an_endpoint_too_big_to_fit_is_refused),
		cmocka_unit_test(long_policy_names_are_cut_with_a_hash),
		cmocka_unit_test(the_plan_creates_then_replaces_then_deletes_ours_only),
		cmocka_unit_test(a_label_or_owner_change_is_a_replace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
