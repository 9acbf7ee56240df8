// SPDX-License-Identifier: Apache-2.0
/* The local pod table (sorted by namespace/name), each pod's place in the
 * object cache, and the state file that remembers them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_state.h"
#include "log.h"
#include "agent.h"

static int agent_pod_cmp(const char *ns, const char *name, const struct agent_pod *p)
{
	int d = strcmp(ns, p->lp.ns);

	return d ? d : strcmp(name, p->lp.name);
}

/* Index of ns/name, or where it would go. */
static size_t agent_pod_index(const struct agent *a, const char *ns, const char *name,
			      bool *found)
{
	size_t lo = 0, hi = a->n_pods;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int d = agent_pod_cmp(ns, name, a->pods[mid]);

		if (!d) {
			*found = true;
			return mid;
		}
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*found = false;
	return lo;
}

struct agent_pod *agent_pod_find(const struct agent *a, const char *ns, const char *name)
{
	bool found;
	size_t i = agent_pod_index(a, ns, name, &found);

	return found ? a->pods[i] : NULL;
}

struct agent_pod *agent_pod_by_ifindex(const struct agent *a, int ifindex)
{
	for (size_t i = 0; i < a->n_pods; i++)
		if (a->pods[i]->lp.ifindex == ifindex && !a->pods[i]->gone)
			return a->pods[i];
	return NULL;
}

int agent_pod_insert(struct agent *a, struct agent_pod *p)
{
	bool found;
	size_t i = agent_pod_index(a, p->lp.ns, p->lp.name, &found);
	struct agent_pod **grown;

	if (found)
		return -EEXIST;
	grown = realloc(a->pods, (a->n_pods + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	a->pods = grown;
	memmove(&a->pods[i + 1], &a->pods[i], (a->n_pods - i) * sizeof(*a->pods));
	a->pods[i] = p;
	a->n_pods++;
	return 0;
}

void agent_pod_free(struct agent_pod *p)
{
	if (!p)
		return;
	pf_local_pod_free(&p->lp);
	json_decref(p->policies);
	free(p);
}

void agent_pod_remove(struct agent *a, struct agent_pod *p)
{
	bool found;
	size_t i = agent_pod_index(a, p->lp.ns, p->lp.name, &found);

	if (!found || a->pods[i] != p)
		return;
	memmove(&a->pods[i], &a->pods[i + 1], (a->n_pods - i - 1) * sizeof(*a->pods));
	a->n_pods--;
	agent_pod_free(p);
}

static int agent_set_addresses(json_t *obj, const struct agent_pod *p, const char *node)
{
	json_t *status = json_object_get(obj, "status"), *spec = json_object_get(obj, "spec");
	json_t *ips = json_array();
	char buf[64];
	int bad = !ips;

	if (!json_is_object(status)) {
		status = json_object();
		bad |= json_object_set_new(obj, "status", status);
	}
	if (!json_is_object(spec)) {
		spec = json_object();
		bad |= json_object_set_new(obj, "spec", spec);
	}
	for (size_t i = 0; !bad && i < p->lp.n_ips; i++)
		bad |= json_array_append_new(
			ips, json_pack("{s:s}", "ip",
				       pf_addr_format(p->lp.ips[i].family, p->lp.ips[i].addr, buf,
						      sizeof(buf))));
	/* The CNI plugin is the truth about a local pod's address and node. */
	json_object_del(status, "podIP");
	if (!bad && p->lp.n_ips)
		bad |= json_object_set(status, "podIP",
				       json_object_get(json_array_get(ips, 0), "ip"));
	if (!bad)
		bad |= json_object_set(status, "podIPs", ips);
	if (!bad)
		bad |= json_object_set_new(spec, "nodeName", json_string(node));
	json_decref(ips);
	return bad ? -ENOMEM : 0;
}

/* The pod as the cache should hold it: the source's object, or a bare Pod
 * (no labels, no ports) when the source has none, with the CNI's address. */
static json_t *agent_pod_object(const struct agent *a, const struct agent_pod *p,
				bool from_source)
{
	char key[600];
	json_t *src, *obj;

	snprintf(key, sizeof(key), "%s/%s", p->lp.ns, p->lp.name);
	src = from_source ? json_object_get(a->source_pods, key) : NULL;
	obj = src ? json_deep_copy(src)
		  : json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "Pod",
			      "metadata", "namespace", p->lp.ns, "name", p->lp.name);
	if (obj && agent_set_addresses(obj, p, a->cfg.node_name)) {
		json_decref(obj);
		obj = NULL;
	}
	return obj;
}

int agent_pod_publish(struct agent *a, struct agent_pod *p)
{
	json_t *obj = agent_pod_object(a, p, true);
	char err[1024] = "";
	int rc = obj ? agent_cache_apply(a, obj, NULL, err, sizeof(err)) : -ENOMEM;

	json_decref(obj);
	if (rc && !pf_k8s_cache_get(&a->cache, PF_K8S_POD, p->lp.ns, p->lp.name)) {
		/* The source's Pod never validated: the pod is enforced as one
		 * without labels rather than not at all. */
		pf_warn("pod %s/%s: %s; enforcing it as a pod without labels", p->lp.ns, p->lp.name,
			rc == -ENOMEM ? "out of memory" : err);
		obj = agent_pod_object(a, p, false);
		rc = obj ? agent_cache_apply(a, obj, NULL, err, sizeof(err)) : -ENOMEM;
		json_decref(obj);
	}
	if (rc)
		pf_err("pod %s/%s: put into the object cache: %s", p->lp.ns, p->lp.name,
		       rc == -ENOMEM ? "out of memory" : err);
	return rc;
}

void agent_pod_unpublish(struct agent *a, const struct agent_pod *p)
{
	char key[600], err[1024];
	json_t *src;

	snprintf(key, sizeof(key), "%s/%s", p->lp.ns, p->lp.name);
	src = json_object_get(a->source_pods, key);
	/* Back to what the source says (a pod elsewhere, maybe), or gone. */
	if (!src || agent_cache_apply(a, src, NULL, err, sizeof(err)))
		agent_cache_delete(a, PF_K8S_POD, p->lp.ns, p->lp.name);
}

int agent_state_flush(struct agent *a)
{
	const struct pf_local_pod **pods;
	char err[1024];
	size_t n = 0;
	int rc;

	if (!a->state_dirty)
		return 0;
	pods = calloc(a->n_pods + 1, sizeof(*pods));
	if (!pods) {
		pf_err("save state %s: out of memory", a->cfg.state_path);
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->n_pods; i++)
		if (!a->pods[i]->gone)
			pods[n++] = &a->pods[i]->lp;
	rc = pf_agent_state_save(a->cfg.state_path, pods, n, &a->sets, err, sizeof(err));
	free(pods);
	if (rc)
		pf_err("save state: %s (a restart would not know the current pods and sets)", err);
	else
		a->state_dirty = false;
	return rc;
}
