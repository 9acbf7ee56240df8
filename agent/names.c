// SPDX-License-Identifier: Apache-2.0
/* Which pod an address belongs to, for the event log: an index over the
 * cache's Pods (kube: this node's only, so also the pods the
 * PolicyEndpoints list, with their addresses), rebuilt when the cache
 * changed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "agent.h"

static int agent_ip_cmp(uint8_t family, const uint8_t *addr, const struct agent_ip_name *e)
{
	if (family != e->family)
		return family < e->family ? -1 : 1;
	return memcmp(addr, e->addr, 16);
}

static int agent_ip_sort_cmp(const void *x, const void *y)
{
	const struct agent_ip_name *a = x;

	return agent_ip_cmp(a->family, a->addr, y);
}

void agent_names_free(struct agent *a)
{
	for (size_t i = 0; i < a->n_ips; i++)
		free(a->ips[i].pod);
	free(a->ips);
	a->ips = NULL;
	a->n_ips = 0;
}

static void agent_ip_add(struct agent_ip_name *e, const struct pf_cidr *ip, const char *ns,
			 const char *name, size_t *n)
{
	e->family = ip->family;
	memcpy(e->addr, ip->addr, 16);
	if (asprintf(&e->pod, "%s/%s", ns, name) >= 0)
		(*n)++;
}

/* kube: pods of other nodes are known from the PolicyEndpoints only. With
 * ips NULL, only counts. */
static size_t agent_endpoint_ips(const struct agent *a, struct agent_ip_name *ips, size_t n)
{
	for (size_t i = 0; a->cfg.source == AGENT_SOURCE_KUBE && i < a->pes.n; i++) {
		const struct pf_policy_endpoint *pe = a->pes.pes[i];

		for (size_t e = 0; e < pe->n_endpoints; e++) {
			const struct pf_pe_endpoint *ep = &pe->endpoints[e];

			for (size_t k = 0; k < ep->n_ips; k++) {
				if (ips)
					agent_ip_add(&ips[n], &ep->ips[k], ep->ns, ep->name, &n);
				else
					n++;
			}
		}
	}
	return n;
}

void agent_names_refresh(struct agent *a)
{
	size_t total = 0, n = 0;
	struct agent_ip_name *ips;

	if (a->ips && a->ips_generation == a->cache.generation)
		return;
	for (size_t i = 0; i < pf_k8s_cache_count(&a->cache, PF_K8S_POD); i++) {
		const struct pf_k8s_pod *p = pf_k8s_cache_at(&a->cache, PF_K8S_POD, i);

		total += p->n_ips;
	}
	total = agent_endpoint_ips(a, NULL, total);
	ips = calloc(total + 1, sizeof(*ips));
	if (!ips) {
		pf_warn("address index for the event log: out of memory; peers go unnamed");
		return;
	}
	for (size_t i = 0; i < pf_k8s_cache_count(&a->cache, PF_K8S_POD); i++) {
		const struct pf_k8s_pod *p = pf_k8s_cache_at(&a->cache, PF_K8S_POD, i);

		/* A host-network pod has the node's address, a finished one may
		 * have handed its address on: neither names an address. */
		if (p->host_network || p->finished)
			continue;
		for (size_t k = 0; k < p->n_ips; k++)
			agent_ip_add(&ips[n], &p->ips[k], p->ns, p->name, &n);
	}
	n = agent_endpoint_ips(a, ips, n);
	qsort(ips, n, sizeof(*ips), agent_ip_sort_cmp);
	agent_names_free(a);
	a->ips = ips;
	a->n_ips = n;
	a->ips_generation = a->cache.generation;
}

const char *agent_names_pod_of_ip(const struct agent *a, uint8_t family, const uint8_t *addr)
{
	size_t lo = 0, hi = a->n_ips;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int d = agent_ip_cmp(family, addr, &a->ips[mid]);

		if (!d)
			return a->ips[mid].pod;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}
