// SPDX-License-Identifier: Apache-2.0
/* Prometheus metrics (GET /metrics on --metrics-bind-addr) and the health
 * probes (/healthz, /readyz on --health-probe-bind-addr). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "map_decode.h"
#include "agent.h"

/* Seconds: a reconcile that writes nothing takes well under a millisecond,
 * one that rebuilds every PolicyEndpoint of 1,000 policies about 0.1 s. */
static const double agent_latency_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
					       0.05,   0.1,   0.25,   0.5,   1,    2.5 };
#define AGENT_N_BOUNDS (sizeof(agent_latency_bounds) / sizeof(agent_latency_bounds[0]))

/* kube: the watches' metrics, per resource (source_kube.c fills them). */
static int agent_metrics_init_kube(struct agent_metrics *m)
{
	struct pf_prom *r = m->reg;

	m->watch_lists = pf_prom_counter(r, "podfence_kube_watch_lists_total",
					 "Full lists of a watched resource (the first and every "
					 "relist).", "resource");
	m->watch_events = pf_prom_counter(r, "podfence_kube_watch_events_total",
					  "Watch events taken (bookmarks included).", "resource");
	m->watch_errors = pf_prom_counter(r, "podfence_kube_watch_errors_total",
					  "Failed requests, broken streams and bad events of a watch.",
					  "resource");
	m->watch_expired = pf_prom_counter(r, "podfence_kube_watch_expired_total",
					   "410 Gone answers (each led to a relist).", "resource");
	m->watch_connected = pf_prom_gauge(r, "podfence_kube_watch_connected",
					   "1 while a watch stream is open.", "resource");
	/* Each resource's series appear at the first scrape (0 added). */
	return m->watch_lists && m->watch_events && m->watch_errors && m->watch_expired &&
		       m->watch_connected
		       ? 0
		       : -ENOMEM;
}

int agent_metrics_init(struct agent_metrics *m, bool kube)
{
	struct pf_prom *r = pf_prom_new();
	int bad;

	memset(m, 0, sizeof(*m));
	if (!r)
		return -ENOMEM;
	m->reg = r;
	m->pods = pf_prom_gauge(r, "podfence_agent_pods_enforced",
				"Local pods bound to their policy set with the programs attached.",
				NULL);
	m->sets = pf_prom_gauge(r, "podfence_agent_policy_sets",
				"Policy sets in the datapath (pods with equal rules share one).",
				NULL);
	m->entries = pf_prom_gauge(r, "podfence_agent_map_entries",
				   "Entries the policy sets hold (map=rules: prefixes, "
				   "map=hosts: single addresses, /32 or /128).",
				   "map");
	m->verdicts = pf_prom_counter(r, "podfence_agent_verdicts_total",
				      "New-flow verdicts of the datapath, by reason.", "reason");
	m->reconcile_seconds = pf_prom_histogram(r, "podfence_agent_reconcile_seconds",
						 "Time of one reconcile, from the cache to the maps.",
						 NULL, agent_latency_bounds, AGENT_N_BOUNDS);
	m->reconcile_errors = pf_prom_counter(r, "podfence_agent_reconcile_errors_total",
					      "Reconciles that failed (and were retried).", NULL);
	m->manifest_errors = pf_prom_counter(r, "podfence_agent_manifest_errors_total",
					     "Manifest files, documents or objects refused (kube: "
					     "objects of the API refused).", NULL);
	m->events = pf_prom_counter(r, "podfence_agent_policy_events_total",
				    "Lines written to the policy event log.", NULL);
	m->event_errors = pf_prom_counter(r, "podfence_agent_policy_event_errors_total",
					  "Policy events that could not be written.", NULL);
	m->ct_removed = pf_prom_counter(r, "podfence_agent_conntrack_swept_total",
					"Idle tracked flows removed by the periodic sweep.", NULL);
	bad = !m->pods || !m->sets || !m->entries || !m->verdicts || !m->reconcile_seconds ||
	      !m->reconcile_errors || !m->manifest_errors || !m->events || !m->event_errors ||
	      !m->ct_removed;
	/* Every series at 0 from the start, so rates work at once. */
	bad = bad || pf_prom_set(m->pods, NULL, 0) || pf_prom_set(m->sets, NULL, 0) ||
	      pf_prom_set(m->entries, "rules", 0) || pf_prom_set(m->entries, "hosts", 0) ||
	      pf_prom_add(m->reconcile_errors, NULL, 0) || pf_prom_add(m->manifest_errors, NULL, 0) ||
	      pf_prom_add(m->events, NULL, 0) || pf_prom_add(m->event_errors, NULL, 0) ||
	      pf_prom_add(m->ct_removed, NULL, 0);
	for (unsigned r = 0; !bad && r < PF_REASON__COUNT; r++)
		bad = pf_prom_add(m->verdicts, pf_reason_name(r), 0) != 0;
	bad = bad || (kube && agent_metrics_init_kube(m));
	if (bad) {
		pf_prom_free(m->reg);
		memset(m, 0, sizeof(*m));
		return -ENOMEM;
	}
	return 0;
}

void agent_metrics_free(struct agent_metrics *m)
{
	pf_prom_free(m->reg);
	memset(m, 0, sizeof(*m));
}

/* The datapath's per-CPU counters only grow (they outlive the agent), so
 * what they gained since the last scrape is added. */
static void agent_scrape_verdicts(struct agent *a)
{
	uint64_t now[PF_REASON__COUNT];

	if (!a->dp || pf_datapath_read_metrics(a->dp, now))
		return;
	for (unsigned r = 0; r < PF_REASON__COUNT; r++) {
		if (now[r] > a->m.verdicts_seen[r])
			pf_prom_add(a->m.verdicts, pf_reason_name(r),
				    (double)(now[r] - a->m.verdicts_seen[r]));
		a->m.verdicts_seen[r] = now[r];
	}
}

void agent_metrics_handle(void *ctx, const char *method, const char *path, const char *body,
			  size_t body_len, struct pf_http_reply *reply)
{
	struct agent *a = ctx;

	(void)body, (void)body_len;
	if (strcmp(path, "/metrics")) {
		pf_http_reply_error(reply, 404, "no such endpoint %s (try /metrics)", path);
		return;
	}
	if (strcmp(method, "GET")) {
		pf_http_reply_error(reply, 405, "%s is not allowed on %s", method, path);
		return;
	}
	/* One server thread serves every scrape, so verdicts_seen (and the
	 * watch counters seen) need no lock. */
	agent_scrape_verdicts(a);
	agent_kube_scrape(a);
	reply->body = pf_prom_render(a->m.reg);
	if (!reply->body) {
		pf_http_reply_error(reply, 500, "render metrics: out of memory");
		return;
	}
	reply->status = 200;
	reply->content_type = PF_PROM_CONTENT_TYPE;
}

bool agent_ready(const struct agent *a)
{
	return !a->cfg.enabled || (a->source_loaded && a->first_reconcile_done);
}

void agent_health_handle(void *ctx, const char *method, const char *path, const char *body,
			 size_t body_len, struct pf_http_reply *reply)
{
	struct agent *a = ctx;
	bool source, reconciled, ready;
	json_t *answer;

	(void)body, (void)body_len;
	if (strcmp(method, "GET")) {
		pf_http_reply_error(reply, 405, "%s is not allowed on %s", method, path);
		return;
	}
	if (!strcmp(path, "/healthz")) {
		pf_http_reply_json(reply, 200, json_pack("{s:s}", "status", "ok"));
		return;
	}
	if (strcmp(path, "/readyz")) {
		pf_http_reply_error(reply, 404, "no such endpoint %s (try /healthz or /readyz)",
				    path);
		return;
	}
	pthread_mutex_lock(&a->lock);
	source = a->source_loaded;
	reconciled = a->first_reconcile_done;
	ready = agent_ready(a);
	answer = json_pack("{s:s, s:b, s:b}", "status", ready ? "ready" : "not ready",
			 "source_loaded", source, "reconciled", reconciled);
	if (answer && a->kube)
		json_object_set_new(answer, "synced", agent_kube_health_json(a));
	pthread_mutex_unlock(&a->lock);
	pf_http_reply_json(reply, ready ? 200 : 503, answer);
}
