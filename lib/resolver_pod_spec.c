// SPDX-License-Identifier: Apache-2.0
/* PolicyEndpoints to one pod's policy set. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_spec_key.h"
#include "resolver.h"

static const struct pf_pe_named_port *pf_ep_named_port(const struct pf_pe_endpoint *ep,
						       const struct pf_pe_port *p)
{
	for (size_t i = 0; i < ep->n_named_ports; i++)
		if (!strcmp(ep->named_ports[i].name, p->name) && ep->named_ports[i].proto == p->proto)
			return &ep->named_ports[i];
	return NULL;
}

static int pf_spec_add_rule(struct pf_dir_policy *dp, size_t *cap, const struct pf_pe_rule *r,
			    const struct pf_pe_endpoint *ep)
{
	struct pf_peer_rule *pr;
	size_t n = 0;

	if (dp->n_rules == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;

		pr = realloc(dp->rules, ncap * sizeof(*pr));
		if (!pr)
			return -ENOMEM;
		dp->rules = pr;
		*cap = ncap;
	}
	pr = &dp->rules[dp->n_rules];
	memset(pr, 0, sizeof(*pr));
	pr->ports = calloc(r->n_ports + 1, sizeof(*pr->ports));
	if (!pr->ports)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_ports; i++) {
		const struct pf_pe_port *p = &r->ports[i];
		const struct pf_pe_named_port *np;

		if (!p->name)
			pr->ports[n++] = (struct pf_port_rule){ p->proto, p->port, p->end_port };
		else if ((np = pf_ep_named_port(ep, p)))
			pr->ports[n++] = (struct pf_port_rule){ np->proto, np->port, np->port };
	}
	/* A rule whose ports were all names this pod does not have allows
	 * nothing (its empty port list must not read as "every port"). */
	if (r->n_ports && !n) {
		free(pr->ports);
		return 0;
	}
	pr->n_ports = n;
	pr->cidr = r->cidr;
	pr->except = calloc(r->n_except + 1, sizeof(*pr->except));
	if (!pr->except) {
		free(pr->ports);
		return -ENOMEM;
	}
	memcpy(pr->except, r->except, r->n_except * sizeof(*r->except));
	pr->n_except = r->n_except;
	dp->n_rules++;
	return 0;
}

int pf_resolve_pod_spec(const struct pf_policy_endpoint *const *pes, size_t n,
			const char *ns, const char *name, bool pod_known,
			struct pf_policy_spec *out, char *err, size_t err_len)
{
	size_t cap[2] = { 0, 0 };
	int e = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n && !e; i++) {
		const struct pf_pe_endpoint *ep = pf_policy_endpoint_find(pes[i], ns, name);

		for (int d = 0; ep && d < 2 && !e; d++) {
			/* "A pod is isolated for a direction if there is any
			 * NetworkPolicy that both selects the pod and has that
			 * direction in its policyTypes"; what it may then do is the
			 * union of those policies' rules. */
			if (!pes[i]->isolation[d])
				continue;
			out->dir[d].isolation = PF_ISO_ISOLATED;
			for (size_t r = 0; r < pes[i]->n_rules[d] && !e; r++)
				e = pf_spec_add_rule(&out->dir[d], &cap[d], &pes[i]->rules[d][r], ep);
		}
	}
	for (int d = 0; d < 2; d++)
		if (out->dir[d].isolation != PF_ISO_ISOLATED)
			out->dir[d].isolation = pod_known ? PF_ISO_OPEN : PF_ISO_UNKNOWN;
	if (!e)
		e = pf_policy_spec_canonicalize(out);
	if (e) {
		snprintf(err, err_len, "policy set of pod %s/%s: %s", ns, name, strerror(-e));
		pf_policy_spec_free(out);
	}
	return e;
}

int pf_resolve_pod_spec_from_cache(const struct pf_k8s_cache *c, const char *ns,
				   const char *name, struct pf_policy_spec *out, char *err,
				   size_t err_len)
{
	size_t n = pf_k8s_cache_count(c, PF_K8S_POLICY_ENDPOINT);
	const struct pf_policy_endpoint **pes = calloc(n + 1, sizeof(*pes));
	int e;

	if (!pes) {
		snprintf(err, err_len, "policy set of pod %s/%s: out of memory", ns, name);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		pes[i] = pf_k8s_cache_at(c, PF_K8S_POLICY_ENDPOINT, i);
	e = pf_resolve_pod_spec(pes, n, ns, name,
				pf_k8s_cache_get(c, PF_K8S_POD, ns, name) != NULL, out, err, err_len);
	free(pes);
	return e;
}
