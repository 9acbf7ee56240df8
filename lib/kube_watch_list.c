// SPDX-License-Identifier: Apache-2.0
/* A watch's list: every page (limit 500, following metadata.continue)
 * gathered first, then handed to the sink as a difference from the store,
 * so a list that fails half way changes nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube_watch_internal.h"
#include "log.h"

#define PF_WATCH_PAGE 500

/* "?a=b&c=d" of the selectors (URL-escaped) plus extra, or NULL. */
char *pf_watch_query(struct pf_kube_watch *w, const char *extra)
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

/* A list's items carry no kind or apiVersion on a real API server (watch
 * events do): they are given those of the resource watched, so the sink
 * sees the same shape from both. Returns 0 or -ENOMEM. */
static int pf_watch_type_items(struct pf_kube_watch *w, json_t *page)
{
	const char *api = w->res->api_path;
	json_t *item;
	size_t i;

	api += !strncmp(api, "/apis/", 6) ? 6 : !strncmp(api, "/api/", 5) ? 5 : 0;
	json_array_foreach(page, i, item) {
		if (!json_is_object(item) || json_object_get(item, "kind"))
			continue;
		if (json_object_set_new(item, "kind", json_string(w->res->kind)) ||
		    json_object_set_new(item, "apiVersion", json_string(api)))
			return -ENOMEM;
	}
	return 0;
}

/* One page of a list into items, its resourceVersion into rv. Returns 0
 * (with *cont the next page's token or NULL), or -errno with err set. */
static int pf_watch_list_page(struct pf_kube_watch *w, char **cont, json_t *items, char *rv,
			      size_t rv_len, char *err, size_t err_len)
{
	char *extra = NULL, *q = NULL, *text = NULL, *esc = NULL;
	json_t *answer, *page, *meta;
	const char *next;
	json_error_t jerr;
	long status;
	int rc;

	if ((!*cont || (esc = curl_easy_escape(w->h, *cont, 0))) &&
	    asprintf(&extra, "limit=%d%s%s", PF_WATCH_PAGE, esc ? "&continue=" : "",
		     esc ? esc : "") >= 0)
		q = pf_watch_query(w, extra);
	curl_free(esc);
	free(extra);
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
		snprintf(err, err_len, "GET %s%s: the answer is not a list (%s)",
			 pf_kube_server(w->c), q, answer ? "no items" : jerr.text);
		rc = -EBADMSG;
	} else {
		meta = json_object_get(answer, "metadata");
		snprintf(rv, rv_len, "%s",
			 json_string_value(json_object_get(meta, "resourceVersion")) ?: "");
		next = json_string_value(json_object_get(meta, "continue"));
		if (pf_watch_type_items(w, page) || json_array_extend(items, page) ||
		    (next && *next && !(*cont = strdup(next))))
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
int pf_watch_list(struct pf_kube_watch *w, char *err, size_t err_len)
{
	json_t *items = json_array(), *fresh;
	char *cont = NULL, rv[sizeof(w->rv)] = "";
	size_t bad;
	int rc = 0;

	if (!items) {
		snprintf(err, err_len, "list %s: out of memory", w->what);
		return -ENOMEM;
	}
	w->resync_at_ms = 0; /* a list is not cut short for the relist it is */
	do {
		rc = pf_watch_list_page(w, &cont, items, rv, sizeof(rv), err, err_len);
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
		pf_warn("list of %s: %zu object(s) without metadata.name passed over", w->what,
			bad);
	json_decref(w->store);
	w->store = fresh;
	pf_watch_set_rv(w, rv);
	if (w->sink.synced)
		w->sink.synced(w->sink.ctx);
	pthread_mutex_lock(&w->lock);
	w->stats.lists++;
	w->stats.synced = true;
	pthread_mutex_unlock(&w->lock);
	w->resync_at_ms = w->resync_s ? pf_now_ms() + (uint64_t)w->resync_s * 1000 : 0;
	return 0;
}

