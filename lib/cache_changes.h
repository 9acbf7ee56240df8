/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What changed in a pf_k8s_cache since its NetworkPolicies were last
 * resolved, so a consumer resolves again only the policies a change can
 * reach (resolver_deps.h says what a policy depends on). Used by
 * podfence-agent in dir: mode and by podfence-controller in kube: mode.
 *
 * Every change goes through pf_cache_changes_apply / _delete, which note:
 * each Pod version that comes or goes (its namespace and labels, old and
 * new), that a Namespace changed, and which NetworkPolicies changed. A
 * policy is reached when it changed itself, when a noted Pod version is or
 * was one of its targets or peers, or when a Namespace changed and it has
 * a namespaceSelector. A Pod whose labels alone changed reaches only the
 * policies with a selector that matches one version and not the other; one
 * that did not change at all (a status update podfence does not read)
 * reaches none.
 */
#ifndef PF_CACHE_CHANGES_H
#define PF_CACHE_CHANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "k8s_objects.h"

/* Past this many Pod versions, checking each against every policy costs
 * more than resolving them all. */
#define PF_CACHE_MAX_POD_CHANGES 256

/* A Pod version that came or went (its namespace and labels), or a Pod
 * whose labels alone changed (was: the old ones). */
struct pf_cache_pod_change {
	char *ns;
	struct pf_labels labels;
	struct pf_labels was;
	bool relabel;
};

struct pf_cache_changes {
	bool all;                          /* every policy is reached */
	bool namespaces;                   /* a Namespace (its labels) changed */
	json_t *policies;                  /* "ns/name" of changed NetworkPolicies (set) */
	struct pf_cache_pod_change *pods;  /* old and new versions of changed Pods */
	size_t n_pods;
};

/* pf_k8s_cache_apply, noting what the new version replaces and what it is.
 * Same returns. */
int pf_cache_changes_apply(struct pf_cache_changes *ch, struct pf_k8s_cache *c, json_t *obj,
			   enum pf_k8s_kind *kind, char *err, size_t err_len);
/* pf_k8s_cache_delete, noting what went. Same returns. */
int pf_cache_changes_delete(struct pf_cache_changes *ch, struct pf_k8s_cache *c,
			    enum pf_k8s_kind kind, const char *ns, const char *name);
/* Whether the noted changes can reach np's PolicyEndpoint (key "ns/name"). */
bool pf_cache_changes_reach(const struct pf_cache_changes *ch, const struct pf_k8s_cache *c,
			    const struct pf_k8s_netpol *np, const char *key);
/* Whether anything at all was noted. */
bool pf_cache_changes_any(const struct pf_cache_changes *ch);
/* Forgets every change (after the policies were resolved). */
void pf_cache_changes_reset(struct pf_cache_changes *ch);

#endif
