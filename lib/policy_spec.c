// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy_spec.h"

static const char *const pf_dir_names[2] = { "ingress", "egress" };

int pf_proto_parse(const char *name, uint8_t *proto, char *err, size_t err_len)
{
	if (!strcasecmp(name, "TCP"))
		*proto = IPPROTO_TCP;
	else if (!strcasecmp(name, "UDP"))
		*proto = IPPROTO_UDP;
	else if (!strcasecmp(name, "SCTP"))
		*proto = IPPROTO_SCTP;
	else {
		snprintf(err, err_len, "unknown protocol \"%s\" (expected TCP, UDP or SCTP)",
			 name);
		return -EINVAL;
	}
	return 0;
}

const char *pf_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_SCTP:
		return "SCTP";
	case IPPROTO_ICMP:
		return "ICMP";
	case IPPROTO_ICMPV6:
		return "ICMPv6";
	default:
		return "other";
	}
}

int pf_port_rule_check(const struct pf_port_rule *pr, char *err, size_t err_len)
{
	if (!pr->port && pr->end_port) {
		snprintf(err, err_len, "endPort %u given without a port", pr->end_port);
		return -EINVAL;
	}
	if (pr->end_port < pr->port) {
		snprintf(err, err_len, "port range %u-%u ends before it starts", pr->port,
			 pr->end_port);
		return -EINVAL;
	}
	return 0;
}

static int pf_json_port(json_t *v, const char *what, uint16_t *out, char *err, size_t err_len)
{
	json_int_t n;

	if (!v)
		return 0;
	if (!json_is_integer(v)) {
		snprintf(err, err_len, "%s must be an integer (named ports are resolved "
			 "before the datapath)", what);
		return -EINVAL;
	}
	n = json_integer_value(v);
	if (n < 1 || n > 65535) {
		snprintf(err, err_len, "%s %lld is outside 1-65535", what, (long long)n);
		return -EINVAL;
	}
	*out = (uint16_t)n;
	return 0;
}

static int pf_ports_from_json(json_t *arr, struct pf_peer_rule *r, const char *where,
			      char *err, size_t err_len)
{
	char sub[256];
	size_t i;
	json_t *p;

	if (!arr)
		return 0;
	if (!json_is_array(arr)) {
		snprintf(err, err_len, "%s.ports must be an array", where);
		return -EINVAL;
	}
	r->ports = calloc(json_array_size(arr) + 1, sizeof(*r->ports));
	if (!r->ports)
		return -ENOMEM;
	json_array_foreach(arr, i, p) {
		struct pf_port_rule *pr = &r->ports[i];
		json_t *proto = json_object_get(p, "protocol");
		int e;

		snprintf(sub, sizeof(sub), "%s.ports[%zu]", where, i);
		if (!json_is_object(p)) {
			snprintf(err, err_len, "%s must be an object", sub);
			return -EINVAL;
		}
		pr->proto = IPPROTO_TCP; /* the API server's default */
		if (proto && (!json_is_string(proto) ||
			      pf_proto_parse(json_string_value(proto), &pr->proto, err, err_len))) {
			char inner[200];

			snprintf(inner, sizeof(inner), "%s", json_is_string(proto) ? err :
				 "protocol must be a string");
			snprintf(err, err_len, "%s: %s", sub, inner);
			return -EINVAL;
		}
		e = pf_json_port(json_object_get(p, "port"), "port", &pr->port, err, err_len);
		if (!e)
			e = pf_json_port(json_object_get(p, "endPort"), "endPort", &pr->end_port,
					 err, err_len);
		if (!e && !pr->end_port)
			pr->end_port = pr->port;
		if (!e)
			e = pf_port_rule_check(pr, err, err_len);
		if (e) {
			char inner[200];

			snprintf(inner, sizeof(inner), "%s", err);
			snprintf(err, err_len, "%s: %s", sub, inner);
			return e;
		}
		r->n_ports++;
	}
	return 0;
}

static int pf_rule_from_json(json_t *o, struct pf_peer_rule *r, const char *where, char *err,
			     size_t err_len)
{
	json_t *cidr = json_object_get(o, "cidr"), *except = json_object_get(o, "except"), *e;
	char inner[200];
	size_t i;

	if (!json_is_object(o)) {
		snprintf(err, err_len, "%s must be an object", where);
		return -EINVAL;
	}
	if (!json_is_string(cidr)) {
		snprintf(err, err_len, "%s.cidr is missing or not a string", where);
		return -EINVAL;
	}
	if (pf_cidr_parse(json_string_value(cidr), &r->cidr, inner, sizeof(inner))) {
		snprintf(err, err_len, "%s.cidr: %s", where, inner);
		return -EINVAL;
	}
	if (except && !json_is_array(except)) {
		snprintf(err, err_len, "%s.except must be an array", where);
		return -EINVAL;
	}
	if (except) {
		r->except = calloc(json_array_size(except) + 1, sizeof(*r->except));
		if (!r->except)
			return -ENOMEM;
	}
	json_array_foreach(except, i, e) {
		struct pf_cidr *x = &r->except[i];

		if (!json_is_string(e) ||
		    pf_cidr_parse(json_string_value(e), x, inner, sizeof(inner))) {
			snprintf(err, err_len, "%s.except[%zu]: %s", where, i,
				 json_is_string(e) ? inner : "must be a string");
			return -EINVAL;
		}
		if (!pf_cidr_contains(&r->cidr, x) || x->len == r->cidr.len) {
			snprintf(err, err_len, "%s.except[%zu]: %s is not strictly inside %s", where,
				 i, json_string_value(e), json_string_value(cidr));
			return -EINVAL;
		}
		r->n_except++;
	}
	return pf_ports_from_json(json_object_get(o, "ports"), r, where, err, err_len);
}

static int pf_dir_from_json(json_t *o, struct pf_dir_policy *d, const char *name, char *err,
			    size_t err_len)
{
	json_t *iso, *rules, *r;
	char where[64];
	size_t i;
	int e;

	if (!o)
		return 0;
	if (!json_is_object(o)) {
		snprintf(err, err_len, "%s must be an object", name);
		return -EINVAL;
	}
	iso = json_object_get(o, "isolated");
	if (iso && !json_is_boolean(iso)) {
		snprintf(err, err_len, "%s.isolated must be true or false", name);
		return -EINVAL;
	}
	d->isolation = iso && !json_is_true(iso) ? PF_ISO_OPEN : PF_ISO_ISOLATED;
	rules = json_object_get(o, "rules");
	if (rules && !json_is_array(rules)) {
		snprintf(err, err_len, "%s.rules must be an array", name);
		return -EINVAL;
	}
	if (!rules)
		return 0;
	d->rules = calloc(json_array_size(rules) + 1, sizeof(*d->rules));
	if (!d->rules)
		return -ENOMEM;
	json_array_foreach(rules, i, r) {
		snprintf(where, sizeof(where), "%s.rules[%zu]", name, i);
		d->n_rules++;
		e = pf_rule_from_json(r, &d->rules[i], where, err, err_len);
		if (e)
			return e;
	}
	return 0;
}

int pf_policy_spec_from_json(json_t *root, struct pf_policy_spec *spec, char *err,
			     size_t err_len)
{
	int e = 0;

	memset(spec, 0, sizeof(*spec));
	if (!json_is_object(root)) {
		snprintf(err, err_len, "policy set must be a JSON object");
		return -EINVAL;
	}
	for (int d = 0; d < 2 && !e; d++)
		e = pf_dir_from_json(json_object_get(root, pf_dir_names[d]), &spec->dir[d],
				     pf_dir_names[d], err, err_len);
	if (e)
		pf_policy_spec_free(spec);
	return e;
}

json_t *pf_policy_spec_to_json(const struct pf_policy_spec *spec)
{
	json_t *root = json_object();
	char buf[64];

	for (int d = 0; d < 2; d++) {
		const struct pf_dir_policy *dp = &spec->dir[d];
		json_t *rules = json_array(), *dir;

		if (dp->isolation == PF_ISO_UNKNOWN) {
			json_decref(rules);
			continue;
		}
		for (size_t i = 0; i < dp->n_rules; i++) {
			const struct pf_peer_rule *r = &dp->rules[i];
			json_t *rule = json_object(), *ex = json_array(), *ports = json_array();

			json_object_set_new(rule, "cidr",
					    json_string(pf_cidr_format(&r->cidr, buf, sizeof(buf))));
			for (size_t x = 0; x < r->n_except; x++)
				json_array_append_new(ex, json_string(pf_cidr_format(
							  &r->except[x], buf, sizeof(buf))));
			json_object_set_new(rule, "except", ex);
			for (size_t p = 0; p < r->n_ports; p++) {
				const struct pf_port_rule *pr = &r->ports[p];
				json_t *po = json_pack("{s:s}", "protocol", pf_proto_name(pr->proto));

				if (pr->port)
					json_object_set_new(po, "port", json_integer(pr->port));
				if (pr->end_port > pr->port)
					json_object_set_new(po, "endPort", json_integer(pr->end_port));
				json_array_append_new(ports, po);
			}
			if (r->n_ports)
				json_object_set_new(rule, "ports", ports);
			else
				json_decref(ports);
			json_array_append_new(rules, rule);
		}
		dir = json_pack("{s:b, s:o}", "isolated", dp->isolation == PF_ISO_ISOLATED,
				"rules", rules);
		json_object_set_new(root, pf_dir_names[d], dir);
	}
	return root;
}

void pf_policy_spec_free(struct pf_policy_spec *spec)
{
	for (int d = 0; d < 2; d++) {
		struct pf_dir_policy *dp = &spec->dir[d];

		for (size_t i = 0; i < dp->n_rules; i++) {
			free(dp->rules[i].except);
			free(dp->rules[i].ports);
		}
		free(dp->rules);
	}
	memset(spec, 0, sizeof(*spec));
}
