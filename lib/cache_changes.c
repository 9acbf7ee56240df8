// SPDX-License-Identifier: Apache-2.0
/* The changes of a cache since its policies were last resolved; see
 * cache_changes.h. Running out of memory while noting one turns into "every
 * policy is reached": slower, never stale. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_changes.h"
#include "k8s_parse.h"
#include "resolver_deps.h"

/* A Pod version p, or (was not NULL) p's labels replacing was. */
static void pf_note_pod(struct pf_cache_changes *ch, const struct pf_k8s_pod *p,
			const struct pf_labels *was)
{
	struct pf_cache_pod_change *grown, *n;

	if (ch->all || !p)
		return;
	if (ch->n_pods == PF_CACHE_MAX_POD_CHANGES ||
	    !(grown = realloc(ch->pods, (ch->n_pods + 1) * sizeof(*grown))))
		goto all;
	ch->pods = grown;
	n = &grown[ch->n_pods];
	memset(n, 0, sizeof(*n));
	n->relabel = was != NULL;
	if (!(n->ns = strdup(p->ns)) || pf_labels_copy(&n->labels, &p->labels) ||
	    (was && pf_labels_copy(&n->was, was))) {
		free(n->ns);
		pf_labels_free(&n->labels);
		pf_labels_free(&n->was);
		goto all;
	}
	ch->n_pods++;
	return;
all:
	ch->all = true;
}

static bool pf_labels_equal(const struct pf_labels *a, const struct pf_labels *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const char *v = pf_labels_get(b, a->keys[i]);

		if (!v || strcmp(v, a->values[i]))
			return false;
	}
	return true;
}

static bool pf_str_equal(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Everything of the two versions but their labels is the same. */
static bool pf_pod_same_but_labels(const struct pf_k8s_pod *a, const struct pf_k8s_pod *b)
{
	if (!pf_str_equal(a->node_name, b->node_name) || a->n_ips != b->n_ips ||
	    a->n_ports != b->n_ports || a->host_network != b->host_network ||
	    a->finished != b->finished ||
	    (a->n_ips && memcmp(a->ips, b->ips, a->n_ips * sizeof(*a->ips))))
		return false;
	for (size_t i = 0; i < a->n_ports; i++)
		if (!pf_str_equal(a->ports[i].name, b->ports[i].name) ||
		    a->ports[i].proto != b->ports[i].proto || a->ports[i].port != b->ports[i].port)
			return false;
	return true;
}

/* A Pod replaced by obj: when only its labels change, that change is noted
 * (or nothing, when nothing changes) and true returned; false when the two
 * versions are to be noted as they are. */
static bool pf_note_pod_update(struct pf_cache_changes *ch, const struct pf_k8s_cache *c,
			       json_t *obj, const char *ns, const char *name)
{
	const struct pf_k8s_pod *old = pf_k8s_cache_get(c, PF_K8S_POD, ns, name);
	struct pf_k8s_pod fresh;
	char err[256];
	bool same;

	if (!old || pf_k8s_pod_from_json(obj, &fresh, err, sizeof(err)))
		return false;
	same = pf_pod_same_but_labels(old, &fresh);
	if (same && !pf_labels_equal(&old->labels, &fresh.labels))
		pf_note_pod(ch, &fresh, &old->labels);
	pf_k8s_pod_free(&fresh);
	return same;
}

/* One version of an object as the cache holds it, before or after a change. */
static void pf_note_version(struct pf_cache_changes *ch, const struct pf_k8s_cache *c,
			    enum pf_k8s_kind kind, const char *ns, const char *name)
{
	if (kind == PF_K8S_POD)
		pf_note_pod(ch, pf_k8s_cache_get(c, kind, ns, name), NULL);
}

/* An object changed or went. PolicyEndpoints are no input of a policy. */
static void pf_note_changed(struct pf_cache_changes *ch, enum pf_k8s_kind kind, const char *ns,
			    const char *name)
{
	char key[600]; /* "ns/name": at most 63 + 1 + 253 */

	if (kind == PF_K8S_NAMESPACE) {
		ch->namespaces = true;
	} else if (kind == PF_K8S_NETWORK_POLICY) {
		snprintf(key, sizeof(key), "%s/%s", ns, name);
		if (!ch->policies)
			ch->policies = json_object();
		if (!ch->policies || json_object_set_new(ch->policies, key, json_true()))
			ch->all = true;
	}
}

int pf_cache_changes_apply(struct pf_cache_changes *ch, struct pf_k8s_cache *c, json_t *obj,
			   enum pf_k8s_kind *kind_out, char *err, size_t err_len)
{
	char *ns = NULL, *name = NULL, why[256];
	enum pf_k8s_kind kind;
	bool named, noted = false;
	int rc = pf_k8s_kind_of(obj, &kind, err, err_len);

	if (rc)
		return rc;
	if (kind_out)
		*kind_out = kind;
	/* The identity, to note what the new version replaces (an object whose
	 * metadata is bad is refused by the apply anyway). */
	named = !pf_k8s_meta(obj, kind != PF_K8S_NAMESPACE, &ns, &name, why, sizeof(why));
	if (named && kind == PF_K8S_POD && !ch->all)
		noted = pf_note_pod_update(ch, c, obj, ns, name);
	if (named && !noted)
		pf_note_version(ch, c, kind, ns, name);
	rc = pf_k8s_cache_apply(c, obj, NULL, err, err_len);
	if (!rc && named && !noted) {
		pf_note_version(ch, c, kind, ns, name);
		pf_note_changed(ch, kind, ns, name);
	}
	free(ns);
	free(name);
	return rc;
}

int pf_cache_changes_delete(struct pf_cache_changes *ch, struct pf_k8s_cache *c,
			    enum pf_k8s_kind kind, const char *ns, const char *name)
{
	pf_note_version(ch, c, kind, ns, name);
	if (pf_k8s_cache_delete(c, kind, ns, name))
		return -ENOENT;
	pf_note_changed(ch, kind, ns, name);
	return 0;
}

bool pf_cache_changes_reach(const struct pf_cache_changes *ch, const struct pf_k8s_cache *c,
			    const struct pf_k8s_netpol *np, const char *key)
{
	if (ch->all || json_object_get(ch->policies, key))
		return true;
	if (ch->namespaces && pf_netpol_uses_namespace_labels(np))
		return true;
	for (size_t i = 0; i < ch->n_pods; i++) {
		const struct pf_cache_pod_change *p = &ch->pods[i];

		if (p->relabel ? pf_netpol_relabel_matters(c, np, p->ns, &p->was, &p->labels)
			       : pf_netpol_involves_pod(c, np, p->ns, &p->labels))
			return true;
	}
	return false;
}

bool pf_cache_changes_any(const struct pf_cache_changes *ch)
{
	return ch->all || ch->namespaces || ch->n_pods || json_object_size(ch->policies);
}

void pf_cache_changes_reset(struct pf_cache_changes *ch)
{
	for (size_t i = 0; i < ch->n_pods; i++) {
		free(ch->pods[i].ns);
		pf_labels_free(&ch->pods[i].labels);
		pf_labels_free(&ch->pods[i].was);
	}
	free(ch->pods);
	json_decref(ch->policies);
	memset(ch, 0, sizeof(*ch));
}
