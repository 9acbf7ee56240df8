// SPDX-License-Identifier: Apache-2.0
/* Reading a PolicyEndpoint object back (what the agent does in kube mode):
 * everything is checked, since it is what the datapath will enforce. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_names.h"
#include "k8s_parse.h"
#include "pe_rules.h"
#include "policy_endpoint.h"

#define PF_PATH_MAX 128

static int pf_pe_port_from_json(json_t *j, const char *path, enum pf_dir d,
				struct pf_pe_port *p, char *err, size_t err_len)
{
	json_t *port = json_object_get(j, "port"), *end = json_object_get(j, "endPort");
	const char *name;
	char sub[PF_PATH_MAX];

	if (!json_is_object(j)) {
		snprintf(err, err_len, "%s must be an object", path);
		return -EINVAL;
	}
	pf_k8s_path(sub, sizeof(sub), "%s.protocol", path);
	if (pf_k8s_proto(json_object_get(j, "protocol"), sub, &p->proto, err, err_len))
		return -EINVAL;
	pf_k8s_path(sub, sizeof(sub), "%s.name", path);
	if (pf_k8s_opt_string(json_object_get(j, "name"), sub, &name, err, err_len))
		return -EINVAL;
	if (name) {
		if (d == PF_DIR_EGRESS || port || end || !pf_k8s_port_name_ok(name)) {
			snprintf(err, err_len, "%s \"%s\": %s", sub, name, d == PF_DIR_EGRESS ?
				 "egress named ports are resolved before they are published" :
				 port || end ? "a named port has no port or endPort" :
				 "not a valid port name");
			return -EINVAL;
		}
		p->name = strdup(name);
		return p->name ? 0 : -ENOMEM;
	}
	return pf_k8s_port_range(port, end, path, &p->port, &p->end_port, err, err_len);
}

static int pf_pe_cidr(json_t *v, const char *path, struct pf_cidr *c, char *err, size_t err_len)
{
	char why[200];

	if (!json_is_string(v)) {
		snprintf(err, err_len, "%s is missing or not a string", path);
		return -EINVAL;
	}
	if (pf_cidr_parse(json_string_value(v), c, why, sizeof(why))) {
		snprintf(err, err_len, "%s: %s", path, why);
		return -EINVAL;
	}
	return 0;
}

static int pf_pe_rule_from_json(json_t *j, const char *path, enum pf_dir d,
				struct pf_pe_rules *b, char *err, size_t err_len)
{
	json_t *except = json_object_get(j, "except"), *ports = json_object_get(j, "ports"), *e;
	struct pf_pe_rule *r;
	char sub[PF_PATH_MAX];
	struct pf_cidr cidr;
	size_t i;
	int rc;

	pf_k8s_path(sub, sizeof(sub), "%s.cidr", path);
	if (!json_is_object(j) || pf_pe_cidr(json_object_get(j, "cidr"), sub, &cidr, err, err_len)) {
		if (!json_is_object(j))
			snprintf(err, err_len, "%s must be an object", path);
		return -EINVAL;
	}
	if ((except && !json_is_array(except)) || (ports && !json_is_array(ports))) {
		snprintf(err, err_len, "%s.%s must be a list", path,
			 except && !json_is_array(except) ? "except" : "ports");
		return -EINVAL;
	}
	if ((rc = pf_pe_rules_add(b, &cidr, NULL, 0, NULL, 0)))
		return rc;
	r = &b->r[b->n - 1];
	free(r->except);
	free(r->ports);
	r->except = calloc(json_array_size(except) + 1, sizeof(*r->except));
	r->ports = calloc(json_array_size(ports) + 1, sizeof(*r->ports));
	if (!r->except || !r->ports)
		return -ENOMEM;
	json_array_foreach(except, i, e) {
		pf_k8s_path(sub, sizeof(sub), "%s.except[%zu]", path, i);
		if (pf_pe_cidr(e, sub, &r->except[i], err, err_len))
			return -EINVAL;
		if (!pf_cidr_contains(&cidr, &r->except[i]) || r->except[i].len == cidr.len) {
			snprintf(err, err_len, "%s %s is not strictly inside cidr %s", sub,
				 json_string_value(e), json_string_value(json_object_get(j, "cidr")));
			return -EINVAL;
		}
		r->n_except++;
	}
	json_array_foreach(ports, i, e) {
		pf_k8s_path(sub, sizeof(sub), "%s.ports[%zu]", path, i);
		r->n_ports++;
		if ((rc = pf_pe_port_from_json(e, sub, d, &r->ports[i], err, err_len)))
			return rc;
	}
	return 0;
}

static int pf_pe_named_ports(json_t *a, const char *path, struct pf_pe_endpoint *ep, char *err,
			     size_t err_len)
{
	char sub[PF_PATH_MAX];
	json_t *e;
	size_t i;

	if (a && !json_is_array(a)) {
		snprintf(err, err_len, "%s.namedPorts must be a list", path);
		return -EINVAL;
	}
	ep->named_ports = calloc(json_array_size(a) + 1, sizeof(*ep->named_ports));
	if (!ep->named_ports)
		return -ENOMEM;
	json_array_foreach(a, i, e) {
		struct pf_pe_named_port *np = &ep->named_ports[i];
		const char *name;

		pf_k8s_path(sub, sizeof(sub), "%s.namedPorts[%zu].name", path, i);
		if (pf_k8s_opt_string(json_object_get(e, "name"), sub, &name, err, err_len))
			return -EINVAL;
		if (!name || !pf_k8s_port_name_ok(name)) {
			snprintf(err, err_len, "%s is missing or not a valid port name", sub);
			return -EINVAL;
		}
		if (!(np->name = strdup(name)))
			return -ENOMEM;
		ep->n_named_ports++;
		pf_k8s_path(sub, sizeof(sub), "%s.namedPorts[%zu].protocol", path, i);
		if (pf_k8s_proto(json_object_get(e, "protocol"), sub, &np->proto, err, err_len))
			return -EINVAL;
		pf_k8s_path(sub, sizeof(sub), "%s.namedPorts[%zu].port", path, i);
		if (pf_k8s_port_number(json_object_get(e, "port"), sub, &np->port, err, err_len))
			return -EINVAL;
	}
	return 0;
}

static int pf_pe_add_ip(struct pf_pe_endpoint *ep, json_t *v, const char *path, char *err,
			size_t err_len)
{
	char why[200];
	struct pf_cidr c, *n;

	if (!json_is_string(v) || pf_addr_parse(json_string_value(v), &c, why, sizeof(why))) {
		snprintf(err, err_len, "%s: %s", path, json_is_string(v) ? why : "must be a string");
		return -EINVAL;
	}
	for (size_t i = 0; i < ep->n_ips; i++)
		if (!pf_cidr_cmp(&ep->ips[i], &c))
			return 0;
	n = realloc(ep->ips, (ep->n_ips + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	ep->ips = n;
	ep->ips[ep->n_ips++] = c;
	return 0;
}

static int pf_pe_endpoint_from_json(json_t *j, const char *path, struct pf_pe_endpoint *ep,
				    char *err, size_t err_len)
{
	const char *ns = json_string_value(json_object_get(j, "namespace"));
	const char *name = json_string_value(json_object_get(j, "name"));
	json_t *ip = json_object_get(j, "podIP"), *ips = json_object_get(j, "podIPs"), *v;
	char sub[PF_PATH_MAX];
	size_t i;
	int rc;

	if (!ns || !name) {
		snprintf(err, err_len, "%s.%s is missing or not a string", path,
			 ns ? "name" : "namespace");
		return -EINVAL;
	}
	if (!(ep->ns = strdup(ns)) || !(ep->name = strdup(name)))
		return -ENOMEM;
	pf_k8s_path(sub, sizeof(sub), "%s.podIP", path);
	if (ip && (rc = pf_pe_add_ip(ep, ip, sub, err, err_len)))
		return rc;
	if (ips && !json_is_array(ips)) {
		snprintf(err, err_len, "%s.podIPs must be a list", path);
		return -EINVAL;
	}
	json_array_foreach(ips, i, v) {
		pf_k8s_path(sub, sizeof(sub), "%s.podIPs[%zu]", path, i);
		if ((rc = pf_pe_add_ip(ep, v, sub, err, err_len)))
			return rc;
	}
	return pf_pe_named_ports(json_object_get(j, "namedPorts"), path, ep, err, err_len);
}

static int pf_pe_endpoint_cmp(const void *a, const void *b)
{
	const struct pf_pe_endpoint *x = a, *y = b;
	int d = strcmp(x->ns, y->ns);

	return d ? d : strcmp(x->name, y->name);
}

static int pf_pe_spec_from_json(json_t *spec, struct pf_policy_endpoint *pe, char *err,
				size_t err_len)
{
	static const char *const keys[2] = { "ingress", "egress" };
	json_t *ref = json_object_get(spec, "policyRef"), *eps, *iso, *v;
	char path[PF_PATH_MAX];
	size_t i;
	int rc;

	if (!json_is_string(json_object_get(ref, "name")) ||
	    !json_is_string(json_object_get(ref, "namespace"))) {
		snprintf(err, err_len, "spec.policyRef needs name and namespace strings");
		return -EINVAL;
	}
	pe->policy_name = strdup(json_string_value(json_object_get(ref, "name")));
	pe->policy_ns = strdup(json_string_value(json_object_get(ref, "namespace")));
	if (!pe->policy_name || !pe->policy_ns)
		return -ENOMEM;
	v = json_object_get(spec, "podSelector");
	if (v && (rc = pf_label_selector_from_json(v, "spec.podSelector", &pe->pod_sel, err,
						    err_len)))
		return rc;
	eps = json_object_get(spec, "podSelectorEndpoints");
	iso = json_object_get(spec, "podIsolation");
	if ((eps && !json_is_array(eps)) || (iso && !json_is_array(iso))) {
		snprintf(err, err_len, "spec.%s must be a list",
			 eps && !json_is_array(eps) ? "podSelectorEndpoints" : "podIsolation");
		return -EINVAL;
	}
	pe->endpoints = calloc(json_array_size(eps) + 1, sizeof(*pe->endpoints));
	if (!pe->endpoints)
		return -ENOMEM;
	json_array_foreach(eps, i, v) {
		pf_k8s_path(path, sizeof(path), "spec.podSelectorEndpoints[%zu]", i);
		pe->n_endpoints++;
		if ((rc = pf_pe_endpoint_from_json(v, path, &pe->endpoints[i], err, err_len)))
			return rc;
	}
	qsort(pe->endpoints, pe->n_endpoints, sizeof(*pe->endpoints), pf_pe_endpoint_cmp);
	json_array_foreach(iso, i, v) {
		const char *s = json_string_value(v);

		if (!s || (strcmp(s, "Ingress") && strcmp(s, "Egress"))) {
			snprintf(err, err_len, "spec.podIsolation[%zu] is not Ingress or Egress", i);
			return -EINVAL;
		}
		pe->isolation[strcmp(s, "Ingress") ? PF_DIR_EGRESS : PF_DIR_INGRESS] = true;
	}
	for (int d = 0; d < 2; d++) {
		struct pf_pe_rules b = { 0 };
		json_t *rules = json_object_get(spec, keys[d]);

		if (rules && !json_is_array(rules)) {
			snprintf(err, err_len, "spec.%s must be a list", keys[d]);
			return -EINVAL;
		}
		rc = 0;
		json_array_foreach(rules, i, v) {
			pf_k8s_path(path, sizeof(path), "spec.%s[%zu]", keys[d], i);
			if ((rc = pf_pe_rule_from_json(v, path, (enum pf_dir)d, &b, err, err_len)))
				break;
		}
		if (!rc)
			rc = pf_pe_rules_finish(&b);
		pe->rules[d] = b.r;
		pe->n_rules[d] = b.n;
		if (rc)
			return rc;
	}
	return 0;
}

int pf_policy_endpoint_from_json(json_t *obj, struct pf_policy_endpoint *out, char *err,
				 size_t err_len)
{
	json_t *spec = json_object_get(obj, "spec");
	int rc;

	memset(out, 0, sizeof(*out));
	rc = pf_k8s_meta(obj, true, &out->ns, &out->name, err, err_len);
	if (!rc && !json_is_object(spec)) {
		snprintf(err, err_len, "spec is missing or not an object");
		rc = -EINVAL;
	}
	if (!rc)
		rc = pf_pe_spec_from_json(spec, out, err, err_len);
	if (rc == -ENOMEM)
		snprintf(err, err_len, "out of memory");
	if (rc) {
		pf_k8s_err_prefix(err, err_len, PF_K8S_POLICY_ENDPOINT, out->ns, out->name);
		pf_policy_endpoint_free(out);
	}
	return rc;
}
