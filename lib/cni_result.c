// SPDX-License-Identifier: Apache-2.0
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cni_result.h"

/* Takes the reference of value; a NULL value (jansson out of memory) marks
 * the object as failed. */
static bool put(json_t *obj, const char *key, json_t *value)
{
	return value && json_object_set_new(obj, key, value) == 0;
}

static char *dump(json_t *root, bool ok)
{
	char *text = ok && root ? json_dumps(root, JSON_COMPACT) : NULL;

	json_decref(root);
	return text;
}

static json_t *render_iface(const struct pf_cni_iface *i, bool with_mtu)
{
	json_t *o = json_object();
	bool ok = o && put(o, "name", json_string(i->name));

	if (ok && i->mac[0])
		ok = put(o, "mac", json_string(i->mac));
	if (ok && with_mtu && i->mtu > 0)
		ok = put(o, "mtu", json_integer(i->mtu));
	if (ok && i->sandbox[0])
		ok = put(o, "sandbox", json_string(i->sandbox));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *render_ip(const struct pf_cni_ip *ip, bool with_version)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	/* 0.3.x and 0.4.0 name the family; 1.0.0 dropped the field. */
	if (ok && with_version)
		ok = put(o, "version", json_string(strchr(ip->address, ':') ? "6" : "4"));
	if (ok && ip->iface >= 0)
		ok = put(o, "interface", json_integer(ip->iface));
	if (ok)
		ok = put(o, "address", json_string(ip->address));
	if (ok && ip->gateway[0])
		ok = put(o, "gateway", json_string(ip->gateway));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *render_route(const struct pf_cni_route *rt)
{
	json_t *o = json_object();
	bool ok = o && put(o, "dst", json_string(rt->dst));

	if (ok && rt->gw[0])
		ok = put(o, "gw", json_string(rt->gw));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *pf_cni_result_render(const struct pf_cni_result *r, const char *version)
{
	bool with_version = !pf_cni_version_at_least(version, "1.0.0");
	bool with_mtu = pf_cni_version_at_least(version, "1.1.0");
	json_t *root = json_object(), *ifaces = json_array(), *ips = json_array();
	json_t *routes = json_array();
	bool ok = root && ifaces && ips && routes;

	for (size_t i = 0; ok && i < r->n_ifaces; i++)
		ok = json_array_append_new(ifaces, render_iface(&r->ifaces[i], with_mtu)) == 0;
	for (size_t i = 0; ok && i < r->n_ips; i++)
		ok = json_array_append_new(ips, render_ip(&r->ips[i], with_version)) == 0;
	for (size_t i = 0; ok && i < r->n_routes; i++)
		ok = json_array_append_new(routes, render_route(&r->routes[i])) == 0;
	ok = ok && put(root, "cniVersion", json_string(version)) &&
	     put(root, "interfaces", json_incref(ifaces)) && put(root, "ips", json_incref(ips)) &&
	     put(root, "routes", json_incref(routes)) && put(root, "dns", json_object());
	json_decref(ifaces);
	json_decref(ips);
	json_decref(routes);
	return dump(root, ok);
}

char *pf_cni_error_render(const struct pf_cni_error *e, const char *version)
{
	json_t *root = json_object();
	bool ok = root && put(root, "cniVersion", json_string(version)) &&
		  put(root, "code", json_integer(e->code)) && put(root, "msg", json_string(e->msg));

	if (ok && e->details[0])
		ok = put(root, "details", json_string(e->details));
	return dump(root, ok);
}

char *pf_cni_version_render(const char *version)
{
	json_t *root = json_object(), *list = json_array();
	bool ok = root && list;

	for (int i = 0; ok && i < PF_CNI_N_VERSIONS; i++)
		ok = json_array_append_new(list, json_string(pf_cni_versions[i])) == 0;
	ok = ok && put(root, "cniVersion", json_string(version)) &&
	     put(root, "supportedVersions", json_incref(list));
	json_decref(list);
	return dump(root, ok);
}

/* ---- prevResult ---- */

static int copy_str(json_t *obj, const char *key, bool required, char *out, size_t len,
		    const char *where, size_t idx, struct pf_cni_error *e)
{
	json_t *v = json_object_get(obj, key);

	out[0] = '\0';
	if (!v && !required)
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= len)
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
				   "prevResult: %s[%zu].%s must be a string of at most %zu characters",
				   where, idx, key, len - 1);
	strcpy(out, json_string_value(v));
	return 0;
}

/* Finds the array at key: *list is NULL for an absent key (no entries).
 * Fails when it is something else or longer than max. */
static int get_list(json_t *prev, const char *key, size_t max, json_t **list, size_t *n,
		    struct pf_cni_error *e)
{
	json_t *v = json_object_get(prev, key);

	*list = NULL;
	*n = 0;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG, "prevResult: \"%s\" must be an array",
				   key);
	if (json_array_size(v) > max)
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
				   "prevResult: \"%s\" has %zu entries, podfence-cni makes at most %zu",
				   key, json_array_size(v), max);
	*list = v;
	*n = json_array_size(v);
	return 0;
}

int pf_cni_result_parse(json_t *prev, struct pf_cni_result *r, struct pf_cni_error *e)
{
	json_t *ifaces, *ips, *routes;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(prev))
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG, "prevResult must be an object");
	if (get_list(prev, "interfaces", PF_CNI_MAX_IFACES, &ifaces, &r->n_ifaces, e) ||
	    get_list(prev, "ips", PF_CNI_MAX_IPS, &ips, &r->n_ips, e) ||
	    get_list(prev, "routes", PF_CNI_MAX_ROUTES, &routes, &r->n_routes, e))
		return -1;

	for (size_t i = 0; i < r->n_ifaces; i++) {
		json_t *o = json_array_get(ifaces, i), *mtu = json_object_get(o, "mtu");
		struct pf_cni_iface *f = &r->ifaces[i];

		if (copy_str(o, "name", true, f->name, sizeof(f->name), "interfaces", i, e) ||
		    copy_str(o, "mac", false, f->mac, sizeof(f->mac), "interfaces", i, e) ||
		    copy_str(o, "sandbox", false, f->sandbox, sizeof(f->sandbox), "interfaces", i, e))
			return -1;
		f->mtu = json_is_integer(mtu) ? (int)json_integer_value(mtu) : 0;
	}
	for (size_t i = 0; i < r->n_ips; i++) {
		json_t *o = json_array_get(ips, i), *idx = json_object_get(o, "interface");
		struct pf_cni_ip *ip = &r->ips[i];

		if (copy_str(o, "address", true, ip->address, sizeof(ip->address), "ips", i, e) ||
		    copy_str(o, "gateway", false, ip->gateway, sizeof(ip->gateway), "ips", i, e))
			return -1;
		ip->iface = -1;
		if (idx) {
			if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
			    (size_t)json_integer_value(idx) >= r->n_ifaces)
				return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
						   "prevResult: ips[%zu].interface is not an index into interfaces",
						   i);
			ip->iface = (int)json_integer_value(idx);
		}
	}
	for (size_t i = 0; i < r->n_routes; i++) {
		json_t *o = json_array_get(routes, i);
		struct pf_cni_route *rt = &r->routes[i];

		if (copy_str(o, "dst", true, rt->dst, sizeof(rt->dst), "routes", i, e) ||
		    copy_str(o, "gw", false, rt->gw, sizeof(rt->gw), "routes", i, e))
			return -1;
	}
	return 0;
}
