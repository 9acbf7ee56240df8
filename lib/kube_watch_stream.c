// SPDX-License-Identifier: Apache-2.0
/* A watch's stream: one request with watch=true, its chunked body split
 * into newline-delimited JSON events as the bytes arrive (lines may be cut
 * anywhere), and what the end of it means for the loop. The watch's
 * sockets are opened and closed through callbacks so that stopping can
 * shut them down. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kube_watch_internal.h"
#include "log.h"

/* The server ends a watch after timeoutSeconds, picked in this range so
 * that many clients do not reconnect in step. */
#define PF_WATCH_TIMEOUT_MIN_S 240u
#define PF_WATCH_TIMEOUT_MAX_S 480u

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

void pf_watch_prepare(CURL *h, void *ctx)
{
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, pf_watch_open_socket);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, ctx);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, pf_watch_close_socket);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, ctx);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, pf_watch_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, ctx);
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
		pf_growbuf_add(&w->errbody, p, n); /* a Status: only its start matters */
		return n;
	}
	while (off < n && w->end == PF_WATCH_END_NONE) {
		char *nl = memchr(p + off, '\n', n - off);
		size_t seg = nl ? (size_t)(nl - (p + off)) : n - off;

		if (!pf_growbuf_add(&w->line, p + off, seg)) {
			snprintf(w->stream_err, sizeof(w->stream_err), "a watch event longer than "
				 "%u bytes", PF_WATCH_LINE_MAX);
			w->end = PF_WATCH_END_ERROR;
			break;
		}
		off += seg + (nl ? 1 : 0);
		if (nl) {
			if (w->line.len)
				pf_watch_event(w, w->line.data, w->line.len);
			pf_growbuf_clear(&w->line);
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

enum pf_watch_next pf_watch_stream(struct pf_kube_watch *w)
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
	pf_growbuf_clear(&w->line);
	pf_growbuf_clear(&w->errbody);
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
		json_t *st = w->errbody.len ? json_loads(w->errbody.data, 0, NULL) : NULL;
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

