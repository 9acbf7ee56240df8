// SPDX-License-Identifier: Apache-2.0
/*
 * What changed in the cache, so a reconcile rebuilds only the
 * PolicyEndpoints a change can reach (lib/resolver_deps.h says what one
 * depends on): building all of them for 100 pods and 1,000 policies takes
 * about 120 ms, one of them well under a millisecond. Each Pod version that
 * comes or goes (old and new labels) is noted, and a policy is rebuilt when
 * one of those versions is, or was, one of its targets or peers.
 *
 * kube: the API's PolicyEndpoints are enforced as they are. A change of one
 * makes exactly the local pods it lists, before and after, resolve their
 * spec again; Pods change nothing (the controller republishes what they
 * reach).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_parse.h"
#include "log.h"
#include "resolver_deps.h"
#include "agent.h"

/* Past this many Pod versions in one reconcile, checking each against
 * every policy costs more than rebuilding them all. */
#define AGENT_MAX_POD_CHANGES 256

static void agent_note_pod(struct agent *a, const char *ns, const struct pf_labels *labels)
{
	struct agent_changes *c = &a->changes;
	struct agent_pod_change *grown;

	if (c->all)
		return;
	if (c->n_pods == AGENT_MAX_POD_CHANGES ||
	    !(grown = realloc(c->pods, (c->n_pods + 1) * sizeof(*grown))))
		goto all;
	c->pods = grown;
	memset(&grown[c->n_pods], 0, sizeof(*grown));
	if (!(grown[c->n_pods].ns = strdup(ns)) ||
	    pf_labels_copy(&grown[c->n_pods].labels, labels)) {
		free(grown[c->n_pods].ns);
		goto all;
	}
	c->n_pods++;
	return;
all:
	c->all = true;
}

static void agent_note_pod_in_cache(struct agent *a, const char *ns, const char *name)
{
	const struct pf_k8s_pod *p = pf_k8s_cache_get(&a->cache, PF_K8S_POD, ns, name);

	if (p)
		agent_note_pod(a, ns, &p->labels);
}

static void agent_note(struct agent *a, enum pf_k8s_kind kind, const char *ns,
		       const char *name)
{
	char key[600];

	if (kind == PF_K8S_NAMESPACE) {
		a->changes.namespaces = true;
	} else if (kind == PF_K8S_NETWORK_POLICY) {
		snprintf(key, sizeof(key), "%s/%s", ns, name);
		if (!a->changes.policies)
			a->changes.policies = json_object();
		if (!a->changes.policies ||
		    json_object_set_new(a->changes.policies, key, json_true()))
			a->changes.all = true;
	}
	/* PolicyEndpoints in a dir: source are cached but not enforced: this
	 * agent resolves the NetworkPolicies itself. */
}

/* One version of an object as the cache holds it, before or after a change. */
static void agent_note_version(struct agent *a, enum pf_k8s_kind kind, const char *ns,
			       const char *name)
{
	if (a->cfg.source == AGENT_SOURCE_KUBE) {
		if (kind == PF_K8S_POLICY_ENDPOINT)
			agent_endpoint_touch(a, pf_k8s_cache_get(&a->cache, kind, ns, name));
	} else if (kind == PF_K8S_POD) {
		agent_note_pod_in_cache(a, ns, name);
	}
}

/* An object changed or went. */
static void agent_note_changed(struct agent *a, enum pf_k8s_kind kind, const char *ns,
			       const char *name)
{
	if (a->cfg.source == AGENT_SOURCE_DIR)
		agent_note(a, kind, ns, name);
	else if (kind == PF_K8S_POLICY_ENDPOINT && agent_endpoints_view(a))
		pf_err("kube: PolicyEndpoints: out of memory; reconciles fail until they can "
		       "be read again");
}

int agent_cache_apply(struct agent *a, json_t *obj, enum pf_k8s_kind *kind_out, char *err,
		      size_t err_len)
{
	char *ns = NULL, *name = NULL, why[256];
	enum pf_k8s_kind kind;
	bool named;
	int rc = pf_k8s_kind_of(obj, &kind, err, err_len);

	if (rc)
		return rc;
	if (kind_out)
		*kind_out = kind;
	/* The identity, to note what the new version replaces (an object whose
	 * metadata is bad is refused by the apply anyway). */
	named = !pf_k8s_meta(obj, kind != PF_K8S_NAMESPACE, &ns, &name, why, sizeof(why));
	if (named)
		agent_note_version(a, kind, ns, name);
	rc = pf_k8s_cache_apply(&a->cache, obj, NULL, err, err_len);
	if (!rc && named) {
		agent_note_version(a, kind, ns, name);
		agent_note_changed(a, kind, ns, name);
	}
	free(ns);
	free(name);
	return rc;
}

int agent_cache_delete(struct agent *a, enum pf_k8s_kind kind, const char *ns,
		       const char *name)
{
	agent_note_version(a, kind, ns, name);
	if (pf_k8s_cache_delete(&a->cache, kind, ns, name))
		return -ENOENT;
	agent_note_changed(a, kind, ns, name);
	return 0;
}

bool agent_changes_reach(const struct agent *a, const struct pf_k8s_netpol *np,
			 const char *key)
{
	const struct agent_changes *c = &a->changes;

	if (c->all || json_object_get(c->policies, key))
		return true;
	if (c->namespaces && pf_netpol_uses_namespace_labels(np))
		return true;
	for (size_t i = 0; i < c->n_pods; i++)
		if (pf_netpol_involves_pod(&a->cache, np, c->pods[i].ns, &c->pods[i].labels))
			return true;
	return false;
}

void agent_changes_reset(struct agent_changes *c)
{
	for (size_t i = 0; i < c->n_pods; i++) {
		free(c->pods[i].ns);
		pf_labels_free(&c->pods[i].labels);
	}
	free(c->pods);
	json_decref(c->policies);
	memset(c, 0, sizeof(*c));
}
