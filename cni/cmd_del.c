// SPDX-License-Identifier: Apache-2.0
/* CNI DEL: removes the host veth (the pod end and every route through it go
 * with it) and releases the address. Idempotent: what is already gone is
 * success. SPEC.md: "When CNI_NETNS and/or prevResult are not provided, the
 * plugin should clean up as many resources as possible (e.g. releasing IPAM
 * allocations) and return a successful response." Neither is needed here:
 * the veth is found by name and owner tag, the address by container id and
 * interface name. */
#include <stdio.h>
#include <string.h>

#include "rpc.h"

/* The host veth ADD made: the first interface without a sandbox in
 * prevResult (podfence-cni is first in its chain), else the name ADD
 * derived from the pod. A prevResult that does not parse
 * is no reason to leave the pod's resources behind: the derived name serves. */
static int host_ifname(struct pf_cni_call *c, char out[IFNAMSIZ])
{
	struct pf_cni_error ignored = { 0 };
	struct pf_cni_result prev;

	if (c->conf.prev_result && !pf_cni_result_parse(c->conf.prev_result, &prev, &ignored))
		for (size_t i = 0; i < prev.n_ifaces; i++)
			if (!prev.ifaces[i].sandbox[0]) {
				snprintf(out, IFNAMSIZ, "%s", prev.ifaces[i].name);
				return 0;
			}
	return pod_host_ifname(c, out);
}

/* ipamd's release (its checkpoint is most of it) runs while the veth is
 * removed: the request is sent first, its reply read after. The address may
 * so be free before the routes to it are gone (for a moment; or, when the
 * removal fails, until the runtime's retry of DEL), which is safe: a
 * released address joins the back of ipamd's warm set (lib/ipam_pool.c), so
 * the next pods get others first; and should it go to a new pod at once (a
 * pool with nothing else left), that pod's ADD installs its host route with
 * NLM_F_REPLACE, taking the prefix over from the old veth, whose removal
 * then flushes only what goes through the old veth itself. */
int cmd_del(struct pf_cni_call *c)
{
	char host[IFNAMSIZ], owner[256], err[512], ipv4[64] = "";
	struct rpc_pending release;
	bool removed, released = false;
	int ipamd_rc, veth_rc;

	if (host_ifname(c, host))
		return -1;
	pod_owner_tag(c->env.container_id, c->env.ifname, owner, sizeof(owner));
	json_object_set_new(c->log, "host_veth", json_string(host));
	/* ipamd down: an error (code 11), so the runtime retries the DEL rather
	 * than the address leaking; the veth is removed all the same. */
	ipamd_rc = ipamd_del_network_send(c->conf.ipamd_socket, c->env.container_id,
					  c->env.ifname, &release, &c->err);
	veth_rc = pf_pod_unplumb(host, owner, &removed, err, sizeof(err));
	if (!ipamd_rc)
		ipamd_rc = ipamd_del_network_receive(&release, &released, ipv4, sizeof(ipv4),
						     &c->err);
	if (veth_rc) {
		pf_cni_fail(&c->err, PF_CNI_ERR_PLUMBING, "cannot remove host veth %s", host);
		pf_cni_details(&c->err, "%s", err);
		return -1;
	}
	json_object_set_new(c->log, "veth_removed", json_boolean(removed));
	if (ipamd_rc)
		return -1;
	json_object_set_new(c->log, "released", json_boolean(released));
	/* Best effort: the agent also notices the host veth going away. */
	agent_release_pod(c);
	if (ipv4[0])
		json_object_set_new(c->log, "ipv4", json_string(ipv4));
	return 0;
}
