/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Kubernetes objects podfence reads, typed and validated as the API
 * server would validate them (core/v1 Namespace and Pod, the parts policy
 * needs; networking.k8s.io/v1 NetworkPolicy in full), and the in-memory cache
 * that holds the current good version of each.
 *
 * Every error names the object and the field:
 *   NetworkPolicy x/allow-web: spec.ingress[0].ports[1].endPort 70 is less than port 80
 * The caller adds where the object came from (pf_manifest_doc_where).
 */
#ifndef PF_K8S_OBJECTS_H
#define PF_K8S_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "podfence_abi.h"
#include "cidr.h"
#include "label_selector.h"

struct pf_policy_endpoint;

enum pf_k8s_kind {
	PF_K8S_NAMESPACE,
	PF_K8S_POD,
	PF_K8S_NETWORK_POLICY,
	PF_K8S_POLICY_ENDPOINT,
	PF_K8S_KIND_COUNT,
};

/* The API server sets this label on every Namespace to the namespace's name. */
#define PF_K8S_NS_NAME_LABEL "kubernetes.io/metadata.name"

struct pf_k8s_namespace {
	char *name;
	struct pf_labels labels; /* PF_K8S_NS_NAME_LABEL always present */
};

struct pf_k8s_container_port {
	char *name;     /* NULL when the port has no name */
	uint8_t proto;  /* IPPROTO_TCP (the default), _UDP or _SCTP */
	uint16_t port;
};

struct pf_k8s_pod {
	char *ns, *name;
	struct pf_labels labels;
	char *node_name;         /* NULL when not scheduled */
	struct pf_cidr *ips;     /* host prefixes: status.podIP first, then podIPs */
	size_t n_ips;
	struct pf_k8s_container_port *ports; /* spec.containers[].ports[] */
	size_t n_ports;
	bool host_network;       /* the node's addresses: never a policy target or peer */
	bool finished;           /* phase Succeeded or Failed: its IP may be reused */
};

/* One entry of a rule's ports. port 0 without a name: every port of proto. */
struct pf_np_port {
	uint8_t proto;
	uint16_t port;
	uint16_t end_port; /* == port unless endPort was given */
	char *name;        /* a named port, resolved against container ports */
};

/* One entry of from/to. Selectors are NULL when absent. */
struct pf_np_peer {
	struct pf_label_selector *pod_sel;
	struct pf_label_selector *ns_sel;
	bool is_ip_block;
	struct pf_cidr cidr;
	struct pf_cidr *except;
	size_t n_except;
};

struct pf_np_rule {
	struct pf_np_peer *peers; /* none: every peer (from/to absent or []) */
	size_t n_peers;
	struct pf_np_port *ports; /* none: every port and protocol */
	size_t n_ports;
};

struct pf_k8s_netpol {
	char *ns, *name;
	struct pf_label_selector pod_sel; /* absent podSelector reads as {} */
	bool types[2];                    /* policyTypes after defaulting, by enum pf_dir */
	struct pf_np_rule *rules[2];      /* ingress, egress */
	size_t n_rules[2];
};

const char *pf_k8s_kind_name(enum pf_k8s_kind kind);
/* Kind from an object's "kind" (and a check of its "apiVersion"); -ENOTSUP
 * for a kind podfence does not read (a Deployment, a Service). */
int pf_k8s_kind_of(json_t *obj, enum pf_k8s_kind *kind, char *err, size_t err_len);

int pf_k8s_namespace_from_json(json_t *obj, struct pf_k8s_namespace *out, char *err,
			       size_t err_len);
int pf_k8s_pod_from_json(json_t *obj, struct pf_k8s_pod *out, char *err, size_t err_len);
int pf_k8s_netpol_from_json(json_t *obj, struct pf_k8s_netpol *out, char *err, size_t err_len);
void pf_k8s_namespace_free(struct pf_k8s_namespace *n);
void pf_k8s_pod_free(struct pf_k8s_pod *p);
void pf_k8s_netpol_free(struct pf_k8s_netpol *np);

/* The cache: the last good version of every object, per kind, in ns/name
 * order. An object that fails validation changes nothing. */
struct pf_k8s_entry {
	char *key; /* "ns/name", or "name" for a Namespace */
	void *obj; /* struct pf_k8s_namespace, _pod, _netpol or pf_policy_endpoint */
};

struct pf_k8s_table {
	struct pf_k8s_entry *e;
	size_t n, cap;
};

struct pf_k8s_cache {
	struct pf_k8s_table t[PF_K8S_KIND_COUNT];
	uint64_t generation; /* bumped by every change */
};

void pf_k8s_cache_init(struct pf_k8s_cache *c);
void pf_k8s_cache_free(struct pf_k8s_cache *c);
/* Creates or replaces the object obj describes. *kind (may be NULL) tells
 * what it was. -ENOTSUP for a kind podfence does not read; -EINVAL with err
 * naming object and field when it does not validate (the cache keeps the
 * previous version). */
int pf_k8s_cache_apply(struct pf_k8s_cache *c, json_t *obj, enum pf_k8s_kind *kind, char *err,
		       size_t err_len);
/* Removes an object; -ENOENT when it is not there. ns is ignored for
 * Namespaces. */
int pf_k8s_cache_delete(struct pf_k8s_cache *c, enum pf_k8s_kind kind, const char *ns,
			const char *name);

const void *pf_k8s_cache_get(const struct pf_k8s_cache *c, enum pf_k8s_kind kind,
			     const char *ns, const char *name);
static inline size_t pf_k8s_cache_count(const struct pf_k8s_cache *c, enum pf_k8s_kind kind)
{
	return c->t[kind].n;
}
static inline const void *pf_k8s_cache_at(const struct pf_k8s_cache *c, enum pf_k8s_kind kind,
					  size_t i)
{
	return c->t[kind].e[i].obj;
}

#endif
