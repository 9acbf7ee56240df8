// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podfence_abi.h"
#include "cidr.h"

static void pf_cidr_mask(struct pf_cidr *c)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned bit = i * 8;

		if (bit >= c->len)
			c->addr[i] = 0;
		else if (bit + 8 > c->len)
			c->addr[i] &= (uint8_t)(0xff << (8 - (c->len - bit)));
	}
}

int pf_addr_parse(const char *text, struct pf_cidr *out, char *err, size_t err_len)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, out->addr) == 1) {
		out->family = PF_FAMILY_V4;
		out->len = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, text, out->addr) == 1) {
		out->family = PF_FAMILY_V6;
		out->len = 128;
		return 0;
	}
	snprintf(err, err_len, "invalid address \"%s\": not an IPv4 or IPv6 address", text);
	return -EINVAL;
}

int pf_cidr_parse(const char *text, struct pf_cidr *out, char *err, size_t err_len)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	char *end;
	long len;

	if (!alen || alen >= sizeof(addr)) {
		snprintf(err, err_len, "invalid CIDR \"%s\": no address before the prefix length",
			 text);
		return -EINVAL;
	}
	memcpy(addr, text, alen);
	addr[alen] = 0;
	if (pf_addr_parse(addr, out, err, err_len)) {
		snprintf(err, err_len, "invalid CIDR \"%s\": \"%s\" is not an IPv4 or IPv6 address",
			 text, addr);
		return -EINVAL;
	}
	if (!slash)
		return 0;
	errno = 0;
	len = strtol(slash + 1, &end, 10);
	if (!slash[1] || *end || errno || len < 0) {
		snprintf(err, err_len, "invalid CIDR \"%s\": prefix length \"%s\" is not a number",
			 text, slash + 1);
		return -EINVAL;
	}
	if (len > (long)pf_cidr_max_len(out->family)) {
		snprintf(err, err_len, "invalid CIDR \"%s\": prefix length %ld exceeds %u", text,
			 len, pf_cidr_max_len(out->family));
		return -EINVAL;
	}
	out->len = (uint8_t)len;
	pf_cidr_mask(out);
	return 0;
}

const char *pf_addr_format(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	if (!inet_ntop(family == PF_FAMILY_V4 ? AF_INET : AF_INET6, addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

const char *pf_cidr_format(const struct pf_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u", pf_addr_format(c->family, c->addr, a, sizeof(a)), c->len);
	return buf;
}

static bool pf_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;

	if (memcmp(a, b, full))
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

bool pf_cidr_contains(const struct pf_cidr *outer, const struct pf_cidr *inner)
{
	return outer->family == inner->family && outer->len <= inner->len &&
	       pf_prefix_equal(outer->addr, inner->addr, outer->len);
}

bool pf_cidr_has_addr(const struct pf_cidr *c, const uint8_t *addr)
{
	return pf_prefix_equal(c->addr, addr, c->len);
}

int pf_cidr_cmp(const struct pf_cidr *a, const struct pf_cidr *b)
{
	int d;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	d = memcmp(a->addr, b->addr, 16);
	if (d)
		return d;
	return (int)a->len - (int)b->len;
}

int pf_cidr_list_cmp(const struct pf_cidr *a, size_t na, const struct pf_cidr *b, size_t nb)
{
	int d;

	if (na != nb)
		return na < nb ? -1 : 1;
	for (size_t i = 0; i < na; i++)
		if ((d = pf_cidr_cmp(&a[i], &b[i])))
			return d;
	return 0;
}
