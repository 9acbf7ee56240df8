// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/magic.h>
#include <linux/neighbour.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include "netlink_pod_internal.h"

/* ---- addresses ---- */

int pf_ip_parse(const char *text, struct pf_ip *out)
{
	char buf[64], *slash, *end;
	long prefix, max;

	memset(out, 0, sizeof(*out));
	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		return -EINVAL;
	max = out->family == AF_INET ? 32 : 128;
	out->prefix = (int)max;
	if (slash) {
		prefix = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || prefix < 0 || prefix > max)
			return -EINVAL;
		out->prefix = (int)prefix;
	}
	return 0;
}

const char *pf_ip_str(const struct pf_ip *ip, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(ip->family, ip->addr, a, sizeof(a));
	if (ip->prefix == (ip->family == AF_INET ? 32 : 128))
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%d", a, ip->prefix);
	return buf;
}

struct nl_addr *pf_nl_addr(const struct pf_ip *ip)
{
	struct nl_addr *a = nl_addr_build(ip->family, ip->addr, ip->family == AF_INET ? 4 : 16);

	if (a)
		nl_addr_set_prefixlen(a, ip->prefix);
	return a;
}

bool pf_nl_addr_is(struct nl_addr *a, const struct pf_ip *ip)
{
	unsigned char bytes[16] = { 0 };
	unsigned int n, full, rest;

	if (!a || nl_addr_get_family(a) != ip->family ||
	    (int)nl_addr_get_prefixlen(a) != ip->prefix)
		return false;
	n = nl_addr_get_len(a);
	if (n > sizeof(bytes))
		return false;
	memcpy(bytes, nl_addr_get_binary_addr(a), n);
	full = (unsigned int)ip->prefix / 8;
	rest = (unsigned int)ip->prefix % 8;
	if (memcmp(bytes, ip->addr, full))
		return false;
	return !rest || !((bytes[full] ^ ip->addr[full]) & (0xff << (8 - rest)));
}

/* ---- sockets and namespaces ---- */

int pf_netns_open(const char *path, char *err, size_t len)
{
	struct statfs st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, len, "open network namespace %s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstatfs(fd, &st) || st.f_type != NSFS_MAGIC || ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		close(fd);
		snprintf(err, len, "%s is not a network namespace", path);
		return -EINVAL;
	}
	return fd;
}

int pf_nl_open(struct nl_sock **out, char *err, size_t len)
{
	struct nl_sock *sk = nl_socket_alloc();
	int rc;

	if (!sk) {
		snprintf(err, len, "netlink socket: out of memory");
		return -ENOMEM;
	}
	rc = nl_connect(sk, NETLINK_ROUTE);
	if (rc < 0) {
		snprintf(err, len, "netlink socket: %s", nl_geterror(rc));
		nl_socket_free(sk);
		return -EIO;
	}
	*out = sk;
	return 0;
}

struct pf_ns_open {
	int netns_fd;
	struct nl_sock *sk;
	int err;
	char msg[256];
};

static void *pf_ns_open_thread(void *arg)
{
	struct pf_ns_open *r = arg;

	if (setns(r->netns_fd, CLONE_NEWNET)) {
		r->err = -errno;
		snprintf(r->msg, sizeof(r->msg), "setns: %s", strerror(errno));
		return NULL;
	}
	r->err = pf_nl_open(&r->sk, r->msg, sizeof(r->msg));
	return NULL;
}

int pf_nl_open_in(int netns_fd, const char *netns_path, struct nl_sock **sk, char *err,
		  size_t len)
{
	struct pf_ns_open r = { .netns_fd = netns_fd };
	pthread_t t;
	int rc = pthread_create(&t, NULL, pf_ns_open_thread, &r);

	if (rc) {
		snprintf(err, len, "enter %s: pthread_create: %s", netns_path, strerror(rc));
		return -rc;
	}
	pthread_join(t, NULL);
	if (r.err) {
		snprintf(err, len, "enter %s: %s", netns_path, r.msg);
		return r.err;
	}
	*sk = r.sk;
	return 0;
}

int pf_nl_link_get(struct nl_sock *sk, const char *name, struct rtnl_link **out, char *err,
		   size_t len)
{
	int rc = rtnl_link_get_kernel(sk, 0, name, out);

	if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV)
		return -ENODEV;
	if (rc < 0) {
		snprintf(err, len, "look up link %s: %s", name, nl_geterror(rc));
		return -EIO;
	}
	return 0;
}

/* ---- plumbing ---- */

static int veth_create(struct nl_sock *sk, const struct pf_pod_spec *s, char *err, size_t len)
{
	struct rtnl_link *host = rtnl_link_veth_alloc(), *peer;
	int rc;

	if (!host) {
		snprintf(err, len, "create veth %s: out of memory", s->host_ifname);
		return -ENOMEM;
	}
	peer = rtnl_link_veth_get_peer(host);
	rtnl_link_set_name(host, s->host_ifname);
	rtnl_link_set_mtu(host, (unsigned int)s->mtu);
	rtnl_link_set_flags(host, IFF_UP);
	/* The kernel makes the peer inside the namespace the fd names, under
	 * its final name: nothing ever appears on the node under another name.
	 * The peer is brought up later: up at creation fails with ENOTCONN, as
	 * veth_open runs before the two ends are joined. */
	rtnl_link_set_name(peer, s->pod_ifname);
	rtnl_link_set_mtu(peer, (unsigned int)s->mtu);
	rtnl_link_set_ns_fd(peer, s->netns_fd);
	rc = rtnl_link_add(sk, host, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(peer);
	rtnl_link_veth_release(host);
	if (rc == -NLE_EXIST) {
		snprintf(err, len, "create veth %s: an interface named %s already exists in %s",
			 s->host_ifname, s->pod_ifname, s->netns_path);
		return -EEXIST;
	}
	if (rc < 0) {
		snprintf(err, len, "create veth %s with peer %s in %s: %s", s->host_ifname,
			 s->pod_ifname, s->netns_path, nl_geterror(rc));
		return -EIO;
	}
	return 0;
}

/* The alias is set after creation: the kernel ignores IFLA_IFALIAS when it
 * creates a link. */
static int set_owner(struct nl_sock *sk, struct rtnl_link *host, const char *owner, char *err,
		     size_t len)
{
	struct rtnl_link *change = rtnl_link_alloc();
	int rc;

	if (!change) {
		snprintf(err, len, "tag %s: out of memory", rtnl_link_get_name(host));
		return -ENOMEM;
	}
	rtnl_link_set_ifalias(change, owner);
	rc = rtnl_link_change(sk, host, change, 0);
	rtnl_link_put(change);
	if (rc < 0) {
		snprintf(err, len, "set alias of %s: %s", rtnl_link_get_name(host), nl_geterror(rc));
		return -EIO;
	}
	return 0;
}

static int link_up(struct nl_sock *sk, struct rtnl_link *link, char *err, size_t len)
{
	struct rtnl_link *change = rtnl_link_alloc();
	int rc = -NLE_NOMEM;

	if (change) {
		rtnl_link_set_flags(change, IFF_UP);
		rc = rtnl_link_change(sk, link, change, 0);
	}
	rtnl_link_put(change);
	if (rc < 0) {
		snprintf(err, len, "set %s up: %s", rtnl_link_get_name(link), nl_geterror(rc));
		return -EIO;
	}
	return 0;
}

static int addr_add(struct nl_sock *sk, int ifindex, const struct pf_ip *ip, const char *ifname,
		    char *err, size_t len)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local = pf_nl_addr(ip);
	char buf[64];
	int rc = -NLE_NOMEM;

	if (a && local) {
		rtnl_addr_set_ifindex(a, ifindex);
		rtnl_addr_set_family(a, ip->family);
		rc = rtnl_addr_set_local(a, local);
		/* The pod's address is its own by construction: no DAD delay. */
		if (ip->family == AF_INET6)
			rtnl_addr_set_flags(a, IFA_F_NODAD);
		if (rc == 0)
			rc = rtnl_addr_add(sk, a, 0);
	}
	nl_addr_put(local);
	rtnl_addr_put(a);
	if (rc < 0) {
		snprintf(err, len, "add address %s to %s: %s", pf_ip_str(ip, buf, sizeof(buf)),
			 ifname, nl_geterror(rc));
		return -EIO;
	}
	return 0;
}

/* A route in the main table through ifindex, via gw when given (NULL: on
 * the link). NLM_F_REPLACE: a stale route to the same prefix (an address
 * that belonged to a pod that is gone) is taken over. */
static int route_add(struct nl_sock *sk, int ifindex, const struct pf_ip *dst,
		     const struct pf_ip *gw, const char *ifname, char *err, size_t len)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *d = pf_nl_addr(dst), *g = gw ? pf_nl_addr(gw) : NULL;
	char b1[64], b2[64];
	int rc = -NLE_NOMEM;

	if (r && nh && d && (!gw || g)) {
		rtnl_route_set_family(r, (uint8_t)dst->family);
		rtnl_route_set_table(r, RT_TABLE_MAIN);
		rtnl_route_set_scope(r, gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
		rc = rtnl_route_set_dst(r, d);
		rtnl_route_nh_set_ifindex(nh, ifindex);
		if (g)
			rtnl_route_nh_set_gateway(nh, g);
		rtnl_route_add_nexthop(r, nh);
		nh = NULL; /* the route owns it now */
		if (rc == 0)
			rc = rtnl_route_add(sk, r, NLM_F_REPLACE);
	}
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(d);
	nl_addr_put(g);
	rtnl_route_put(r);
	if (rc < 0) {
		snprintf(err, len, "add route %s%s%s dev %s: %s", pf_ip_str(dst, b1, sizeof(b1)),
			 gw ? " via " : "", gw ? pf_ip_str(gw, b2, sizeof(b2)) : "", ifname,
			 nl_geterror(rc));
		return -EIO;
	}
	return 0;
}

static int neigh_add(struct nl_sock *sk, int ifindex, const struct pf_ip *ip,
		     struct nl_addr *lladdr, const char *ifname, char *err, size_t len)
{
	struct rtnl_neigh *n = rtnl_neigh_alloc();
	struct nl_addr *dst = pf_nl_addr(ip);
	char buf[64];
	int rc = -NLE_NOMEM;

	if (n && dst) {
		rtnl_neigh_set_ifindex(n, ifindex);
		rtnl_neigh_set_family(n, ip->family);
		rtnl_neigh_set_dst(n, dst);
		rtnl_neigh_set_lladdr(n, lladdr);
		rtnl_neigh_set_state(n, NUD_PERMANENT);
		rc = rtnl_neigh_add(sk, n, NLM_F_CREATE | NLM_F_REPLACE);
	}
	nl_addr_put(dst);
	rtnl_neigh_put(n);
	if (rc < 0) {
		snprintf(err, len, "add neighbour %s on %s: %s", pf_ip_str(ip, buf, sizeof(buf)),
			 ifname, nl_geterror(rc));
		return -EIO;
	}
	return 0;
}

/* Inside the pod: addresses, then for each gateway the on-link route and
 * the permanent neighbour entry, then the routes via the gateways (the
 * kernel accepts a gateway only once a link route reaches it). */
static int plumb_pod_side(struct nl_sock *sk, const struct pf_pod_spec *s, int ifindex,
			  struct nl_addr *host_mac, char *err, size_t len)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < s->n_addrs; i++)
		rc = addr_add(sk, ifindex, &s->addrs[i], s->pod_ifname, err, len);
	for (size_t i = 0; !rc && i < s->n_gateways; i++) {
		struct pf_ip host = s->gateways[i];

		host.prefix = host.family == AF_INET ? 32 : 128;
		rc = route_add(sk, ifindex, &host, NULL, s->pod_ifname, err, len);
		if (!rc)
			rc = neigh_add(sk, ifindex, &s->gateways[i], host_mac, s->pod_ifname, err,
				       len);
	}
	for (size_t i = 0; !rc && i < s->n_routes; i++) {
		const struct pf_pod_route *rt = &s->routes[i];

		rc = route_add(sk, ifindex, &rt->dst, rt->has_gw ? &rt->gw : NULL, s->pod_ifname,
			       err, len);
	}
	return rc;
}

static int plumb(struct nl_sock *host_sk, struct nl_sock *pod_sk, const struct pf_pod_spec *s,
		 struct pf_pod_links *out, char *err, size_t len)
{
	struct rtnl_link *host = NULL, *pod = NULL;
	struct nl_addr *host_mac;
	int rc;

	rc = pf_nl_link_get(host_sk, s->host_ifname, &host, err, len);
	if (rc == -ENODEV) {
		snprintf(err, len, "veth %s vanished right after it was made", s->host_ifname);
		return -ENODEV;
	}
	if (rc)
		return rc;
	rc = set_owner(host_sk, host, s->owner, err, len);
	if (rc)
		goto out;
	host_mac = rtnl_link_get_addr(host);
	out->host_ifindex = rtnl_link_get_ifindex(host);
	nl_addr2str(host_mac, out->host_mac, sizeof(out->host_mac));

	rc = pf_nl_link_get(pod_sk, s->pod_ifname, &pod, err, len);
	if (rc == -ENODEV)
		snprintf(err, len, "%s is missing from %s right after it was made", s->pod_ifname,
			 s->netns_path);
	if (rc)
		goto out;
	nl_addr2str(rtnl_link_get_addr(pod), out->pod_mac, sizeof(out->pod_mac));
	rc = link_up(pod_sk, pod, err, len);
	if (!rc)
		rc = plumb_pod_side(pod_sk, s, rtnl_link_get_ifindex(pod), host_mac, err, len);
	for (size_t i = 0; !rc && i < s->n_addrs; i++) {
		struct pf_ip host_route = s->addrs[i];

		host_route.prefix = host_route.family == AF_INET ? 32 : 128;
		rc = route_add(host_sk, out->host_ifindex, &host_route, NULL, s->host_ifname, err,
			       len);
	}
out:
	rtnl_link_put(pod);
	rtnl_link_put(host);
	return rc;
}

int pf_pod_plumb(const struct pf_pod_spec *s, struct pf_pod_links *out, char *err, size_t len)
{
	struct nl_sock *host_sk = NULL, *pod_sk = NULL;
	struct rtnl_link *stale = NULL;
	char ignored[256];
	int rc;

	memset(out, 0, sizeof(*out));
	rc = pf_nl_open(&host_sk, err, len);
	if (rc)
		return rc;
	rc = pf_nl_open_in(s->netns_fd, s->netns_path, &pod_sk, err, len);
	if (rc)
		goto out;
	/* A veth of this name is left from an earlier sandbox of the same pod
	 * (its DEL is late or lost); this sandbox replaces it. */
	rc = pf_nl_link_get(host_sk, s->host_ifname, &stale, err, len);
	if (rc == 0) {
		const char *type = rtnl_link_get_type(stale);

		if (type && !strcmp(type, "veth")) {
			rc = pf_nl_link_delete(host_sk, stale, err, len);
		} else {
			snprintf(err, len, "%s exists on the node and is not a veth (%s)",
				 s->host_ifname, type ? type : "no type");
			rc = -EEXIST;
		}
		rtnl_link_put(stale);
	} else if (rc == -ENODEV) {
		rc = 0;
	}
	if (!rc)
		rc = veth_create(host_sk, s, err, len);
	if (rc)
		goto out;
	rc = plumb(host_sk, pod_sk, s, out, err, len);
	if (rc) {
		struct rtnl_link *made = NULL;

		/* Deleting the host end removes the pod end and every route
		 * and neighbour entry through them. */
		if (pf_nl_link_get(host_sk, s->host_ifname, &made, ignored, sizeof(ignored)) == 0) {
			pf_nl_link_delete(host_sk, made, ignored, sizeof(ignored));
			rtnl_link_put(made);
		}
	}
out:
	nl_socket_free(pod_sk);
	nl_socket_free(host_sk);
	return rc;
}

int pf_pod_unplumb(const char *host_ifname, const char *owner, bool *removed, char *err,
		   size_t len)
{
	struct nl_sock *sk = NULL;
	struct rtnl_link *link = NULL;
	const char *alias;
	int rc;

	*removed = false;
	rc = pf_nl_open(&sk, err, len);
	if (rc)
		return rc;
	rc = pf_nl_link_get(sk, host_ifname, &link, err, len);
	if (rc == -ENODEV) {
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	alias = rtnl_link_get_ifalias(link);
	if (alias && !strcmp(alias, owner)) {
		rc = pf_nl_link_delete(sk, link, err, len);
		*removed = rc == 0;
	}
out:
	rtnl_link_put(link);
	nl_socket_free(sk);
	return rc;
}
