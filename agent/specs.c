// SPDX-License-Identifier: Apache-2.0
/*
 * The policy set spec each local pod needs, resolved only where it may have
 * changed, and once per kind of pod:
 *  - a pod whose spec did not change (nothing that selects it was rebuilt,
 *    its set holds its spec) borrows its set's spec: nothing is resolved;
 *  - pf_resolve_pod_spec reads only the PolicyEndpoints that select the pod
 *    and the named ports its entry in each carries, so pods with the same
 *    of those (replicas of a workload, typically) get equal specs: one is
 *    resolved, the others borrow it.
 * Pods whose spec was resolved come first: the plan writes a group's set
 * with its first member's spec, which must be one this pass owns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_spec_key.h"
#include "resolver.h"
#include "agent.h"

/* What pf_resolve_pod_spec reads for a pod: the PolicyEndpoints selecting
 * it (by index) and its entry in each (for its named ports). */
struct agent_sig {
	size_t *pe;
	const struct pf_pe_endpoint **ep;
	size_t n;
	uint64_t hash;
	size_t want; /* the pod resolved with it */
};

static uint64_t agent_fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static int agent_sig_build(const struct agent *a, const struct agent_pod *p,
			   struct agent_sig *sig)
{
	memset(sig, 0, sizeof(*sig));
	sig->hash = 0xcbf29ce484222325ull;
	sig->pe = calloc(a->pes.n + 1, sizeof(*sig->pe));
	sig->ep = calloc(a->pes.n + 1, sizeof(*sig->ep));
	if (!sig->pe || !sig->ep)
		return -ENOMEM;
	for (size_t i = 0; i < a->pes.n; i++) {
		const struct pf_pe_endpoint *ep =
			pf_policy_endpoint_find(a->pes.pes[i], p->lp.ns, p->lp.name);

		if (!ep)
			continue;
		sig->pe[sig->n] = i;
		sig->ep[sig->n++] = ep;
		sig->hash = agent_fnv(sig->hash, &i, sizeof(i));
		for (size_t k = 0; k < ep->n_named_ports; k++) {
			sig->hash = agent_fnv(sig->hash, ep->named_ports[k].name,
					      strlen(ep->named_ports[k].name));
			sig->hash = agent_fnv(sig->hash, &ep->named_ports[k].port,
					      sizeof(ep->named_ports[k].port));
		}
	}
	return 0;
}

static bool agent_named_ports_equal(const struct pf_pe_endpoint *x,
				    const struct pf_pe_endpoint *y)
{
	if (x->n_named_ports != y->n_named_ports)
		return false;
	for (size_t k = 0; k < x->n_named_ports; k++)
		if (strcmp(x->named_ports[k].name, y->named_ports[k].name) ||
		    x->named_ports[k].proto != y->named_ports[k].proto ||
		    x->named_ports[k].port != y->named_ports[k].port)
			return false;
	return true;
}

static bool agent_sig_equal(const struct agent_sig *x, const struct agent_sig *y)
{
	if (x->hash != y->hash || x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++)
		if (x->pe[i] != y->pe[i] || !agent_named_ports_equal(x->ep[i], y->ep[i]))
			return false;
	return true;
}

static void agent_sig_free(struct agent_sig *sig)
{
	free(sig->pe);
	free(sig->ep);
}

/* "ns/name" of the NetworkPolicies a signature lists. */
static json_t *agent_sig_policies(const struct agent *a, const struct agent_sig *sig)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < sig->n; i++)
		agent_policy_list_add(list, a->pes.pes[sig->pe[i]]);
	return list;
}

/* Is the spec of p's set still p's? Then it needs no resolving. */
static bool agent_pod_spec_current(const struct agent *a, const struct agent_pod *p)
{
	const struct pf_set_entry *e = pf_set_table_get(&a->sets, p->lp.set_id);

	return !p->spec_dirty && p->bound && e && e->key_known && e->spec;
}

static int agent_pod_resolve(struct agent *a, struct agent_specs *s, struct agent_pod *p,
			     const struct agent_sig *sig, char *err, size_t err_len)
{
	/* Strict mode: a direction no policy selects stays unknown (closed). */
	bool open_by_default = a->cfg.mode == PF_MODE_STANDARD;
	struct pf_set_want *w = &s->w[s->n];
	const struct pf_policy_endpoint **pes = calloc(sig->n + 1, sizeof(*pes));
	int rc;

	w->spec = calloc(1, sizeof(*w->spec));
	if (!w->spec || !pes) {
		free(pes);
		snprintf(err, err_len, "pod %s/%s: out of memory", p->lp.ns, p->lp.name);
		return -ENOMEM;
	}
	s->owned[s->n++] = true;
	for (size_t i = 0; i < sig->n; i++)
		pes[i] = a->pes.pes[sig->pe[i]];
	rc = pf_resolve_pod_spec(pes, sig->n, p->lp.ns, p->lp.name, open_by_default, w->spec,
				 err, err_len);
	free(pes);
	if (!rc)
		w->key = pf_policy_spec_key(w->spec);
	return rc;
}

/* Resolves (or borrows) the spec of a pod whose spec may have changed. */
static int agent_pod_spec(struct agent *a, struct agent_specs *s, struct agent_pod *p,
			  struct agent_sig *sigs, size_t *n_sigs, char *err, size_t err_len)
{
	struct agent_sig *sig = &sigs[*n_sigs];
	size_t k;
	int rc = agent_sig_build(a, p, sig);

	if (rc) {
		agent_sig_free(sig);
		snprintf(err, err_len, "pod %s/%s: out of memory", p->lp.ns, p->lp.name);
		return rc;
	}
	for (k = 0; k < *n_sigs && !agent_sig_equal(&sigs[k], sig); k++)
		;
	json_decref(p->policies);
	if (k < *n_sigs) {
		const struct pf_set_want *same = &s->w[sigs[k].want];

		agent_sig_free(sig);
		s->w[s->n].spec = same->spec;
		s->w[s->n++].key = same->key;
		p->policies = json_incref(s->pod[sigs[k].want]->policies);
		return 0;
	}
	sig->want = s->n;
	(*n_sigs)++;
	p->policies = agent_sig_policies(a, sig);
	return agent_pod_resolve(a, s, p, sig, err, err_len);
}

int agent_specs_build(struct agent *a, struct agent_specs *s, char *err, size_t err_len)
{
	struct agent_sig *sigs;
	size_t n_sigs = 0;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	s->w = calloc(a->n_pods + 1, sizeof(*s->w));
	s->pod = calloc(a->n_pods + 1, sizeof(*s->pod));
	s->owned = calloc(a->n_pods + 1, sizeof(*s->owned));
	sigs = calloc(a->n_pods + 1, sizeof(*sigs));
	if (!s->w || !s->pod || !s->owned || !sigs) {
		free(sigs);
		snprintf(err, err_len, "policy set specs: out of memory");
		return -ENOMEM;
	}
	for (int current = 0; current < 2 && !rc; current++) {
		for (size_t i = 0; i < a->n_pods && !rc; i++) {
			struct agent_pod *p = a->pods[i];
			const struct pf_set_entry *e;

			if (agent_pod_spec_current(a, p) != (bool)current)
				continue;
			s->pod[s->n] = p;
			s->w[s->n].cur = p->lp.set_id;
			if (!current) {
				rc = agent_pod_spec(a, s, p, sigs, &n_sigs, err, err_len);
				continue;
			}
			e = pf_set_table_get(&a->sets, p->lp.set_id);
			s->w[s->n].spec = e->spec;
			s->w[s->n++].key = e->key;
		}
	}
	for (size_t k = 0; k < n_sigs; k++)
		agent_sig_free(&sigs[k]);
	free(sigs);
	return rc;
}

void agent_specs_free(struct agent_specs *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->owned[i] && s->w[i].spec) {
			pf_policy_spec_free(s->w[i].spec);
			free(s->w[i].spec);
		}
	free(s->w);
	free(s->pod);
	free(s->owned);
	memset(s, 0, sizeof(*s));
}
