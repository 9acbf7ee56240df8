// SPDX-License-Identifier: Apache-2.0
/* CNI CHECK: the pod's network is still what ADD returned (the prevResult):
 * both veth ends, addresses, gateway neighbours, routes on both sides, and
 * the address still assigned to this attachment by podfence-ipamd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpc.h"

/* The address ipamd holds for this attachment must be the one prevResult
 * names. */
static int check_assignment(struct pf_cni_call *c, const struct pf_cni_result *prev)
{
	struct ipamd_assignment *list;
	const char *want = "";
	char bare[48] = "";
	size_t n;
	int rc = -1;

	for (size_t i = 0; i < prev->n_ips; i++)
		if (!strchr(prev->ips[i].address, ':'))
			want = prev->ips[i].address;
	snprintf(bare, sizeof(bare), "%.*s", (int)strcspn(want, "/"), want);
	if (ipamd_list_assignments(c->conf.ipamd_socket, &list, &n, &c->err))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].container_id, c->env.container_id) ||
		    strcmp(list[i].ifname, c->env.ifname))
			continue;
		if (bare[0] && strcmp(list[i].ipv4, bare))
			pf_cni_fail(&c->err, PF_CNI_ERR_IPAMD,
				    "podfence-ipamd assigned %s to container %s %s, not %s",
				    list[i].ipv4, c->env.container_id, c->env.ifname, bare);
		else
			rc = 0;
		goto out;
	}
	pf_cni_fail(&c->err, PF_CNI_ERR_IPAMD,
		    "podfence-ipamd holds no address for container %s %s", c->env.container_id,
		    c->env.ifname);
out:
	free(list);
	return rc;
}

int cmd_check(struct pf_cni_call *c)
{
	const struct pf_cni_iface *host = NULL, *pod = NULL;
	struct pf_pod_spec spec = { 0 };
	struct pf_cni_result prev;
	char owner[256], err[512];
	int fd, rc;

	if (pf_cni_result_parse(c->conf.prev_result, &prev, &c->err))
		return -1;
	for (size_t i = 0; i < prev.n_ifaces; i++) {
		const struct pf_cni_iface *f = &prev.ifaces[i];

		if (!f->sandbox[0])
			host = f;
		else if (!strcmp(f->name, c->env.ifname))
			pod = f;
	}
	if (!host || !pod)
		return pf_cni_fail(&c->err, PF_CNI_ERR_CONFIG,
				   "prevResult has no host interface or no interface %s with a sandbox",
				   c->env.ifname);
	if (pod_spec_from_result(&prev, &spec, "prevResult", PF_CNI_ERR_CONFIG, &c->err))
		return -1;
	fd = pod_netns_open(c);
	if (fd < 0)
		return -1;
	pod_owner_tag(c->env.container_id, c->env.ifname, owner, sizeof(owner));
	spec.netns_fd = fd;
	spec.netns_path = c->env.netns;
	spec.pod_ifname = c->env.ifname;
	spec.host_ifname = host->name;
	spec.owner = owner;
	spec.mtu = pod->mtu; /* in prevResult from 1.1.0 on; 0 is not checked */
	json_object_set_new(c->log, "host_veth", json_string(host->name));
	rc = pf_pod_check(&spec, err, sizeof(err));
	close(fd);
	if (rc) {
		pf_cni_fail(&c->err, PF_CNI_ERR_PLUMBING, "pod %s/%s: %s", c->env.pod_namespace,
			    c->env.pod_name, err);
		return -1;
	}
	return check_assignment(c, &prev);
}
