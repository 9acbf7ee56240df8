/* SPDX-License-Identifier: Apache-2.0 */
/* The parts of a watch (lib/kube_watch*.c): the thread and its loop
 * (kube_watch.c), the list (kube_watch_list.c), the stream
 * (kube_watch_stream.c) and the store (kube_watch_store.c). */
#ifndef PF_KUBE_WATCH_INTERNAL_H
#define PF_KUBE_WATCH_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "kube_internal.h"

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
	struct pf_growbuf line; /* an event not complete yet */
	struct pf_growbuf errbody; /* the answer of a watch that was not a 200 */
	long http_status;
	enum pf_watch_end end;
	bool delivered;          /* the current stream took an event */
	char stream_err[256];
};

uint64_t pf_now_ms(void);
/* The last resourceVersion seen, into w->rv and the stats. */
void pf_watch_set_rv(struct pf_kube_watch *w, const char *rv);
/* "PATH?extra" plus the watch's selectors (URL-escaped), malloc'd, or NULL. */
char *pf_watch_query(struct pf_kube_watch *w, const char *extra);
/* The watch's socket and progress callbacks on h (a pf_kube_prepare_fn). */
void pf_watch_prepare(CURL *h, void *ctx);

/* A full list, handed to the sink as the difference from the store, then
 * synced. Returns 0 or -errno with err naming the URL. */
int pf_watch_list(struct pf_kube_watch *w, char *err, size_t err_len);

/* What a watch stream came to, for the loop. */
enum pf_watch_next { PF_NEXT_REWATCH, PF_NEXT_BACKOFF, PF_NEXT_RELIST, PF_NEXT_STOP };
/* One watch request from w->rv, its events delivered as they arrive. */
enum pf_watch_next pf_watch_stream(struct pf_kube_watch *w);
/* Logs and counts a failure (not while stopping). */
void pf_watch_error(struct pf_kube_watch *w, const char *msg);

/* The store of a watch (lib/kube_watch_store.c): "namespace/name" (or
 * "name") -> the object's last version seen. */
#define PF_KUBE_KEY_MAX 512
int pf_kube_obj_key(json_t *obj, char *buf, size_t len);
/* The store after a list of items: the sink is told of every object gone
 * (del), then of every object new or with another resourceVersion (put).
 * Items without a name are counted in *bad. Returns the new store (old is
 * left to the caller) or NULL when out of memory. */
json_t *pf_kube_store_relist(json_t *old, json_t *items, const struct pf_kube_watch_sink *s,
			     size_t *bad);
/* One ADDED, MODIFIED or DELETED event into the store and to the sink.
 * Returns 0, or -EINVAL (no name, unknown type) or -ENOMEM. */
int pf_kube_store_event(json_t *store, const char *type, json_t *obj,
			const struct pf_kube_watch_sink *s);

#endif
