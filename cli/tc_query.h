/* SPDX-License-Identifier: Apache-2.0 */
/* Which program sits at podfence's TC filter on an interface (read-only
 * netlink query, in the current network namespace). */
#ifndef PF_CLI_TC_QUERY_H
#define PF_CLI_TC_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "podfence_abi.h"

/* The hook a direction's program is attached to: "tc-egress" (to the pod)
 * or "tc-ingress" (from the pod). */
const char *tc_hook_name(enum pf_dir dir);

/* The state of dir's filter on ifindex, in words:
 *   "attached"                pinned_prog_id is there
 *   "other program (id N)"    an older or foreign program is at our filter
 *   "not attached"
 *   "no such interface"       not in this network namespace
 *   "query failed: <errno>"
 * Writes into buf and returns it. */
const char *tc_attach_state(int ifindex, enum pf_dir dir, uint32_t pinned_prog_id, char *buf,
			    size_t len);

#endif
