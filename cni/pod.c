// SPDX-License-Identifier: Apache-2.0
/* What the commands share about a pod: its host veth name and owner tag,
 * its network namespace, and the plumbing a CNI result describes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cni.h"
#include "veth_name.h"

int pod_host_ifname(struct pf_cni_call *c, char out[IFNAMSIZ])
{
	/* The prefix was checked to fit when the configuration was read. */
	if (pf_veth_host_name(c->conf.veth_prefix, c->env.pod_namespace, c->env.pod_name, out))
		return pf_cni_fail(&c->err, PF_CNI_ERR_CONFIG,
				   "cannot name the host veth with prefix \"%s\"",
				   c->conf.veth_prefix);
	return 0;
}

void pod_owner_tag(const char *container_id, const char *ifname, char *out, size_t len)
{
	snprintf(out, len, "podfence:%s/%s", container_id, ifname);
}

int pod_netns_open(struct pf_cni_call *c)
{
	struct pf_cni_error *e = &c->err;
	char err[512];
	int fd = pf_netns_open(c->env.netns, err, sizeof(err));

	if (fd >= 0)
		return fd;
	if (fd == -ENOENT)
		pf_cni_fail(e, PF_CNI_ERR_NO_CONTAINER, "network namespace %s does not exist",
			    c->env.netns);
	else if (fd == -EINVAL)
		pf_cni_fail(e, PF_CNI_ERR_ENV, "CNI_NETNS %s is not a network namespace",
			    c->env.netns);
	else
		pf_cni_fail(e, PF_CNI_ERR_IO, "cannot open network namespace %s", c->env.netns);
	pf_cni_details(e, "%s", err);
	return -1;
}

static int parse_ip(const char *text, bool want_prefix, struct pf_ip *out, const char *source,
		    const char *what, int code, struct pf_cni_error *e)
{
	if (pf_ip_parse(text, out) || (!want_prefix && strchr(text, '/')))
		return pf_cni_fail(e, code, "%s: %s \"%s\" is not an IP %s", source, what, text,
				   want_prefix ? "prefix" : "address");
	return 0;
}

int pod_spec_from_result(const struct pf_cni_result *r, struct pf_pod_spec *s,
			 const char *source, int code, struct pf_cni_error *e)
{
	s->n_addrs = s->n_gateways = s->n_routes = 0;
	for (size_t i = 0; i < r->n_ips; i++) {
		const struct pf_cni_ip *ip = &r->ips[i];

		if (parse_ip(ip->address, true, &s->addrs[s->n_addrs], source, "address", code, e))
			return -1;
		s->n_addrs++;
		if (!ip->gateway[0])
			continue;
		if (parse_ip(ip->gateway, false, &s->gateways[s->n_gateways], source, "gateway",
			     code, e))
			return -1;
		s->n_gateways++;
	}
	for (size_t i = 0; i < r->n_routes; i++) {
		struct pf_pod_route *rt = &s->routes[i];

		if (parse_ip(r->routes[i].dst, true, &rt->dst, source, "route destination", code, e))
			return -1;
		rt->has_gw = r->routes[i].gw[0] != '\0';
		if (rt->has_gw &&
		    parse_ip(r->routes[i].gw, false, &rt->gw, source, "route gateway", code, e))
			return -1;
	}
	s->n_routes = r->n_routes;
	return 0;
}
