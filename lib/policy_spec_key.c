// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_spec_key.h"

static int pf_port_cmp(const void *a, const void *b)
{
	const struct pf_port_rule *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return (int)x->end_port - (int)y->end_port;
}

static int pf_except_cmp(const void *a, const void *b)
{
	return pf_cidr_cmp(a, b);
}

static int pf_peer_cmp(const void *a, const void *b)
{
	const struct pf_peer_rule *x = a, *y = b;
	int d = pf_cidr_cmp(&x->cidr, &y->cidr);

	return d ? d : pf_cidr_list_cmp(x->except, x->n_except, y->except, y->n_except);
}

/* Peer, then ports: a total order of canonical rules. */
static int pf_rule_cmp(const struct pf_peer_rule *x, const struct pf_peer_rule *y)
{
	int d = pf_peer_cmp(x, y);

	if (d)
		return d;
	if (x->n_ports != y->n_ports)
		return x->n_ports < y->n_ports ? -1 : 1;
	for (size_t i = 0; i < x->n_ports; i++)
		if ((d = pf_port_cmp(&x->ports[i], &y->ports[i])))
			return d;
	return 0;
}

static void pf_rule_ports_canonical(struct pf_peer_rule *r)
{
	size_t out = 0;

	qsort(r->ports, r->n_ports, sizeof(*r->ports), pf_port_cmp);
	for (size_t i = 0; i < r->n_ports; i++)
		if (!out || pf_port_cmp(&r->ports[out - 1], &r->ports[i]))
			r->ports[out++] = r->ports[i];
	r->n_ports = out;
}

/* Moves src's ports into dst (same peer) and frees src; no ports means
 * every port, which absorbs any list. */
static int pf_rule_absorb(struct pf_peer_rule *dst, struct pf_peer_rule *src)
{
	struct pf_port_rule *p;
	int e = 0;

	if (!dst->n_ports || !src->n_ports) {
		dst->n_ports = 0;
	} else if ((p = realloc(dst->ports, (dst->n_ports + src->n_ports) * sizeof(*p)))) {
		memcpy(p + dst->n_ports, src->ports, src->n_ports * sizeof(*p));
		dst->ports = p;
		dst->n_ports += src->n_ports;
	} else {
		e = -ENOMEM;
	}
	free(src->except);
	free(src->ports);
	return e;
}

int pf_policy_spec_canonicalize(struct pf_policy_spec *spec)
{
	int e = 0;

	for (int d = 0; d < 2; d++) {
		struct pf_dir_policy *dp = &spec->dir[d];
		size_t out = 0;

		for (size_t i = 0; i < dp->n_rules; i++)
			qsort(dp->rules[i].except, dp->rules[i].n_except, sizeof(struct pf_cidr),
			      pf_except_cmp);
		/* By peer only: rules of one peer merge into one, so after the
		 * merge the order is total. */
		qsort(dp->rules, dp->n_rules, sizeof(*dp->rules), pf_peer_cmp);
		for (size_t i = 0; i < dp->n_rules; i++) {
			if (out && !pf_peer_cmp(&dp->rules[out - 1], &dp->rules[i])) {
				int err = pf_rule_absorb(&dp->rules[out - 1], &dp->rules[i]);

				e = e ? e : err;
				continue;
			}
			dp->rules[out++] = dp->rules[i];
		}
		dp->n_rules = out;
		for (size_t i = 0; i < dp->n_rules; i++)
			pf_rule_ports_canonical(&dp->rules[i]);
	}
	return e;
}

static uint64_t pf_fnv(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static uint64_t pf_fnv_cidr(uint64_t h, const struct pf_cidr *c)
{
	h = pf_fnv(h, &c->family, 1);
	h = pf_fnv(h, &c->len, 1);
	return pf_fnv(h, c->addr, 16);
}

uint64_t pf_policy_spec_key(const struct pf_policy_spec *spec)
{
	uint64_t h = 1469598103934665603ull;

	for (int d = 0; d < 2; d++) {
		const struct pf_dir_policy *dp = &spec->dir[d];
		uint64_t n = dp->n_rules;

		h = pf_fnv(h, &dp->isolation, 1);
		h = pf_fnv(h, &n, sizeof(n));
		for (size_t i = 0; i < dp->n_rules; i++) {
			const struct pf_peer_rule *r = &dp->rules[i];
			uint64_t counts[2] = { r->n_except, r->n_ports };

			h = pf_fnv_cidr(h, &r->cidr);
			h = pf_fnv(h, counts, sizeof(counts));
			for (size_t x = 0; x < r->n_except; x++)
				h = pf_fnv_cidr(h, &r->except[x]);
			for (size_t p = 0; p < r->n_ports; p++) {
				const struct pf_port_rule *pr = &r->ports[p];
				uint8_t b[5] = { pr->proto, (uint8_t)(pr->port >> 8), (uint8_t)pr->port,
						 (uint8_t)(pr->end_port >> 8), (uint8_t)pr->end_port };

				h = pf_fnv(h, b, sizeof(b));
			}
		}
	}
	return h;
}

bool pf_policy_spec_equal(const struct pf_policy_spec *a, const struct pf_policy_spec *b)
{
	for (int d = 0; d < 2; d++) {
		const struct pf_dir_policy *x = &a->dir[d], *y = &b->dir[d];

		if (x->isolation != y->isolation || x->n_rules != y->n_rules)
			return false;
		for (size_t i = 0; i < x->n_rules; i++)
			if (pf_rule_cmp(&x->rules[i], &y->rules[i]))
				return false;
	}
	return true;
}
