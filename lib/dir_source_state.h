/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the dir: source had in force, saved per manifest file, so a
 * restarted agent starts from it: STATE_DIR/<file>.json holds
 *   {"version": 1, "file": "policies.yaml", "objects": [<good JSON>, ...]}
 * the version of each object of that file the cache last took. Loaded
 * before the first scan (pf_dir_source_seed), it makes a restart behave as
 * if the agent had kept running: a manifest that went bad while it was down,
 * or before, leaves its last good version in force instead of nothing.
 */
#ifndef PF_DIR_SOURCE_STATE_H
#define PF_DIR_SOURCE_STATE_H

#include <stddef.h>

#include "dir_source.h"

/* Writes (atomically) or removes the saved objects of one file. Returns 0
 * or -errno with err saying what failed on what. */
int pf_dir_state_save(const char *state_dir, const struct pf_dir_source *s, const char *file,
		      char *err, size_t err_len);

/* Seeds s with every saved file (each object put into the sink). A saved
 * file that cannot be read is reported through the sink and passed over.
 * A missing state_dir is a first start. Returns 0, or -errno when the
 * directory cannot be read. */
int pf_dir_state_load(const char *state_dir, struct pf_dir_source *s,
		      const struct pf_dir_sink *sink);

#endif
