// SPDX-License-Identifier: Apache-2.0
/* Attaching the datapath to a pod's host-side veth (TC clsact) and binding
 * the pod to its policy set. */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath_internal.h"
#include "log.h"

/* One filter per hook, at a fixed handle and priority, so attaching again
 * replaces ours and never stacks a second copy. */
#define PF_TC_HANDLE 0x70f
#define PF_TC_PRIORITY 1

static const enum bpf_tc_attach_point pf_tc_point[2] = {
	[PF_DIR_INGRESS] = BPF_TC_EGRESS, /* sent to the pod */
	[PF_DIR_EGRESS] = BPF_TC_INGRESS, /* sent by the pod */
};

static const char *pf_ifname(int ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "ifindex %d", ifindex);
	return buf;
}

int pf_datapath_attach(struct pf_datapath *dp, int ifindex)
{
	char name[IF_NAMESIZE];
	int err;

	for (int d = 0; d < 2; d++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = pf_tc_point[d]);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PF_TC_HANDLE, .priority = PF_TC_PRIORITY,
			    .prog_fd = dp->prog_fd[d], .flags = BPF_TC_F_REPLACE);

		err = bpf_tc_hook_create(&hook);
		if (err && err != -EEXIST) {
			pf_err("create clsact qdisc on %s: %s", pf_ifname(ifindex, name),
			       strerror(-err));
			return err;
		}
		err = bpf_tc_attach(&hook, &opts);
		if (err) {
			pf_err("attach %s to %s: %s", pf_prog_names[d], pf_ifname(ifindex, name),
			       strerror(-err));
			return err;
		}
	}
	return 0;
}

int pf_datapath_detach(struct pf_datapath *dp, int ifindex)
{
	char name[IF_NAMESIZE];
	int ret = 0;

	(void)dp;
	for (int d = 0; d < 2; d++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = pf_tc_point[d]);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PF_TC_HANDLE, .priority = PF_TC_PRIORITY);
		int err = bpf_tc_detach(&hook, &opts);

		/* Gone already (the veth went with its pod) is what we wanted. */
		if (err && err != -ENOENT && err != -ENODEV && err != -EINVAL) {
			pf_err("detach %s from %s: %s", pf_prog_names[d], pf_ifname(ifindex, name),
			       strerror(-err));
			ret = err;
		}
	}
	return ret;
}

int pf_datapath_attached_prog(int ifindex, enum pf_dir dir, uint32_t *prog_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = pf_tc_point[dir & 1]);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PF_TC_HANDLE, .priority = PF_TC_PRIORITY);
	int err = bpf_tc_query(&hook, &opts);

	if (err)
		return err;
	*prog_id = opts.prog_id;
	return 0;
}

int pf_datapath_pod_bind(struct pf_datapath *dp, int ifindex, uint32_t set_id)
{
	struct pf_pod_val v = { .set_id = set_id };
	uint32_t key = (uint32_t)ifindex;

	/* The pod carries a copy of its set's value (abi/podfence_abi.h); a
	 * set with no rules applied yet is all zero. */
	if (bpf_map_lookup_elem(dp->map_fd[PF_MAP_SETS], &set_id, &v.set)) {
		int err = -errno;

		if (err != -ENOENT) {
			pf_err("read policy set %u from pf_sets to bind ifindex %d: %s", set_id,
			       ifindex, strerror(errno));
			return err;
		}
		memset(&v.set, 0, sizeof(v.set));
	}
	if (bpf_map_update_elem(dp->map_fd[PF_MAP_PODS], &key, &v, BPF_ANY)) {
		int err = -errno;

		pf_err("bind ifindex %d to policy set %u in pf_pods: %s", ifindex, set_id,
		       strerror(errno));
		return err;
	}
	return 0;
}

int pf_datapath_pod_unbind(struct pf_datapath *dp, int ifindex)
{
	uint32_t key = (uint32_t)ifindex;

	if (bpf_map_delete_elem(dp->map_fd[PF_MAP_PODS], &key) && errno != ENOENT) {
		int err = -errno;

		pf_err("unbind ifindex %d from pf_pods: %s", ifindex, strerror(errno));
		return err;
	}
	return pf_ct_forget_ifindex(dp, key);
}
