// SPDX-License-Identifier: Apache-2.0
/*
 * The shared NetworkPolicy conformance cases (tests/e2e/netpol/cases/, see its
 * README), judged by the resolver and the policy compiler without a network:
 * the README's model (namespaces x, y, z; pods a, b, c with the six named
 * container ports) in a cache, each step's changes applied, PolicyEndpoints
 * built and read back from their JSON (what an agent in kube mode sees), each
 * pod's policy set compiled, and every ordered pair judged with
 * pf_compiled_allows exactly as the datapath decides: the sender's egress and
 * the receiver's ingress must both allow. One test per case file.
 * PF_NETPOL_CASES_DIR overrides the folder (the test runs from the repo root).
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "k8s_objects.h"
#include "policy_compile.h"
#include "policy_endpoint.h"
#include "resolver.h"

#define N_NS 3
#define N_POD 3
#define N (N_NS * N_POD)

static const char *const ns_names[N_NS] = { "x", "y", "z" };
static const char *const pod_names[N_POD] = { "a", "b", "c" };

struct model {
	struct pf_k8s_cache cache;
	json_t *ns_labels[N_NS];
	json_t *pod_labels[N];
	char ip[N][16];
	struct pf_policy_spec spec[N];
	struct pf_compiled compiled[N];
};

static int pod_index(const char *ref)
{
	for (int i = 0; i < N; i++) {
		char name[8];

		snprintf(name, sizeof(name), "%s/%s", ns_names[i / N_POD], pod_names[i % N_POD]);
		if (!strcmp(name, ref))
			return i;
	}
	fail_msg("unknown pod \"%s\"", ref);
	return -1;
}

static void apply(struct model *m, json_t *obj)
{
	char err[1024] = "";

	if (pf_k8s_cache_apply(&m->cache, obj, NULL, err, sizeof(err)))
		fail_msg("apply: %s", err);
}

static void apply_namespace(struct model *m, int n)
{
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:O}}", "apiVersion", "v1", "kind", "Namespace",
			      "metadata", "name", ns_names[n], "labels", m->ns_labels[n]);

	apply(m, o);
	json_decref(o);
}

/* One container per (port, protocol), named as upstream's model.go does. */
static json_t *model_containers(void)
{
	static const char *const protos[] = { "TCP", "UDP", "SCTP" };
	static const char *const lower[] = { "tcp", "udp", "sctp" };
	json_t *containers = json_array();

	for (int port = 80; port <= 81; port++) {
		for (int p = 0; p < 3; p++) {
			char cname[32], pname[32];

			snprintf(cname, sizeof(cname), "cont-%d-%s", port, lower[p]);
			snprintf(pname, sizeof(pname), "serve-%d-%s", port, lower[p]);
			json_array_append_new(containers, json_pack(
				"{s:s, s:[{s:s, s:i, s:s}]}", "name", cname, "ports", "name", pname,
				"containerPort", port, "protocol", protos[p]));
		}
	}
	return containers;
}

static void apply_pod(struct model *m, int i)
{
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:O}, s:{s:s, s:o}, s:{s:s, s:[{s:s}]}}",
			      "apiVersion", "v1", "kind", "Pod", "metadata", "name",
			      pod_names[i % N_POD], "namespace", ns_names[i / N_POD], "labels",
			      m->pod_labels[i], "spec", "nodeName", "node-1", "containers",
			      model_containers(), "status", "podIP", m->ip[i], "podIPs", "ip",
			      m->ip[i]);

	apply(m, o);
	json_decref(o);
}

static void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	pf_k8s_cache_init(&m->cache);
	for (int n = 0; n < N_NS; n++) {
		m->ns_labels[n] = json_pack("{s:s}", "ns", ns_names[n]);
		apply_namespace(m, n);
	}
	for (int i = 0; i < N; i++) {
		snprintf(m->ip[i], sizeof(m->ip[i]), "10.244.%d.%d", i / N_POD, i % N_POD + 10);
		m->pod_labels[i] = json_pack("{s:s}", "pod", pod_names[i % N_POD]);
		apply_pod(m, i);
	}
}

static void model_free_specs(struct model *m)
{
	for (int i = 0; i < N; i++) {
		pf_policy_spec_free(&m->spec[i]);
		pf_compiled_free(&m->compiled[i]);
	}
}

static void model_free(struct model *m)
{
	model_free_specs(m);
	for (int n = 0; n < N_NS; n++)
		json_decref(m->ns_labels[n]);
	for (int i = 0; i < N; i++)
		json_decref(m->pod_labels[i]);
	pf_k8s_cache_free(&m->cache);
}

/* Replaces {{hostcidr NS/POD}}, {{cidr4 NS/POD}} and {{ip NS/POD}}. */
static json_t *substitute(const struct model *m, json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT), *out = malloc(strlen(text) * 2 + 64);
	const char *s = text;
	size_t o = 0;
	json_t *res;

	assert_non_null(out);
	while (*s) {
		char kind[16], ref[16], err[128], buf[64];
		const char *end;
		struct pf_cidr c;
		int i;

		if (strncmp(s, "{{", 2) || !(end = strstr(s, "}}")) ||
		    sscanf(s, "{{%15s %15[^}]}}", kind, ref) != 2) {
			out[o++] = *s++;
			continue;
		}
		i = pod_index(ref);
		if (!strcmp(kind, "hostcidr")) {
			o += (size_t)sprintf(out + o, "%s/32", m->ip[i]);
		} else if (!strcmp(kind, "ip")) {
			o += (size_t)sprintf(out + o, "%s", m->ip[i]);
		} else if (!strcmp(kind, "cidr4")) {
			snprintf(buf, sizeof(buf), "%s/4", m->ip[i]);
			assert_int_equal(pf_cidr_parse(buf, &c, err, sizeof(err)), 0);
			o += (size_t)sprintf(out + o, "%s", pf_cidr_format(&c, buf, sizeof(buf)));
		} else {
			fail_msg("unknown placeholder {{%s %s}}", kind, ref);
		}
		s = end + 2;
	}
	out[o] = 0;
	res = json_loads(out, 0, NULL);
	assert_non_null(res);
	free(text);
	free(out);
	return res;
}

static void relabel(struct model *m, json_t *item)
{
	json_t *ns = json_object_get(item, "namespace"), *pod = json_object_get(item, "pod");
	json_t *add = json_object_get(item, "add"), *remove = json_object_get(item, "remove"), *v;
	json_t *labels;
	size_t k;
	int n = -1, i = -1;

	if (json_is_string(ns)) {
		for (int x = 0; x < N_NS; x++)
			if (!strcmp(ns_names[x], json_string_value(ns)))
				n = x;
		assert_true(n >= 0);
		labels = m->ns_labels[n];
	} else {
		assert_true(json_is_string(pod));
		i = pod_index(json_string_value(pod));
		labels = m->pod_labels[i];
	}
	if (add)
		assert_int_equal(json_object_update(labels, add), 0);
	json_array_foreach(remove, k, v)
		json_object_del(labels, json_string_value(v));
	if (n >= 0)
		apply_namespace(m, n);
	else
		apply_pod(m, i);
}

/* PolicyEndpoints from the cache, written to JSON and read back, then each
 * pod's policy set from them alone, compiled. */
static void resolve(struct model *m)
{
	struct pf_policy_endpoint **built, **read;
	char err[1024] = "";
	size_t n;

	model_free_specs(m);
	if (pf_policy_endpoints_build(&m->cache, &built, &n, err, sizeof(err)))
		fail_msg("build PolicyEndpoints: %s", err);
	read = calloc(n + 1, sizeof(*read));
	assert_non_null(read);
	for (size_t i = 0; i < n; i++) {
		json_t *j = pf_policy_endpoint_to_json(built[i]);

		read[i] = calloc(1, sizeof(*read[i]));
		assert_non_null(read[i]);
		if (pf_policy_endpoint_from_json(j, read[i], err, sizeof(err)))
			fail_msg("PolicyEndpoint does not read back: %s", err);
		json_decref(j);
	}
	for (int i = 0; i < N; i++) {
		if (pf_resolve_pod_spec((const struct pf_policy_endpoint *const *)read, n,
					ns_names[i / N_POD], pod_names[i % N_POD], true, &m->spec[i],
					err, sizeof(err)))
			fail_msg("pod spec: %s", err);
		assert_int_equal(pf_policy_compile(&m->spec[i], &m->compiled[i]), 0);
	}
	pf_policy_endpoints_free(built, n);
	pf_policy_endpoints_free(read, n);
}

static bool dir_allows(const struct model *m, int pod, enum pf_dir d, int peer, uint8_t proto,
		       uint16_t port)
{
	struct pf_cidr peer_ip;
	char err[128];

	if (m->spec[pod].dir[d].isolation != PF_ISO_ISOLATED)
		return true;
	assert_int_equal(pf_addr_parse(m->ip[peer], &peer_ip, err, sizeof(err)), 0);
	return pf_compiled_allows(&m->compiled[pod], d, PF_FAMILY_V4, peer_ip.addr, proto, port,
				  true);
}

static void expected_table(json_t *expect, bool table[N][N])
{
	bool def = json_is_true(json_object_get(expect, "default"));
	json_t *list = json_object_get(expect, def ? "deny" : "allow"), *pair;
	size_t k;

	for (int f = 0; f < N; f++)
		for (int t = 0; t < N; t++)
			table[f][t] = def;
	json_array_foreach(list, k, pair)
		table[pod_index(json_string_value(json_array_get(pair, 0)))]
		     [pod_index(json_string_value(json_array_get(pair, 1)))] = !def;
}

static void print_table(const char *title, bool table[N][N], bool other[N][N])
{
	printf("    %s (rows: from, columns: to; . allowed, X denied, * differs)\n        ", title);
	for (int t = 0; t < N; t++)
		printf("%s/%s  ", ns_names[t / N_POD], pod_names[t % N_POD]);
	printf("\n");
	for (int f = 0; f < N; f++) {
		printf("    %s/%s ", ns_names[f / N_POD], pod_names[f % N_POD]);
		for (int t = 0; t < N; t++)
			printf(" %c%c   ", table[f][t] ? '.' : 'X', table[f][t] != other[f][t] ? '*' : ' ');
		printf("\n");
	}
}

/* Returns the number of scored (non-self) mismatches. */
static int run_probe(const struct model *m, json_t *probe, const char *where)
{
	const char *proto_name = json_string_value(json_object_get(probe, "protocol"));
	uint16_t port = (uint16_t)json_integer_value(json_object_get(probe, "port"));
	bool observed[N][N], expected[N][N];
	int wrong = 0, self_wrong = 0;
	uint8_t proto;
	char err[128];

	assert_int_equal(pf_proto_parse(proto_name, &proto, err, sizeof(err)), 0);
	expected_table(json_object_get(probe, "expect"), expected);
	for (int f = 0; f < N; f++) {
		for (int t = 0; t < N; t++) {
			observed[f][t] = dir_allows(m, f, PF_DIR_EGRESS, t, proto, port) &&
					 dir_allows(m, t, PF_DIR_INGRESS, f, proto, port);
			if (observed[f][t] != expected[f][t])
				*(f == t ? &self_wrong : &wrong) += 1;
		}
	}
	if (self_wrong)
		printf("    note: %s %s/%u: %d self pair(s) differ (not scored, as upstream)\n",
		       where, proto_name, port, self_wrong);
	if (wrong) {
		printf("    %s %s/%u: %d pair(s) wrong\n", where, proto_name, port, wrong);
		print_table("observed", observed, expected);
		print_table("expected", expected, observed);
	}
	return wrong;
}

static void run_step(struct model *m, json_t *step, size_t s, int *wrong)
{
	json_t *v;
	size_t k;
	char where[64];

	json_array_foreach(json_object_get(step, "apply"), k, v) {
		json_t *obj = substitute(m, v);

		apply(m, obj);
		json_decref(obj);
	}
	json_array_foreach(json_object_get(step, "delete"), k, v) {
		char ns[64], name[256];

		assert_int_equal(sscanf(json_string_value(v), "%63[^/]/%255s", ns, name), 2);
		assert_int_equal(pf_k8s_cache_delete(&m->cache, PF_K8S_NETWORK_POLICY, ns, name), 0);
	}
	json_array_foreach(json_object_get(step, "relabel"), k, v)
		relabel(m, v);
	resolve(m);
	json_array_foreach(json_object_get(step, "probes"), k, v) {
		snprintf(where, sizeof(where), "step %zu probe %zu", s + 1, k + 1);
		*wrong += run_probe(m, v, where);
	}
}

static void netpol_case(void **state)
{
	const char *path = *state;
	json_error_t jerr;
	json_t *c = json_load_file(path, 0, &jerr), *step;
	struct model m;
	int wrong = 0;
	size_t s;

	if (!c)
		fail_msg("%s: line %d: %s", path, jerr.line, jerr.text);
	printf("    %s: %s\n", path, json_string_value(json_object_get(c, "name")));
	model_init(&m);
	json_array_foreach(json_object_get(c, "steps"), s, step)
		run_step(&m, step, s, &wrong);
	model_free(&m);
	json_decref(c);
	fflush(stdout); /* the tables before cmocka's verdict */
	if (wrong)
		fail_msg("%s: %d pair(s) judged differently from the truth table", path, wrong);
}

static int is_case(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 5 && !strcmp(d->d_name + n - 5, ".json");
}

int main(void)
{
	const char *dir = getenv("PF_NETPOL_CASES_DIR");
	struct CMUnitTest *tests;
	struct dirent **names;
	char **paths;
	int n, rc;

	if (!dir)
		dir = "tests/e2e/netpol/cases";
	n = scandir(dir, &names, is_case, alphasort);
	if (n <= 0) {
		fprintf(stderr, "no case files (*.json) in %s: %s (run from the repo root or set "
			"PF_NETPOL_CASES_DIR)\n", dir, n < 0 ? strerror(errno) : "none found");
		return 1;
	}
	tests = calloc((size_t)n, sizeof(*tests));
	paths = calloc((size_t)n, sizeof(*paths));
	if (!tests || !paths)
		return 1;
	for (int i = 0; i < n; i++) {
		if (asprintf(&paths[i], "%s/%s", dir, names[i]->d_name) < 0)
			return 1;
		tests[i] = (struct CMUnitTest){ .name = names[i]->d_name, .test_func = netpol_case,
						.initial_state = paths[i] };
	}
	rc = _cmocka_run_group_tests("netpol cases", tests, (size_t)n, NULL, NULL);
	for (int i = 0; i < n; i++) {
		free(paths[i]);
		free(names[i]);
	}
	free(names);
	free(paths);
	free(tests);
	return rc;
}
