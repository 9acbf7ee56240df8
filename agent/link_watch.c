// SPDX-License-Identifier: Apache-2.0
/* Host veths going away: RTM_DELLINK on the rtnetlink link group, through
 * libnl. A pod whose veth is deleted (the runtime tore its sandbox down,
 * with or without a CNI DEL) is marked gone and leaves at the next
 * reconcile. Each reconcile also checks every veth by name, so a missed
 * message (a socket overflow) only delays this. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "log.h"
#include "agent.h"

struct agent_link_watch {
	struct nl_sock *sk;
	struct agent *a; /* set for the duration of a read */
	int marked;
};

static int agent_link_msg(struct nl_msg *msg, void *arg)
{
	struct agent_link_watch *w = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	const struct ifinfomsg *ifi;
	struct agent_pod *p;

	if (h->nlmsg_type != RTM_DELLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return NL_OK;
	ifi = nlmsg_data(h);
	p = agent_pod_by_ifindex(w->a, ifi->ifi_index);
	if (p) {
		pf_info("pod %s/%s: veth %s (ifindex %d) was deleted", p->lp.ns, p->lp.name,
			p->lp.host_veth, ifi->ifi_index);
		p->gone = true;
		w->marked++;
	}
	return NL_OK;
}

int agent_link_watch_open(struct agent_link_watch **out)
{
	struct agent_link_watch *w = calloc(1, sizeof(*w));
	int rc;

	*out = NULL;
	if (!w || !(w->sk = nl_socket_alloc())) {
		free(w);
		return -ENOMEM;
	}
	nl_socket_disable_seq_check(w->sk);
	nl_socket_modify_cb(w->sk, NL_CB_VALID, NL_CB_CUSTOM, agent_link_msg, w);
	rc = nl_connect(w->sk, NETLINK_ROUTE);
	if (!rc)
		rc = nl_socket_add_membership(w->sk, RTNLGRP_LINK);
	if (!rc)
		rc = nl_socket_set_nonblocking(w->sk);
	if (rc) {
		pf_err("watch interfaces over rtnetlink: %s", nl_geterror(rc));
		agent_link_watch_close(w);
		return -EIO;
	}
	*out = w;
	return 0;
}

int agent_link_watch_fd(const struct agent_link_watch *w)
{
	return nl_socket_get_fd(w->sk);
}

int agent_link_watch_read(struct agent_link_watch *w, struct agent *a)
{
	int rc;

	w->a = a;
	w->marked = 0;
	while ((rc = nl_recvmsgs_default(w->sk)) >= 0)
		;
	w->a = NULL;
	if (rc == -NLE_AGAIN)
		return w->marked;
	/* Most likely an overflow (messages were lost): a reconcile checks
	 * every veth by name. */
	pf_warn("read interface events: %s; checking every pod's veth", nl_geterror(rc));
	return w->marked + 1;
}

void agent_link_watch_close(struct agent_link_watch *w)
{
	if (!w)
		return;
	nl_socket_free(w->sk);
	free(w);
}
