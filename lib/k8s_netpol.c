// SPDX-License-Identifier: Apache-2.0
/* networking.k8s.io/v1 NetworkPolicy: reading, defaulting and validation as
 * the API server does them (pkg/apis/networking/validation). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_names.h"
#include "k8s_parse.h"
#include "policy_spec.h"

#define PF_PATH_MAX 192

static int pf_np_port_from_json(json_t *j, const char *path, struct pf_np_port *p, char *err,
				size_t err_len)
{
	json_t *port = json_object_get(j, "port"), *end = json_object_get(j, "endPort");
	char sub[PF_PATH_MAX];

	if (!json_is_object(j)) {
		snprintf(err, err_len, "%s must be an object", path);
		return -EINVAL;
	}
	pf_k8s_path(sub, sizeof(sub), "%s.protocol", path);
	if (pf_k8s_proto(json_object_get(j, "protocol"), sub, &p->proto, err, err_len))
		return -EINVAL;
	if (json_is_null(port))
		port = NULL;
	if (json_is_null(end))
		end = NULL;
	pf_k8s_path(sub, sizeof(sub), "%s.port", path);
	if (json_is_string(port)) {
		const char *name = json_string_value(port);

		if (!pf_k8s_port_name_ok(name)) {
			snprintf(err, err_len, "%s \"%s\" is not a valid port name (IANA_SVC_NAME: "
				 "1-15 lower case alphanumerics or '-', with a letter)", sub, name);
			return -EINVAL;
		}
		if (end) {
			snprintf(err, err_len, "%s.endPort may not be set when port is the named "
				 "port \"%s\"", path, name);
			return -EINVAL;
		}
		p->name = strdup(name);
		return p->name ? 0 : -ENOMEM;
	}
	return pf_k8s_port_range(port, end, path, &p->port, &p->end_port, err, err_len);
}

static int pf_np_selector(json_t *j, const char *path, struct pf_label_selector **out,
			  char *err, size_t err_len)
{
	if (!j || json_is_null(j))
		return 0;
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	return pf_label_selector_from_json(j, path, *out, err, err_len);
}

static int pf_np_ip_block(json_t *j, const char *path, struct pf_np_peer *p, char *err,
			  size_t err_len)
{
	json_t *cidr = json_object_get(j, "cidr"), *except = json_object_get(j, "except"), *e;
	char why[256];
	size_t i;

	p->is_ip_block = true;
	if (!json_is_object(j)) {
		snprintf(err, err_len, "%s must be an object", path);
		return -EINVAL;
	}
	if (!json_is_string(cidr)) {
		snprintf(err, err_len, "%s.cidr is missing or not a string", path);
		return -EINVAL;
	}
	if (pf_cidr_parse(json_string_value(cidr), &p->cidr, why, sizeof(why))) {
		snprintf(err, err_len, "%s.cidr: %s", path, why);
		return -EINVAL;
	}
	if (except && !json_is_null(except) && !json_is_array(except)) {
		snprintf(err, err_len, "%s.except must be a list", path);
		return -EINVAL;
	}
	p->except = calloc(json_array_size(except) + 1, sizeof(*p->except));
	if (!p->except)
		return -ENOMEM;
	json_array_foreach(except, i, e) {
		struct pf_cidr *x = &p->except[i];

		if (!json_is_string(e)) {
			snprintf(err, err_len, "%s.except[%zu] must be a string", path, i);
			return -EINVAL;
		}
		if (pf_cidr_parse(json_string_value(e), x, why, sizeof(why))) {
			snprintf(err, err_len, "%s.except[%zu]: %s", path, i, why);
			return -EINVAL;
		}
		/* validation.ValidateIPBlock: each except must be a strict subset. */
		if (!pf_cidr_contains(&p->cidr, x) || x->len == p->cidr.len) {
			snprintf(err, err_len, "%s.except[%zu] %s is not strictly inside cidr %s",
				 path, i, json_string_value(e), json_string_value(cidr));
			return -EINVAL;
		}
		p->n_except++;
	}
	return 0;
}

static int pf_np_peer_from_json(json_t *j, const char *path, struct pf_np_peer *p, char *err,
				size_t err_len)
{
	json_t *ps = json_object_get(j, "podSelector"), *nss = json_object_get(j, "namespaceSelector");
	json_t *ipb = json_object_get(j, "ipBlock");
	char sub[PF_PATH_MAX];
	int rc;

	if (!json_is_object(j)) {
		snprintf(err, err_len, "%s must be an object", path);
		return -EINVAL;
	}
	ps = json_is_null(ps) ? NULL : ps;
	nss = json_is_null(nss) ? NULL : nss;
	ipb = json_is_null(ipb) ? NULL : ipb;
	if (!ps && !nss && !ipb) {
		snprintf(err, err_len, "%s must specify podSelector, namespaceSelector or ipBlock",
			 path);
		return -EINVAL;
	}
	if (ipb && (ps || nss)) {
		snprintf(err, err_len, "%s may not combine ipBlock with podSelector or "
			 "namespaceSelector", path);
		return -EINVAL;
	}
	if (ipb) {
		pf_k8s_path(sub, sizeof(sub), "%s.ipBlock", path);
		return pf_np_ip_block(ipb, sub, p, err, err_len);
	}
	pf_k8s_path(sub, sizeof(sub), "%s.podSelector", path);
	rc = pf_np_selector(ps, sub, &p->pod_sel, err, err_len);
	pf_k8s_path(sub, sizeof(sub), "%s.namespaceSelector", path);
	if (!rc)
		rc = pf_np_selector(nss, sub, &p->ns_sel, err, err_len);
	return rc;
}

static int pf_np_rule_from_json(json_t *j, const char *path, const char *peers_key,
				struct pf_np_rule *r, char *err, size_t err_len)
{
	json_t *peers = json_object_get(j, peers_key), *ports = json_object_get(j, "ports"), *e;
	char sub[PF_PATH_MAX];
	size_t i;
	int rc;

	if (!json_is_object(j)) {
		snprintf(err, err_len, "%s must be an object", path);
		return -EINVAL;
	}
	if ((peers && !json_is_null(peers) && !json_is_array(peers)) ||
	    (ports && !json_is_null(ports) && !json_is_array(ports))) {
		snprintf(err, err_len, "%s.%s must be a list", path,
			 peers && !json_is_null(peers) && !json_is_array(peers) ? peers_key : "ports");
		return -EINVAL;
	}
	r->peers = calloc(json_array_size(peers) + 1, sizeof(*r->peers));
	r->ports = calloc(json_array_size(ports) + 1, sizeof(*r->ports));
	if (!r->peers || !r->ports)
		return -ENOMEM;
	json_array_foreach(peers, i, e) {
		pf_k8s_path(sub, sizeof(sub), "%s.%s[%zu]", path, peers_key, i);
		r->n_peers++;
		if ((rc = pf_np_peer_from_json(e, sub, &r->peers[i], err, err_len)))
			return rc;
	}
	json_array_foreach(ports, i, e) {
		pf_k8s_path(sub, sizeof(sub), "%s.ports[%zu]", path, i);
		r->n_ports++;
		if ((rc = pf_np_port_from_json(e, sub, &r->ports[i], err, err_len)))
			return rc;
	}
	return 0;
}

static int pf_np_rules(json_t *spec, enum pf_dir d, struct pf_k8s_netpol *np, char *err,
		       size_t err_len)
{
	const char *key = d == PF_DIR_INGRESS ? "ingress" : "egress";
	json_t *rules = json_object_get(spec, key), *r;
	char path[PF_PATH_MAX];
	size_t i;
	int rc;

	if (rules && !json_is_null(rules) && !json_is_array(rules)) {
		snprintf(err, err_len, "spec.%s must be a list", key);
		return -EINVAL;
	}
	np->rules[d] = calloc(json_array_size(rules) + 1, sizeof(*np->rules[d]));
	if (!np->rules[d])
		return -ENOMEM;
	json_array_foreach(rules, i, r) {
		pf_k8s_path(path, sizeof(path), "spec.%s[%zu]", key, i);
		np->n_rules[d]++;
		rc = pf_np_rule_from_json(r, path, d == PF_DIR_INGRESS ? "from" : "to",
					  &np->rules[d][i], err, err_len);
		if (rc)
			return rc;
	}
	return 0;
}

/* SetDefaults_NetworkPolicy: no policyTypes means Ingress, plus Egress when
 * the policy has egress rules (an empty egress list adds nothing). */
static int pf_np_types(json_t *spec, struct pf_k8s_netpol *np, char *err, size_t err_len)
{
	json_t *types = json_object_get(spec, "policyTypes"), *t;
	size_t i;

	if (types && !json_is_null(types) && !json_is_array(types)) {
		snprintf(err, err_len, "spec.policyTypes must be a list");
		return -EINVAL;
	}
	if (json_array_size(types) > 2) {
		snprintf(err, err_len, "spec.policyTypes has %zu entries (at most Ingress and Egress)",
			 json_array_size(types));
		return -EINVAL;
	}
	if (!json_array_size(types)) {
		np->types[PF_DIR_INGRESS] = true;
		np->types[PF_DIR_EGRESS] = np->n_rules[PF_DIR_EGRESS] > 0;
		return 0;
	}
	json_array_foreach(types, i, t) {
		const char *s = json_string_value(t);

		if (s && !strcmp(s, "Ingress"))
			np->types[PF_DIR_INGRESS] = true;
		else if (s && !strcmp(s, "Egress"))
			np->types[PF_DIR_EGRESS] = true;
		else {
			snprintf(err, err_len, "spec.policyTypes[%zu] %s%s%s is not Ingress or Egress",
				 i, s ? "\"" : "", s ? s : "(not a string)", s ? "\"" : "");
			return -EINVAL;
		}
	}
	return 0;
}

int pf_k8s_netpol_from_json(json_t *obj, struct pf_k8s_netpol *out, char *err, size_t err_len)
{
	json_t *spec = json_object_get(obj, "spec"), *ps;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = pf_k8s_meta(obj, true, &out->ns, &out->name, err, err_len);
	if (!rc && !json_is_object(spec)) {
		snprintf(err, err_len, "spec is missing or not an object");
		rc = -EINVAL;
	}
	ps = json_object_get(spec, "podSelector");
	if (!rc && ps && !json_is_null(ps))
		rc = pf_label_selector_from_json(ps, "spec.podSelector", &out->pod_sel, err, err_len);
	for (int d = 0; d < 2 && !rc; d++)
		rc = pf_np_rules(spec, (enum pf_dir)d, out, err, err_len);
	if (!rc)
		rc = pf_np_types(spec, out, err, err_len);
	if (rc == -ENOMEM)
		snprintf(err, err_len, "out of memory");
	if (rc) {
		pf_k8s_err_prefix(err, err_len, PF_K8S_NETWORK_POLICY, out->ns, out->name);
		pf_k8s_netpol_free(out);
	}
	return rc;
}

static void pf_np_peer_free(struct pf_np_peer *p)
{
	if (p->pod_sel)
		pf_label_selector_free(p->pod_sel);
	if (p->ns_sel)
		pf_label_selector_free(p->ns_sel);
	free(p->pod_sel);
	free(p->ns_sel);
	free(p->except);
}

void pf_k8s_netpol_free(struct pf_k8s_netpol *np)
{
	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < np->n_rules[d]; i++) {
			struct pf_np_rule *r = &np->rules[d][i];

			for (size_t p = 0; p < r->n_peers; p++)
				pf_np_peer_free(&r->peers[p]);
			for (size_t p = 0; p < r->n_ports; p++)
				free(r->ports[p].name);
			free(r->peers);
			free(r->ports);
		}
		free(np->rules[d]);
	}
	pf_label_selector_free(&np->pod_sel);
	free(np->ns);
	free(np->name);
	memset(np, 0, sizeof(*np));
}
