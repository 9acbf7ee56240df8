// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pe_rules.h"

static int pf_pe_port_cmp(const void *a, const void *b)
{
	const struct pf_pe_port *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->end_port != y->end_port)
		return x->end_port < y->end_port ? -1 : 1;
	if (!x->name || !y->name)
		return !!x->name - !!y->name;
	return strcmp(x->name, y->name);
}

static int pf_except_cmp(const void *a, const void *b)
{
	return pf_cidr_cmp(a, b);
}

static int pf_pe_peer_cmp(const struct pf_pe_rule *x, const struct pf_pe_rule *y)
{
	int d = pf_cidr_cmp(&x->cidr, &y->cidr);

	return d ? d : pf_cidr_list_cmp(x->except, x->n_except, y->except, y->n_except);
}

static int pf_pe_rule_cmp(const void *a, const void *b)
{
	return pf_pe_peer_cmp(a, b);
}

void pf_pe_rule_free(struct pf_pe_rule *r)
{
	for (size_t i = 0; i < r->n_ports; i++)
		free(r->ports[i].name);
	free(r->ports);
	free(r->except);
	memset(r, 0, sizeof(*r));
}

int pf_pe_rules_add(struct pf_pe_rules *b, const struct pf_cidr *cidr,
		    const struct pf_cidr *except, size_t n_except,
		    const struct pf_pe_port *ports, size_t n_ports)
{
	struct pf_pe_rule *r;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;

		r = realloc(b->r, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		b->r = r;
		b->cap = cap;
	}
	r = &b->r[b->n];
	memset(r, 0, sizeof(*r));
	r->cidr = *cidr;
	r->except = calloc(n_except + 1, sizeof(*r->except));
	r->ports = calloc(n_ports + 1, sizeof(*r->ports));
	if (!r->except || !r->ports) {
		pf_pe_rule_free(r);
		return -ENOMEM;
	}
	b->n++;
	memcpy(r->except, except, n_except * sizeof(*except));
	r->n_except = n_except;
	qsort(r->except, n_except, sizeof(*r->except), pf_except_cmp);
	for (size_t i = 0; i < n_ports; i++) {
		r->ports[i] = ports[i];
		r->ports[i].name = NULL;
		if (ports[i].name && !(r->ports[i].name = strdup(ports[i].name)))
			return -ENOMEM;
		r->n_ports++;
	}
	return 0;
}

static void pf_pe_ports_dedupe(struct pf_pe_rule *r)
{
	size_t out = 0;

	qsort(r->ports, r->n_ports, sizeof(*r->ports), pf_pe_port_cmp);
	for (size_t i = 0; i < r->n_ports; i++) {
		if (out && !pf_pe_port_cmp(&r->ports[out - 1], &r->ports[i])) {
			free(r->ports[i].name);
			continue;
		}
		r->ports[out++] = r->ports[i];
	}
	r->n_ports = out;
}

/* Moves src's ports into dst, which has the same peer; no ports (every
 * port) on either side wins. src is freed either way. */
static int pf_pe_rule_absorb(struct pf_pe_rule *dst, struct pf_pe_rule *src)
{
	struct pf_pe_port *p;

	if (dst->n_ports && src->n_ports) {
		p = realloc(dst->ports, (dst->n_ports + src->n_ports) * sizeof(*p));
		if (!p) {
			pf_pe_rule_free(src);
			return -ENOMEM;
		}
		memcpy(p + dst->n_ports, src->ports, src->n_ports * sizeof(*p));
		dst->ports = p;
		dst->n_ports += src->n_ports;
		src->n_ports = 0; /* the names moved to dst */
	} else {
		for (size_t i = 0; i < dst->n_ports; i++)
			free(dst->ports[i].name);
		dst->n_ports = 0;
	}
	pf_pe_rule_free(src);
	return 0;
}

int pf_pe_rules_finish(struct pf_pe_rules *b)
{
	size_t out = 0;
	int e = 0;

	qsort(b->r, b->n, sizeof(*b->r), pf_pe_rule_cmp);
	for (size_t i = 0; i < b->n; i++) {
		if (!e && out && !pf_pe_peer_cmp(&b->r[out - 1], &b->r[i])) {
			e = pf_pe_rule_absorb(&b->r[out - 1], &b->r[i]);
			continue;
		}
		b->r[out++] = b->r[i];
	}
	b->n = out;
	for (size_t i = 0; i < b->n; i++)
		pf_pe_ports_dedupe(&b->r[i]);
	if (e) {
		for (size_t i = 0; i < b->n; i++)
			pf_pe_rule_free(&b->r[i]);
		free(b->r);
		memset(b, 0, sizeof(*b));
	}
	return e;
}
