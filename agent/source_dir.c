// SPDX-License-Identifier: Apache-2.0
/* The dir: source: a directory of manifests (lib/dir_source.h) into the
 * cache, the NetworkPolicies resolved here; the objects in force saved per
 * file for the next start (lib/dir_source_state.h). */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "dir_source_state.h"
#include "dirs.h"
#include "log.h"
#include "agent.h"

static int agent_dir_put(void *ctx, const struct pf_dir_object *o, char *err, size_t err_len)
{
	int rc = agent_object_put(ctx, o->kind, o->ns, o->name, o->obj, err, err_len);

	return rc == -ENOTSUP ? 0 : rc;
}

static void agent_dir_del(void *ctx, enum pf_k8s_kind kind, const char *ns, const char *name)
{
	agent_object_del(ctx, kind, ns, name);
}

static void agent_dir_error(void *ctx, const char *msg)
{
	struct agent *a = ctx;

	pf_err("%s", msg);
	pf_prom_add(a->m.manifest_errors, NULL, 1);
}

static void agent_dir_file_changed(void *ctx, const char *file)
{
	struct agent *a = ctx;

	if (!a->source_dirty)
		a->source_dirty = json_object();
	if (!a->source_dirty || json_object_set_new(a->source_dirty, file, json_true()))
		pf_err("remember that %s changed: out of memory (its saved objects may be old)",
		       file);
}

static void agent_dir_sink(struct agent *a, struct pf_dir_sink *sink)
{
	*sink = (struct pf_dir_sink){ .put = agent_dir_put, .del = agent_dir_del,
				      .error = agent_dir_error,
				      .file_changed = agent_dir_file_changed, .ctx = a };
}

/* Saves the objects in force of the files that changed. */
static void agent_dir_state_flush(struct agent *a)
{
	const char *file;
	json_t *v;
	char err[1024];

	json_object_foreach(a->source_dirty, file, v) {
		if (pf_dir_state_save(a->cfg.source_state_dir, a->src, file, err, sizeof(err)))
			pf_err("%s (a restart would start from an older version of %s)", err, file);
	}
	json_object_clear(a->source_dirty);
}

/* What was in force before a restart first, then the directory as it is
 * now, compared with it; then the first reconcile. */
static int agent_dir_open(struct agent *a)
{
	struct pf_dir_sink sink;
	char err[512];
	int rc;

	rc = pf_mkdirs(a->cfg.source_dir, 0755);
	if (!rc)
		rc = pf_dir_source_open(a->cfg.source_dir, &a->src, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "create source directory %s: %s", a->cfg.source_dir,
			 strerror(-rc));
	if (rc) {
		pf_err("%s", err);
		return -1;
	}
	agent_dir_sink(a, &sink);
	rc = pf_mkdirs(a->cfg.source_state_dir, 0700);
	if (rc) {
		pf_err("create %s: %s", a->cfg.source_state_dir, strerror(-rc));
		return -1;
	}
	pthread_mutex_lock(&a->lock);
	rc = pf_dir_state_load(a->cfg.source_state_dir, a->src, &sink);
	if (rc)
		pf_err("read %s: %s", a->cfg.source_state_dir, strerror(-rc));
	/* A source directory that cannot be listed is an error, not an empty
	 * source: starting without policies would open every pod. */
	if (!rc)
		rc = pf_dir_source_scan(a->src, &sink);
	a->source_loaded = !rc;
	for (size_t i = 0; !rc && i < a->n_pods; i++)
		agent_pod_publish(a, a->pods[i]);
	if (!rc)
		agent_reconcile(a);
	agent_dir_state_flush(a);
	pthread_mutex_unlock(&a->lock);
	malloc_trim(0);
	if (rc)
		return -1;
	pf_info("source dir:%s loaded: %zu namespaces, %zu pods, %zu network policies",
		a->cfg.source_dir, pf_k8s_cache_count(&a->cache, PF_K8S_NAMESPACE),
		pf_k8s_cache_count(&a->cache, PF_K8S_POD),
		pf_k8s_cache_count(&a->cache, PF_K8S_NETWORK_POLICY));
	return 0;
}

static int agent_dir_fd(const struct agent *a)
{
	return pf_dir_source_fd(a->src);
}

static int agent_dir_read_events(struct agent *a)
{
	int n = pf_dir_source_read_events(a->src);

	if (n < 0)
		pf_err("read manifest events of %s: %s", pf_dir_source_dir(a->src), strerror(-n));
	return n;
}

static void agent_dir_sync(struct agent *a)
{
	struct pf_dir_sink sink;

	agent_dir_sink(a, &sink);
	pf_dir_source_sync(a->src, &sink);
	agent_dir_state_flush(a);
}

static void agent_dir_close(struct agent *a)
{
	pf_dir_source_free(a->src);
	a->src = NULL;
	json_decref(a->source_dirty);
	a->source_dirty = NULL;
}

const struct agent_source_ops agent_source_dir = {
	.name = "dir",
	.open = agent_dir_open,
	.fd = agent_dir_fd,
	.read_events = agent_dir_read_events,
	.sync = agent_dir_sync,
	.close = agent_dir_close,
};
