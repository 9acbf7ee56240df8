// SPDX-License-Identifier: Apache-2.0
/* Prometheus metrics on the metrics port: the pool's gauges, read from the
 * pool at scrape time, and the counters and latencies of the API. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "podfence_abi.h"
#include "ipamd.h"

/* Seconds: an add or del is a few fsyncs, so most land in the ms range. */
static const double ipamd_latency_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
					       0.05,   0.1,   0.25,   0.5,   1,    2.5 };
#define IPAMD_N_BOUNDS (sizeof(ipamd_latency_bounds) / sizeof(ipamd_latency_bounds[0]))

int ipamd_metrics_init(struct ipamd_metrics *m)
{
	struct pf_prom *r = pf_prom_new();

	memset(m, 0, sizeof(*m));
	if (!r)
		return -ENOMEM;
	m->reg = r;
	m->capacity = pf_prom_gauge(r, "podfence_ipamd_pool_size",
				    "Addresses the pool can hand out in all.", "family");
	m->assigned = pf_prom_gauge(r, "podfence_ipamd_pool_assigned",
				    "Addresses assigned to pods.", "family");
	m->free = pf_prom_gauge(r, "podfence_ipamd_pool_free",
				"Addresses not assigned: pods that still fit.", "family");
	m->warm = pf_prom_gauge(r, "podfence_ipamd_pool_warm",
				"Addresses reserved but not assigned (WARM_IP_TARGET, "
				"MINIMUM_IP_TARGET).",
				"family");
	m->shortfall = pf_prom_gauge(r, "podfence_ipamd_pool_warm_shortfall",
				     "How many addresses the warm set is below its target.",
				     "family");
	m->adds = pf_prom_counter(r, "podfence_ipamd_add_network_total",
				  "AddNetwork requests by result.", "result");
	m->dels = pf_prom_counter(r, "podfence_ipamd_del_network_total",
				  "DelNetwork requests by result.", "result");
	m->errors = pf_prom_counter(r, "podfence_ipamd_errors_total",
				    "Failed API requests by kind.", "kind");
	m->add_seconds = pf_prom_histogram(r, "podfence_ipamd_add_network_seconds",
					   "AddNetwork latency, checkpoint included.", NULL,
					   ipamd_latency_bounds, IPAMD_N_BOUNDS);
	m->del_seconds = pf_prom_histogram(r, "podfence_ipamd_del_network_seconds",
					   "DelNetwork latency, checkpoint included.", NULL,
					   ipamd_latency_bounds, IPAMD_N_BOUNDS);
	m->checkpoint_seconds = pf_prom_histogram(r, "podfence_ipamd_checkpoint_seconds",
						  "Time to write and sync the checkpoint.", NULL,
						  ipamd_latency_bounds, IPAMD_N_BOUNDS);
	if (!m->capacity || !m->assigned || !m->free || !m->warm || !m->shortfall ||
	    !m->adds || !m->dels || !m->errors || !m->add_seconds || !m->del_seconds ||
	    !m->checkpoint_seconds) {
		pf_prom_free(r);
		memset(m, 0, sizeof(*m));
		return -ENOMEM;
	}
	/* Show every result at 0 from the start, so rates work at once. */
	static const char *const add_results[] = { "assigned", "existing", "failed" };
	static const char *const del_results[] = { "released", "not_assigned", "failed" };
	static const char *const kinds[] = { "bad_request", "exhausted", "checkpoint",
					     "internal" };

	for (size_t i = 0; i < 3; i++) {
		pf_prom_add(m->adds, add_results[i], 0);
		pf_prom_add(m->dels, del_results[i], 0);
	}
	for (size_t i = 0; i < 4; i++)
		pf_prom_add(m->errors, kinds[i], 0);
	return 0;
}

void ipamd_metrics_free(struct ipamd_metrics *m)
{
	pf_prom_free(m->reg);
	memset(m, 0, sizeof(*m));
}

static void ipamd_metrics_refresh(struct ipamd *d)
{
	static const uint8_t families[2] = { PF_FAMILY_V4, PF_FAMILY_V6 };
	struct ipamd_metrics *m = &d->metrics;

	pthread_mutex_lock(&d->lock);
	for (int i = 0; i < 2; i++) {
		const char *fam = families[i] == PF_FAMILY_V4 ? "ipv4" : "ipv6";
		struct pf_ipam_family_stats st;

		pf_ipam_pool_stats(d->pool, families[i], &st);
		if (!st.present)
			continue;
		pf_prom_set(m->capacity, fam, (double)st.capacity);
		pf_prom_set(m->assigned, fam, (double)st.assigned);
		pf_prom_set(m->free, fam, (double)st.free);
		pf_prom_set(m->warm, fam, (double)st.warm);
		pf_prom_set(m->shortfall, fam, (double)st.shortfall);
	}
	pthread_mutex_unlock(&d->lock);
}

void ipamd_metrics_handle(void *ctx, const char *method, const char *path, const char *body,
			  size_t body_len, struct pf_http_reply *reply)
{
	struct ipamd *d = ctx;

	(void)body, (void)body_len;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		pf_http_reply_error(reply, 405, "%s takes GET, not %s", path, method);
		return;
	}
	if (!strcmp(path, "/healthz")) {
		pf_http_reply_json(reply, 200, json_pack("{s:s}", "status", "ok"));
		return;
	}
	if (strcmp(path, "/metrics")) {
		pf_http_reply_error(reply, 404, "no endpoint %s (try /metrics)", path);
		return;
	}
	ipamd_metrics_refresh(d);
	reply->body = pf_prom_render(d->metrics.reg);
	if (!reply->body) {
		pf_http_reply_error(reply, 500, "rendering metrics: out of memory");
		return;
	}
	reply->status = 200;
	reply->content_type = PF_PROM_CONTENT_TYPE;
}
