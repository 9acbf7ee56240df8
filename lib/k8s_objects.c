// SPDX-License-Identifier: Apache-2.0
/* Namespaces and Pods, and what every object reader shares: kinds, metadata,
 * protocols, port numbers, error prefixes. */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_names.h"
#include "k8s_parse.h"

static const struct {
	const char *kind, *api_version;
} pf_k8s_kinds[PF_K8S_KIND_COUNT] = {
	[PF_K8S_NAMESPACE] = { "Namespace", "v1" },
	[PF_K8S_POD] = { "Pod", "v1" },
	[PF_K8S_NETWORK_POLICY] = { "NetworkPolicy", "networking.k8s.io/v1" },
	[PF_K8S_POLICY_ENDPOINT] = { "PolicyEndpoint", "podfence.io/v1alpha1" },
};

const char *pf_k8s_kind_name(enum pf_k8s_kind kind)
{
	return kind < PF_K8S_KIND_COUNT ? pf_k8s_kinds[kind].kind : "?";
}

int pf_k8s_kind_of(json_t *obj, enum pf_k8s_kind *kind, char *err, size_t err_len)
{
	const char *k = json_string_value(json_object_get(obj, "kind"));
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));

	if (!json_is_object(obj)) {
		snprintf(err, err_len, "a manifest must be an object, not %s",
			 json_is_array(obj) ? "a list" : "a scalar");
		return -EINVAL;
	}
	if (!k || !av) {
		snprintf(err, err_len, "object without %s", k ? "apiVersion" : "kind");
		return -EINVAL;
	}
	for (int i = 0; i < PF_K8S_KIND_COUNT; i++) {
		if (strcmp(k, pf_k8s_kinds[i].kind))
			continue;
		if (strcmp(av, pf_k8s_kinds[i].api_version)) {
			snprintf(err, err_len, "%s: apiVersion \"%s\" is not %s", k, av,
				 pf_k8s_kinds[i].api_version);
			return -EINVAL;
		}
		*kind = (enum pf_k8s_kind)i;
		return 0;
	}
	snprintf(err, err_len, "kind %s (%s) is not one podfence reads", k, av);
	return -ENOTSUP;
}

void pf_k8s_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

int pf_k8s_opt_string(json_t *v, const char *path, const char **out, char *err,
		      size_t err_len)
{
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, err_len, "%s must be a string", path);
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

int pf_k8s_meta(json_t *obj, bool namespaced, char **ns, char **name, char *err,
		size_t err_len)
{
	json_t *md = json_object_get(obj, "metadata");
	const char *n = NULL, *s = NULL;

	*ns = NULL;
	*name = NULL;
	if (!json_is_object(md)) {
		snprintf(err, err_len, "metadata is missing or not an object");
		return -EINVAL;
	}
	if (pf_k8s_opt_string(json_object_get(md, "name"), "metadata.name", &n, err, err_len) ||
	    (namespaced && pf_k8s_opt_string(json_object_get(md, "namespace"),
					      "metadata.namespace", &s, err, err_len)))
		return -EINVAL;
	if (namespaced && !(*ns = strdup(s ? s : "default")))
		return -ENOMEM;
	if (n && !(*name = strdup(n)))
		return -ENOMEM;
	if (!n) {
		snprintf(err, err_len, "metadata.name is missing");
		return -EINVAL;
	}
	if (namespaced ? !pf_k8s_dns_subdomain_ok(n, strlen(n)) : !pf_k8s_dns_label_ok(n)) {
		snprintf(err, err_len, "metadata.name \"%s\" is not a valid DNS-1123 %s", n,
			 namespaced ? "subdomain" : "label");
		return -EINVAL;
	}
	if (namespaced && !pf_k8s_dns_label_ok(*ns)) {
		snprintf(err, err_len, "metadata.namespace \"%s\" is not a valid DNS-1123 label",
			 *ns);
		return -EINVAL;
	}
	return 0;
}

void pf_k8s_err_prefix(char *err, size_t err_len, enum pf_k8s_kind kind, const char *ns,
		       const char *name)
{
	char inner[1024];

	snprintf(inner, sizeof(inner), "%s", err);
	snprintf(err, err_len, "%s %s%s%s: %s", pf_k8s_kind_name(kind), ns ? ns : "",
		 ns ? "/" : "", name ? name : "(unnamed)", inner);
}

int pf_k8s_proto(json_t *v, const char *path, uint8_t *proto, char *err, size_t err_len)
{
	static const struct {
		const char *name;
		uint8_t proto;
	} protos[] = { { "TCP", IPPROTO_TCP }, { "UDP", IPPROTO_UDP }, { "SCTP", IPPROTO_SCTP } };
	const char *s;

	*proto = IPPROTO_TCP; /* the API server's default */
	if (pf_k8s_opt_string(v, path, &s, err, err_len))
		return -EINVAL;
	if (!s)
		return 0;
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (!strcmp(s, protos[i].name)) {
			*proto = protos[i].proto;
			return 0;
		}
	}
	snprintf(err, err_len, "%s \"%s\" is not a supported protocol (TCP, UDP or SCTP)", path, s);
	return -EINVAL;
}

int pf_k8s_port_number(json_t *v, const char *path, uint16_t *port, char *err, size_t err_len)
{
	json_int_t n;

	if (!json_is_integer(v)) {
		snprintf(err, err_len, "%s must be an integer", path);
		return -EINVAL;
	}
	n = json_integer_value(v);
	if (n < 1 || n > 65535) {
		snprintf(err, err_len, "%s %lld is outside 1-65535", path, (long long)n);
		return -EINVAL;
	}
	*port = (uint16_t)n;
	return 0;
}

int pf_k8s_port_range(json_t *port, json_t *end, const char *path, uint16_t *lo,
		      uint16_t *end_port, char *err, size_t err_len)
{
	char sub[192];

	pf_k8s_path(sub, sizeof(sub), "%s.port", path);
	if (port && pf_k8s_port_number(port, sub, lo, err, err_len))
		return -EINVAL;
	*end_port = *lo;
	if (!end)
		return 0;
	pf_k8s_path(sub, sizeof(sub), "%s.endPort", path);
	if (!port) {
		snprintf(err, err_len, "%s may not be set without port", sub);
		return -EINVAL;
	}
	if (pf_k8s_port_number(end, sub, end_port, err, err_len))
		return -EINVAL;
	if (*end_port < *lo) {
		snprintf(err, err_len, "%s %u is less than port %u", sub, *end_port, *lo);
		return -EINVAL;
	}
	return 0;
}

int pf_k8s_namespace_from_json(json_t *obj, struct pf_k8s_namespace *out, char *err,
			       size_t err_len)
{
	char *ns_unused;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = pf_k8s_meta(obj, false, &ns_unused, &out->name, err, err_len);
	if (!rc)
		rc = pf_labels_from_json(json_object_get(json_object_get(obj, "metadata"), "labels"),
					 "metadata.labels", &out->labels, err, err_len);
	/* The API server (1.21+) always sets this label to the name. */
	if (!rc && (rc = pf_labels_set(&out->labels, PF_K8S_NS_NAME_LABEL, out->name)))
		snprintf(err, err_len, "out of memory");
	if (rc) {
		pf_k8s_err_prefix(err, err_len, PF_K8S_NAMESPACE, NULL, out->name);
		pf_k8s_namespace_free(out);
	}
	return rc;
}

void pf_k8s_namespace_free(struct pf_k8s_namespace *n)
{
	free(n->name);
	pf_labels_free(&n->labels);
	memset(n, 0, sizeof(*n));
}

static int pf_pod_port(struct pf_k8s_pod *p, json_t *j, const char *path, char *err,
		       size_t err_len)
{
	struct pf_k8s_container_port *cp = &p->ports[p->n_ports];
	char sub[160];
	const char *name;

	if (!json_is_object(j)) {
		snprintf(err, err_len, "%s must be an object", path);
		return -EINVAL;
	}
	pf_k8s_path(sub, sizeof(sub), "%s.containerPort", path);
	if (pf_k8s_port_number(json_object_get(j, "containerPort"), sub, &cp->port, err, err_len))
		return -EINVAL;
	pf_k8s_path(sub, sizeof(sub), "%s.protocol", path);
	if (pf_k8s_proto(json_object_get(j, "protocol"), sub, &cp->proto, err, err_len))
		return -EINVAL;
	pf_k8s_path(sub, sizeof(sub), "%s.name", path);
	if (pf_k8s_opt_string(json_object_get(j, "name"), sub, &name, err, err_len))
		return -EINVAL;
	if (name && !pf_k8s_port_name_ok(name)) {
		snprintf(err, err_len, "%s \"%s\" is not a valid port name (IANA_SVC_NAME: 1-15 "
			 "lower case alphanumerics or '-', with a letter)", sub, name);
		return -EINVAL;
	}
	for (size_t i = 0; name && i < p->n_ports; i++) {
		if (p->ports[i].name && !strcmp(p->ports[i].name, name)) {
			snprintf(err, err_len, "%s \"%s\" is already used by another port of the pod",
				 sub, name);
			return -EINVAL;
		}
	}
	if (name && !(cp->name = strdup(name)))
		return -ENOMEM;
	p->n_ports++;
	return 0;
}

static int pf_pod_containers(struct pf_k8s_pod *p, json_t *spec, char *err, size_t err_len)
{
	json_t *containers = json_object_get(spec, "containers"), *c, *ports, *port;
	size_t i, j, total = 0;
	char path[128];
	int rc;

	if (containers && !json_is_array(containers)) {
		snprintf(err, err_len, "spec.containers must be a list");
		return -EINVAL;
	}
	json_array_foreach(containers, i, c)
		total += json_array_size(json_object_get(c, "ports"));
	p->ports = calloc(total + 1, sizeof(*p->ports));
	if (!p->ports)
		return -ENOMEM;
	json_array_foreach(containers, i, c) {
		ports = json_object_get(c, "ports");
		if (!json_is_object(c) || (ports && !json_is_null(ports) && !json_is_array(ports))) {
			snprintf(err, err_len, "spec.containers[%zu]%s", i, json_is_object(c) ?
				 ".ports must be a list" : " must be an object");
			return -EINVAL;
		}
		json_array_foreach(ports, j, port) {
			pf_k8s_path(path, sizeof(path), "spec.containers[%zu].ports[%zu]", i, j);
			if ((rc = pf_pod_port(p, port, path, err, err_len)))
				return rc;
		}
	}
	return 0;
}

static int pf_pod_add_ip(struct pf_k8s_pod *p, const char *ip, const char *path, char *err,
			 size_t err_len)
{
	struct pf_cidr c, *n;
	char why[200];

	if (pf_addr_parse(ip, &c, why, sizeof(why))) {
		snprintf(err, err_len, "%s: %s", path, why);
		return -EINVAL;
	}
	for (size_t i = 0; i < p->n_ips; i++)
		if (!pf_cidr_cmp(&p->ips[i], &c))
			return 0;
	n = realloc(p->ips, (p->n_ips + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->ips = n;
	p->ips[p->n_ips++] = c;
	return 0;
}

static int pf_pod_status(struct pf_k8s_pod *p, json_t *status, char *err, size_t err_len)
{
	json_t *ips = json_object_get(status, "podIPs"), *e;
	const char *ip, *phase;
	char path[64];
	size_t i;
	int rc;

	if (status && !json_is_object(status)) {
		snprintf(err, err_len, "status must be an object");
		return -EINVAL;
	}
	if (pf_k8s_opt_string(json_object_get(status, "phase"), "status.phase", &phase, err,
			      err_len) ||
	    pf_k8s_opt_string(json_object_get(status, "podIP"), "status.podIP", &ip, err, err_len))
		return -EINVAL;
	p->finished = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
	if (ip && (rc = pf_pod_add_ip(p, ip, "status.podIP", err, err_len)))
		return rc;
	if (ips && !json_is_null(ips) && !json_is_array(ips)) {
		snprintf(err, err_len, "status.podIPs must be a list");
		return -EINVAL;
	}
	json_array_foreach(ips, i, e) {
		pf_k8s_path(path, sizeof(path), "status.podIPs[%zu].ip", i);
		if (pf_k8s_opt_string(json_object_get(e, "ip"), path, &ip, err, err_len))
			return -EINVAL;
		if (!ip) {
			snprintf(err, err_len, "%s is missing", path);
			return -EINVAL;
		}
		if ((rc = pf_pod_add_ip(p, ip, path, err, err_len)))
			return rc;
	}
	return 0;
}

int pf_k8s_pod_from_json(json_t *obj, struct pf_k8s_pod *out, char *err, size_t err_len)
{
	json_t *spec = json_object_get(obj, "spec"), *hn;
	const char *node = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = pf_k8s_meta(obj, true, &out->ns, &out->name, err, err_len);
	if (!rc)
		rc = pf_labels_from_json(json_object_get(json_object_get(obj, "metadata"), "labels"),
					 "metadata.labels", &out->labels, err, err_len);
	if (!rc && spec && !json_is_object(spec)) {
		snprintf(err, err_len, "spec must be an object");
		rc = -EINVAL;
	}
	hn = json_object_get(spec, "hostNetwork");
	if (!rc && hn && !json_is_boolean(hn)) {
		snprintf(err, err_len, "spec.hostNetwork must be true or false");
		rc = -EINVAL;
	}
	out->host_network = json_is_true(hn);
	if (!rc)
		rc = pf_k8s_opt_string(json_object_get(spec, "nodeName"), "spec.nodeName", &node,
				       err, err_len);
	if (!rc && node && !(out->node_name = strdup(node)))
		rc = -ENOMEM;
	if (!rc)
		rc = pf_pod_containers(out, spec, err, err_len);
	if (!rc)
		rc = pf_pod_status(out, json_object_get(obj, "status"), err, err_len);
	if (rc == -ENOMEM)
		snprintf(err, err_len, "out of memory");
	if (rc) {
		pf_k8s_err_prefix(err, err_len, PF_K8S_POD, out->ns, out->name);
		pf_k8s_pod_free(out);
	}
	return rc;
}

void pf_k8s_pod_free(struct pf_k8s_pod *p)
{
	free(p->ns);
	free(p->name);
	free(p->node_name);
	pf_labels_free(&p->labels);
	free(p->ips);
	for (size_t i = 0; i < p->n_ports; i++)
		free(p->ports[i].name);
	free(p->ports);
	memset(p, 0, sizeof(*p));
}
