/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podfence-controller in kube mode. Threads: one per watch (kube_sinks.c
 * puts what they see into struct kube_ctl), the main loop (kube_run.c:
 * debounce, then a pass of kube_pass.c: resolve the policies that changed
 * (lib/pe_wanted.h keeps what each one wants between passes), diff against
 * the PolicyEndpoints the API holds, write the difference), the health and
 * metrics server (kube_health.c) and a signal thread. Everything below
 * `lock` is guarded by it; a pass holds it while it resolves and diffs, and
 * lets go of it while it writes.
 */
#ifndef PF_CONTROLLER_KUBE_H
#define PF_CONTROLLER_KUBE_H

#include <pthread.h>
#include <stdbool.h>
#include <jansson.h>

#include "controller.h"
#include "http_server.h"
#include "cache_changes.h"
#include "k8s_objects.h"
#include "kube_client.h"
#include "pe_wanted.h"
#include "prom_text.h"

/* Changes closer together than this make one pass... */
#define KUBE_DEBOUNCE_S 0.020
/* ...but a steady stream of them is taken at least this often. */
#define KUBE_DEBOUNCE_MAX_S 0.100
/* A pass whose writes failed is tried again after this, doubling up to
 * KUBE_BACKOFF_MAX_S. */
#define KUBE_BACKOFF_S 0.25
#define KUBE_BACKOFF_MAX_S 30.0
/* How long the next pass waits for the PolicyEndpoint watch to show the
 * writes of the last one (so it does not write them again). */
#define KUBE_ECHO_WAIT_S 5.0

enum kube_watch_id { KW_NAMESPACES, KW_PODS, KW_POLICIES, KW_POLICY_ENDPOINTS, KW_COUNT };

struct kube_metrics {
	struct pf_prom *reg;
	struct pf_prom_metric *policies, *pes, *unpublished, *writes, *write_errors, *passes,
		*pass_seconds, *resolve_seconds, *refused, *resolved;
};

struct kube_ctl;

/* What one watch's sink calls carry: which watch, and whose. */
struct kube_sink_ctx {
	struct kube_ctl *k;
	enum kube_watch_id id;
};

struct kube_ctl {
	const struct controller_config *cfg;
	struct pf_kube_client *client;
	struct pf_kube_watch *watches[KW_COUNT];
	struct kube_sink_ctx sink_ctx[KW_COUNT];
	struct kube_metrics m;

	pthread_mutex_t lock;
	pthread_cond_t wake;           /* a change, an echo, or stop */
	struct pf_k8s_cache cache;     /* Namespaces, Pods, NetworkPolicies */
	struct pf_cache_changes changes; /* of the cache since the last pass */
	struct pf_pe_wanted wanted;    /* the objects each policy wants, as of the last pass */
	json_t *policy_uids;           /* "ns/name" -> metadata.uid of the NetworkPolicy */
	json_t *observed;              /* "ns/name" -> PolicyEndpoint as the watch shows it */
	json_t *echoes;                /* "ns/name" -> resourceVersion a write of ours made
					* that the watch has not shown yet ("" for a delete) */
	json_t *policy_errors;         /* "ns/name" -> why the policy is not published (logged
					* once per new reason) */
	bool synced[KW_COUNT];
	bool all_synced;
	bool dirty;                    /* something changed since the last pass */
	bool diff_all;                 /* the next pass compares every object with the API's
					* (a relist, a PolicyEndpoint changed by someone else) */
	double dirty_first, dirty_last;
	double retry_at;               /* a failed pass is due again; 0: none */
	double backoff;
	double resync_at;              /* the next periodic pass */
	double echo_deadline;
	bool healthy;                  /* synced, and a pass wrote everything it had to */
	bool stop;
};

/* Seconds on the monotonic clock. */
double kube_now(void);
/* Notes a change (lock held): a pass follows after the debounce. */
void kube_mark_dirty(struct kube_ctl *k);

/* Starts the four watches; 0 or -errno (logged). */
int kube_watches_start(struct kube_ctl *k);
void kube_watches_stop(struct kube_ctl *k);

/* One pass (called and returning with the lock held). */
void kube_pass(struct kube_ctl *k);

int kube_metrics_init(struct kube_metrics *m);
void kube_metrics_free(struct kube_metrics *m);
/* GET /healthz and /metrics on --health-bind. */
void kube_http_handle(void *ctx, const char *method, const char *path, const char *body,
		      size_t body_len, struct pf_http_reply *reply);

#endif
