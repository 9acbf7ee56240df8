// SPDX-License-Identifier: Apache-2.0
/*
 * A watch (what client-go calls a reflector): a thread that lists a
 * resource (pages of 500), then watches it from the list's resourceVersion
 * with bookmarks, parsing the chunked stream into events as it arrives. 410
 * Gone (an HTTP answer, or an ERROR event) relists; a closed stream
 * reconnects from the last resourceVersion; a failure waits first (250 ms
 * doubling to 30 s, with jitter); every resync_s a full relist repairs
 * whatever drifted. Stopping shuts the watch's sockets down, so a blocked
 * stream ends at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kube_internal.h"
#include "log.h"

#define PF_WATCH_BACKOFF_MIN_MS 250u
#define PF_WATCH_BACKOFF_MAX_MS 30000u
#define PF_WATCH_PAGE 500
/* The server ends a watch after timeoutSeconds, picked in this range so
 * that many clients do not reconnect in step. */
#define PF_WATCH_TIMEOUT_MIN_S 240u
#define PF_WATCH_TIMEOUT_MAX_S 480u
/* One event is one object: etcd's limit is 1.5 MiB, leave room for JSON. */
#define PF_WATCH_LINE_MAX (16u << 20)
#define PF_WATCH_MAX_SOCKS 4

/* Why a watch stream ended, when the callbacks ended it. */
enum pf_watch_end {
	PF_WATCH_END_NONE,
	PF_WATCH_END_EXPIRED, /* an ERROR event with a 410 Status */
	PF_WATCH_END_ERROR,   /* a bad or ERROR event: w->stream_err says which */
	PF_WATCH_END_RESYNC,  /* time for the periodic relist */
};

struct pf_kube_watch {
	struct pf_kube_client *c;
	const struct pf_kube_resource *res;
	char *ns, *label_selector, *field_selector;
	unsigned resync_s;
	struct pf_kube_watch_sink sink;
	char path[512]; /* the collection's URL path */
	char *what;     /* "pods in every namespace", for messages */
	CURL *h;
	pthread_t thread;
	unsigned seed;

	pthread_mutex_t lock; /* stats, socks, the wake-up condition */
	pthread_cond_t wake;
	atomic_bool stopping;
	curl_socket_t socks[PF_WATCH_MAX_SOCKS];
	struct pf_kube_watch_stats stats;

	/* The watch thread's own. */
	json_t *store;
	char rv[64];
	uint64_t resync_at_ms;   /* 0: no periodic relist */
	struct pf_kube_buf line; /* an event not complete yet */
	struct pf_kube_buf errbody; /* the answer of a watch that was not a 200 */
	long http_status;
	enum pf_watch_end end;
	bool delivered;          /* the current stream took an event */
	char stream_err[256];
};

static uint64_t pf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void pf_watch_set_rv(struct pf_kube_watch *w, const char *rv)
{
	if (!rv || !*rv || strlen(rv) >= sizeof(w->rv))
		return;
	snprintf(w->rv, sizeof(w->rv), "%s", rv);
	pthread_mutex_lock(&w->lock);
	snprintf(w->stats.resource_version, sizeof(w->stats.resource_version), "%s", rv);
	pthread_mutex_unlock(&w->lock);
}

static void pf_watch_error(struct pf_kube_watch *w, const char *msg)
{
	if (atomic_load(&w->stopping))
		return;
	pf_warn("watch of %s: %s", w->what, msg);
	pthread_mutex_lock(&w->lock);
	w->stats.errors++;
	snprintf(w->stats.last_error, sizeof(w->stats.last_error), "%s", msg);
	pthread_mutex_unlock(&w->lock);
}

/* Sockets are opened and closed through these so that pf_kube_watch_stop
 * can shut down the ones in use (a close happens under the same lock, so
 * a descriptor is never shut down after it was handed back). */
static curl_socket_t pf_watch_open_socket(void *ctx, curlsocktype purpose,
					  struct curl_sockaddr *a)
{
	struct pf_kube_watch *w = ctx;
	curl_socket_t fd = CURL_SOCKET_BAD;

	(void)purpose;
	pthread_mutex_lock(&w->lock);
	for (int i = 0; i < PF_WATCH_MAX_SOCKS && !atomic_load(&w->stopping); i++) {
		if (w->socks[i] != CURL_SOCKET_BAD)
			continue;
		fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
		w->socks[i] = fd;
		break;
	}
	pthread_mutex_unlock(&w->lock);
	return fd;
}

static int pf_watch_close_socket(void *ctx, curl_socket_t fd)
{
	struct pf_kube_watch *w = ctx;

	pthread_mutex_lock(&w->lock);
	for (int i = 0; i < PF_WATCH_MAX_SOCKS; i++)
		if (w->socks[i] == fd)
			w->socks[i] = CURL_SOCKET_BAD;
	close(fd);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

static int pf_watch_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
			     curl_off_t ultotal, curl_off_t ulnow)
{
	struct pf_kube_watch *w = ctx;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (atomic_load(&w->stopping))
		return 1;
	if (w->resync_at_ms && pf_now_ms() >= w->resync_at_ms) {
		w->end = PF_WATCH_END_RESYNC;
		return 1;
	}
	return 0;
}

static void pf_watch_prepare(CURL *h, void *ctx)
{
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, pf_watch_open_socket);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, ctx);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, pf_watch_close_socket);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, ctx);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, pf_watch_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, ctx);
}

/* "?a=b&c=d" of the selectors (URL-escaped) plus extra, or NULL. */
static char *pf_watch_query(struct pf_kube_watch *w, const char *extra)
{
	char *ls = w->label_selector ? curl_easy_escape(w->h, w->label_selector, 0) : NULL;
	char *fs = w->field_selector ? curl_easy_escape(w->h, w->field_selector, 0) : NULL;
	char *q = NULL;

	if ((!w->label_selector || ls) && (!w->field_selector || fs) &&
	    asprintf(&q, "%s?%s%s%s%s%s", w->path, extra, ls ? "&labelSelector=" : "",
		     ls ? ls : "", fs ? "&fieldSelector=" : "", fs ? fs : "") < 0)
		q = NULL;
	curl_free(ls);
	curl_free(fs);
	return q;
}

/* One page of a list into *items. Returns 0 (with *cont the next page's
 * token or NULL), or -errno with err set. */
static int pf_watch_list_page(struct pf_kube_watch *w, char **cont, json_t *items,
			      char *err, size_t err_len)
{
	char extra[64 + 1024], *q, *text = NULL, *esc = NULL;
	json_t *answer, *page, *meta;
	json_error_t jerr;
	long status;
	int rc;

	if (*cont && !(esc = curl_easy_escape(w->h, *cont, 0))) {
		snprintf(err, err_len, "list %s: out of memory", w->what);
		return -ENOMEM;
	}
	snprintf(extra, sizeof(extra), "limit=%d%s%.1000s", PF_WATCH_PAGE,
		 esc ? "&continue=" : "", esc ? esc : "");
	curl_free(esc);
	q = pf_watch_query(w, extra);
	if (!q) {
		snprintf(err, err_len, "list %s: out of memory", w->what);
		return -ENOMEM;
	}
	rc = pf_kube_exchange(w->c, w->h, "GET", q, NULL, NULL, PF_KUBE_TIMEOUT_S,
			      pf_watch_prepare, w, &status, &text, err, err_len);
	free(*cont);
	*cont = NULL;
	if (rc) {
		free(q);
		return rc;
	}
	answer = json_loads(text, 0, &jerr);
	if (status != 200) {
		char why[300];

		pf_kube_status_text(answer, why, sizeof(why));
		snprintf(err, err_len, "GET %s%s: HTTP %ld %.200s", pf_kube_server(w->c), q, status,
			 why[0] ? why : text);
		rc = status == 410 ? -ESTALE : status == 401 || status == 403 ? -EACCES : -EIO;
	} else if (!answer || !json_is_array(page = json_object_get(answer, "items"))) {
		snprintf(err, err_len, "GET %s%s: the answer is not a list (%s)", pf_kube_server(w->c), q,
			 answer ? "no items" : jerr.text);
		rc = -EBADMSG;
	} else {
		meta = json_object_get(answer, "metadata");
		pf_watch_set_rv(w, json_string_value(json_object_get(meta, "resourceVersion")));
		if (json_array_extend(items, page))
			rc = -ENOMEM;
		if (json_string_value(json_object_get(meta, "continue")) &&
		    *json_string_value(json_object_get(meta, "continue")) &&
		    !(*cont = strdup(json_string_value(json_object_get(meta, "continue")))))
			rc = -ENOMEM;
		if (rc)
			snprintf(err, err_len, "list %s: out of memory", w->what);
	}
	json_decref(answer);
	free(text);
	free(q);
	return rc;
}

/* A full list, delivered as the difference from the store. */
static int pf_watch_list(struct pf_kube_watch *w, char *err, size_t err_len)
{
	json_t *items = json_array(), *fresh;
	char *cont = NULL;
	size_t bad;
	int rc = 0;

	if (!items) {
		snprintf(err, err_len, "list %s: out of memory", w->what);
		return -ENOMEM;
	}
	w->resync_at_ms = 0; /* a list is not cut short for the relist it is */
	do {
		rc = pf_watch_list_page(w, &cont, items, err, err_len);
	} while (!rc && cont);
	if (rc) {
		json_decref(items);
		return rc;
	}
	fresh = pf_kube_store_relist(w->store, items, &w->sink, &bad);
	json_decref(items);
	if (!fresh) {
		snprintf(err, err_len, "list %s: out of memory", w->what);
		return -ENOMEM;
	}
	if (bad)
		pf_warn("list of %s: %zu object(s) without metadata.name passed over", w->what, bad);
	json_decref(w->store);
	w->store = fresh;
	if (w->sink.synced)
		w->sink.synced(w->sink.ctx);
	pthread_mutex_lock(&w->lock);
	w->stats.lists++;
	w->stats.synced = true;
	pthread_mutex_unlock(&w->lock);
	w->resync_at_ms = w->resync_s ? pf_now_ms() + (uint64_t)w->resync_s * 1000 : 0;
	return 0;
}

static void pf_watch_event(struct pf_kube_watch *w, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *ev = json_loadb(text, len, 0, &jerr), *obj;
	const char *type;

	obj = json_object_get(ev, "object");
	type = json_string_value(json_object_get(ev, "type"));
	if (!type || !json_is_object(obj)) {
		snprintf(w->stream_err, sizeof(w->stream_err), "a watch event is not "
			 "{type, object}%s%s", ev ? "" : ": ", ev ? "" : jerr.text);
		w->end = PF_WATCH_END_ERROR;
		json_decref(ev);
		return;
	}
	pthread_mutex_lock(&w->lock);
	w->stats.events++;
	pthread_mutex_unlock(&w->lock);
	w->delivered = true;
	if (!strcmp(type, "ERROR")) {
		char why[200];

		if (json_integer_value(json_object_get(obj, "code")) == 410) {
			w->end = PF_WATCH_END_EXPIRED;
		} else {
			pf_kube_status_text(obj, why, sizeof(why));
			snprintf(w->stream_err, sizeof(w->stream_err), "ERROR event: %s", why);
			w->end = PF_WATCH_END_ERROR;
		}
	} else if (!strcmp(type, "BOOKMARK")) {
		pf_watch_set_rv(w, pf_kube_obj_rv(obj));
	} else if (pf_kube_store_event(w->store, type, obj, &w->sink)) {
		snprintf(w->stream_err, sizeof(w->stream_err), "a %s event without a name, or "
			 "of an unknown type", type);
		w->end = PF_WATCH_END_ERROR;
	} else {
		pf_watch_set_rv(w, pf_kube_obj_rv(obj));
	}
	json_decref(ev);
}

/* The stream's bytes: one JSON event per line, lines split anywhere. */
static size_t pf_watch_write(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct pf_kube_watch *w = ctx;
	size_t n = size * nmemb, off = 0;

	if (!w->http_status)
		curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->http_status);
	if (w->http_status != 200) {
		pf_kube_buf_add(&w->errbody, p, n); /* a Status: only its start matters */
		return n;
	}
	while (off < n && w->end == PF_WATCH_END_NONE) {
		char *nl = memchr(p + off, '\n', n - off);
		size_t seg = nl ? (size_t)(nl - (p + off)) : n - off;

		if (!pf_kube_buf_add(&w->line, p + off, seg)) {
			snprintf(w->stream_err, sizeof(w->stream_err), "a watch event longer than "
				 "%u bytes", PF_WATCH_LINE_MAX);
			w->end = PF_WATCH_END_ERROR;
			break;
		}
		off += seg + (nl ? 1 : 0);
		if (nl) {
			if (w->line.len)
				pf_watch_event(w, w->line.data, w->line.len);
			w->line.len = 0;
		}
	}
	return w->end == PF_WATCH_END_NONE ? n : 0;
}

static size_t pf_watch_header(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct pf_kube_watch *w = ctx;
	size_t n = size * nmemb;
	long code = 0;

	if (n == 2 && p[0] == '\r' && p[1] == '\n' &&
	    curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200) {
		pthread_mutex_lock(&w->lock);
		w->stats.connected = true;
		pthread_mutex_unlock(&w->lock);
	}
	return n;
}

/* What a watch came to, for the loop. */
enum pf_watch_next { PF_NEXT_REWATCH, PF_NEXT_BACKOFF, PF_NEXT_RELIST, PF_NEXT_STOP };

static enum pf_watch_next pf_watch_stream(struct pf_kube_watch *w)
{
	unsigned span = PF_WATCH_TIMEOUT_MAX_S - PF_WATCH_TIMEOUT_MIN_S + 1;
	unsigned timeout_s = PF_WATCH_TIMEOUT_MIN_S + (unsigned)rand_r(&w->seed) % span;
	char extra[160], err[640], curl_err[CURL_ERROR_SIZE] = "", *q, *url = NULL;
	struct curl_slist *headers = NULL;
	enum pf_watch_next next;
	CURLcode cc;

	snprintf(extra, sizeof(extra), "watch=true&resourceVersion=%s&allowWatchBookmarks=true"
		 "&timeoutSeconds=%u", w->rv, timeout_s);
	q = pf_watch_query(w, extra);
	if (!q || !(url = pf_kube_url(w->c, q)) || pf_kube_setup(w->c, w->h, url, NULL, &headers)) {
		free(q);
		free(url);
		pf_watch_error(w, "watch: out of memory");
		return PF_NEXT_BACKOFF;
	}
	w->line.len = 0;
	w->errbody.len = 0;
	w->http_status = 0;
	w->end = PF_WATCH_END_NONE;
	w->delivered = false;
	w->stream_err[0] = '\0';
	pthread_mutex_lock(&w->lock);
	w->stats.watches++;
	pthread_mutex_unlock(&w->lock);
	curl_easy_setopt(w->h, CURLOPT_HTTPGET, 1L);
	/* The server ends the stream at timeoutSeconds; this is the backstop. */
	curl_easy_setopt(w->h, CURLOPT_TIMEOUT, (long)timeout_s + 60);
	curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, pf_watch_write);
	curl_easy_setopt(w->h, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->h, CURLOPT_HEADERFUNCTION, pf_watch_header);
	curl_easy_setopt(w->h, CURLOPT_HEADERDATA, w);
	curl_easy_setopt(w->h, CURLOPT_ERRORBUFFER, curl_err);
	pf_watch_prepare(w->h, w);
	cc = curl_easy_perform(w->h);
	curl_slist_free_all(headers);
	pthread_mutex_lock(&w->lock);
	w->stats.connected = false;
	pthread_mutex_unlock(&w->lock);

	if (atomic_load(&w->stopping)) {
		next = PF_NEXT_STOP;
	} else if (w->end == PF_WATCH_END_RESYNC) {
		next = PF_NEXT_RELIST;
	} else if (w->end == PF_WATCH_END_EXPIRED || w->http_status == 410) {
		pthread_mutex_lock(&w->lock);
		w->stats.expired++;
		pthread_mutex_unlock(&w->lock);
		pf_info("watch of %s: resourceVersion %s expired (410): relisting", w->what, w->rv);
		next = PF_NEXT_RELIST;
	} else if (w->end == PF_WATCH_END_ERROR) {
		snprintf(err, sizeof(err), "GET %s: %s", url, w->stream_err);
		pf_watch_error(w, err);
		next = PF_NEXT_BACKOFF;
	} else if (cc != CURLE_OK) {
		snprintf(err, sizeof(err), "GET %s: %s", url,
			 curl_err[0] ? curl_err : curl_easy_strerror(cc));
		pf_watch_error(w, err);
		next = PF_NEXT_BACKOFF;
	} else if (w->http_status != 200) {
		json_t *st = w->errbody.data ? json_loads(w->errbody.data, 0, NULL) : NULL;
		char why[300];

		pf_kube_status_text(st, why, sizeof(why));
		json_decref(st);
		snprintf(err, sizeof(err), "GET %s: HTTP %ld %s", url, w->http_status, why);
		pf_watch_error(w, err);
		if (w->http_status == 401)
			pf_kube_token_reload(w->c);
		next = PF_NEXT_BACKOFF;
	} else {
		/* A clean end (timeoutSeconds, or the server let go): resume at
		 * once, unless it gave nothing, which a server in trouble does. */
		next = w->delivered ? PF_NEXT_REWATCH : PF_NEXT_BACKOFF;
	}
	free(q);
	free(url);
	return next;
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

/* The wait before the next try: backoff +-25 %. */
static unsigned pf_watch_jitter(struct pf_kube_watch *w, unsigned backoff_ms)
{
	return backoff_ms - backoff_ms / 4 + (unsigned)rand_r(&w->seed) % (backoff_ms / 2 + 1);
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
			int rc = pf_watch_list(w, err, sizeof(err));

			if (rc == -ECANCELED && atomic_load(&w->stopping))
				break;
			if (rc) {
				pf_watch_error(w, err);
				if (!pf_watch_sleep(w, pf_watch_jitter(w, backoff_ms)))
					break;
				backoff_ms = backoff_ms * 2 > PF_WATCH_BACKOFF_MAX_MS ?
						     PF_WATCH_BACKOFF_MAX_MS : backoff_ms * 2;
				continue;
			}
			need_list = false;
		}
		next = pf_watch_stream(w);
		if (w->delivered)
			backoff_ms = PF_WATCH_BACKOFF_MIN_MS;
		if (next == PF_NEXT_STOP)
			break;
		if (next == PF_NEXT_RELIST) {
			need_list = true;
		} else if (next == PF_NEXT_BACKOFF) {
			if (!pf_watch_sleep(w, pf_watch_jitter(w, backoff_ms)))
				break;
			backoff_ms = backoff_ms * 2 > PF_WATCH_BACKOFF_MAX_MS ?
					     PF_WATCH_BACKOFF_MAX_MS : backoff_ms * 2;
		}
	}
	return NULL;
}

static void pf_watch_free(struct pf_kube_watch *w)
{
	if (w->h)
		curl_easy_cleanup(w->h);
	json_decref(w->store);
	pf_kube_buf_free(&w->line);
	pf_kube_buf_free(&w->errbody);
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
		snprintf(err, err_len, "watch of %s: the namespace name is too long", o->res->plural);
		pf_watch_free(w);
		return rc;
	}
	if (pf_watch_dup(&w->ns, o->ns) || pf_watch_dup(&w->label_selector, o->label_selector) ||
	    pf_watch_dup(&w->field_selector, o->field_selector) ||
	    asprintf(&w->what, "%s %s%s%s%s%s%s", o->res->plural,
		     o->ns ? "in namespace " : o->res->namespaced ? "in every namespace" : "",
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
