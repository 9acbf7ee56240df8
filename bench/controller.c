// SPDX-License-Identifier: Apache-2.0
/*
 * bench/controller: what a pass of podfence-controller in kube mode costs
 * to resolve and plan (lib/pe_wanted.h), in memory, without an API server:
 *  - full: every policy resolved (the first pass; what every pass cost
 *    before passes were incremental) and every object compared;
 *  - resync: nothing changed, every object compared with the API's;
 *  - pod label: one pod's label changed; the policies it reaches resolved,
 *    their objects compared;
 *  - policy: one policy's port changed; that policy resolved and compared.
 * At 100 policies x 100 pods and 1,000 x 1,000.
 *
 * The model, one namespace: pod i has labels app=a<i % 10> and
 * svc=s<i % S> (S = policies / 10), a named container port http and one
 * address. Policy j selects svc=s<j % S> and allows ingress from
 * app=a<j % 10> on port http, and egress to app=a<(j + 1) % 10> on TCP 443:
 * about pods / S targets and 2 x pods / 10 peers each. The "API" is a deep
 * copy of what the passes wanted, updated by each plan as the API server
 * would be, so comparisons walk real objects (never the same pointers).
 * Each figure is the median of its runs; changes alternate between two
 * values so every run changes something.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "cache_changes.h"
#include "log.h"
#include "pe_wanted.h"

#define BENCH_NS "bench"
#define BENCH_APPS 10
#define BENCH_MAX_PE_BYTES 900000 /* podfence-controller's --max-pe-bytes default */
#define BENCH_FULL_RUNS 3
#define BENCH_CHANGE_RUNS 7
#define BENCH_MAX_RUNS 7

enum bench_kind { BK_FULL, BK_RESYNC, BK_POD, BK_POLICY, BK_COUNT };
static const char *const bench_kind_names[BK_COUNT] = { "full", "resync", "pod label",
							"policy" };
static const char *const bench_kind_keys[BK_COUNT] = { "full", "resync", "pod_label",
						       "policy" };

struct bench_fig {
	double ms;       /* median */
	size_t resolved; /* policies resolved by the pass */
	size_t writes;   /* writes the plan held */
};

struct bench_size {
	size_t policies, pods;
	size_t pes;          /* PolicyEndpoint objects wanted */
	double pe_mb;        /* their JSON, compact */
	struct bench_fig f[BK_COUNT];
};

struct bench {
	struct pf_k8s_cache cache;
	struct pf_cache_changes ch;
	struct pf_pe_wanted w;
	json_t *uids, *api;
	size_t policies, pods, svcs;
};

static double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static json_t *bench_pod(size_t i, size_t svc)
{
	char name[32], app[32], svc_s[32], ip[80];

	snprintf(name, sizeof(name), "pod-%zu", i);
	snprintf(app, sizeof(app), "a%zu", i % BENCH_APPS);
	snprintf(svc_s, sizeof(svc_s), "s%zu", svc);
	snprintf(ip, sizeof(ip), "10.%zu.%zu.%zu", 1 + i / 65536, i / 256 % 256, i % 256);
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:{s:s, s:[{s:s, s:s, s:[{s:s, "
			 "s:I}]}]}, s:{s:s}}",
			 "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "namespace",
			 BENCH_NS, "labels", "app", app, "svc", svc_s, "spec", "nodeName", "node-1",
			 "containers", "name", "c", "image", "x", "ports", "name", "http",
			 "containerPort", (json_int_t)(8000 + i % 100), "status", "podIP", ip);
}

static json_t *bench_policy(const struct bench *b, size_t j, int egress_port)
{
	char name[32], svc[32], from[32], to[32];

	snprintf(name, sizeof(name), "policy-%zu", j);
	snprintf(svc, sizeof(svc), "s%zu", j % b->svcs);
	snprintf(from, sizeof(from), "a%zu", j % BENCH_APPS);
	snprintf(to, sizeof(to), "a%zu", (j + 1) % BENCH_APPS);
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:{s:{s:s}}, s:[{s:[{s:{s:{s:s}}}], "
			 "s:[{s:s}]}], s:[{s:[{s:{s:{s:s}}}], s:[{s:s, s:i}]}]}}",
			 "apiVersion", "networking.k8s.io/v1", "kind", "NetworkPolicy", "metadata",
			 "name", name, "namespace", BENCH_NS, "uid", name, "spec", "podSelector",
			 "matchLabels", "svc", svc, "ingress", "from", "podSelector", "matchLabels",
			 "app", from, "ports", "port", "http", "egress", "to", "podSelector",
			 "matchLabels", "app", to, "ports", "protocol", "TCP", "port", egress_port);
}

/* obj into the cache through the change tracking, as a watch would. */
static int bench_apply(struct bench *b, json_t *obj)
{
	char err[512];
	int rc = obj ? pf_cache_changes_apply(&b->ch, &b->cache, obj, NULL, err, sizeof(err))
		     : -ENOMEM;

	if (rc)
		fprintf(stderr, "controller bench: apply: %s\n",
			rc == -ENOMEM ? "out of memory" : err);
	json_decref(obj);
	return rc;
}

static int bench_setup(struct bench *b, size_t policies, size_t pods)
{
	char key[64];
	int rc = 0;

	memset(b, 0, sizeof(*b));
	b->policies = policies;
	b->pods = pods;
	b->svcs = policies / 10 ? policies / 10 : 1;
	pf_k8s_cache_init(&b->cache);
	b->uids = json_object();
	b->api = json_object();
	if (!b->uids || !b->api || pf_pe_wanted_init(&b->w, BENCH_MAX_PE_BYTES))
		return -ENOMEM;
	rc = bench_apply(b, json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind",
				      "Namespace", "metadata", "name", BENCH_NS));
	for (size_t i = 0; !rc && i < pods; i++)
		rc = bench_apply(b, bench_pod(i, i % b->svcs));
	for (size_t j = 0; !rc && j < policies; j++) {
		snprintf(key, sizeof(key), BENCH_NS "/policy-%zu", j);
		rc = json_object_set_new(b->uids, key, json_string(key + strlen(BENCH_NS "/")))
			     ? -ENOMEM
			     : bench_apply(b, bench_policy(b, j, 443));
	}
	return rc;
}

static void bench_teardown(struct bench *b)
{
	pf_pe_wanted_free(&b->w);
	pf_cache_changes_reset(&b->ch);
	pf_k8s_cache_free(&b->cache);
	json_decref(b->uids);
	json_decref(b->api);
}

/* The plan's writes, as the API server would make them (deep copies). */
static int bench_api_write(struct bench *b, const struct pf_pe_plan *plan)
{
	char key[600];

	for (size_t i = 0; i < plan->n; i++) {
		const struct pf_pe_action *a = &plan->a[i];

		snprintf(key, sizeof(key), "%s/%s", a->ns, a->name);
		if (a->op == PF_PE_DELETE)
			json_object_del(b->api, key);
		else if (json_object_set_new(b->api, key, json_deep_copy(a->body)))
			return -ENOMEM;
	}
	return 0;
}

/* One pass, timed: resolve and plan (not the API's side of the writes). */
static int bench_pass(struct bench *b, bool full, double *ms, struct bench_fig *f,
		      json_t **wanted)
{
	struct pf_pe_wanted_pass p;
	struct pf_pe_plan plan = { 0 };
	double t0 = bench_now_ms();
	int rc = pf_pe_wanted_update(&b->w, &b->cache, &b->ch, b->uids, &p);

	if (!rc)
		rc = pf_pe_wanted_plan(&p, b->api, full, &plan);
	*ms = bench_now_ms() - t0;
	if (rc) {
		fprintf(stderr, "controller bench: pass: %s\n", strerror(-rc));
		pf_pe_wanted_pass_free(&p);
		return rc;
	}
	if (json_object_size(p.errors)) {
		fprintf(stderr, "controller bench: %zu policies not published\n",
			json_object_size(p.errors));
		rc = -EINVAL;
	}
	f->resolved = p.resolved;
	f->writes = plan.n;
	if (!rc)
		rc = bench_api_write(b, &plan);
	if (!rc && wanted)
		*wanted = json_incref(p.wanted);
	pf_pe_plan_free(&plan);
	pf_pe_wanted_pass_free(&p);
	return rc;
}

/* The change of run r of kind, into the cache. */
static int bench_change(struct bench *b, enum bench_kind kind, int r)
{
	if (kind == BK_POD) /* pod-0 moves between two svc groups */
		return bench_apply(b, bench_pod(0, r % 2 ? b->svcs / 2 : 0));
	if (kind == BK_POLICY)
		return bench_apply(b, bench_policy(b, 0, r % 2 ? 444 : 443));
	return 0;
}

static int bench_figure(struct bench *b, enum bench_kind kind, struct bench_fig *f)
{
	int runs = kind == BK_FULL ? BENCH_FULL_RUNS : BENCH_CHANGE_RUNS, rc = 0;
	double ms[BENCH_MAX_RUNS];

	for (int r = 0; !rc && r < runs; r++) {
		if (kind == BK_FULL) { /* a controller that knows nothing yet */
			pf_pe_wanted_free(&b->w);
			rc = pf_pe_wanted_init(&b->w, BENCH_MAX_PE_BYTES);
		}
		rc = rc ? rc : bench_change(b, kind, r + 1);
		rc = rc ? rc : bench_pass(b, kind == BK_FULL || kind == BK_RESYNC, &ms[r], f, NULL);
		/* the change's objects must be rewritten, and nothing else */
		if (!rc && (kind == BK_POD || kind == BK_POLICY) && !f->writes) {
			fprintf(stderr, "controller bench: a %s change wrote nothing\n",
				bench_kind_names[kind]);
			rc = -EINVAL;
		}
	}
	if (!rc) {
		qsort(ms, (size_t)runs, sizeof(ms[0]), bench_cmp_double);
		f->ms = ms[runs / 2];
	}
	return rc;
}

static int bench_size_run(struct bench_size *s)
{
	struct bench b;
	struct bench_fig first;
	json_t *wanted = NULL, *obj;
	const char *key;
	double ms;
	int rc = bench_setup(&b, s->policies, s->pods);

	/* the first pass fills the "API", so later ones compare and write
	 * only what changed */
	if (!rc)
		rc = bench_pass(&b, true, &ms, &first, &wanted);
	if (!rc) {
		s->pes = json_object_size(wanted);
		json_object_foreach(wanted, key, obj) {
			char *text = json_dumps(obj, JSON_COMPACT);

			s->pe_mb += text ? (double)strlen(text) / 1e6 : 0;
			free(text);
		}
	}
	json_decref(wanted);
	for (int k = 0; !rc && k < BK_COUNT; k++)
		rc = bench_figure(&b, (enum bench_kind)k, &s->f[k]);
	bench_teardown(&b);
	return rc;
}

static void bench_print_table(const struct bench_size *s, size_t n)
{
	printf("podfence-controller pass: resolve and plan, ms (median; policies resolved, "
	       "writes planned)\n");
	printf("%-20s %8s %8s", "policies x pods", "PEs", "PE MB");
	for (int k = 0; k < BK_COUNT; k++)
		printf(" %22s", bench_kind_names[k]);
	printf("\n");
	for (size_t i = 0; i < n; i++) {
		char size[32];

		snprintf(size, sizeof(size), "%zu x %zu", s[i].policies, s[i].pods);
		printf("%-20s %8zu %8.1f", size, s[i].pes, s[i].pe_mb);
		for (int k = 0; k < BK_COUNT; k++) {
			char cell[40];

			snprintf(cell, sizeof(cell), "%.2f (%zu; %zu)", s[i].f[k].ms,
				 s[i].f[k].resolved, s[i].f[k].writes);
			printf(" %22s", cell);
		}
		printf("\n");
	}
}

static int bench_print_json(const struct bench_size *s, size_t n)
{
	json_t *rows = json_array(), *root;
	char *text;

	for (size_t i = 0; rows && i < n; i++) {
		json_t *row = json_pack("{s:I, s:I, s:I, s:f}", "policies", (json_int_t)s[i].policies,
					"pods", (json_int_t)s[i].pods, "policy_endpoints",
					(json_int_t)s[i].pes, "policy_endpoint_mb", s[i].pe_mb);

		for (int k = 0; row && k < BK_COUNT; k++)
			json_object_set_new(row, bench_kind_keys[k],
					    json_pack("{s:f, s:I, s:I}", "ms", s[i].f[k].ms,
						      "resolved", (json_int_t)s[i].f[k].resolved,
						      "writes", (json_int_t)s[i].f[k].writes));
		json_array_append_new(rows, row);
	}
	root = json_pack("{s:o, s:i, s:i}", "sizes", rows, "full_runs", BENCH_FULL_RUNS,
			 "change_runs", BENCH_CHANGE_RUNS);
	text = root ? json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) : NULL;
	json_decref(root);
	if (!text) {
		fprintf(stderr, "controller bench: the JSON: out of memory\n");
		return -ENOMEM;
	}
	printf("%s\n", text);
	free(text);
	return 0;
}

static void bench_usage(FILE *out)
{
	fprintf(out, "usage: controller [--json]\n"
		     "  Times podfence-controller's pass (resolve and plan, lib/pe_wanted.h) in\n"
		     "  memory at 100 policies x 100 pods and 1,000 x 1,000: full, resync, after\n"
		     "  one pod label change, after one policy change. --json: one JSON object.\n");
}

int main(int argc, char **argv)
{
	struct bench_size sizes[] = { { .policies = 100, .pods = 100 },
				      { .policies = 1000, .pods = 1000 } };
	size_t n = sizeof(sizes) / sizeof(sizes[0]);
	bool json = false;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			bench_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "controller bench: unknown argument \"%s\"\n", argv[i]);
			bench_usage(stderr);
			return 2;
		}
	}
	pf_log_set_level(PF_LOG_WARN);
	for (size_t i = 0; !rc && i < n; i++)
		rc = bench_size_run(&sizes[i]);
	if (!rc)
		rc = json ? bench_print_json(sizes, n) : (bench_print_table(sizes, n), 0);
	return rc ? 1 : 0;
}
