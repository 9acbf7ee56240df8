// SPDX-License-Identifier: Apache-2.0
/*
 * A watch (what client-go calls a reflector): a thread that lists a
 * resource, then watches it from the list's resourceVersion with bookmarks.
 * 410 Gone (an HTTP answer, or an ERROR event) relists; a closed stream
 * reconnects from the last resourceVersion; a failure waits first (250 ms
 * doubling to 30 s, with jitter; back to 250 ms once a stream delivers);
 * every resync_s a full relist repairs whatever drifted.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "kube_watch_internal.h"
#include "log.h"

#define PF_WATCH_BACKOFF_MIN_MS 250u
#define PF_WATCH_BACKOFF_MAX_MS 30000u

uint64_t pf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void pf_watch_set_rv(struct pf_kube_watch *w, const char *rv)
{
	if (!rv || !*rv || strlen(rv) >= sizeof(w->rv))
		return;
	snprintf(w->rv, sizeof(w->rv), "%s", rv);
	pthread_mutex_lock(&w->lock);
	snprintf(w->stats.resource_version, sizeof(w->stats.resource_version), "%s", rv);
	pthread_mutex_unlock(&w->lock);
}

void pf_watch_error(struct pf_kube_watch *w, const char *msg)
{
	if (atomic_load(&w->stopping))
		return;
	pf_warn("watch of %s: %s", w->what, msg);
	pthread_mutex_lock(&w->lock);
	w->stats.errors++;
	snprintf(w->stats.last_error, sizeof(w->stats.last_error), "%s", msg);
	pthread_mutex_unlock(&w->lock);
}

/* Sleeps up to ms, or until stopped. Returns false when stopped. */
static bool pf_watch_sleep(struct pf_kube_watch *w, unsigned ms)
{
	struct timespec until;
	bool stopped;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->lock);
	while (!atomic_load(&w->stopping) &&
	       pthread_cond_timedwait(&w->wake, &w->lock, &until) != ETIMEDOUT)
		;
	stopped = atomic_load(&w->stopping);
	pthread_mutex_unlock(&w->lock);
	return !stopped;
}

/* Waits backoff +-25 % at random, then doubles it (up to the maximum).
 * Returns false when stopped. */
static bool pf_watch_backoff(struct pf_kube_watch *w, unsigned *backoff_ms)
{
	unsigned b = *backoff_ms;

	*backoff_ms = b * 2 > PF_WATCH_BACKOFF_MAX_MS ? PF_WATCH_BACKOFF_MAX_MS : b * 2;
	return pf_watch_sleep(w, b - b / 4 + (unsigned)rand_r(&w->seed) % (b / 2 + 1));
}

static void *pf_watch_thread(void *arg)
{
	struct pf_kube_watch *w = arg;
	unsigned backoff_ms = PF_WATCH_BACKOFF_MIN_MS;
	bool need_list = true;
	char err[640];

	while (!atomic_load(&w->stopping)) {
		enum pf_watch_next next;

		if (need_list) {
			if (pf_watch_list(w, err, sizeof(err))) {
				pf_watch_error(w, err);
				if (!pf_watch_backoff(w, &backoff_ms))
					break;
				continue;
			}
			need_list = false;
		}
		next = pf_watch_stream(w);
		if (w->delivered)
			backoff_ms = PF_WATCH_BACKOFF_MIN_MS;
		if (next == PF_NEXT_STOP)
			break;
		if (next == PF_NEXT_RELIST)
			need_list = true;
		else if (next == PF_NEXT_BACKOFF && !pf_watch_backoff(w, &backoff_ms))
			break;
	}
	return NULL;
}

static void pf_watch_free(struct pf_kube_watch *w)
{
	if (w->h)
		curl_easy_cleanup(w->h);
	json_decref(w->store);
	pf_growbuf_free(&w->line);
	pf_growbuf_free(&w->errbody);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w->ns);
	free(w->label_selector);
	free(w->field_selector);
	free(w->what);
	free(w);
}

static int pf_watch_dup(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return src && !*dst ? -ENOMEM : 0;
}

int pf_kube_watch_start(struct pf_kube_client *c, const struct pf_kube_watch_opts *o,
			const struct pf_kube_watch_sink *sink, struct pf_kube_watch **out,
			char *err, size_t err_len)
{
	struct pf_kube_watch *w;
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	if (!o->res || !sink) {
		snprintf(err, err_len, "watch: no resource or no sink given");
		return -EINVAL;
	}
	if (o->ns && !o->res->namespaced) {
		snprintf(err, err_len, "watch of %s: a namespace (%s) given for a resource that "
			 "has none", o->res->plural, o->ns);
		return -EINVAL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, err_len, "watch of %s: out of memory", o->res->plural);
		return -ENOMEM;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &ca);
	pthread_condattr_destroy(&ca);
	for (int i = 0; i < PF_WATCH_MAX_SOCKS; i++)
		w->socks[i] = CURL_SOCKET_BAD;
	w->c = c;
	w->res = o->res;
	w->resync_s = o->resync_s;
	w->sink = *sink;
	w->seed = (unsigned)pf_now_ms() ^ (unsigned)(uintptr_t)w;
	w->line.max = PF_WATCH_LINE_MAX;
	w->errbody.max = 64u << 10;
	rc = pf_kube_path(o->res, o->ns, NULL, w->path, sizeof(w->path));
	if (rc) {
		snprintf(err, err_len, "watch of %s: the namespace name is too long",
			 o->res->plural);
		pf_watch_free(w);
		return rc;
	}
	if (pf_watch_dup(&w->ns, o->ns) || pf_watch_dup(&w->label_selector, o->label_selector) ||
	    pf_watch_dup(&w->field_selector, o->field_selector) ||
	    asprintf(&w->what, "%s%s%s%s%s%s%s", o->res->plural,
		     o->ns ? " in namespace " : o->res->namespaced ? " in every namespace" : "",
		     o->ns ? o->ns : "", o->label_selector ? " labelSelector=" : "",
		     o->label_selector ? o->label_selector : "",
		     o->field_selector ? " fieldSelector=" : "",
		     o->field_selector ? o->field_selector : "") < 0 ||
	    !(w->store = json_object()) || !(w->h = curl_easy_init())) {
		snprintf(err, err_len, "watch of %s: out of memory", o->res->plural);
		pf_watch_free(w);
		return -ENOMEM;
	}
	rc = pthread_create(&w->thread, NULL, pf_watch_thread, w);
	if (rc) {
		snprintf(err, err_len, "watch of %s: cannot start its thread: %s", w->what,
			 strerror(rc));
		pf_watch_free(w);
		return -rc;
	}
	*out = w;
	return 0;
}

void pf_kube_watch_stop(struct pf_kube_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	atomic_store(&w->stopping, true);
	for (int i = 0; i < PF_WATCH_MAX_SOCKS; i++)
		if (w->socks[i] != CURL_SOCKET_BAD)
			shutdown(w->socks[i], SHUT_RDWR);
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pf_watch_free(w);
}

void pf_kube_watch_get_stats(struct pf_kube_watch *w, struct pf_kube_watch_stats *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->stats;
	pthread_mutex_unlock(&w->lock);
}
