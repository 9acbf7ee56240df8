// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "datapath.h"
#include "tc_query.h"

const char *tc_hook_name(enum pf_dir dir)
{
	return dir == PF_DIR_INGRESS ? "tc-egress" : "tc-ingress";
}

const char *tc_attach_state(int ifindex, enum pf_dir dir, uint32_t pinned_prog_id, char *buf,
			    size_t len)
{
	uint32_t id = 0;
	int err = pf_datapath_attached_prog(ifindex, dir, &id);

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
