// SPDX-License-Identifier: Apache-2.0
/* CNI CHECK: every piece pf_pod_plumb makes is still there. Extra routes
 * and addresses are fine (SPEC.md: a later plugin of the chain may have
 * added its own); missing or changed ones are named. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include "netlink_pod_internal.h"

static struct pf_ip full_length(const struct pf_ip *ip)
{
	struct pf_ip f = *ip;

	f.prefix = ip->family == AF_INET ? 32 : 128;
	return f;
}

static bool route_present(struct nl_cache *routes, int ifindex, const struct pf_ip *dst,
			  const struct pf_ip *gw)
{
	struct pf_ip g = gw ? full_length(gw) : (struct pf_ip){ 0 };

	for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o)) {
		struct rtnl_route *r = (struct rtnl_route *)o;

		if (rtnl_route_get_table(r) != RT_TABLE_MAIN ||
		    !pf_nl_addr_is(rtnl_route_get_dst(r), dst))
			continue;
		for (int i = 0; i < rtnl_route_get_nnexthops(r); i++) {
			struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, i);

			if (rtnl_route_nh_get_ifindex(nh) == ifindex &&
			    (!gw || pf_nl_addr_is(rtnl_route_nh_get_gateway(nh), &g)))
				return true;
		}
	}
	return false;
}

static bool addr_present(struct nl_cache *addrs, int ifindex, const struct pf_ip *ip)
{
	for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;

		if (rtnl_addr_get_ifindex(a) == ifindex && pf_nl_addr_is(rtnl_addr_get_local(a), ip))
			return true;
	}
	return false;
}

static bool neigh_present(struct nl_cache *neighs, int ifindex, const struct pf_ip *ip,
			  struct nl_addr *lladdr)
{
	struct pf_ip dst = full_length(ip);

	for (struct nl_object *o = nl_cache_get_first(neighs); o; o = nl_cache_get_next(o)) {
		struct rtnl_neigh *n = (struct rtnl_neigh *)o;

		if (rtnl_neigh_get_ifindex(n) == ifindex && pf_nl_addr_is(rtnl_neigh_get_dst(n), &dst))
			return (rtnl_neigh_get_state(n) & NUD_PERMANENT) &&
			       !nl_addr_cmp(rtnl_neigh_get_lladdr(n), lladdr);
	}
	return false;
}

/* Present, up and (when the spec knows it) with the MTU. */
static int check_link(struct nl_sock *sk, const char *name, const char *where, int mtu,
		      struct rtnl_link **out, char *err, size_t len)
{
	int rc = pf_nl_link_get(sk, name, out, err, len);

	if (rc == -ENODEV) {
		snprintf(err, len, "%s is missing from %s", name, where);
		return -ENOENT;
	}
	if (rc)
		return rc;
	if (!(rtnl_link_get_flags(*out) & IFF_UP)) {
		snprintf(err, len, "%s in %s is down", name, where);
		return -EINVAL;
	}
	if (mtu && (int)rtnl_link_get_mtu(*out) != mtu) {
		snprintf(err, len, "%s in %s has MTU %u, not %d", name, where,
			 rtnl_link_get_mtu(*out), mtu);
		return -EINVAL;
	}
	return 0;
}

static int check_pod_side(struct nl_sock *sk, const struct pf_pod_spec *s, int ifindex,
			  struct nl_addr *host_mac, char *err, size_t len)
{
	struct nl_cache *addrs = NULL, *neighs = NULL, *routes = NULL;
	char b1[64], b2[64];
	int rc;

	rc = rtnl_addr_alloc_cache(sk, &addrs);
	if (!rc)
		rc = rtnl_neigh_alloc_cache(sk, &neighs);
	if (!rc)
		rc = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &routes);
	if (rc) {
		snprintf(err, len, "read addresses, neighbours and routes of %s: %s", s->netns_path,
			 nl_geterror(rc));
		rc = -EIO;
		goto out;
	}
	rc = -ENOENT;
	for (size_t i = 0; i < s->n_addrs; i++)
		if (!addr_present(addrs, ifindex, &s->addrs[i])) {
			snprintf(err, len, "address %s is missing from %s in %s",
				 pf_ip_str(&s->addrs[i], b1, sizeof(b1)), s->pod_ifname,
				 s->netns_path);
			goto out;
		}
	for (size_t i = 0; i < s->n_gateways; i++) {
		struct pf_ip gw = full_length(&s->gateways[i]);

		if (!route_present(routes, ifindex, &gw, NULL)) {
			snprintf(err, len, "route %s dev %s is missing from %s",
				 pf_ip_str(&gw, b1, sizeof(b1)), s->pod_ifname, s->netns_path);
			goto out;
		}
		if (!neigh_present(neighs, ifindex, &gw, host_mac)) {
			snprintf(err, len,
				 "permanent neighbour %s for the host veth's MAC is missing from %s in %s",
				 pf_ip_str(&gw, b1, sizeof(b1)), s->pod_ifname, s->netns_path);
			goto out;
		}
	}
	for (size_t i = 0; i < s->n_routes; i++) {
		const struct pf_pod_route *rt = &s->routes[i];

		if (!route_present(routes, ifindex, &rt->dst, rt->has_gw ? &rt->gw : NULL)) {
			snprintf(err, len, "route %s%s%s dev %s is missing from %s",
				 pf_ip_str(&rt->dst, b1, sizeof(b1)), rt->has_gw ? " via " : "",
				 rt->has_gw ? pf_ip_str(&rt->gw, b2, sizeof(b2)) : "",
				 s->pod_ifname, s->netns_path);
			goto out;
		}
	}
	rc = 0;
out:
	nl_cache_free(routes);
	nl_cache_free(neighs);
	nl_cache_free(addrs);
	return rc;
}

static int check_host_routes(struct nl_sock *sk, const struct pf_pod_spec *s, int ifindex,
			     char *err, size_t len)
{
	struct nl_cache *routes = NULL;
	char b[64];
	int rc = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &routes);

	if (rc) {
		snprintf(err, len, "read the node's routes: %s", nl_geterror(rc));
		return -EIO;
	}
	for (size_t i = 0; !rc && i < s->n_addrs; i++) {
		struct pf_ip host = full_length(&s->addrs[i]);

		if (!route_present(routes, ifindex, &host, NULL)) {
			snprintf(err, len, "route %s dev %s is missing from the node",
				 pf_ip_str(&host, b, sizeof(b)), s->host_ifname);
			rc = -ENOENT;
		}
	}
	nl_cache_free(routes);
	return rc;
}

int pf_pod_check(const struct pf_pod_spec *s, char *err, size_t len)
{
	struct nl_sock *host_sk = NULL, *pod_sk = NULL;
	struct rtnl_link *host = NULL, *pod = NULL;
	const char *alias;
	int rc;

	rc = pf_nl_open(&host_sk, err, len);
	if (!rc)
		rc = pf_nl_open_in(s->netns_fd, s->netns_path, &pod_sk, err, len);
	if (!rc)
		rc = check_link(host_sk, s->host_ifname, "the node", s->mtu, &host, err, len);
	if (rc)
		goto out;
	alias = rtnl_link_get_ifalias(host);
	if (!alias || strcmp(alias, s->owner)) {
		snprintf(err, len, "host veth %s belongs to \"%s\", not \"%s\"", s->host_ifname,
			 alias ? alias : "", s->owner);
		rc = -EINVAL;
		goto out;
	}
	rc = check_link(pod_sk, s->pod_ifname, s->netns_path, s->mtu, &pod, err, len);
	if (!rc)
		rc = check_pod_side(pod_sk, s, rtnl_link_get_ifindex(pod), rtnl_link_get_addr(host),
				    err, len);
	if (!rc)
		rc = check_host_routes(host_sk, s, rtnl_link_get_ifindex(host), err, len);
out:
	rtnl_link_put(pod);
	rtnl_link_put(host);
	nl_socket_free(pod_sk);
	nl_socket_free(host_sk);
	return rc;
}
