// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "portset.h"

static uint16_t pf_proto_all_flag(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return PF_RULE_TCP_ALL;
	case IPPROTO_UDP:
		return PF_RULE_UDP_ALL;
	case IPPROTO_SCTP:
		return PF_RULE_SCTP_ALL;
	default:
		return 0;
	}
}

int pf_portset_add_all(struct pf_portset *ps)
{
	ps->flags |= PF_RULE_ALL_PORTS;
	return 0;
}

static int pf_portset_push(struct pf_portset *ps, struct pf_port_range r)
{
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 4;
		struct pf_port_range *nr = realloc(ps->r, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		ps->r = nr;
		ps->cap = cap;
	}
	ps->r[ps->n++] = r;
	return 0;
}

int pf_portset_add(struct pf_portset *ps, uint8_t proto, uint16_t lo, uint16_t hi)
{
	uint16_t all = pf_proto_all_flag(proto);

	if (!all)
		return -EINVAL;
	if (!lo) {
		ps->flags |= all;
		return 0;
	}
	return pf_portset_push(ps, (struct pf_port_range){ .lo = (uint32_t)proto << 16 | lo,
							 .hi = (uint32_t)proto << 16 | hi });
}

int pf_portset_union(struct pf_portset *dst, const struct pf_portset *src)
{
	dst->flags |= src->flags;
	for (size_t i = 0; i < src->n; i++) {
		int err = pf_portset_push(dst, src->r[i]);

		if (err)
			return err;
	}
	return 0;
}

static int pf_range_cmp(const void *a, const void *b)
{
	const struct pf_port_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

void pf_portset_normalize(struct pf_portset *ps)
{
	size_t out = 0;

	if (ps->flags & PF_RULE_ALL_PORTS) {
		ps->flags = PF_RULE_ALL_PORTS;
		ps->n = 0;
		return;
	}
	qsort(ps->r, ps->n, sizeof(*ps->r), pf_range_cmp);
	for (size_t i = 0; i < ps->n; i++) {
		struct pf_port_range r = ps->r[i];

		if (ps->flags & pf_proto_all_flag((uint8_t)(r.lo >> 16)))
			continue;
		/* Merge overlapping and adjacent intervals of one protocol. */
		if (out && ps->r[out - 1].hi + 1 >= r.lo &&
		    (ps->r[out - 1].hi >> 16) == (r.lo >> 16)) {
			if (r.hi > ps->r[out - 1].hi)
				ps->r[out - 1].hi = r.hi;
			continue;
		}
		ps->r[out++] = r;
	}
	ps->n = out;
}

bool pf_portset_equal(const struct pf_portset *a, const struct pf_portset *b)
{
	return a->flags == b->flags && a->n == b->n &&
	       (!a->n || !memcmp(a->r, b->r, a->n * sizeof(*a->r)));
}

bool pf_portset_empty(const struct pf_portset *ps)
{
	return !ps->flags && !ps->n;
}

bool pf_portset_allows(const struct pf_portset *ps, uint8_t proto, uint16_t port,
		       bool ports_known)
{
	uint32_t key = (uint32_t)proto << 16 | port;
	size_t lo = 0, hi = ps->n;

	if (ps->flags & PF_RULE_ALL_PORTS)
		return true;
	if (ps->flags & pf_proto_all_flag(proto))
		return true;
	if (!ports_known || !pf_proto_all_flag(proto))
		return false;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ps->r[mid].lo <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && key <= ps->r[lo - 1].hi;
}

int pf_portset_copy(struct pf_portset *dst, const struct pf_portset *src)
{
	memset(dst, 0, sizeof(*dst));
	return pf_portset_union(dst, src);
}

void pf_portset_free(struct pf_portset *ps)
{
	free(ps->r);
	memset(ps, 0, sizeof(*ps));
}
