// SPDX-License-Identifier: Apache-2.0
/* Read-only introspection on loopback, the seed's :61679 paths. Names are
 * kept where the seed has them (/v1/enis lists interfaces there; here it
 * lists the pools, the closest thing a CIDR node has). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "podfence_abi.h"
#include "ipamd.h"

static const uint8_t ipamd_families[2] = { PF_FAMILY_V4, PF_FAMILY_V6 };

static json_t *ipamd_addr(uint8_t family, const uint8_t *addr)
{
	char text[64];

	return json_string(pf_addr_format(family, addr, text, sizeof(text)));
}

/* A count as a JSON number; beyond int64 (an IPv6 /64 holds 2^64
 * addresses) as a real. */
static json_t *ipamd_count(uint64_t n)
{
	return n <= INT64_MAX ? json_integer((json_int_t)n) : json_real((double)n);
}

static json_t *ipamd_pool_json(const struct pf_ipam_pool *pool, uint8_t family,
			       const struct pf_ipam_family_stats *st)
{
	json_t *warm = json_array(), *list = json_array();

	for (size_t i = 0; i < st->warm; i++)
		json_array_append_new(warm, ipamd_addr(family, pf_ipam_pool_warm_at(pool, family, i)));
	for (size_t i = 0; i < pf_ipam_pool_count(pool); i++) {
		const struct pf_ipam_assignment *a = pf_ipam_pool_at(pool, i);
		bool has = family == PF_FAMILY_V4 ? a->has_v4 : a->has_v6;

		if (has)
			json_array_append_new(
				list, json_pack("{s:o, s:s, s:s, s:s, s:s}", "address",
						ipamd_addr(family,
							   family == PF_FAMILY_V4 ? a->v4 : a->v6),
						"container_id", a->container_id, "ifname",
						a->ifname, "pod_namespace", a->pod_namespace,
						"pod_name", a->pod_name));
	}
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "family",
			 family == PF_FAMILY_V4 ? "ipv4" : "ipv6", "kind", st->kind, "name",
			 st->name, "size", ipamd_count(st->capacity), "assigned",
			 ipamd_count(st->assigned), "free", ipamd_count(st->free), "warm",
			 ipamd_count(st->warm), "warm_target", ipamd_count(st->warm_target),
			 "warm_shortfall", ipamd_count(st->shortfall), "warm_addresses", warm,
			 "assignments", list);
}

static json_t *ipamd_enis(struct ipamd *d)
{
	json_t *pools = json_array();

	for (int i = 0; i < 2; i++) {
		struct pf_ipam_family_stats st;

		pf_ipam_pool_stats(d->pool, ipamd_families[i], &st);
		if (st.present)
			json_array_append_new(pools,
					      ipamd_pool_json(d->pool, ipamd_families[i], &st));
	}
	return json_pack("{s:o, s:s}", "pools", pools, "note",
			 "no cloud network interfaces here: each pool is one address source, "
			 "the node's pod CIDR");
}

static json_t *ipamd_pods(struct ipamd *d)
{
	json_t *pods = json_array();
	size_t n = pf_ipam_pool_count(d->pool);

	for (size_t i = 0; i < n; i++) {
		const struct pf_ipam_assignment *a = pf_ipam_pool_at(d->pool, i);
		json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "pod_namespace",
				      a->pod_namespace, "pod_name", a->pod_name, "container_id",
				      a->container_id, "ifname", a->ifname, "netns", a->netns,
				      "assigned_at", (json_int_t)a->assigned_at);

		if (p && a->has_v4)
			json_object_set_new(p, "ipv4", ipamd_addr(PF_FAMILY_V4, a->v4));
		if (p && a->has_v6)
			json_object_set_new(p, "ipv6", ipamd_addr(PF_FAMILY_V6, a->v6));
		json_array_append_new(pods, p);
	}
	return json_pack("{s:o, s:I}", "pods", pods, "count", (json_int_t)n);
}

static json_t *ipamd_env_settings(struct ipamd *d)
{
	json_t *env = json_object(), *settings = json_object();

	for (int k = 0; k < IPAMD_KEY_COUNT; k++) {
		const char *raw = ipamd_keys[k].env ? getenv(ipamd_keys[k].env) : NULL;

		if (ipamd_keys[k].env)
			json_object_set_new(env, ipamd_keys[k].env,
					    raw ? json_string(raw) : json_null());
		json_object_set_new(settings, ipamd_keys[k].name,
				    json_pack("{s:o, s:s}", "value",
					      d->cfg.value[k] ? json_string(d->cfg.value[k])
							      : json_null(),
					      "from", d->cfg.origin[k]));
	}
	return json_pack("{s:o, s:o}", "env", env, "settings", settings);
}

static json_t *ipamd_networkutils_settings(struct ipamd *d)
{
	json_t *r = json_pack("{s:s, s:[{s:s, s:s}], s:s}", "pod_gateway_ipv4",
			      IPAMD_GATEWAY_V4, "routes", "dst", "0.0.0.0/0", "gw",
			      IPAMD_GATEWAY_V4, "note",
			      "podfence-ipamd changes no host networking; the CNI plugin plumbs "
			      "each pod (veth, host route, the gateway as a permanent neighbour)");

	if (r && d->cfg.has_cidr6) {
		json_object_set_new(r, "pod_gateway_ipv6", json_string(IPAMD_GATEWAY_V6));
		json_array_append_new(json_object_get(r, "routes"),
				      json_pack("{s:s, s:s}", "dst", "::/0", "gw",
						IPAMD_GATEWAY_V6));
	}
	return r;
}

static json_t *ipamd_eni_configs(struct ipamd *d)
{
	(void)d;
	return json_pack("{s:[], s:s}", "eni_configs", "note",
			 "ENIConfig resources choose subnets for cloud network interfaces; "
			 "this node's addresses come from its pod CIDR, so there are none");
}

static json_t *ipamd_healthz(struct ipamd *d)
{
	return json_pack("{s:s, s:I}", "status", "ok", "uptime_seconds",
			 (json_int_t)(time(NULL) - d->started));
}

static const struct {
	const char *path;
	json_t *(*fn)(struct ipamd *d);
} ipamd_introspect_routes[] = {
	{ "/v1/enis", ipamd_enis },
	{ "/v1/pods", ipamd_pods },
	{ "/v1/ipamd-env-settings", ipamd_env_settings },
	{ "/v1/networkutils-env-settings", ipamd_networkutils_settings },
	{ "/v1/eni-configs", ipamd_eni_configs },
	{ "/healthz", ipamd_healthz },
};

void ipamd_introspect_handle(void *ctx, const char *method, const char *path,
			     const char *body, size_t body_len, struct pf_http_reply *reply)
{
	struct ipamd *d = ctx;

	(void)body, (void)body_len;
	for (size_t i = 0; i < sizeof(ipamd_introspect_routes) / sizeof(ipamd_introspect_routes[0]);
	     i++) {
		json_t *r;

		if (strcmp(ipamd_introspect_routes[i].path, path))
			continue;
		if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
			pf_http_reply_error(reply, 405, "%s is read-only: GET, not %s", path,
					    method);
			return;
		}
		pthread_mutex_lock(&d->lock);
		r = ipamd_introspect_routes[i].fn(d);
		pthread_mutex_unlock(&d->lock);
		pf_http_reply_json(reply, 200, r);
		return;
	}
	pf_http_reply_error(reply, 404, "no endpoint %s", path);
}
