// SPDX-License-Identifier: Apache-2.0
/* CNI ADD: an address from podfence-ipamd, the veth pair and routes, in
 * strict mode the pod's policy from podfence-agent, then the result. A
 * failure at any step undoes the steps before it: no veth, no route and no
 * address assignment outlive a failed ADD. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "rpc.h"

/* Adds "<what>: <why>" to the error's details, after what is there. */
static void append_details(struct pf_cni_error *e, const char *what, const char *why)
{
	size_t n = strlen(e->details);

	snprintf(e->details + n, sizeof(e->details) - n, "%s%s: %s", n ? "; " : "", what, why);
}

/* Releases the address. Also after a failed add-network: a request that
 * timed out may still have been applied. */
static void undo_assignment(struct pf_cni_call *c)
{
	struct pf_cni_error e = { 0 };
	bool released;
	char ipv4[64];

	if (ipamd_del_network(c->conf.ipamd_socket, c->env.container_id, c->env.ifname, &released,
			      ipv4, sizeof(ipv4), &e))
		append_details(&c->err, "rollback of the address failed", e.msg);
	json_object_set_new(c->log, "rolled_back", json_true());
}

static void undo_plumbing(struct pf_cni_call *c, const char *host, const char *owner)
{
	char err[512];
	bool removed;

	if (pf_pod_unplumb(host, owner, &removed, err, sizeof(err)))
		append_details(&c->err, "rollback of the veth failed", err);
}

static void log_result(struct pf_cni_call *c, const struct pf_cni_result *r, bool strict)
{
	for (size_t i = 0; i < r->n_ips; i++)
		json_object_set_new(c->log, strchr(r->ips[i].address, ':') ? "ipv6" : "ipv4",
				    json_string(r->ips[i].address));
	json_object_set_new(c->log, "mode", json_string(strict ? "strict" : "standard"));
}

/* The interfaces of the result: the host veth, then the pod's, which every
 * address belongs to. */
static void fill_interfaces(struct pf_cni_call *c, struct pf_cni_result *r, const char *host,
			    const struct pf_pod_links *links)
{
	struct pf_cni_iface *h = &r->ifaces[0], *p = &r->ifaces[1];

	snprintf(h->name, sizeof(h->name), "%s", host);
	snprintf(h->mac, sizeof(h->mac), "%s", links->host_mac);
	h->mtu = c->conf.mtu;
	snprintf(p->name, sizeof(p->name), "%s", c->env.ifname);
	snprintf(p->mac, sizeof(p->mac), "%s", links->pod_mac);
	snprintf(p->sandbox, sizeof(p->sandbox), "%s", c->env.netns);
	p->mtu = c->conf.mtu;
	r->n_ifaces = 2;
	for (size_t i = 0; i < r->n_ips; i++)
		r->ips[i].iface = 1;
}

int cmd_add(struct pf_cni_call *c)
{
	struct pf_pod_spec spec = { 0 };
	struct pf_pod_links links;
	struct pf_cni_result r;
	char host[IFNAMSIZ], owner[256], err[512];
	bool strict = false;
	int fd, rc = -1;

	if (pod_host_ifname(c, host))
		return -1;
	json_object_set_new(c->log, "host_veth", json_string(host));
	/* Before anything is asked of ipamd: a missing netns costs nothing. */
	fd = pod_netns_open(c);
	if (fd < 0)
		return -1;
	if (ipamd_add_network(c, &r, &strict, &c->err) ||
	    pod_spec_from_result(&r, -1, &spec, "podfence-ipamd reply to add-network",
				 PF_CNI_ERR_IPAMD, &c->err)) {
		undo_assignment(c);
		goto out;
	}
	log_result(c, &r, strict);
	pf_debug("ADD %s: %zu address(es) from ipamd, mode %s", c->env.container_id, r.n_ips,
		 strict ? "strict" : "standard");

	pod_owner_tag(c->env.container_id, c->env.ifname, owner, sizeof(owner));
	spec.netns_fd = fd;
	spec.netns_path = c->env.netns;
	spec.pod_ifname = c->env.ifname;
	spec.host_ifname = host;
	spec.owner = owner;
	spec.mtu = c->conf.mtu;
	if (pf_pod_plumb(&spec, &links, err, sizeof(err))) {
		pf_cni_fail(&c->err, PF_CNI_ERR_PLUMBING, "cannot plumb pod %s/%s",
			    c->env.pod_namespace, c->env.pod_name);
		pf_cni_details(&c->err, "%s", err);
		undo_assignment(c);
		goto out;
	}
	pf_debug("ADD %s: plumbed %s <-> %s in %s", c->env.container_id, host, c->env.ifname,
		 c->env.netns);

	/* The agent learns of every pod here. Strict mode: the pod may not start
	 * before its policy is in place, so a failure fails the ADD. Standard
	 * mode: the pod is open until its policy lands, so it goes on. */
	if (agent_enforce_pod(c, host, &r, &c->err)) {
		if (strict) {
			undo_plumbing(c, host, owner);
			undo_assignment(c);
			goto out;
		}
		/* Said in the call's one log line, not a line of its own. */
		json_object_set_new(c->log, "agent_not_told", json_string(c->err.msg));
		c->err = (struct pf_cni_error){ 0 };
	}
	fill_interfaces(c, &r, host, &links);
	c->output = pf_cni_result_render(&r, c->conf.cni_version);
	if (!c->output) {
		pf_cni_fail(&c->err, PF_CNI_ERR_IO, "out of memory writing the ADD result");
		undo_plumbing(c, host, owner);
		undo_assignment(c);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}
