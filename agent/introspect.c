// SPDX-License-Identifier: Apache-2.0
/* GET /v1/pods, /v1/policies and /v1/explain?pod=NS/NAME (docs/agent.md):
 * what the agent knows, for podfence-ctl and people. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_decode.h"
#include "resolver.h"
#include "agent.h"

static json_t *agent_ip_json(const struct pf_k8s_pod *kp, const struct agent_pod *p,
			     uint8_t family)
{
	const struct pf_cidr *c = p ? pf_local_pod_ip(&p->lp, family) : NULL;
	char buf[64];

	for (size_t i = 0; !c && kp && i < kp->n_ips; i++)
		if (kp->ips[i].family == family)
			c = &kp->ips[i];
	return c ? json_string(pf_addr_format(c->family, c->addr, buf, sizeof(buf)))
		 : json_null();
}

/* A pod's isolation per direction: a local pod's from its set (the mode
 * is in there), a remote pod's from the policies that select it. */
static json_t *agent_isolation_json(const struct agent *a, const struct pf_k8s_pod *kp,
				    const struct agent_pod *p)
{
	unsigned iso[2] = { PF_ISO_UNKNOWN, PF_ISO_UNKNOWN };

	if (p) {
		const struct pf_set_entry *e = pf_set_table_get(&a->sets, p->lp.set_id);

		for (int d = 0; e && e->spec && d < 2; d++)
			iso[d] = e->spec->dir[d].isolation;
	} else if (kp) {
		iso[0] = iso[1] = PF_ISO_OPEN;
		for (size_t i = 0; i < a->pes.n; i++)
			for (int d = 0; d < 2; d++)
				if (a->pes.pes[i]->isolation[d] &&
				    pf_policy_endpoint_find(a->pes.pes[i], kp->ns, kp->name))
					iso[d] = PF_ISO_ISOLATED;
	}
	return json_pack("{s:s, s:s}", "ingress", pf_isolation_name(iso[PF_DIR_INGRESS]),
			 "egress", pf_isolation_name(iso[PF_DIR_EGRESS]));
}

/* One pod as /v1/pods lists it; p is NULL for a pod of another node. */
static json_t *agent_pod_json(const struct agent *a, const struct pf_k8s_pod *kp,
			      const struct agent_pod *p)
{
	static const struct pf_labels none;
	const char *ns = p ? p->lp.ns : kp->ns, *name = p ? p->lp.name : kp->name;
	bool set = p && p->bound;

	return json_pack("{s:s, s:s, s:b, s:s?, s:s?, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "namespace", ns, "name", name, "local", p != NULL, "container_id",
			 p ? p->lp.container_id : NULL, "host_veth", p ? p->lp.host_veth : NULL,
			 "ifindex", p ? json_integer(p->lp.ifindex) : json_null(),
			 "ipv4", agent_ip_json(kp, p, PF_FAMILY_V4),
			 "ipv6", agent_ip_json(kp, p, PF_FAMILY_V6),
			 "labels", pf_labels_to_json(kp ? &kp->labels : &none),
			 "policy_set", set ? json_integer(p->lp.set_id) : json_null(),
			 "isolation", agent_isolation_json(a, kp, p));
}

void agent_introspect_pods(struct agent *a, struct pf_http_reply *reply)
{
	json_t *list = json_array();

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; list && i < a->n_pods; i++) {
		const struct agent_pod *p = a->pods[i];

		if (!p->gone)
			json_array_append_new(list, agent_pod_json(a, pf_k8s_cache_get(&a->cache,
				PF_K8S_POD, p->lp.ns, p->lp.name), p));
	}
	for (size_t i = 0; list && i < pf_k8s_cache_count(&a->cache, PF_K8S_POD); i++) {
		const struct pf_k8s_pod *kp = pf_k8s_cache_at(&a->cache, PF_K8S_POD, i);
		const struct agent_pod *p = agent_pod_find(a, kp->ns, kp->name);

		if ((!p || p->gone) && kp->n_ips)
			json_array_append_new(list, agent_pod_json(a, kp, NULL));
	}
	pthread_mutex_unlock(&a->lock);
	pf_http_reply_json(reply, 200, list ? json_pack("{s:o}", "pods", list) : NULL);
}

/* policyTypes from isolation by direction. */
static json_t *agent_types_json(const bool iso[2])
{
	json_t *types = json_array();

	if (iso[PF_DIR_INGRESS])
		json_array_append_new(types, json_string("Ingress"));
	if (iso[PF_DIR_EGRESS])
		json_array_append_new(types, json_string("Egress"));
	return types;
}

static json_t *agent_policy_json(const struct pf_k8s_netpol *np,
				 const struct pf_policy_endpoint *pe)
{
	json_t *types = agent_types_json(np->types), *selects = json_array();
	char key[600];

	for (size_t i = 0; pe && i < pe->n_endpoints; i++) {
		snprintf(key, sizeof(key), "%s/%s", pe->endpoints[i].ns, pe->endpoints[i].name);
		json_array_append_new(selects, json_string(key));
	}
	return json_pack("{s:s, s:s, s:o, s:o}", "namespace", np->ns, "name", np->name,
			 "policy_types", types, "selects", selects);
}

/* Adds s to a sorted list of strings unless it is there. */
static void agent_sorted_add(json_t *list, const char *s)
{
	size_t lo = 0, hi = json_array_size(list);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int d = strcmp(json_string_value(json_array_get(list, mid)), s);

		if (!d)
			return;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	json_array_insert_new(list, lo, json_string(s));
}

/* dir: the cache's NetworkPolicies, each with its PolicyEndpoint. */
static json_t *agent_policies_of_cache(const struct agent *a)
{
	json_t *policies = json_array();

	for (size_t i = 0; i < pf_k8s_cache_count(&a->cache, PF_K8S_NETWORK_POLICY); i++) {
		const struct pf_k8s_netpol *np =
			pf_k8s_cache_at(&a->cache, PF_K8S_NETWORK_POLICY, i);

		json_array_append_new(policies,
				      agent_policy_json(np, agent_endpoint_find(a, np->ns, np->name)));
	}
	return policies;
}

/* kube: the policies the PolicyEndpoints name (spec.policyRef), each with
 * the union of its PolicyEndpoints: the pods they select, their isolation
 * as its types, and their names. In the order of "ns/name". */
static json_t *agent_policies_of_endpoints(const struct agent *a)
{
	json_t *policies = json_array(), *keys = json_array(), *by_key = json_object(), *v;
	bool (*iso)[2] = calloc(a->pes.n + 1, sizeof(*iso)); /* per policy, by first PE */
	char key[600];
	size_t k;

	if (!iso || !policies || !keys || !by_key) {
		free(iso);
		json_decref(policies);
		json_decref(keys);
		json_decref(by_key);
		return NULL; /* answered 500 */
	}
	for (size_t i = 0; i < a->pes.n; i++) {
		const struct pf_policy_endpoint *pe = a->pes.pes[i];
		json_t *p;
		size_t at;

		snprintf(key, sizeof(key), "%s/%s", pe->policy_ns, pe->policy_name);
		if (!(p = json_object_get(by_key, key))) {
			p = json_pack("{s:s, s:s, s:I, s:[], s:[]}", "namespace", pe->policy_ns,
				      "name", pe->policy_name, "at", (json_int_t)i, "selects",
				      "policy_endpoints");
			json_object_set_new(by_key, key, p);
			agent_sorted_add(keys, key);
		}
		at = (size_t)json_integer_value(json_object_get(p, "at"));
		for (int d = 0; d < 2; d++)
			iso[at][d] = iso[at][d] || pe->isolation[d];
		for (size_t e = 0; e < pe->n_endpoints; e++) {
			snprintf(key, sizeof(key), "%s/%s", pe->endpoints[e].ns, pe->endpoints[e].name);
			agent_sorted_add(json_object_get(p, "selects"), key);
		}
		snprintf(key, sizeof(key), "%s/%s", pe->ns, pe->name);
		json_array_append_new(json_object_get(p, "policy_endpoints"), json_string(key));
	}
	json_array_foreach(keys, k, v) {
		json_t *p = json_object_get(by_key, json_string_value(v));

		json_object_set_new(p, "policy_types",
				    agent_types_json(iso[json_integer_value(json_object_get(p, "at"))]));
		json_object_del(p, "at");
		json_array_append(policies, p);
	}
	free(iso);
	json_decref(keys);
	json_decref(by_key);
	return policies;
}

void agent_introspect_policies(struct agent *a, struct pf_http_reply *reply)
{
	json_t *policies, *pes = json_array();

	pthread_mutex_lock(&a->lock);
	policies = a->cfg.source == AGENT_SOURCE_KUBE ? agent_policies_of_endpoints(a)
						      : agent_policies_of_cache(a);
	for (size_t i = 0; i < a->pes.n; i++)
		json_array_append_new(pes, pf_policy_endpoint_to_json(a->pes.pes[i]));
	pthread_mutex_unlock(&a->lock);
	pf_http_reply_json(reply, 200, json_pack("{s:o, s:o}", "policies", policies,
						 "policy_endpoints", pes));
}

/* The spec of a pod of another node, as if it were local here. */
static json_t *agent_remote_spec_json(const struct agent *a, const struct pf_k8s_pod *kp)
{
	struct pf_policy_spec spec;
	char err[256];
	json_t *j;

	if (pf_resolve_pod_spec((const struct pf_policy_endpoint *const *)a->pes.pes, a->pes.n,
				kp->ns, kp->name, a->cfg.mode == PF_MODE_STANDARD, &spec, err,
				sizeof(err)))
		return NULL;
	j = pf_policy_spec_to_json(&spec);
	pf_policy_spec_free(&spec);
	return j;
}

void agent_introspect_explain(struct agent *a, const char *pod, struct pf_http_reply *reply)
{
	const char *slash = pod ? strchr(pod, '/') : NULL;
	char ns[256];
	const struct pf_k8s_pod *kp;
	const struct agent_pod *p;
	const struct pf_set_entry *e;
	json_t *policies, *spec;

	if (!slash || slash == pod || !slash[1] || (size_t)(slash - pod) >= sizeof(ns)) {
		pf_http_reply_error(reply, 400, "query \"pod\" must be NAMESPACE/NAME, not \"%s\"",
				    pod ? pod : "");
		return;
	}
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - pod), pod);
	pthread_mutex_lock(&a->lock);
	p = agent_pod_find(a, ns, slash + 1);
	if (p && p->gone)
		p = NULL;
	kp = pf_k8s_cache_get(&a->cache, PF_K8S_POD, ns, slash + 1);
	if (!p && !kp) {
		pthread_mutex_unlock(&a->lock);
		pf_http_reply_error(reply, 404, "no pod %s is known here", pod);
		return;
	}
	policies = json_array();
	for (size_t i = 0; i < a->pes.n; i++)
		if (pf_policy_endpoint_find(a->pes.pes[i], ns, slash + 1))
			agent_policy_list_add(policies, a->pes.pes[i]);
	e = p ? pf_set_table_get(&a->sets, p->lp.set_id) : NULL;
	spec = p ? (e && e->spec ? pf_policy_spec_to_json(e->spec) : json_null())
		 : agent_remote_spec_json(a, kp);
	pf_http_reply_json(reply, 200,
			   json_pack("{s:o, s:o, s:o, s:o}", "pod", agent_pod_json(a, kp, p),
				     "policies", policies, "spec", spec ? spec : json_null(),
				     "policy_set", p && p->bound ? json_integer(p->lp.set_id)
								 : json_null()));
	pthread_mutex_unlock(&a->lock);
}
