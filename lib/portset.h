/* SPDX-License-Identifier: Apache-2.0 */
/* A set of (protocol, port) pairs, the shape the datapath searches: flags for
 * "every protocol" and "every port of TCP/UDP/SCTP", plus disjoint sorted
 * intervals encoded as (protocol << 16 | port). */
#ifndef PF_PORTSET_H
#define PF_PORTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "podfence_abi.h"

struct pf_portset {
	uint16_t flags; /* PF_RULE_* */
	size_t n, cap;
	struct pf_port_range *r;
};

int pf_portset_add_all(struct pf_portset *ps);
/* Adds a protocol's ports lo..hi; lo == 0 means every port of proto. */
int pf_portset_add(struct pf_portset *ps, uint8_t proto, uint16_t lo, uint16_t hi);
int pf_portset_union(struct pf_portset *dst, const struct pf_portset *src);
/* Sorts and merges the intervals and drops those a flag already covers. */
void pf_portset_normalize(struct pf_portset *ps);
bool pf_portset_equal(const struct pf_portset *a, const struct pf_portset *b);
bool pf_portset_empty(const struct pf_portset *ps);
/* The datapath's rule: unknown ports match only whole-protocol flags. */
bool pf_portset_allows(const struct pf_portset *ps, uint8_t proto, uint16_t port,
		       bool ports_known);
int pf_portset_copy(struct pf_portset *dst, const struct pf_portset *src);
void pf_portset_free(struct pf_portset *ps);

/* Number of PF_PORT_CHUNK-sized chunks the intervals take. */
static inline size_t pf_portset_chunks(const struct pf_portset *ps)
{
	return (ps->n + PF_PORT_CHUNK - 1) / PF_PORT_CHUNK;
}

#endif
