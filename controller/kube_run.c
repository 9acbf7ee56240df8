// SPDX-License-Identifier: Apache-2.0
/* podfence-controller --source kube:: set up the client, the watches, the
 * health server and the signal thread, then the main loop: a pass after
 * each burst of changes, after a failure's backoff, and every resync
 * period; never before every watch has synced once. */
#include <errno.h>
#include <float.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_server.h"
#include "kube.h"
#include "log.h"

#define KUBE_NEVER DBL_MAX

double kube_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void kube_mark_dirty(struct kube_ctl *k)
{
	double now = kube_now();

	if (!k->dirty)
		k->dirty_first = now;
	k->dirty = true;
	k->dirty_last = now;
	pthread_cond_broadcast(&k->wake);
}

static double kube_min(double a, double b)
{
	return a < b ? a : b;
}

/* When the next pass is due (KUBE_NEVER: not before something happens).
 * A due pass first waits for the watch to show the last pass's writes, at
 * most KUBE_ECHO_WAIT_S. Lock held. */
static double kube_next_pass(struct kube_ctl *k, double now)
{
	double due = KUBE_NEVER;

	/* Before every watch has listed once, the view is partial: a pass
	 * would publish policies without their pods, or delete what it has
	 * not seen yet. */
	if (!k->all_synced)
		return KUBE_NEVER;
	if (k->dirty)
		due = kube_min(k->dirty_last + KUBE_DEBOUNCE_S, k->dirty_first + KUBE_DEBOUNCE_MAX_S);
	if (k->retry_at)
		due = kube_min(due, k->retry_at);
	if (k->resync_at)
		due = kube_min(due, k->resync_at);
	if (due > now || !json_object_size(k->echoes))
		return due;
	if (now < k->echo_deadline)
		return k->echo_deadline;
	pf_warn("the policyendpoints watch has not shown %zu write(s) of the last pass after "
		"%.0f s; the next pass goes on without them", json_object_size(k->echoes),
		KUBE_ECHO_WAIT_S);
	json_object_clear(k->echoes);
	return due;
}

static void kube_loop(struct kube_ctl *k)
{
	pthread_mutex_lock(&k->lock);
	while (!k->stop) {
		double now = kube_now(), due = kube_next_pass(k, now);
		struct timespec ts;

		if (due <= now) {
			kube_pass(k);
			continue;
		}
		if (due == KUBE_NEVER) {
			pthread_cond_wait(&k->wake, &k->lock);
			continue;
		}
		ts.tv_sec = (time_t)due;
		ts.tv_nsec = (long)((due - (double)ts.tv_sec) * 1e9);
		pthread_cond_timedwait(&k->wake, &k->lock, &ts);
	}
	pthread_mutex_unlock(&k->lock);
}

static void kube_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
}

/* SIGINT and SIGTERM are blocked in every thread and taken here, where
 * waking the main loop is allowed. */
static void *kube_signal_thread(void *arg)
{
	struct kube_ctl *k = arg;
	sigset_t set;
	int sig = 0;

	kube_signals(&set);
	sigwait(&set, &sig);
	pthread_mutex_lock(&k->lock);
	k->stop = true;
	pthread_cond_broadcast(&k->wake);
	pthread_mutex_unlock(&k->lock);
	pf_info("%s: stopping", strsignal(sig));
	return NULL;
}

static int kube_ctl_init(struct kube_ctl *k, const struct controller_config *cfg)
{
	pthread_condattr_t attr;

	memset(k, 0, sizeof(*k));
	k->cfg = cfg;
	k->backoff = KUBE_BACKOFF_S;
	pf_k8s_cache_init(&k->cache);
	pthread_mutex_init(&k->lock, NULL);
	/* the loop's deadlines are on the monotonic clock */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&k->wake, &attr);
	pthread_condattr_destroy(&attr);
	k->policy_uids = json_object();
	k->observed = json_object();
	k->echoes = json_object();
	k->policy_errors = json_object();
	if (!k->policy_uids || !k->observed || !k->echoes || !k->policy_errors ||
	    pf_pe_wanted_init(&k->wanted, cfg->max_pe_bytes))
		return -ENOMEM;
	return kube_metrics_init(&k->m);
}

static void kube_ctl_free(struct kube_ctl *k)
{
	kube_metrics_free(&k->m);
	pf_k8s_cache_free(&k->cache);
	pf_cache_changes_reset(&k->changes);
	pf_pe_wanted_free(&k->wanted);
	json_decref(k->policy_uids);
	json_decref(k->observed);
	json_decref(k->echoes);
	json_decref(k->policy_errors);
	pthread_cond_destroy(&k->wake);
	pthread_mutex_destroy(&k->lock);
}

int controller_kube_run(const struct controller_config *cfg)
{
	struct pf_kube_config kc = { 0 };
	struct pf_http_server *health = NULL;
	struct kube_ctl k;
	pthread_t sig_thread;
	bool sig_started = false;
	char err[512];
	sigset_t set;
	int rc = 1, e;

	if ((e = kube_ctl_init(&k, cfg))) {
		pf_err("start: %s", strerror(-e));
		goto out;
	}
	if ((e = pf_kube_config_load(cfg->kube, NULL, &kc, err, sizeof(err)))) {
		pf_err("--source kube:%s: %s", cfg->kube, err);
		goto out;
	}
	/* before any thread: it calls curl_global_init */
	if ((e = pf_kube_client_new(&kc, &k.client, err, sizeof(err)))) {
		pf_err("client for %s: %s", kc.server, err);
		goto out;
	}
	kube_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((e = pthread_create(&sig_thread, NULL, kube_signal_thread, &k))) {
		pf_err("start the signal thread: %s", strerror(e));
		goto out;
	}
	sig_started = true;
	if (cfg->health_bind &&
	    !(health = pf_http_serve_tcp(cfg->health_bind, kube_http_handle, &k, &e))) {
		pf_err("serve health and metrics on --health-bind %s: %s", cfg->health_bind,
		       e == -EINVAL ? "not ADDR:PORT" : strerror(-e));
		goto out;
	}
	if (kube_watches_start(&k))
		goto out;
	pf_info("watching %s: namespaces, pods, networkpolicies, policyendpoints; resync every "
		"%u s; PolicyEndpoints up to %zu bytes; health %s", kc.server, cfg->resync_s,
		cfg->max_pe_bytes, cfg->health_bind ? cfg->health_bind : "not served");
	kube_loop(&k);
	rc = 0;
out:
	pf_http_stop(health);
	kube_watches_stop(&k);
	if (sig_started) {
		pthread_mutex_lock(&k.lock);
		if (!k.stop)
			pthread_kill(sig_thread, SIGTERM);
		pthread_mutex_unlock(&k.lock);
		pthread_join(sig_thread, NULL);
	}
	if (k.client)
		pf_kube_client_free(k.client);
	pf_kube_config_free(&kc);
	kube_ctl_free(&k);
	return rc;
}
