/* SPDX-License-Identifier: Apache-2.0 */
/* Collecting the rules of one direction of a PolicyEndpoint: entries are
 * added as the resolver finds them, then sorted, with entries for the same
 * peer (CIDR and excepts) merged, since rules are additive. */
#ifndef PF_PE_RULES_H
#define PF_PE_RULES_H

#include <stddef.h>

#include "policy_endpoint.h"

struct pf_pe_rules {
	struct pf_pe_rule *r;
	size_t n, cap;
};

/* Adds a deep copy. n_ports 0: every port and protocol. */
int pf_pe_rules_add(struct pf_pe_rules *b, const struct pf_cidr *cidr,
		    const struct pf_cidr *except, size_t n_except,
		    const struct pf_pe_port *ports, size_t n_ports);
/* Sorts, merges entries of one peer, sorts and dedupes their ports. On
 * error the rules are freed. */
int pf_pe_rules_finish(struct pf_pe_rules *b);
void pf_pe_rule_free(struct pf_pe_rule *r);

#endif
