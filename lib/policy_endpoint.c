// SPDX-License-Identifier: Apache-2.0
/* PolicyEndpoint objects: writing them as JSON, lookups, building them all
 * from the cache, freeing. Reading them back is policy_endpoint_json.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pe_rules.h"
#include "policy_endpoint.h"
#include "policy_spec.h"
#include "resolver.h"

static json_t *pf_addr_json(const struct pf_cidr *c)
{
	char buf[64];

	return json_string(pf_addr_format(c->family, c->addr, buf, sizeof(buf)));
}

static json_t *pf_ports_json(const struct pf_pe_port *ports, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		const struct pf_pe_port *p = &ports[i];
		json_t *o = json_pack("{s:s}", "protocol", pf_proto_name(p->proto));

		if (p->name)
			json_object_set_new(o, "name", json_string(p->name));
		if (p->port)
			json_object_set_new(o, "port", json_integer(p->port));
		if (p->end_port > p->port)
			json_object_set_new(o, "endPort", json_integer(p->end_port));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *pf_rules_json(const struct pf_pe_rule *rules, size_t n)
{
	json_t *a = json_array();
	char buf[64];

	for (size_t i = 0; i < n; i++) {
		const struct pf_pe_rule *r = &rules[i];
		json_t *o = json_pack("{s:s}", "cidr", pf_cidr_format(&r->cidr, buf, sizeof(buf)));

		if (r->n_except) {
			json_t *ex = json_array();

			for (size_t x = 0; x < r->n_except; x++)
				json_array_append_new(ex, json_string(pf_cidr_format(&r->except[x], buf,
										      sizeof(buf))));
			json_object_set_new(o, "except", ex);
		}
		if (r->n_ports)
			json_object_set_new(o, "ports", pf_ports_json(r->ports, r->n_ports));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *pf_endpoint_json(const struct pf_pe_endpoint *ep)
{
	json_t *o = json_pack("{s:s, s:s}", "name", ep->name, "namespace", ep->ns);

	if (ep->n_ips)
		json_object_set_new(o, "podIP", pf_addr_json(&ep->ips[0]));
	if (ep->n_ips > 1) {
		json_t *ips = json_array();

		for (size_t i = 0; i < ep->n_ips; i++)
			json_array_append_new(ips, pf_addr_json(&ep->ips[i]));
		json_object_set_new(o, "podIPs", ips);
	}
	if (ep->n_named_ports) {
		json_t *np = json_array();

		for (size_t i = 0; i < ep->n_named_ports; i++)
			json_array_append_new(np, json_pack("{s:s, s:s, s:i}", "name",
							    ep->named_ports[i].name, "protocol",
							    pf_proto_name(ep->named_ports[i].proto),
							    "port", ep->named_ports[i].port));
		json_object_set_new(o, "namedPorts", np);
	}
	return o;
}

json_t *pf_policy_endpoint_to_json(const struct pf_policy_endpoint *pe)
{
	json_t *eps = json_array(), *iso = json_array(), *spec;

	for (size_t i = 0; i < pe->n_endpoints; i++)
		json_array_append_new(eps, pf_endpoint_json(&pe->endpoints[i]));
	if (pe->isolation[PF_DIR_INGRESS])
		json_array_append_new(iso, json_string("Ingress"));
	if (pe->isolation[PF_DIR_EGRESS])
		json_array_append_new(iso, json_string("Egress"));
	spec = json_pack("{s:{s:s, s:s}, s:o, s:o, s:o, s:o, s:o}",
			 "policyRef", "name", pe->policy_name, "namespace", pe->policy_ns,
			 "podSelector", pf_label_selector_to_json(&pe->pod_sel),
			 "podSelectorEndpoints", eps, "podIsolation", iso,
			 "ingress", pf_rules_json(pe->rules[PF_DIR_INGRESS], pe->n_rules[PF_DIR_INGRESS]),
			 "egress", pf_rules_json(pe->rules[PF_DIR_EGRESS], pe->n_rules[PF_DIR_EGRESS]));
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", PF_PE_API_VERSION,
			 "kind", "PolicyEndpoint", "metadata", "name", pe->name, "namespace", pe->ns,
			 "spec", spec);
}

static int pf_endpoint_key_cmp(const char *ns, const char *name, const struct pf_pe_endpoint *ep)
{
	int d = strcmp(ns, ep->ns);

	return d ? d : strcmp(name, ep->name);
}

const struct pf_pe_endpoint *pf_policy_endpoint_find(const struct pf_policy_endpoint *pe,
						     const char *ns, const char *name)
{
	size_t lo = 0, hi = pe->n_endpoints;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int d = pf_endpoint_key_cmp(ns, name, &pe->endpoints[mid]);

		if (!d)
			return &pe->endpoints[mid];
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void pf_policy_endpoint_free(struct pf_policy_endpoint *pe)
{
	for (size_t i = 0; i < pe->n_endpoints; i++) {
		struct pf_pe_endpoint *ep = &pe->endpoints[i];

		free(ep->ns);
		free(ep->name);
		free(ep->ips);
		for (size_t k = 0; k < ep->n_named_ports; k++)
			free(ep->named_ports[k].name);
		free(ep->named_ports);
	}
	free(pe->endpoints);
	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < pe->n_rules[d]; i++)
			pf_pe_rule_free(&pe->rules[d][i]);
		free(pe->rules[d]);
	}
	pf_label_selector_free(&pe->pod_sel);
	free(pe->ns);
	free(pe->name);
	free(pe->policy_ns);
	free(pe->policy_name);
	memset(pe, 0, sizeof(*pe));
}

int pf_policy_endpoints_build(const struct pf_k8s_cache *c, struct pf_policy_endpoint ***out,
			      size_t *n, char *err, size_t err_len)
{
	size_t count = pf_k8s_cache_count(c, PF_K8S_NETWORK_POLICY);
	struct pf_policy_endpoint **pes = calloc(count + 1, sizeof(*pes));
	int e = 0;

	*out = NULL;
	*n = 0;
	if (!pes) {
		snprintf(err, err_len, "PolicyEndpoints: out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < count && !e; i++) {
		pes[i] = calloc(1, sizeof(*pes[i]));
		if (!pes[i]) {
			snprintf(err, err_len, "PolicyEndpoints: out of memory");
			e = -ENOMEM;
			break;
		}
		e = pf_resolve_netpol(c, pf_k8s_cache_at(c, PF_K8S_NETWORK_POLICY, i), pes[i], err,
				      err_len);
		if (e) {
			free(pes[i]);
			pes[i] = NULL;
		}
	}
	if (e) {
		pf_policy_endpoints_free(pes, count);
		return e;
	}
	*out = pes;
	*n = count;
	return 0;
}

void pf_policy_endpoints_free(struct pf_policy_endpoint **pes, size_t n)
{
	for (size_t i = 0; pes && i < n; i++) {
		if (!pes[i])
			continue;
		pf_policy_endpoint_free(pes[i]);
		free(pes[i]);
	}
	free(pes);
}
