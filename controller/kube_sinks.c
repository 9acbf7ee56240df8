// SPDX-License-Identifier: Apache-2.0
/* The four watches and what they put into struct kube_ctl: Namespaces,
 * Pods and NetworkPolicies into the cache (an object that does not validate
 * is logged and the last good version stays), NetworkPolicy uids for owner
 * references, and the PolicyEndpoints the API holds, as they are. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kube.h"
#include "log.h"
#include "pe_chunks.h"
#include "pe_publish.h"

static const struct {
	const struct pf_kube_resource *res;
	enum pf_k8s_kind kind;
} kube_watched[KW_COUNT] = {
	[KW_NAMESPACES] = { &pf_kube_namespaces, PF_K8S_NAMESPACE },
	[KW_PODS] = { &pf_kube_pods, PF_K8S_POD },
	[KW_POLICIES] = { &pf_kube_network_policies, PF_K8S_NETWORK_POLICY },
	[KW_POLICY_ENDPOINTS] = { &pf_kube_policy_endpoints, PF_K8S_POLICY_ENDPOINT },
};

#define KUBE_KEY_MAX (PF_K8S_NAME_MAX * 2 + 2)

static const char *kube_meta(json_t *obj, const char *field)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
}

/* "ns/name" (or "name" for a cluster object); -EINVAL without a name. */
static int kube_key(json_t *obj, char *buf, size_t len)
{
	const char *ns = kube_meta(obj, "namespace"), *name = kube_meta(obj, "name");

	if (!name)
		return -EINVAL;
	snprintf(buf, len, "%s%s%s", ns ? ns : "", ns ? "/" : "", name);
	return 0;
}

static void kube_cache_put(void *ctx, json_t *obj)
{
	struct kube_sink_ctx *s = ctx;
	struct kube_ctl *k = s->k;
	const char *uid = kube_meta(obj, "uid");
	char err[512], key[KUBE_KEY_MAX];
	int rc;

	/* the watch gives every object its kind and apiVersion, which the
	 * cache reads */
	pthread_mutex_lock(&k->lock);
	rc = pf_cache_changes_apply(&k->changes, &k->cache, obj, NULL, err, sizeof(err));
	if (!rc && s->id == KW_POLICIES && !kube_key(obj, key, sizeof(key))) {
		if (uid)
			json_object_set_new(k->policy_uids, key, json_string(uid));
		else
			json_object_del(k->policy_uids, key);
	}
	if (!rc)
		kube_mark_dirty(k);
	pthread_mutex_unlock(&k->lock);
	if (rc) {
		pf_warn("refused %s; its last good version, if any, stays in force", err);
		pf_prom_add(k->m.refused, pf_k8s_kind_name(kube_watched[s->id].kind), 1);
	}
}

static void kube_cache_del(void *ctx, json_t *obj)
{
	struct kube_sink_ctx *s = ctx;
	struct kube_ctl *k = s->k;
	char key[KUBE_KEY_MAX];

	if (kube_key(obj, key, sizeof(key)))
		return;
	pthread_mutex_lock(&k->lock);
	if (!pf_cache_changes_delete(&k->changes, &k->cache, kube_watched[s->id].kind,
				     kube_meta(obj, "namespace"), kube_meta(obj, "name")))
		kube_mark_dirty(k);
	if (s->id == KW_POLICIES)
		json_object_del(k->policy_uids, key);
	pthread_mutex_unlock(&k->lock);
}

/* A watch event for key that shows a write of ours ends its wait; any
 * other is a change to look at. Lock held. */
static void kube_seen(struct kube_ctl *k, const char *key, const char *rv, bool deleted)
{
	const char *echo = json_string_value(json_object_get(k->echoes, key));
	bool ours = echo && (deleted ? !*echo : rv && !strcmp(echo, rv));

	if (echo)
		json_object_del(k->echoes, key);
	if (!ours) {
		/* someone else's write: it may be drift to repair */
		k->diff_all = true;
		kube_mark_dirty(k);
	}
	else if (!json_object_size(k->echoes))
		pthread_cond_broadcast(&k->wake);
}

/* obj is shared with the watch's store and never changed by either side:
 * a reference is enough to keep it. */
static void kube_pe_put(void *ctx, json_t *obj)
{
	struct kube_ctl *k = ((struct kube_sink_ctx *)ctx)->k;
	char key[KUBE_KEY_MAX];

	if (pf_pe_key(obj, key, sizeof(key))) {
		pf_err("watch policyendpoints: an object without namespace or name");
		return;
	}
	pthread_mutex_lock(&k->lock);
	if (json_object_set(k->observed, key, obj))
		pf_err("watch policyendpoints: keep %s: out of memory", key);
	kube_seen(k, key, kube_meta(obj, "resourceVersion"), false);
	pthread_mutex_unlock(&k->lock);
}

static void kube_pe_del(void *ctx, json_t *obj)
{
	struct kube_ctl *k = ((struct kube_sink_ctx *)ctx)->k;
	char key[KUBE_KEY_MAX];

	if (pf_pe_key(obj, key, sizeof(key)))
		return;
	pthread_mutex_lock(&k->lock);
	json_object_del(k->observed, key);
	kube_seen(k, key, NULL, true);
	pthread_mutex_unlock(&k->lock);
}

/* A full list arrived. Once every watch has had one, the view is whole and
 * passes may write; every relist is followed by a pass (it may show drift). */
static void kube_synced(void *ctx)
{
	struct kube_sink_ctx *s = ctx;
	struct kube_ctl *k = s->k;
	bool all = true;

	pthread_mutex_lock(&k->lock);
	k->synced[s->id] = true;
	for (int i = 0; i < KW_COUNT; i++)
		all = all && k->synced[i];
	if (all && !k->all_synced) {
		k->all_synced = true;
		pf_info("every watch synced: %zu namespaces, %zu pods, %zu network policies, "
			"%zu policy endpoints", pf_k8s_cache_count(&k->cache, PF_K8S_NAMESPACE),
			pf_k8s_cache_count(&k->cache, PF_K8S_POD),
			pf_k8s_cache_count(&k->cache, PF_K8S_NETWORK_POLICY),
			json_object_size(k->observed));
	}
	k->diff_all = true;
	kube_mark_dirty(k);
	pthread_mutex_unlock(&k->lock);
}

int kube_watches_start(struct kube_ctl *k)
{
	for (int i = 0; i < KW_COUNT; i++) {
		struct pf_kube_watch_opts o = { .res = kube_watched[i].res,
						.resync_s = k->cfg->resync_s };
		bool pe = i == KW_POLICY_ENDPOINTS;
		struct pf_kube_watch_sink sink = {
			.put = pe ? kube_pe_put : kube_cache_put,
			.del = pe ? kube_pe_del : kube_cache_del,
			.synced = kube_synced,
			.ctx = &k->sink_ctx[i],
		};
		char err[512];
		int rc;

		k->sink_ctx[i] = (struct kube_sink_ctx){ k, (enum kube_watch_id)i };
		rc = pf_kube_watch_start(k->client, &o, &sink, &k->watches[i], err, sizeof(err));
		if (rc) {
			pf_err("watch %s: %s", o.res->plural, err);
			return rc;
		}
	}
	return 0;
}

void kube_watches_stop(struct kube_ctl *k)
{
	for (int i = 0; i < KW_COUNT; i++) {
		if (k->watches[i])
			pf_kube_watch_stop(k->watches[i]);
		k->watches[i] = NULL;
	}
}
