// SPDX-License-Identifier: Apache-2.0
/* The kube: controller's health and metrics, GET /healthz and /metrics on
 * --health-bind (loopback). */
#include <errno.h>
#include <string.h>

#include "kube.h"
#include "pe_publish.h"

/* Seconds: resolving 100 policies over 100 pods takes a few milliseconds;
 * a pass that writes waits on the API server for each write. */
static const double kube_pass_bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					   0.1,   0.25,   0.5,   1,    2.5,   5 };
#define KUBE_N_BOUNDS (sizeof(kube_pass_bounds) / sizeof(kube_pass_bounds[0]))

static const char *const kube_kinds[] = { "Namespace", "Pod", "NetworkPolicy" };

int kube_metrics_init(struct kube_metrics *m)
{
	struct pf_prom *r = pf_prom_new();
	int bad;

	memset(m, 0, sizeof(*m));
	if (!r)
		return -ENOMEM;
	m->reg = r;
	m->policies = pf_prom_gauge(r, "podfence_controller_network_policies",
				    "NetworkPolicies in the cache at the last pass.", NULL);
	m->pes = pf_prom_gauge(r, "podfence_controller_policy_endpoints",
			       "PolicyEndpoints the last pass wanted on the API server.", NULL);
	m->unpublished = pf_prom_gauge(r, "podfence_controller_policies_unpublished",
				       "NetworkPolicies that could not be published (too large "
				       "even when split; see the log).", NULL);
	m->writes = pf_prom_counter(r, "podfence_controller_policy_endpoint_writes_total",
				    "PolicyEndpoint writes that succeeded, by operation.", "op");
	m->write_errors = pf_prom_counter(r,
					  "podfence_controller_policy_endpoint_write_errors_total",
					  "PolicyEndpoint writes that failed (and were retried), by "
					  "operation.", "op");
	m->passes = pf_prom_counter(r, "podfence_controller_passes_total",
				    "Passes: resolve, plan, write.", NULL);
	m->pass_seconds = pf_prom_histogram(r, "podfence_controller_pass_seconds",
					    "Time of one pass, writes included.", NULL,
					    kube_pass_bounds, KUBE_N_BOUNDS);
	m->resolve_seconds = pf_prom_histogram(r, "podfence_controller_resolve_seconds",
					       "Time of one pass to resolve the policies a "
					       "change reached and plan the writes.", NULL,
					       kube_pass_bounds, KUBE_N_BOUNDS);
	m->resolved = pf_prom_counter(r, "podfence_controller_policies_resolved_total",
				      "NetworkPolicies resolved by passes (only those a change "
				      "reached, or new).", NULL);
	m->refused = pf_prom_counter(r, "podfence_controller_objects_refused_total",
				     "Objects from the API that did not validate, by kind.", "kind");
	bad = !m->policies || !m->pes || !m->unpublished || !m->writes || !m->write_errors ||
	      !m->passes || !m->pass_seconds || !m->resolve_seconds || !m->refused || !m->resolved;
	/* Every series at 0 from the start, so rates work at once. */
	bad = bad || pf_prom_set(m->policies, NULL, 0) || pf_prom_set(m->pes, NULL, 0) ||
	      pf_prom_set(m->unpublished, NULL, 0) || pf_prom_add(m->passes, NULL, 0) ||
	      pf_prom_add(m->resolved, NULL, 0);
	for (int op = PF_PE_CREATE; !bad && op <= PF_PE_DELETE; op++)
		bad = pf_prom_add(m->writes, pf_pe_op_name(op), 0) ||
		      pf_prom_add(m->write_errors, pf_pe_op_name(op), 0);
	for (size_t i = 0; !bad && i < sizeof(kube_kinds) / sizeof(kube_kinds[0]); i++)
		bad = pf_prom_add(m->refused, kube_kinds[i], 0) != 0;
	if (bad) {
		pf_prom_free(m->reg);
		memset(m, 0, sizeof(*m));
		return -ENOMEM;
	}
	return 0;
}

void kube_metrics_free(struct kube_metrics *m)
{
	pf_prom_free(m->reg);
	memset(m, 0, sizeof(*m));
}

static void kube_healthz(struct kube_ctl *k, struct pf_http_reply *reply)
{
	static const char *const names[KW_COUNT] = { "namespaces", "pods", "networkpolicies",
						     "policyendpoints" };
	json_t *synced = json_object();
	bool healthy;

	pthread_mutex_lock(&k->lock);
	healthy = k->healthy;
	for (int i = 0; i < KW_COUNT; i++)
		json_object_set_new(synced, names[i], json_boolean(k->synced[i]));
	pthread_mutex_unlock(&k->lock);
	/* Healthy stays healthy: the API server going away later is no reason
	 * to restart the controller (it retries on its own). */
	pf_http_reply_json(reply, healthy ? 200 : 503,
			   json_pack("{s:s, s:o, s:b}", "status", healthy ? "ok" : "starting",
				     "synced", synced, "first_pass_written", healthy));
}

void kube_http_handle(void *ctx, const char *method, const char *path, const char *body,
		      size_t body_len, struct pf_http_reply *reply)
{
	struct kube_ctl *k = ctx;

	(void)body, (void)body_len;
	if (strcmp(method, "GET")) {
		pf_http_reply_error(reply, 405, "%s is not allowed on %s", method, path);
		return;
	}
	if (!strcmp(path, "/healthz")) {
		kube_healthz(k, reply);
		return;
	}
	if (strcmp(path, "/metrics")) {
		pf_http_reply_error(reply, 404, "no such endpoint %s (try /healthz or /metrics)",
				    path);
		return;
	}
	reply->body = pf_prom_render(k->m.reg);
	if (!reply->body) {
		pf_http_reply_error(reply, 500, "render metrics: out of memory");
		return;
	}
	reply->status = 200;
	reply->content_type = PF_PROM_CONTENT_TYPE;
}
