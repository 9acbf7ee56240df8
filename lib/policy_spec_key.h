/* SPDX-License-Identifier: Apache-2.0 */
/* A canonical form of a policy set and a key over it, so pods whose rules are
 * the same share one set in the datapath (the seed's "pod identifier"
 * sharing, generalised from one workload to any pods with equal rules). */
#ifndef PF_POLICY_SPEC_KEY_H
#define PF_POLICY_SPEC_KEY_H

#include <stdbool.h>
#include <stdint.h>

#include "policy_spec.h"

/* Sorts and merges, without changing what the spec allows: each rule's
 * ports sorted with duplicates dropped, a rule with no ports (every port)
 * absorbs its ports, rules with the same CIDR and excepts merged, rules
 * sorted. Returns 0 or -ENOMEM. */
int pf_policy_spec_canonicalize(struct pf_policy_spec *spec);

/* A 64-bit FNV-1a over the canonical spec. Equal specs have equal keys; the
 * key is not collision resistant, so a set found by key is confirmed with
 * pf_policy_spec_equal before it is shared. */
uint64_t pf_policy_spec_key(const struct pf_policy_spec *spec);
bool pf_policy_spec_equal(const struct pf_policy_spec *a, const struct pf_policy_spec *b);

#endif
