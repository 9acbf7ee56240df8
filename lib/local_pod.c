// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podfence_abi.h"
#include "k8s_names.h"
#include "local_pod.h"

struct pf_pod_names {
	const char *ns, *name; /* field names: "namespace" or "pod_namespace", ... */
};

static int pf_str_field(json_t *j, const char *path, const char *key, bool required,
			const char **out, char *err, size_t err_len)
{
	json_t *v = json_object_get(j, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		snprintf(err, err_len, "%s\"%s\" is required", path, key);
		return -EINVAL;
	}
	if (!json_is_string(v) || !*json_string_value(v)) {
		snprintf(err, err_len, "%s\"%s\" must be a non-empty string", path, key);
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

static int pf_bad_field(const char *path, const char *key, const char *value, const char *why,
			char *err, size_t err_len)
{
	snprintf(err, err_len, "%s\"%s\" \"%.64s\" %s", path, key, value, why);
	return -EINVAL;
}

/* CNI spec 1.0, "Parameters": a container ID is alphanumerics, '_', '.'
 * and '-'. */
static bool pf_container_id_ok(const char *s)
{
	if (strlen(s) > PF_LOCAL_POD_MAX_ID)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return false;
	return true;
}

static bool pf_ifname_ok(const char *s)
{
	if (strlen(s) >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

static int pf_pod_ip(json_t *j, const char *path, const char *key, uint8_t family,
		     struct pf_local_pod *p, char *err, size_t err_len)
{
	const char *text;
	char why[160];
	int rc = pf_str_field(j, path, key, false, &text, err, err_len);

	if (rc || !text)
		return rc;
	if (pf_addr_parse(text, &p->ips[p->n_ips], why, sizeof(why)) ||
	    p->ips[p->n_ips].family != family) {
		snprintf(err, err_len, "%s\"%s\" \"%.64s\" is not an %s address", path, key, text,
			 family == PF_FAMILY_V4 ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	p->n_ips++;
	return 0;
}

static int pf_pod_read(json_t *j, const char *path, const struct pf_pod_names *names,
		       struct pf_local_pod *p, char *err, size_t err_len)
{
	const char *ns, *name, *cid, *ifname, *veth;
	int rc;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(j)) {
		snprintf(err, err_len, "%smust be a JSON object", path);
		return -EINVAL;
	}
	rc = pf_str_field(j, path, names->ns, true, &ns, err, err_len);
	if (!rc)
		rc = pf_str_field(j, path, names->name, true, &name, err, err_len);
	if (!rc)
		rc = pf_str_field(j, path, "container_id", true, &cid, err, err_len);
	if (!rc)
		rc = pf_str_field(j, path, "ifname", false, &ifname, err, err_len);
	if (!rc)
		rc = pf_str_field(j, path, "host_veth", true, &veth, err, err_len);
	if (rc)
		return rc;
	if (!pf_k8s_dns_label_ok(ns))
		return pf_bad_field(path, names->ns, ns, "is not a valid DNS-1123 label", err,
				    err_len);
	if (!pf_k8s_dns_subdomain_ok(name, strlen(name)))
		return pf_bad_field(path, names->name, name, "is not a valid DNS-1123 subdomain",
				    err, err_len);
	if (!pf_container_id_ok(cid))
		return pf_bad_field(path, "container_id", cid,
				    "is invalid: at most 255 letters, digits, '_', '.' and '-'",
				    err, err_len);
	if (!pf_ifname_ok(veth))
		return pf_bad_field(path, "host_veth", veth, "is not an interface name", err,
				    err_len);
	if (ifname && !pf_ifname_ok(ifname))
		return pf_bad_field(path, "ifname", ifname, "is not an interface name", err,
				    err_len);
	rc = pf_pod_ip(j, path, "ipv4", PF_FAMILY_V4, p, err, err_len);
	if (!rc)
		rc = pf_pod_ip(j, path, "ipv6", PF_FAMILY_V6, p, err, err_len);
	if (rc)
		return rc;
	snprintf(p->host_veth, sizeof(p->host_veth), "%s", veth);
	p->ns = strdup(ns);
	p->name = strdup(name);
	p->container_id = strdup(cid);
	p->ifname = strdup(ifname ? ifname : "eth0");
	if (!p->ns || !p->name || !p->container_id || !p->ifname) {
		pf_local_pod_free(p);
		snprintf(err, err_len, "%sout of memory", path);
		return -ENOMEM;
	}
	return 0;
}

static int pf_uint_field(json_t *j, const char *path, const char *key, long long max,
			 long long *out, char *err, size_t err_len)
{
	json_t *v = json_object_get(j, key);

	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
		snprintf(err, err_len, "%s\"%s\" must be an integer from 0 to %lld", path, key, max);
		return -EINVAL;
	}
	*out = json_integer_value(v);
	return 0;
}

int pf_local_pod_from_json(json_t *j, const char *path, struct pf_local_pod *out, char *err,
			   size_t err_len)
{
	static const struct pf_pod_names names = { "namespace", "name" };
	char prefix[64];
	long long ifindex, set;
	int rc;

	snprintf(prefix, sizeof(prefix), "%s%s", path, *path ? ": " : "");
	rc = pf_pod_read(j, prefix, &names, out, err, err_len);
	if (rc)
		return rc;
	rc = pf_uint_field(j, prefix, "ifindex", INT32_MAX, &ifindex, err, err_len);
	if (!rc)
		rc = pf_uint_field(j, prefix, "policy_set", PF_MAX_SETS - 1, &set, err, err_len);
	if (rc) {
		pf_local_pod_free(out);
		return rc;
	}
	out->ifindex = (int)ifindex;
	out->set_id = (uint32_t)set;
	return 0;
}

int pf_local_pod_from_request(json_t *j, struct pf_local_pod *out, char *err, size_t err_len)
{
	static const struct pf_pod_names names = { "pod_namespace", "pod_name" };

	return pf_pod_read(j, "", &names, out, err, err_len);
}

const struct pf_cidr *pf_local_pod_ip(const struct pf_local_pod *p, uint8_t family)
{
	for (size_t i = 0; i < p->n_ips; i++)
		if (p->ips[i].family == family)
			return &p->ips[i];
	return NULL;
}

json_t *pf_local_pod_to_json(const struct pf_local_pod *p)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "namespace", p->ns, "name",
			      p->name, "container_id", p->container_id, "ifname", p->ifname,
			      "host_veth", p->host_veth, "ifindex", p->ifindex);
	char buf[64];

	for (size_t i = 0; o && i < p->n_ips; i++)
		json_object_set_new(o, p->ips[i].family == PF_FAMILY_V4 ? "ipv4" : "ipv6",
				    json_string(pf_addr_format(p->ips[i].family, p->ips[i].addr,
							       buf, sizeof(buf))));
	if (o)
		json_object_set_new(o, "policy_set",
				    p->set_id ? json_integer(p->set_id) : json_null());
	return o;
}

void pf_local_pod_free(struct pf_local_pod *p)
{
	free(p->ns);
	free(p->name);
	free(p->container_id);
	free(p->ifname);
	memset(p, 0, sizeof(*p));
}
