/* SPDX-License-Identifier: Apache-2.0 */
/* State shared by the datapath's user-space files; not a public API. */
#ifndef PF_DATAPATH_INTERNAL_H
#define PF_DATAPATH_INTERNAL_H

#include <limits.h>

#include "datapath.h"

struct podfence;

/* What this process wrote for a policy set, so the next swap can delete the
 * old generation's keys without scanning the maps. */
struct pf_set_record {
	uint32_t set_id;
	uint32_t gen;
	struct pf_compiled compiled;
	bool known; /* false after adoption: the old keys must be found by scan */
};

struct pf_datapath {
	char root[256]; /* checked at open: paths below it fit PATH_MAX */
	struct podfence *skel; /* NULL when the pinned datapath was adopted */
	int prog_fd[2];        /* indexed by enum pf_dir */
	int map_fd[PF_MAP__COUNT];
	uint32_t mode;
	uint32_t next_gen;
	struct pf_set_record *sets;
	size_t n_sets;
};

/* Deletes every rule, host and port key of generation gen (map scan). */
int pf_gen_purge_scan(struct pf_datapath *dp, uint32_t gen);
/* Removes tracked flows of the set's pods (their ifindexes) that the set's
 * rules c no longer allow. */
int pf_ct_revalidate(struct pf_datapath *dp, uint32_t set_id, const uint32_t *pods, size_t n,
		     const struct pf_compiled *c);
/* Removes every tracked flow of one pod veth. */
int pf_ct_forget_ifindex(struct pf_datapath *dp, uint32_t ifindex);

#endif
