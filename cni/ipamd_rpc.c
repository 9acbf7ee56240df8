// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"

#define IPAMD "podfence-ipamd"
#define IPAMD_TIMEOUT_MS 10000
#define IPAMD_HEALTH_TIMEOUT_MS 2000

static int bad_reply(struct pf_cni_error *e, const char *what)
{
	return pf_cni_fail(e, PF_CNI_ERR_IPAMD, "podfence-ipamd reply to add-network: %s", what);
}

/* {"address": "10.244.1.5/32", "gateway": "169.254.1.1"} into the next ip. */
static int read_ip(json_t *reply, const char *family, struct pf_cni_result *r,
		   struct pf_cni_error *e)
{
	json_t *o = json_object_get(reply, family), *addr, *gw;
	struct pf_cni_ip *ip = &r->ips[r->n_ips];

	if (!o || json_is_null(o))
		return 0;
	addr = json_object_get(o, "address");
	gw = json_object_get(o, "gateway");
	if (!json_is_object(o) || !json_is_string(addr) || !json_is_string(gw) ||
	    json_string_length(addr) >= sizeof(ip->address) ||
	    json_string_length(gw) >= sizeof(ip->gateway))
		return pf_cni_fail(e, PF_CNI_ERR_IPAMD,
				   "podfence-ipamd reply to add-network: \"%s\" must be {\"address\": CIDR, \"gateway\": address}",
				   family);
	strcpy(ip->address, json_string_value(addr));
	strcpy(ip->gateway, json_string_value(gw));
	ip->iface = -1;
	r->n_ips++;
	return 0;
}

static int read_routes(json_t *reply, struct pf_cni_result *r, struct pf_cni_error *e)
{
	json_t *routes = json_object_get(reply, "routes"), *item;
	size_t i;

	if (!routes)
		return 0;
	if (!json_is_array(routes) || json_array_size(routes) > PF_CNI_MAX_ROUTES)
		return pf_cni_fail(e, PF_CNI_ERR_IPAMD,
				   "podfence-ipamd reply to add-network: \"routes\" must be an array of at most %d routes",
				   PF_CNI_MAX_ROUTES);
	json_array_foreach(routes, i, item) {
		json_t *dst = json_object_get(item, "dst"), *gw = json_object_get(item, "gw");
		struct pf_cni_route *rt = &r->routes[i];

		if (!json_is_string(dst) || json_string_length(dst) >= sizeof(rt->dst) ||
		    (gw && (!json_is_string(gw) || json_string_length(gw) >= sizeof(rt->gw))))
			return pf_cni_fail(e, PF_CNI_ERR_IPAMD,
					   "podfence-ipamd reply to add-network: routes[%zu] must be {\"dst\": CIDR, \"gw\": address}",
					   i);
		strcpy(rt->dst, json_string_value(dst));
		snprintf(rt->gw, sizeof(rt->gw), "%s", gw ? json_string_value(gw) : "");
	}
	r->n_routes = json_array_size(routes);
	return 0;
}

int ipamd_add_network(const struct pf_cni_call *c, struct pf_cni_result *r, bool *strict,
		      struct pf_cni_error *e)
{
	json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:s}", "container_id", c->env.container_id,
				"ifname", c->env.ifname, "netns", c->env.netns, "pod_namespace",
				c->env.pod_namespace, "pod_name", c->env.pod_name);
	json_t *reply = NULL;
	const char *mode;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!req)
		return pf_cni_fail(e, PF_CNI_ERR_IO, "add-network request: out of memory");
	rc = rpc_call(IPAMD, c->conf.ipamd_socket, "POST", "/v1/add-network", req,
		      IPAMD_TIMEOUT_MS, &reply, e);
	json_decref(req);
	if (rc)
		return rc;
	rc = read_ip(reply, "ipv4", r, e) || read_ip(reply, "ipv6", r, e) ||
	     read_routes(reply, r, e) ? -1 : 0;
	if (!rc && r->n_ips == 0)
		rc = bad_reply(e, "neither \"ipv4\" nor \"ipv6\" is set");
	mode = json_string_value(json_object_get(reply, "network_policy_mode"));
	if (!rc && (!mode || (strcmp(mode, "standard") && strcmp(mode, "strict"))))
		rc = bad_reply(e, "\"network_policy_mode\" must be \"standard\" or \"strict\"");
	if (!rc)
		*strict = !strcmp(mode, "strict");
	json_decref(reply);
	return rc;
}

int ipamd_del_network_send(const char *socket, const char *container_id, const char *ifname,
			   struct rpc_pending *out, struct pf_cni_error *e)
{
	json_t *req = json_pack("{s:s, s:s}", "container_id", container_id, "ifname", ifname);
	int rc;

	if (!req)
		return pf_cni_fail(e, PF_CNI_ERR_IO, "del-network request: out of memory");
	rc = rpc_send(IPAMD, socket, "POST", "/v1/del-network", req, IPAMD_TIMEOUT_MS, out, e);
	json_decref(req);
	return rc;
}

int ipamd_del_network_receive(struct rpc_pending *p, bool *released, char *ipv4,
			      size_t ipv4_len, struct pf_cni_error *e)
{
	json_t *reply = NULL;

	*released = false;
	ipv4[0] = '\0';
	if (rpc_receive(p, &reply, e))
		return -1;
	*released = json_is_true(json_object_get(reply, "released"));
	snprintf(ipv4, ipv4_len, "%s",
		 json_string_value(json_object_get(reply, "ipv4")) ?: "");
	json_decref(reply);
	return 0;
}

int ipamd_del_network(const char *socket, const char *container_id, const char *ifname,
		      bool *released, char *ipv4, size_t ipv4_len, struct pf_cni_error *e)
{
	struct rpc_pending p;

	*released = false;
	ipv4[0] = '\0';
	if (ipamd_del_network_send(socket, container_id, ifname, &p, e))
		return -1;
	return ipamd_del_network_receive(&p, released, ipv4, ipv4_len, e);
}

int ipamd_list_assignments(const char *socket, struct ipamd_assignment **out, size_t *n,
			   struct pf_cni_error *e)
{
	json_t *reply = NULL, *list, *item;
	size_t i;
	int rc;

	*out = NULL;
	*n = 0;
	rc = rpc_call(IPAMD, socket, "GET", "/v1/assignments", NULL, IPAMD_TIMEOUT_MS, &reply, e);
	if (rc)
		return rc;
	list = json_object_get(reply, "assignments");
	if (!json_is_array(list)) {
		json_decref(reply);
		return pf_cni_fail(e, PF_CNI_ERR_IPAMD,
				   "podfence-ipamd reply to GET /v1/assignments: \"assignments\" must be an array");
	}
	*out = calloc(json_array_size(list) + 1, sizeof(**out));
	if (!*out) {
		json_decref(reply);
		return pf_cni_fail(e, PF_CNI_ERR_IO, "assignments: out of memory");
	}
	json_array_foreach(list, i, item) {
		json_t *id = json_object_get(item, "container_id");
		json_t *ifname = json_object_get(item, "ifname");
		json_t *ipv4 = json_object_get(item, "ipv4");

		if (!json_is_string(id) || !json_is_string(ifname) ||
		    json_string_length(id) >= sizeof((*out)->container_id) ||
		    json_string_length(ifname) >= sizeof((*out)->ifname) ||
		    (ipv4 && !json_is_null(ipv4) &&
		     (!json_is_string(ipv4) || json_string_length(ipv4) >= sizeof((*out)->ipv4)))) {
			pf_cni_fail(e, PF_CNI_ERR_IPAMD,
				    "podfence-ipamd reply to GET /v1/assignments: assignments[%zu] needs string \"container_id\" and \"ifname\" (and \"ipv4\" a string when set)",
				    i);
			free(*out);
			*out = NULL;
			json_decref(reply);
			return -1;
		}
		strcpy((*out)[i].container_id, json_string_value(id));
		strcpy((*out)[i].ifname, json_string_value(ifname));
		snprintf((*out)[i].ipv4, sizeof((*out)[i].ipv4), "%s",
			 json_string_value(ipv4) ?: "");
	}
	*n = json_array_size(list);
	json_decref(reply);
	return 0;
}

int ipamd_health(const char *socket, struct pf_cni_error *e)
{
	json_t *reply = NULL;
	const char *status;
	int rc = rpc_call(IPAMD, socket, "GET", "/v1/health", NULL, IPAMD_HEALTH_TIMEOUT_MS,
			  &reply, e);

	if (!rc) {
		status = json_string_value(json_object_get(reply, "status"));
		if (!status || strcmp(status, "ok"))
			rc = pf_cni_fail(e, PF_CNI_ERR_NOT_AVAILABLE,
					 "podfence-ipamd reports status \"%s\"", status ? status : "");
	}
	json_decref(reply);
	return rc;
}
