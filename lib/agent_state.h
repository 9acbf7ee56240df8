/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podfence-agent's state file, so a restarted (or killed) agent knows its
 * local pods and what each policy set holds, and re-adopts the pinned
 * datapath without rewriting sets whose spec did not change:
 *   {"version": 1,
 *    "pods": [<pf_local_pod JSON>, ...],
 *    "sets": [{"id": 3, "key": "9f0c...", "gen": 12, "rules": 4, "hosts": 10}]}
 * "key" is the set's pf_policy_spec_key (16 hex digits), "gen" the
 * generation pf_sets held when it was written: a set whose pinned
 * generation differs was changed after the file was written, so its key is
 * not trusted. Saved atomically (atomic_file.h).
 */
#ifndef PF_AGENT_STATE_H
#define PF_AGENT_STATE_H

#include <stddef.h>

#include "local_pod.h"
#include "set_table.h"

int pf_agent_state_save(const char *path, const struct pf_local_pod *const *pods, size_t n,
			const struct pf_set_table *sets, char *err, size_t err_len);

/* Fills *pods (malloc'd array of n, each freed with pf_local_pod_free) and
 * restores the sets into an empty table, refs counted from the pods.
 * -ENOENT: no file (a first start). Any other error: the file cannot be
 * trusted; err says what and where. */
int pf_agent_state_load(const char *path, struct pf_local_pod **pods, size_t *n,
			struct pf_set_table *sets, char *err, size_t err_len);

#endif
