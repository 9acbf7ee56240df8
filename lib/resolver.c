// SPDX-License-Identifier: Apache-2.0
/* NetworkPolicy to PolicyEndpoint (networking.k8s.io/v1 semantics). The
 * clauses of the API documentation each implement are cited inline. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pe_rules.h"
#include "resolver.h"

/* One address range a rule's peers stand for; pod is set when it is a pod's
 * address (egress named ports resolve against that pod). */
struct pf_peer_addr {
	struct pf_cidr cidr;
	const struct pf_cidr *except;
	size_t n_except;
	const struct pf_k8s_pod *pod;
};

struct pf_peer_list {
	struct pf_peer_addr *a;
	size_t n, cap;
};

static int pf_peer_list_add(struct pf_peer_list *l, const struct pf_peer_addr *a)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct pf_peer_addr *n = realloc(l->a, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		l->a = n;
		l->cap = cap;
	}
	l->a[l->n++] = *a;
	return 0;
}

/* Pods with an address that is theirs: a host-network pod has the node's,
 * a finished pod's may already belong to another pod. */
static bool pf_pod_has_own_ips(const struct pf_k8s_pod *p)
{
	return p->n_ips && !p->host_network && !p->finished;
}

static bool pf_ns_matches(const struct pf_k8s_cache *c, const char *ns,
			  const struct pf_label_selector *sel)
{
	const struct pf_k8s_namespace *n = pf_k8s_cache_get(c, PF_K8S_NAMESPACE, NULL, ns);
	char *key = PF_K8S_NS_NAME_LABEL, *value = (char *)ns;
	struct pf_labels only_name = { &key, &value, 1 };

	/* A dir: source may have Pods of a namespace without its Namespace
	 * object: it then has the one label the API server gives every
	 * namespace. */
	return pf_label_selector_matches(sel, n ? &n->labels : &only_name);
}

/* "podSelector ... selects particular Pods in the same namespace as the
 * NetworkPolicy"; with namespaceSelector, "selects particular Pods within
 * particular namespaces"; namespaceSelector alone selects all pods of the
 * matching namespaces. */
static int pf_peer_pods(const struct pf_k8s_cache *c, const struct pf_k8s_netpol *np,
			const struct pf_np_peer *peer, struct pf_peer_list *out)
{
	for (size_t i = 0; i < pf_k8s_cache_count(c, PF_K8S_POD); i++) {
		const struct pf_k8s_pod *p = pf_k8s_cache_at(c, PF_K8S_POD, i);

		if (!pf_pod_has_own_ips(p))
			continue;
		if (peer->ns_sel ? !pf_ns_matches(c, p->ns, peer->ns_sel) : strcmp(p->ns, np->ns))
			continue;
		if (peer->pod_sel && !pf_label_selector_matches(peer->pod_sel, &p->labels))
			continue;
		for (size_t k = 0; k < p->n_ips; k++) {
			struct pf_peer_addr a = { .cidr = p->ips[k], .pod = p };
			int e = pf_peer_list_add(out, &a);

			if (e)
				return e;
		}
	}
	return 0;
}

/* "If this field is empty or missing, this rule matches all sources" (and
 * destinations): every IPv4 and IPv6 address. */
static int pf_rule_peers(const struct pf_k8s_cache *c, const struct pf_k8s_netpol *np,
			 const struct pf_np_rule *r, struct pf_peer_list *out)
{
	static const struct pf_cidr any4 = { .family = PF_FAMILY_V4 };
	static const struct pf_cidr any6 = { .family = PF_FAMILY_V6 };
	int e = 0;

	if (!r->n_peers) {
		e = pf_peer_list_add(out, &(struct pf_peer_addr){ .cidr = any4 });
		return e ? e : pf_peer_list_add(out, &(struct pf_peer_addr){ .cidr = any6 });
	}
	for (size_t i = 0; i < r->n_peers && !e; i++) {
		const struct pf_np_peer *p = &r->peers[i];

		if (p->is_ip_block)
			e = pf_peer_list_add(out, &(struct pf_peer_addr){
				.cidr = p->cidr, .except = p->except, .n_except = p->n_except });
		else
			e = pf_peer_pods(c, np, p, out);
	}
	return e;
}

/* A named port matches a container port with that name and the rule's
 * protocol: TCP "serve-81-udp" matches nothing. */
static const struct pf_k8s_container_port *pf_pod_named_port(const struct pf_k8s_pod *p,
							     const struct pf_np_port *np_port)
{
	for (size_t i = 0; i < p->n_ports; i++)
		if (p->ports[i].name && !strcmp(p->ports[i].name, np_port->name) &&
		    p->ports[i].proto == np_port->proto)
			return &p->ports[i];
	return NULL;
}

static bool pf_addr_in_peer(const struct pf_peer_addr *a, const struct pf_cidr *ip)
{
	if (!pf_cidr_contains(&a->cidr, ip))
		return false;
	for (size_t x = 0; x < a->n_except; x++)
		if (pf_cidr_contains(&a->except[x], ip))
			return false;
	return true;
}

/* Egress named ports of one rule against pod p at address ip. */
static int pf_egress_named(struct pf_pe_rules *b, const struct pf_np_rule *r,
			   const struct pf_k8s_pod *p, const struct pf_cidr *ip)
{
	struct pf_pe_port *ports = calloc(r->n_ports + 1, sizeof(*ports));
	size_t n = 0;
	int e = 0;

	if (!ports)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_ports; i++) {
		const struct pf_k8s_container_port *cp;

		if (!r->ports[i].name || !(cp = pf_pod_named_port(p, &r->ports[i])))
			continue;
		ports[n++] = (struct pf_pe_port){ cp->proto, cp->port, cp->port, NULL };
	}
	/* "A named port that resolves to nothing" contributes nothing. */
	if (n)
		e = pf_pe_rules_add(b, ip, NULL, 0, ports, n);
	free(ports);
	return e;
}

/* Egress: "the destination pod's" named ports, so one entry per peer pod
 * address. A CIDR peer (ipBlock, or every destination) reaches the named
 * ports of the pods whose addresses lie inside it. */
static int pf_egress_named_all(const struct pf_k8s_cache *c, struct pf_pe_rules *b,
			       const struct pf_np_rule *r, const struct pf_peer_addr *a)
{
	int e = 0;

	if (a->pod)
		return pf_egress_named(b, r, a->pod, &a->cidr);
	for (size_t i = 0; i < pf_k8s_cache_count(c, PF_K8S_POD) && !e; i++) {
		const struct pf_k8s_pod *p = pf_k8s_cache_at(c, PF_K8S_POD, i);

		for (size_t k = 0; pf_pod_has_own_ips(p) && k < p->n_ips && !e; k++)
			if (pf_addr_in_peer(a, &p->ips[k]))
				e = pf_egress_named(b, r, p, &p->ips[k]);
	}
	return e;
}

static int pf_resolve_rule(const struct pf_k8s_cache *c, const struct pf_k8s_netpol *np,
			   enum pf_dir d, const struct pf_np_rule *r, struct pf_pe_rules *b)
{
	struct pf_peer_list peers = { 0 };
	struct pf_pe_port *ports = calloc(r->n_ports + 1, sizeof(*ports));
	size_t n_ports = 0, n_named = 0;
	int e = ports ? pf_rule_peers(c, np, r, &peers) : -ENOMEM;

	/* Ingress keeps names (resolved per target pod from the endpoint's
	 * namedPorts); egress keeps only numbers here. */
	for (size_t i = 0; !e && i < r->n_ports; i++) {
		const struct pf_np_port *p = &r->ports[i];

		if (p->name && d == PF_DIR_EGRESS) {
			n_named++;
			continue;
		}
		ports[n_ports++] = (struct pf_pe_port){ p->proto, p->port, p->end_port, p->name };
	}
	for (size_t i = 0; !e && i < peers.n; i++) {
		const struct pf_peer_addr *a = &peers.a[i];

		/* "If this field is empty or missing, this rule matches all ports";
		 * a rule of named egress ports alone adds only what they resolve to. */
		if (n_ports || !r->n_ports)
			e = pf_pe_rules_add(b, &a->cidr, a->except, a->n_except, ports, n_ports);
		if (!e && n_named)
			e = pf_egress_named_all(c, b, r, a);
	}
	free(ports);
	free(peers.a);
	return e;
}

/* The named container ports of target p that the ingress rules refer to. */
static int pf_endpoint_named_ports(const struct pf_k8s_netpol *np, const struct pf_k8s_pod *p,
				   struct pf_pe_endpoint *ep)
{
	ep->named_ports = calloc(p->n_ports + 1, sizeof(*ep->named_ports));
	if (!ep->named_ports)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_ports; i++) {
		const struct pf_k8s_container_port *cp = &p->ports[i];
		bool used = false;

		for (size_t r = 0; cp->name && r < np->n_rules[PF_DIR_INGRESS] && !used; r++)
			for (size_t k = 0; k < np->rules[PF_DIR_INGRESS][r].n_ports && !used; k++) {
				const char *n = np->rules[PF_DIR_INGRESS][r].ports[k].name;

				used = n && !strcmp(n, cp->name);
			}
		if (!used)
			continue;
		ep->named_ports[ep->n_named_ports].name = strdup(cp->name);
		if (!ep->named_ports[ep->n_named_ports].name)
			return -ENOMEM;
		ep->named_ports[ep->n_named_ports].proto = cp->proto;
		ep->named_ports[ep->n_named_ports++].port = cp->port;
	}
	return 0;
}

/* "Selects the pods to which this NetworkPolicy object applies": pods of
 * the policy's namespace that match podSelector ({} selects them all). */
static int pf_resolve_targets(const struct pf_k8s_cache *c, const struct pf_k8s_netpol *np,
			      struct pf_policy_endpoint *pe)
{
	size_t n = pf_k8s_cache_count(c, PF_K8S_POD);
	struct pf_pe_endpoint *shrunk;

	pe->endpoints = calloc(n + 1, sizeof(*pe->endpoints));
	if (!pe->endpoints)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct pf_k8s_pod *p = pf_k8s_cache_at(c, PF_K8S_POD, i);
		struct pf_pe_endpoint *ep = &pe->endpoints[pe->n_endpoints];

		if (strcmp(p->ns, np->ns) || p->host_network || p->finished ||
		    !pf_label_selector_matches(&np->pod_sel, &p->labels))
			continue;
		pe->n_endpoints++;
		ep->ns = strdup(p->ns);
		ep->name = strdup(p->name);
		ep->ips = calloc(p->n_ips + 1, sizeof(*ep->ips));
		if (!ep->ns || !ep->name || !ep->ips)
			return -ENOMEM;
		memcpy(ep->ips, p->ips, p->n_ips * sizeof(*ep->ips));
		ep->n_ips = p->n_ips;
		if (np->types[PF_DIR_INGRESS] && pf_endpoint_named_ports(np, p, ep))
			return -ENOMEM;
	}
	/* Room was made for every pod; an agent keeps 1,000 of these. */
	shrunk = realloc(pe->endpoints, (pe->n_endpoints + 1) * sizeof(*pe->endpoints));
	if (shrunk)
		pe->endpoints = shrunk;
	return 0;
}

int pf_resolve_netpol(const struct pf_k8s_cache *c, const struct pf_k8s_netpol *np,
		      struct pf_policy_endpoint *out, char *err, size_t err_len)
{
	int e;

	memset(out, 0, sizeof(*out));
	out->ns = strdup(np->ns);
	out->name = strdup(np->name);
	out->policy_ns = strdup(np->ns);
	out->policy_name = strdup(np->name);
	e = out->ns && out->name && out->policy_ns && out->policy_name ? 0 : -ENOMEM;
	if (!e)
		e = pf_label_selector_copy(&out->pod_sel, &np->pod_sel);
	if (!e)
		e = pf_resolve_targets(c, np, out);
	for (int d = 0; d < 2 && !e; d++) {
		struct pf_pe_rules b = { 0 };

		/* Rules of a direction the policy's policyTypes leave out have no
		 * effect: the policy does not isolate that direction. */
		out->isolation[d] = np->types[d];
		for (size_t i = 0; np->types[d] && i < np->n_rules[d] && !e; i++)
			e = pf_resolve_rule(c, np, (enum pf_dir)d, &np->rules[d][i], &b);
		if (!e)
			e = pf_pe_rules_finish(&b);
		out->rules[d] = b.r;
		out->n_rules[d] = b.n;
	}
	if (e) {
		snprintf(err, err_len, "NetworkPolicy %s/%s: resolving: %s", np->ns, np->name,
			 strerror(-e));
		pf_policy_endpoint_free(out);
	}
	return e;
}
