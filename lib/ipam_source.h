/* SPDX-License-Identifier: Apache-2.0 */
/* Where a node's pod addresses come from. The pool (ipam_pool.h) only takes
 * and gives back addresses through these operations, so the CIDR source
 * here (the node's pod CIDR) and a cloud source (network interfaces and
 * their secondary addresses, as the seed's ipamd has) are interchangeable. */
#ifndef PF_IPAM_SOURCE_H
#define PF_IPAM_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

struct pf_ipam_source_ops {
	/* Takes an address not currently out into addr (16 bytes, IPv4 in
	 * the first 4), in the source's own order. -ENOSPC when none is left. */
	int (*take)(void *priv, uint8_t *addr);
	/* Takes this exact address (restoring saved assignments). -ERANGE
	 * when the source cannot hand it out, -EEXIST when it is out. */
	int (*claim)(void *priv, const uint8_t *addr);
	/* Gives back an address that take or claim handed out. */
	void (*put)(void *priv, const uint8_t *addr);
	/* Addresses the source can hand out in all, out or not. */
	uint64_t (*capacity)(void *priv);
	/* The address take() tries next, and moving it: saved with the
	 * assignments so a restart keeps the order addresses come back in. */
	void (*cursor)(void *priv, uint8_t *addr);
	int (*seek)(void *priv, const uint8_t *addr);
	void (*destroy)(void *priv);
};

struct pf_ipam_source {
	const struct pf_ipam_source_ops *ops;
	void *priv;
	uint8_t family;    /* PF_FAMILY_V4 or PF_FAMILY_V6 */
	const char *kind;  /* "cidr" */
	char name[64];     /* what it hands out, e.g. "10.244.1.0/24" */
};

/* A source over one prefix. IPv4 skips the network address, the first
 * address after it (kept for the node) and the broadcast address; IPv6
 * skips the subnet-router anycast address and the first address after it,
 * and uses at most the first 2^64 addresses of a prefix shorter than /64.
 * take() goes round robin from where it last stopped, so an address given
 * back comes out again only after every other free one has. */
int pf_ipam_source_cidr_new(const struct pf_cidr *cidr, struct pf_ipam_source **out, char *err,
			    size_t err_len);
void pf_ipam_source_free(struct pf_ipam_source *src);

#endif
