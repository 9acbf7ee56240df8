// SPDX-License-Identifier: Apache-2.0
/* The dir: source's sink: objects into the cache (through changes.c), local
 * pods merged with the address the CNI gave them, and the objects in force
 * saved per file for the next start. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dir_source_state.h"
#include "log.h"
#include "agent.h"

static int agent_put(void *ctx, const struct pf_dir_object *o, char *err, size_t err_len)
{
	struct agent *a = ctx;
	struct agent_pod *p = NULL;
	json_t *obj = o->obj;
	char key[600];
	int rc;

	if (o->kind == PF_K8S_POD) {
		snprintf(key, sizeof(key), "%s/%s", o->ns, o->name);
		p = agent_pod_find(a, o->ns, o->name);
		if (p && p->gone)
			p = NULL;
	}
	/* A local pod's object goes in through publish, which adds the
	 * address; the source's version is kept only once it validates. */
	if (p) {
		struct pf_k8s_pod check;

		rc = pf_k8s_pod_from_json(obj, &check, err, err_len);
		if (rc)
			return rc;
		pf_k8s_pod_free(&check);
		if (json_object_set(a->source_pods, key, obj))
			return -ENOMEM;
		return agent_pod_publish(a, p);
	}
	rc = agent_cache_apply(a, obj, NULL, err, err_len);
	if (rc == -ENOTSUP)
		return 0;
	if (!rc && o->kind == PF_K8S_POD && json_object_set(a->source_pods, key, obj))
		rc = -ENOMEM;
	return rc;
}

static void agent_del(void *ctx, enum pf_k8s_kind kind, const char *ns, const char *name)
{
	struct agent *a = ctx;
	struct agent_pod *p;
	char key[600];

	if (kind == PF_K8S_POD) {
		snprintf(key, sizeof(key), "%s/%s", ns, name);
		json_object_del(a->source_pods, key);
		p = agent_pod_find(a, ns, name);
		if (p && !p->gone) {
			/* Still running here: it stays, without the source's labels. */
			agent_pod_publish(a, p);
			return;
		}
	}
	/* -ENOENT: it never validated, nothing to do. */
	agent_cache_delete(a, kind, ns, name);
}

static void agent_source_error(void *ctx, const char *msg)
{
	struct agent *a = ctx;

	pf_err("%s", msg);
	pf_prom_add(a->m.manifest_errors, NULL, 1);
}

static void agent_file_changed(void *ctx, const char *file)
{
	struct agent *a = ctx;

	if (!a->source_dirty)
		a->source_dirty = json_object();
	if (!a->source_dirty || json_object_set_new(a->source_dirty, file, json_true()))
		pf_err("remember that %s changed: out of memory (its saved objects may be old)",
		       file);
}

void agent_source_sink(struct agent *a, struct pf_dir_sink *sink)
{
	*sink = (struct pf_dir_sink){ .put = agent_put, .del = agent_del,
				      .error = agent_source_error,
				      .file_changed = agent_file_changed, .ctx = a };
}

void agent_source_state_flush(struct agent *a)
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
