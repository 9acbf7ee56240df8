// SPDX-License-Identifier: Apache-2.0
/*
 * A watch's store: namespace/name -> the last version of each object seen,
 * so a relist tells the sink only what changed (a resourceVersion that moved)
 * and what is gone, and a DELETED event hands over the object last known.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kube_watch_internal.h"

int pf_kube_obj_key(json_t *obj, char *buf, size_t len)
{
	json_t *meta = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	int n;

	if (!name || !*name)
		return -EINVAL;
	n = ns && *ns ? snprintf(buf, len, "%s/%s", ns, name) : snprintf(buf, len, "%s", name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static bool pf_kube_same_rv(json_t *a, json_t *b)
{
	const char *ra = pf_kube_obj_rv(a), *rb = pf_kube_obj_rv(b);

	return ra && rb && !strcmp(ra, rb);
}

json_t *pf_kube_store_relist(json_t *old, json_t *items, const struct pf_kube_watch_sink *s,
			     size_t *bad)
{
	json_t *fresh = json_object(), *item, *prev;
	char key[PF_KUBE_KEY_MAX];
	const char *k;
	size_t i;
	void *tmp;

	*bad = 0;
	if (!fresh)
		return NULL;
	json_array_foreach(items, i, item) {
		if (pf_kube_obj_key(item, key, sizeof(key))) {
			(*bad)++;
			continue;
		}
		if (json_object_set(fresh, key, item)) {
			json_decref(fresh);
			return NULL;
		}
	}
	/* Deletions first: a name or an address that moved to a new object is
	 * let go of before the new object claims it. */
	json_object_foreach_safe(old, tmp, k, prev) {
		if (!json_object_get(fresh, k) && s->del)
			s->del(s->ctx, prev);
	}
	json_object_foreach(fresh, k, item) {
		prev = json_object_get(old, k);
		if ((!prev || !pf_kube_same_rv(prev, item)) && s->put)
			s->put(s->ctx, item);
	}
	return fresh;
}

int pf_kube_store_event(json_t *store, const char *type, json_t *obj,
			const struct pf_kube_watch_sink *s)
{
	char key[PF_KUBE_KEY_MAX];
	json_t *prev;

	if (pf_kube_obj_key(obj, key, sizeof(key)))
		return -EINVAL;
	prev = json_object_get(store, key);
	if (!strcmp(type, "DELETED")) {
		if (!prev)
			return 0; /* never seen: nothing of it to take back */
		if (s->del)
			s->del(s->ctx, obj);
		json_object_del(store, key);
		return 0;
	}
	if (strcmp(type, "ADDED") && strcmp(type, "MODIFIED"))
		return -EINVAL;
	/* A watch resumed from an older version may repeat what we have. */
	if (prev && pf_kube_same_rv(prev, obj))
		return 0;
	if (json_object_set(store, key, obj))
		return -ENOMEM;
	if (s->put)
		s->put(s->ctx, obj);
	return 0;
}
