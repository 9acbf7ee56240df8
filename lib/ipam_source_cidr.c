// SPDX-License-Identifier: Apache-2.0
/* The CIDR address source: a prefix seen as offsets first..last from its
 * network address, the offsets currently out kept in a sorted array (a
 * node holds hundreds of pods, not millions), and a round-robin cursor. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podfence_abi.h"
#include "ipam_source.h"

/* Offsets 0 (network / subnet-router anycast) and 1 (kept for the node). */
#define PF_CIDR_FIRST_OFFSET 2

struct pf_cidr_source {
	struct pf_cidr cidr;
	uint64_t first, last; /* usable offsets, inclusive */
	uint64_t cursor;      /* the offset take() tries next */
	uint64_t *out;        /* sorted offsets handed out */
	size_t n_out, cap_out;
};

static uint64_t pf_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t pf_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void pf_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* The offset of addr, or -ERANGE when it is not one the source can give. */
static int pf_cidr_offset(const struct pf_cidr_source *s, const uint8_t *addr, uint64_t *off)
{
	const uint8_t *base = s->cidr.addr;

	if (!pf_cidr_has_addr(&s->cidr, addr))
		return -ERANGE;
	if (s->cidr.family == PF_FAMILY_V4) {
		*off = pf_be32(addr) - pf_be32(base);
	} else {
		/* Only the low 64 bits vary: beyond 2^64 addresses are unused. */
		if (memcmp(addr, base, 8))
			return -ERANGE;
		*off = pf_be64(addr + 8) - pf_be64(base + 8);
	}
	return *off >= s->first && *off <= s->last ? 0 : -ERANGE;
}

static void pf_cidr_addr_at(const struct pf_cidr_source *s, uint64_t off, uint8_t *addr)
{
	memset(addr, 0, 16);
	if (s->cidr.family == PF_FAMILY_V4) {
		uint32_t a = pf_be32(s->cidr.addr) + (uint32_t)off;

		addr[0] = (uint8_t)(a >> 24);
		addr[1] = (uint8_t)(a >> 16);
		addr[2] = (uint8_t)(a >> 8);
		addr[3] = (uint8_t)a;
	} else {
		memcpy(addr, s->cidr.addr, 8);
		pf_put_be64(addr + 8, pf_be64(s->cidr.addr + 8) + off);
	}
}

/* Index of off in out[], or of where it would go; *found says which. */
static size_t pf_cidr_find(const struct pf_cidr_source *s, uint64_t off, bool *found)
{
	size_t lo = 0, hi = s->n_out;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->out[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < s->n_out && s->out[lo] == off;
	return lo;
}

static int pf_cidr_mark_out(struct pf_cidr_source *s, uint64_t off)
{
	bool found;
	size_t at = pf_cidr_find(s, off, &found);

	if (found)
		return -EEXIST;
	if (s->n_out == s->cap_out) {
		size_t cap = s->cap_out ? s->cap_out * 2 : 64;
		uint64_t *grown = realloc(s->out, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		s->out = grown;
		s->cap_out = cap;
	}
	memmove(s->out + at + 1, s->out + at, (s->n_out - at) * sizeof(*s->out));
	s->out[at] = off;
	s->n_out++;
	return 0;
}

static uint64_t pf_cidr_capacity(void *priv)
{
	const struct pf_cidr_source *s = priv;

	return s->last - s->first + 1;
}

static uint64_t pf_cidr_next(const struct pf_cidr_source *s, uint64_t off)
{
	return off >= s->last ? s->first : off + 1;
}

static int pf_cidr_take(void *priv, uint8_t *addr)
{
	struct pf_cidr_source *s = priv;
	uint64_t off = s->cursor;
	bool found;
	int err;

	if (s->n_out >= pf_cidr_capacity(s))
		return -ENOSPC;
	/* Some offset is free, so this ends within n_out + 1 steps. */
	for (pf_cidr_find(s, off, &found); found; pf_cidr_find(s, off, &found))
		off = pf_cidr_next(s, off);
	err = pf_cidr_mark_out(s, off);
	if (err)
		return err;
	s->cursor = pf_cidr_next(s, off);
	pf_cidr_addr_at(s, off, addr);
	return 0;
}

static int pf_cidr_claim(void *priv, const uint8_t *addr)
{
	struct pf_cidr_source *s = priv;
	uint64_t off;
	int err = pf_cidr_offset(s, addr, &off);

	return err ? err : pf_cidr_mark_out(s, off);
}

static void pf_cidr_put(void *priv, const uint8_t *addr)
{
	struct pf_cidr_source *s = priv;
	uint64_t off;
	bool found;
	size_t at;

	if (pf_cidr_offset(s, addr, &off))
		return;
	at = pf_cidr_find(s, off, &found);
	if (!found)
		return;
	memmove(s->out + at, s->out + at + 1, (s->n_out - at - 1) * sizeof(*s->out));
	s->n_out--;
}

static void pf_cidr_cursor(void *priv, uint8_t *addr)
{
	const struct pf_cidr_source *s = priv;

	pf_cidr_addr_at(s, s->cursor, addr);
}

static int pf_cidr_seek(void *priv, const uint8_t *addr)
{
	struct pf_cidr_source *s = priv;
	uint64_t off;
	int err = pf_cidr_offset(s, addr, &off);

	if (!err)
		s->cursor = off;
	return err;
}

static void pf_cidr_destroy(void *priv)
{
	struct pf_cidr_source *s = priv;

	free(s->out);
	free(s);
}

static const struct pf_ipam_source_ops pf_cidr_ops = {
	.take = pf_cidr_take,
	.claim = pf_cidr_claim,
	.put = pf_cidr_put,
	.capacity = pf_cidr_capacity,
	.cursor = pf_cidr_cursor,
	.seek = pf_cidr_seek,
	.destroy = pf_cidr_destroy,
};

int pf_ipam_source_cidr_new(const struct pf_cidr *cidr, struct pf_ipam_source **out, char *err,
			    size_t err_len)
{
	unsigned host_bits = pf_cidr_max_len(cidr->family) - cidr->len;
	struct pf_ipam_source *src;
	struct pf_cidr_source *s;
	uint64_t last;
	char text[64];

	pf_cidr_format(cidr, text, sizeof(text));
	if (cidr->family == PF_FAMILY_V4)
		last = host_bits >= 2 ? (1ull << host_bits) - 2 : 0; /* before broadcast */
	else
		last = host_bits >= 64 ? UINT64_MAX : (1ull << host_bits) - 1;
	if (last < PF_CIDR_FIRST_OFFSET) {
		snprintf(err, err_len,
			 "pod CIDR %s is too small: no address is left after the reserved ones",
			 text);
		return -EINVAL;
	}
	src = calloc(1, sizeof(*src));
	s = calloc(1, sizeof(*s));
	if (!src || !s) {
		free(src);
		free(s);
		snprintf(err, err_len, "pod CIDR %s: out of memory", text);
		return -ENOMEM;
	}
	s->cidr = *cidr;
	s->first = s->cursor = PF_CIDR_FIRST_OFFSET;
	s->last = last;
	src->ops = &pf_cidr_ops;
	src->priv = s;
	src->family = cidr->family;
	src->kind = "cidr";
	snprintf(src->name, sizeof(src->name), "%s", text);
	*out = src;
	return 0;
}

void pf_ipam_source_free(struct pf_ipam_source *src)
{
	if (!src)
		return;
	src->ops->destroy(src->priv);
	free(src);
}
