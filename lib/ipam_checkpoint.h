/* SPDX-License-Identifier: Apache-2.0 */
/* The pool's assignments on disk, as JSON, so a restarted (or killed)
 * ipamd hands out no address twice and every pod keeps its own:
 *   {"version": 1,
 *    "pools": [{"family": "ipv4", "kind": "cidr", "name": "10.244.1.0/24",
 *               "next": "10.244.1.9"}],
 *    "assignments": [{"container_id": "...", "ifname": "eth0",
 *                     "netns": "...", "pod_namespace": "x", "pod_name": "a",
 *                     "ipv4": "10.244.1.5", "ipv6": "fd00::5",
 *                     "assigned_at": 1700000000}]}
 * "next" is where each source continues, so the reuse order survives. */
#ifndef PF_IPAM_CHECKPOINT_H
#define PF_IPAM_CHECKPOINT_H

#include <stddef.h>

#include "ipam_pool.h"

/* Writes the pool to path atomically and durably: a temporary file in the
 * same directory, fsync, rename over path, fsync of the directory. When it
 * returns 0 the state survives a crash or power loss; on failure (-errno,
 * err says what failed on what) the previous file is intact. */
int pf_ipam_checkpoint_save(const char *path, struct pf_ipam_pool *pool, char *err,
			    size_t err_len);

/* Restores path into an empty pool. -ENOENT: no checkpoint (a first start).
 * Any other error means the file cannot be trusted (unreadable, not JSON,
 * an unknown version, a field missing or of the wrong type, an address
 * twice or outside the pool): err says what and where, and the daemon must
 * refuse to start rather than risk handing out an address twice. */
int pf_ipam_checkpoint_load(const char *path, struct pf_ipam_pool *pool, char *err,
			    size_t err_len);

#endif
