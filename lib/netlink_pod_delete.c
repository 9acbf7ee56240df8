// SPDX-License-Identifier: Apache-2.0
/*
 * Deleting a veth without making the caller wait out the kernel's RCU
 * barrier.
 *
 * An RTM_DELLINK runs, in the kernel, in two parts (net/core/dev.c):
 *  1. under RTNL, unregister_netdevice_many_notify(): both ends of the veth
 *     (veth_dellink queues the peer in the same batch) are closed (their
 *     routes flushed), unlisted (their names free, gone from every dump),
 *     told to the protocols with NETDEV_UNREGISTER (addresses, neighbours,
 *     the rest of the routes), and an RTM_DELLINK notification is sent for
 *     each to RTNLGRP_LINK;
 *  2. after RTNL is released, netdev_run_todo() waits in rcu_barrier() for
 *     every pending RCU callback, then waits for the last references and
 *     frees the devices. Only then is the request acknowledged.
 * The second part is freeing memory, and takes one RCU grace period and
 * more: about 22 ms on the development machine, whatever the load, most of
 * a CNI DEL. Deleting the peer instead, or moving either end to another
 * namespace (__dev_change_net_namespace has an rcu_barrier() of its own,
 * under RTNL), costs the same; only a dying namespace's devices are
 * unregistered off the caller's path (cleanup_net, in a kworker), and the
 * pod's namespace is the runtime's to delete, after DEL.
 *
 * So the request is sent by a child process that nobody waits for, while
 * the caller listens on RTNLGRP_LINK and returns at the RTM_DELLINK of the
 * link: at that point everything the caller and its checks can observe is
 * already gone. The helper closes every descriptor it inherited (stdout
 * included), and it is a process of its own, not a thread: a runtime waits
 * for the plugin's exit (all its threads) and the end of its output, and so
 * does not wait for the helper either.
 *
 * The caller prepares everything (the socket, the request) and the helper
 * only sends, reads the acknowledgement and reports: after a fork every page
 * either side writes first is copied, which costs about 0.1 ms a page on the
 * development machine (a VM whose page tables are shadowed), and a helper
 * that used libnl took 3 ms to reach its request.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "netlink_pod_internal.h"

/* The RTM_DELLINK of one link, by index: 0 once the kernel acknowledges it
 * (or the link is already gone), else -errno. What the helper does, and what
 * the caller does itself when no helper can be made. */
static int pf_link_delete_request(int fd, int ifindex)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg ifi;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_DELLINK,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK, .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
	};
	char buf[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
	const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
	const struct nlmsgerr *ack = NLMSG_DATA(h);
	ssize_t n;

	if (send(fd, &req, sizeof(req), 0) != (ssize_t)sizeof(req))
		return -errno;
	do
		n = recv(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (!NLMSG_OK(h, (size_t)n) || h->nlmsg_type != NLMSG_ERROR ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(*ack)))
		return -EPROTO;
	return ack->error == -ENODEV ? 0 : ack->error;
}

/* The helper keeps the request socket and the report socket and nothing
 * else (not the runtime's stdout, nor the plugin log). The caller may have
 * returned already: the report then goes nowhere, without a SIGPIPE. */
static void __attribute__((noreturn)) pf_link_delete_helper(int req_fd, int report_fd,
							    int ifindex)
{
	int lo = req_fd < report_fd ? req_fd : report_fd;
	int hi = req_fd < report_fd ? report_fd : req_fd;
	int rc;

	if (lo > 0)
		close_range(0, (unsigned int)lo - 1, 0);
	if (hi > lo + 1)
		close_range((unsigned int)lo + 1, (unsigned int)hi - 1, 0);
	close_range((unsigned int)hi + 1, ~0U, 0);
	rc = pf_link_delete_request(req_fd, ifindex);
	send(report_fd, &rc, sizeof(rc), MSG_NOSIGNAL);
	_exit(0);
}

/* A socket that hears of every link change in the caller's namespace. */
static int pf_link_monitor_open(const char *name, char *err, size_t len)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	int rc;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, len, "delete link %s: link monitor: %s", name, strerror(-rc));
		return rc;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = -errno;
		snprintf(err, len, "delete link %s: link monitor: bind: %s", name, strerror(-rc));
		close(fd);
		return rc;
	}
	return fd;
}

/* Reads what the monitor holds: 1 once the RTM_DELLINK of ifindex is among
 * it, 0 when it is not (yet), -ENOBUFS when notifications were lost (the
 * caller then asks the kernel), or another -errno. */
static int pf_link_monitor_saw_delete(int fd, int ifindex)
{
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			const struct ifinfomsg *ifi = NLMSG_DATA(h);

			if (h->nlmsg_type == RTM_DELLINK &&
			    h->nlmsg_len >= NLMSG_LENGTH(sizeof(*ifi)) && ifi->ifi_index == ifindex)
				return 1;
		}
	}
}

/* Is the link still listed? 1 gone, 0 there, or -EIO with err set. */
static int pf_link_is_gone(struct nl_sock *sk, struct rtnl_link *link, char *err, size_t len)
{
	struct rtnl_link *now = NULL;
	int rc = rtnl_link_get_kernel(sk, rtnl_link_get_ifindex(link), NULL, &now);

	rtnl_link_put(now);
	if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV)
		return 1;
	if (rc < 0) {
		snprintf(err, len, "look up link %s after deleting it: %s",
			 rtnl_link_get_name(link), nl_geterror(rc));
		return -EIO;
	}
	return 0;
}

/* Waits for the first of: the link's RTM_DELLINK, the helper's report. */
static int pf_link_delete_wait(struct nl_sock *sk, struct rtnl_link *link, int monitor,
			       int report_fd, char *err, size_t len)
{
	const char *name = rtnl_link_get_name(link);

	for (;;) {
		struct pollfd pfd[2] = { { .fd = monitor, .events = POLLIN },
					 { .fd = report_fd, .events = POLLIN } };
		ssize_t n;
		int rc;

		if (poll(pfd, 2, -1) < 0) {
			rc = -errno;
			if (rc == -EINTR)
				continue;
			snprintf(err, len, "delete link %s: poll: %s", name, strerror(-rc));
			return rc;
		}
		if (pfd[0].revents) {
			rc = pf_link_monitor_saw_delete(monitor, rtnl_link_get_ifindex(link));
			if (rc == -ENOBUFS) /* notifications were lost: ask */
				rc = pf_link_is_gone(sk, link, err, len);
			else if (rc < 0)
				snprintf(err, len, "delete link %s: link monitor: %s", name,
					 strerror(-rc));
			if (rc)
				return rc < 0 ? rc : 0;
		}
		if (!pfd[1].revents)
			continue;
		n = recv(report_fd, &rc, sizeof(rc), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(rc)) {
			snprintf(err, len, "delete link %s: the helper process ended without a report",
				 name);
			return -EIO;
		}
		if (rc)
			snprintf(err, len, "delete link %s: %s", name, strerror(-rc));
		return rc;
	}
}

int pf_nl_link_delete(struct nl_sock *sk, struct rtnl_link *link, char *err, size_t len)
{
	const char *name = rtnl_link_get_name(link);
	int ifindex = rtnl_link_get_ifindex(link);
	int monitor, req_fd, report[2], rc;
	pid_t pid;

	monitor = pf_link_monitor_open(name, err, len);
	if (monitor < 0)
		return monitor;
	req_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (req_fd < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, report)) {
		rc = -errno;
		snprintf(err, len, "delete link %s: %s: %s", name,
			 req_fd < 0 ? "netlink socket" : "socketpair", strerror(-rc));
		if (req_fd >= 0)
			close(req_fd);
		close(monitor);
		return rc;
	}
	pid = fork();
	if (pid == 0)
		pf_link_delete_helper(req_fd, report[1], ifindex);
	close(report[1]);
	if (pid < 0) {
		/* No helper (out of processes or memory): wait here then. */
		rc = pf_link_delete_request(req_fd, ifindex);
		if (rc)
			snprintf(err, len, "delete link %s: %s", name, strerror(-rc));
	} else {
		rc = pf_link_delete_wait(sk, link, monitor, report[0], err, len);
	}
	close(report[0]);
	close(req_fd);
	close(monitor);
	/* Reaped when it has already ended; else it is still freeing the link
	 * and stays the caller's child until the caller exits (the plugin, a
	 * moment later), then its new parent reaps it. */
	if (pid > 0)
		waitpid(pid, NULL, WNOHANG);
	return rc;
}
