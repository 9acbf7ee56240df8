/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by netlink_pod.c and netlink_pod_check.c; not a public API. */
#ifndef PF_NETLINK_POD_INTERNAL_H
#define PF_NETLINK_POD_INTERNAL_H

#include <stdbool.h>
#include <netlink/addr.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "netlink_pod.h"

/* A NETLINK_ROUTE socket in the caller's network namespace. */
int pf_nl_open(struct nl_sock **sk, char *err, size_t len);
/* A NETLINK_ROUTE socket inside another network namespace: a netlink
 * socket stays bound to the namespace it was made in, so a short-lived
 * thread enters the namespace, makes the socket and ends; the calling
 * thread never changes namespace. */
int pf_nl_open_in(int netns_fd, const char *netns_path, struct nl_sock **sk, char *err,
		  size_t len);

/* The link called name: 0, -ENODEV when there is none, or -EIO. */
int pf_nl_link_get(struct nl_sock *sk, const char *name, struct rtnl_link **out, char *err,
		   size_t len);

/* Deletes link (a veth: its peer goes too) and returns once the kernel has
 * unlisted both ends and flushed their addresses and routes, without waiting
 * for the kernel to free them (netlink_pod_delete.c says why and how). sk is
 * a socket in link's namespace. An absent link is success. 0 or -errno with
 * err set. */
int pf_nl_link_delete(struct nl_sock *sk, struct rtnl_link *link, char *err, size_t len);

struct nl_addr *pf_nl_addr(const struct pf_ip *ip);
/* True when a (as the kernel reports it: a default route may come back with
 * no address bytes at all) is the prefix ip. */
bool pf_nl_addr_is(struct nl_addr *a, const struct pf_ip *ip);
/* "10.0.0.0/8" for messages; a full-length prefix as the bare address. */
const char *pf_ip_str(const struct pf_ip *ip, char *buf, size_t len);

#endif
