/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy compiler: turns a policy set's rules into flat entries such that
 * the longest prefix matching a peer address alone carries the answer.
 *
 * Every rule CIDR and every except CIDR becomes a candidate prefix. For an
 * address whose longest matching candidate is P, a rule applies exactly when
 * P lies inside the rule's CIDR and inside none of its excepts (all rule and
 * except boundaries are candidates, so membership is the same for every
 * address that lands on P). The entry for P carries the union of the ports of
 * those rules; rules are additive, so that union is the verdict. An empty
 * union is kept where it shadows a shorter entry (an except hole).
 */
#ifndef PF_POLICY_COMPILE_H
#define PF_POLICY_COMPILE_H

#include "policy_spec.h"
#include "portset.h"

struct pf_flat_entry {
	struct pf_cidr prefix;
	uint32_t portset;  /* index into pf_compiled.portsets */
	uint32_t *sources; /* indices of the rules that contribute */
	size_t n_sources;
};

struct pf_compiled_dir {
	uint8_t isolation; /* enum pf_isolation */
	struct pf_flat_entry *entries; /* sorted by pf_cidr_cmp */
	size_t n;
};

struct pf_compiled {
	struct pf_compiled_dir dir[2];
	struct pf_portset *portsets; /* distinct port sets; [0] is the empty set */
	size_t n_portsets;
};

int pf_policy_compile(const struct pf_policy_spec *spec, struct pf_compiled *out);
void pf_compiled_free(struct pf_compiled *c);

/* The entry the datapath would find for a peer address, or NULL. */
const struct pf_flat_entry *pf_compiled_lookup(const struct pf_compiled *c, enum pf_dir dir,
					       uint8_t family, const uint8_t *peer);

/* The compiled verdict for a new flow, exactly as the datapath decides it
 * once the pod is isolated in dir. */
bool pf_compiled_allows(const struct pf_compiled *c, enum pf_dir dir, uint8_t family,
			const uint8_t *peer, uint8_t proto, uint16_t dport, bool ports_known);

#endif
