/* SPDX-License-Identifier: Apache-2.0 */
/* IPv4 and IPv6 prefixes: parsing with errors that name the input, and the
 * containment tests the policy compiler needs. */
#ifndef PF_CIDR_H
#define PF_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pf_cidr {
	uint8_t family;   /* PF_FAMILY_V4 or PF_FAMILY_V6 */
	uint8_t len;      /* prefix length */
	uint8_t addr[16]; /* network address, host bits cleared; v4 in [0..3] */
};

/* Parses "10.0.0.0/8", "fd00::/64", or a bare address (a host prefix).
 * Host bits are cleared, as Kubernetes matches "10.0.0.1/8" like 10.0.0.0/8.
 * Returns 0, or -EINVAL with err naming what was wrong. */
int pf_cidr_parse(const char *text, struct pf_cidr *out, char *err, size_t err_len);
/* Parses a bare address (no prefix) into a host prefix. */
int pf_addr_parse(const char *text, struct pf_cidr *out, char *err, size_t err_len);

/* Writes "A.B.C.D/len" or "x::/len" into buf (at least 50 bytes). */
const char *pf_cidr_format(const struct pf_cidr *c, char *buf, size_t len);
/* Writes the address alone. */
const char *pf_addr_format(uint8_t family, const uint8_t *addr, char *buf, size_t len);

static inline unsigned pf_cidr_max_len(uint8_t family)
{
	return family == 4 ? 32 : 128;
}

/* True when every address of inner lies in outer (same family). */
bool pf_cidr_contains(const struct pf_cidr *outer, const struct pf_cidr *inner);
/* True when addr (16 bytes, v4 in the first 4) lies in c. */
bool pf_cidr_has_addr(const struct pf_cidr *c, const uint8_t *addr);
/* Orders by family, then address, then length: a prefix comes right before
 * the prefixes it contains (a preorder walk of the prefix tree). */
int pf_cidr_cmp(const struct pf_cidr *a, const struct pf_cidr *b);
/* Orders lists of prefixes (except lists): shorter first, then element by
 * element with pf_cidr_cmp. */
int pf_cidr_list_cmp(const struct pf_cidr *a, size_t na, const struct pf_cidr *b, size_t nb);

#endif
