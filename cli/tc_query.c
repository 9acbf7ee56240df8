// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "tc_query.h"

/* The filter lib/datapath_attach.c installs: the same handle and priority
 * must be asked for, as TC can only be queried for one known filter. */
#define PF_TC_HANDLE 0x70f
#define PF_TC_PRIORITY 1

static const enum bpf_tc_attach_point tc_point[2] = {
	[PF_DIR_INGRESS] = BPF_TC_EGRESS, /* sent to the pod */
	[PF_DIR_EGRESS] = BPF_TC_INGRESS, /* sent by the pod */
};

const char *tc_hook_name(enum pf_dir dir)
{
	return tc_point[dir] == BPF_TC_EGRESS ? "tc-egress" : "tc-ingress";
}

int tc_prog_id(int ifindex, enum pf_dir dir, uint32_t *prog_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = tc_point[dir]);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = PF_TC_HANDLE, .priority = PF_TC_PRIORITY);
	int err = bpf_tc_query(&hook, &opts);

	if (err)
		return err;
	*prog_id = opts.prog_id;
	return 0;
}

const char *tc_attach_state(int ifindex, enum pf_dir dir, uint32_t pinned_prog_id, char *buf,
			    size_t len)
{
	uint32_t id = 0;
	int err = tc_prog_id(ifindex, dir, &id);

	if (!err && id == pinned_prog_id)
		snprintf(buf, len, "attached");
	else if (!err)
		snprintf(buf, len, "other program (id %u)", id);
	/* No clsact qdisc at all reads as EINVAL from the kernel. */
	else if (err == -ENOENT || err == -EINVAL)
		snprintf(buf, len, "not attached");
	else if (err == -ENODEV)
		snprintf(buf, len, "no such interface");
	else
		snprintf(buf, len, "query failed: %s", strerror(-err));
	return buf;
}
