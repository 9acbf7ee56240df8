// SPDX-License-Identifier: Apache-2.0
/* CNI 1.1.0 GC and STATUS.
 *
 * GC releases every address podfence-ipamd holds for an attachment the
 * runtime no longer lists in cni.dev/valid-attachments. Veths need no
 * sweep: a veth dies with its pod's network namespace, and its routes with
 * it; a leftover host veth of a re-created pod is replaced by its next ADD.
 *
 * STATUS answers whether an ADD could succeed now: podfence-ipamd healthy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rpc.h"

static bool is_valid(const struct pf_cni_netconf *conf, const struct ipamd_assignment *a)
{
	for (size_t i = 0; i < conf->n_valid; i++)
		if (!strcmp(conf->valid[i].container_id, a->container_id) &&
		    !strcmp(conf->valid[i].ifname, a->ifname))
			return true;
	return false;
}

int cmd_gc(struct pf_cni_call *c)
{
	struct pf_cni_error first = { 0 };
	struct ipamd_assignment *list;
	size_t n, released = 0, failed = 0;

	if (ipamd_list_assignments(c->conf.ipamd_socket, &list, &n, &c->err))
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct pf_cni_error e = { 0 };
		bool freed;
		char ipv4[64];

		if (is_valid(&c->conf, &list[i]))
			continue;
		/* One stale attachment that cannot be released does not keep
		 * the others. */
		if (ipamd_del_network(c->conf.ipamd_socket, list[i].container_id, list[i].ifname,
				      &freed, ipv4, sizeof(ipv4), &e)) {
			if (!failed++)
				first = e;
			continue;
		}
		pf_debug("GC released %s %s (%s)", list[i].container_id, list[i].ifname, ipv4);
		released += freed;
	}
	free(list);
	json_object_set_new(c->log, "assignments", json_integer((json_int_t)n));
	json_object_set_new(c->log, "released", json_integer((json_int_t)released));
	if (failed) {
		c->err = first;
		pf_cni_details(&c->err, "GC released %zu stale attachment(s); %zu could not be released, the first: %s",
			       released, failed, first.msg);
		return -1;
	}
	return 0;
}

int cmd_status(struct pf_cni_call *c)
{
	char cause[sizeof(c->err.msg) + sizeof(c->err.details) + 2];

	if (!ipamd_health(c->conf.ipamd_socket, &c->err))
		return 0;
	/* Whatever the cause, the plugin cannot serve ADD now (SPEC.md, STATUS:
	 * code 50, "the plugin is not available"). */
	snprintf(cause, sizeof(cause), "%s%s%s", c->err.msg, c->err.details[0] ? ": " : "",
		 c->err.details);
	pf_cni_fail(&c->err, PF_CNI_ERR_NOT_AVAILABLE, "podfence-ipamd is not ready");
	pf_cni_details(&c->err, "%.1000s", cause);
	return -1;
}
