/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A pod's network, over netlink (libnl-route-3), the seed's routed layout:
 *
 *   node netns                             pod netns
 *   host veth <pf + hash> ==== veth ====== CNI_IFNAME (e.g. eth0)
 *     route <pod ip>/32 dev host veth        address <pod ip>/32 (and /128)
 *     scope link                             route 169.254.1.1 dev eth0 scope link
 *                                            default via 169.254.1.1 dev eth0
 *                                            neigh 169.254.1.1 lladdr <host veth MAC>
 *                                              PERMANENT
 *
 * The pod sends everything to the link-local gateway, which resolves to the
 * host veth's MAC without ARP; the node routes it on like any other packet.
 * IPv6 is the same with fe80::1 and /128.
 *
 * The host veth carries an owner tag (the container id and interface name)
 * as its interface alias: DEL removes a veth only when the tag is its own,
 * so a late DEL of an old sandbox never removes the veth of a new sandbox of
 * the same pod (both get the same name).
 */
#ifndef PF_NETLINK_POD_H
#define PF_NETLINK_POD_H

#include <stdbool.h>
#include <stddef.h>

struct pf_ip {
	int family;             /* AF_INET or AF_INET6 */
	int prefix;             /* prefix length */
	unsigned char addr[16]; /* network byte order; IPv4 in the first 4 */
};

/* Parses "10.1.2.3/32", "fd00::1/128", "0.0.0.0/0" or a bare address (a
 * full-length prefix). Host bits are kept. Returns 0 or -EINVAL. */
int pf_ip_parse(const char *text, struct pf_ip *out);

struct pf_pod_route {
	struct pf_ip dst;
	struct pf_ip gw;
	bool has_gw;
};

#define PF_POD_MAX_ADDRS 2
#define PF_POD_MAX_ROUTES 8

struct pf_pod_spec {
	int netns_fd;            /* the pod's network namespace (pf_netns_open) */
	const char *netns_path;  /* for messages */
	const char *pod_ifname;
	const char *host_ifname;
	const char *owner;       /* the host veth's alias; at most 255 characters */
	int mtu;
	struct pf_ip addrs[PF_POD_MAX_ADDRS];    /* the pod's /32 and /128 */
	size_t n_addrs;
	struct pf_ip gateways[PF_POD_MAX_ADDRS]; /* link-local, answered by the host veth */
	size_t n_gateways;
	struct pf_pod_route routes[PF_POD_MAX_ROUTES];
	size_t n_routes;
};

struct pf_pod_links {
	int host_ifindex;
	char host_mac[18];
	char pod_mac[18];
};

/* Opens a network namespace file (O_RDONLY | O_CLOEXEC) and checks that it
 * is one. Returns the fd, or -ENOENT (no such path), -EINVAL (not a network
 * namespace) or another -errno, with err saying which path and why. */
int pf_netns_open(const char *path, char *err, size_t len);

/* Creates the veth pair with the peer made directly inside the pod netns
 * (no temporary name on the node), then addresses, routes and the
 * neighbour entry on both sides. A host veth left over under the same name
 * is removed first. On failure, what was made is removed again. */
int pf_pod_plumb(const struct pf_pod_spec *s, struct pf_pod_links *out, char *err, size_t len);

/* Removes the host veth (and with it the peer and every route through it)
 * when its alias is owner. Absent, or owned by someone else: success with
 * *removed false. */
int pf_pod_unplumb(const char *host_ifname, const char *owner, bool *removed, char *err,
		   size_t len);

/* Verifies every piece pf_pod_plumb makes: both links up with the MTU, the
 * owner tag, the addresses, the neighbour entries, the routes on both
 * sides. Returns 0, or -ENOENT/-EINVAL with err naming the missing piece. */
int pf_pod_check(const struct pf_pod_spec *s, char *err, size_t len);

#endif
