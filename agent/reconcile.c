// SPDX-License-Identifier: Apache-2.0
/*
 * A reconcile: the cache to the datapath, writing only what changed.
 *   pods whose veth went away leave (unbind, detach, release their set);
 *   PolicyEndpoints are rebuilt where changes reach (endpoints.c);
 *   every local pod's policy set spec is resolved from them;
 *   the set table plans which sets to write and where each pod goes
 *   (set_table.h: pods with equal specs share, unchanged sets are not
 *   touched, a set held by one group is swapped in place);
 *   written sets are compiled and applied, then pods are bound and
 *   attached, then sets nobody uses are deleted; the state file follows.
 * Standard mode: a direction no policy selects is open. Strict mode: it
 * stays unknown, so the datapath's strict default (deny) holds, as the
 * seed's strict mode keeps pods without policies closed.
 *
 * Until the source is loaded (kube: before both watches listed once) the
 * cache may lack policies a previous run enforced, so a reconcile only
 * lets pods that left go: no set is written or deleted and no pod bound,
 * and what the pins hold stays enforced.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "log.h"
#include "agent.h"

struct agent_pass {
	struct agent_specs specs;
	struct pf_set_want *w;        /* specs.w */
	size_t n;                     /* specs.n */
	struct pf_set_plan plan;
	struct pf_compiled *compiled; /* per plan step, for the written ones */
	bool *done;                   /* per plan step: the set holds its spec */
	uint32_t *moved_ifx, *moved_set; /* pods rebound from another set */
	size_t n_moved, n_written, n_adopted;
	int err;
	char why[512];                /* the first failure */
};

static void agent_pass_fail(struct agent_pass *ps, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void agent_pass_fail(struct agent_pass *ps, int err, const char *fmt, ...)
{
	va_list ap;

	if (ps->err)
		return;
	ps->err = err;
	va_start(ap, fmt);
	vsnprintf(ps->why, sizeof(ps->why), fmt, ap);
	va_end(ap);
}

/* Pods whose veth went away (or was made again) and released pods. */
static void agent_drop_gone(struct agent *a)
{
	for (size_t i = a->n_pods; i-- > 0;) {
		struct agent_pod *p = a->pods[i];
		int idx = p->gone ? 0 : (int)if_nametoindex(p->lp.host_veth);

		if (!p->gone && !idx) {
			pf_info("pod %s/%s: veth %s is gone", p->lp.ns, p->lp.name, p->lp.host_veth);
			p->gone = true;
		} else if (!p->gone && idx != p->lp.ifindex) {
			pf_info("pod %s/%s: veth %s is now ifindex %d (was %d)", p->lp.ns, p->lp.name,
				p->lp.host_veth, idx, p->lp.ifindex);
			if (p->bound)
				pf_datapath_pod_unbind(a->dp, p->lp.ifindex);
			p->lp.ifindex = idx;
			p->bound = p->attached = false;
			a->state_dirty = true;
		}
		if (!p->gone)
			continue;
		if (p->bound)
			pf_datapath_pod_unbind(a->dp, p->lp.ifindex);
		/* Released by the CNI while its veth still exists: take our
		 * programs off it. */
		if (p->attached && (int)if_nametoindex(p->lp.host_veth) == p->lp.ifindex)
			pf_datapath_detach(a->dp, p->lp.ifindex);
		pf_set_table_move(&a->sets, p->lp.set_id, 0);
		pf_info("pod %s/%s removed (it held policy set %u)", p->lp.ns, p->lp.name,
			p->lp.set_id);
		agent_pod_unpublish(a, p);
		agent_pod_remove(a, p);
		a->state_dirty = true;
	}
}

static uint32_t agent_set_gen(struct agent *a, uint32_t id)
{
	struct pf_set_val v = { 0 };

	bpf_map_lookup_elem(pf_datapath_map_fd(a->dp, PF_MAP_SETS), &id, &v);
	return v.gen;
}

static void agent_count_entries(const struct pf_compiled *c, size_t *rules, size_t *hosts)
{
	*rules = *hosts = 0;
	for (int d = 0; d < 2; d++)
		for (size_t i = 0; i < c->dir[d].n; i++) {
			const struct pf_cidr *p = &c->dir[d].entries[i].prefix;

			if (p->len == pf_cidr_max_len(p->family))
				(*hosts)++;
			else
				(*rules)++;
		}
}

static void agent_pass_write(struct agent *a, struct agent_pass *ps)
{
	for (size_t k = 0; k < ps->plan.n; k++) {
		const struct pf_set_step *s = &ps->plan.steps[k];
		struct pf_set_want *r = &ps->w[s->want];
		const struct pf_set_entry *e = pf_set_table_get(&a->sets, s->id);
		size_t rules, hosts;
		int rc;

		if (s->kind == PF_SET_ADOPT) {
			rc = pf_set_table_commit(&a->sets, s->id, r->key, &r->spec, e->n_rules,
						 e->n_hosts, e->gen);
			if (rc) {
				agent_pass_fail(ps, rc, "policy set %u: out of memory", s->id);
				continue;
			}
			pf_info("policy set %u adopted: its pinned rules are the ones wanted", s->id);
			ps->done[k] = true;
			ps->n_adopted++;
			continue;
		}
		rc = pf_policy_compile(r->spec, &ps->compiled[k]);
		if (rc) {
			agent_pass_fail(ps, rc, "compile policy set %u: %s", s->id, strerror(-rc));
			continue;
		}
		rc = pf_policy_set_apply(a->dp, s->id, &ps->compiled[k]);
		if (rc) {
			agent_pass_fail(ps, rc, "write policy set %u: %s", s->id, strerror(-rc));
			continue;
		}
		agent_count_entries(&ps->compiled[k], &rules, &hosts);
		rc = pf_set_table_commit(&a->sets, s->id, r->key, &r->spec, rules, hosts,
					 agent_set_gen(a, s->id));
		if (rc) {
			agent_pass_fail(ps, rc, "policy set %u: out of memory", s->id);
			continue;
		}
		pf_debug("policy set %u written: %zu prefixes, %zu hosts", s->id, rules, hosts);
		ps->done[k] = true;
		ps->n_written++;
		a->state_dirty = true;
	}
}

static long agent_step_of(const struct agent_pass *ps, uint32_t id)
{
	for (size_t k = 0; k < ps->plan.n; k++)
		if (ps->plan.steps[k].id == id)
			return (long)k;
	return -1;
}

/* Records why p is not enforced, and fails the pass. */
static void agent_pod_fail(struct agent_pass *ps, struct agent_pod *p, int rc, const char *what)
{
	snprintf(p->error, sizeof(p->error), "%s: %s", what, strerror(-rc));
	agent_pass_fail(ps, rc, "pod %s/%s: %s", p->lp.ns, p->lp.name, p->error);
}

static int agent_pod_bind(struct agent *a, struct agent_pass *ps, struct agent_pod *p,
			  uint32_t target)
{
	char what[64];
	int rc;

	if (p->bound && p->lp.set_id == target)
		return 0;
	rc = pf_datapath_pod_bind(a->dp, p->lp.ifindex, target);
	if (rc) {
		snprintf(what, sizeof(what), "bind to policy set %u", target);
		agent_pod_fail(ps, p, rc, what);
		return rc;
	}
	pf_set_table_move(&a->sets, p->lp.set_id, target);
	/* It had flows under another set: they are re-checked. */
	if (p->bound) {
		ps->moved_ifx[ps->n_moved] = (uint32_t)p->lp.ifindex;
		ps->moved_set[ps->n_moved++] = target;
	}
	p->lp.set_id = target;
	p->bound = true;
	a->state_dirty = true;
	return 0;
}

static int agent_pod_attach(struct agent *a, struct agent_pass *ps, struct agent_pod *p)
{
	int rc;

	if (p->attached)
		return 0;
	rc = pf_datapath_attach(a->dp, p->lp.ifindex);
	if (rc) {
		agent_pod_fail(ps, p, rc, "attach to its veth");
		return rc;
	}
	p->attached = true;
	pf_info("pod %s/%s enforced on %s (ifindex %d) with policy set %u", p->lp.ns, p->lp.name,
		p->lp.host_veth, p->lp.ifindex, p->lp.set_id);
	return 0;
}

/* Sets are written: pods are bound to them, then programs attached (a pod's
 * first packet through the programs already finds its set). */
static void agent_pass_bind(struct agent *a, struct agent_pass *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		struct agent_pod *p = ps->specs.pod[i];
		uint32_t target = ps->w[i].set;
		long k = agent_step_of(ps, target);

		if (k >= 0 && !ps->done[k]) {
			snprintf(p->error, sizeof(p->error), "policy set %u could not be written",
				 target);
			continue;
		}
		if (agent_pod_bind(a, ps, p, target) || agent_pod_attach(a, ps, p))
			continue;
		p->error[0] = 0;
		p->spec_dirty = false;
	}
}

/* Flows of pods moved to another set are judged by its rules at once. */
static void agent_pass_revalidate(struct agent *a, struct agent_pass *ps)
{
	uint32_t *ifx = calloc(ps->n_moved + 1, sizeof(*ifx));

	for (size_t i = 0; ifx && i < ps->n_moved; i++) {
		uint32_t set = ps->moved_set[i];
		long k = agent_step_of(ps, set);
		const struct pf_set_entry *e = pf_set_table_get(&a->sets, set);
		struct pf_compiled own = { 0 }, *c = NULL;
		size_t n = 0;
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = ps->moved_set[j] == set;
		if (seen)
			continue;
		for (size_t j = i; j < ps->n_moved; j++)
			if (ps->moved_set[j] == set)
				ifx[n++] = ps->moved_ifx[j];
		if (k >= 0 && ps->plan.steps[k].kind == PF_SET_WRITE)
			c = &ps->compiled[k];
		else if (e && e->spec && !pf_policy_compile(e->spec, &own))
			c = &own;
		if (c)
			pf_ct_revalidate_pods(a->dp, ifx, n, c);
		else
			pf_warn("policy set %u: rules unknown, tracked flows of %zu pods moved to it "
				"are kept", set, n);
		pf_compiled_free(&own);
	}
	free(ifx);
}

static void agent_release_unused_sets(struct agent *a, struct agent_pass *ps)
{
	uint32_t *ids;
	size_t n;

	if (pf_set_table_unused(&a->sets, &ids, &n)) {
		agent_pass_fail(ps, -ENOMEM, "policy sets: out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int rc = pf_policy_set_delete(a->dp, ids[i]);

		if (rc) {
			agent_pass_fail(ps, rc, "delete policy set %u: %s", ids[i], strerror(-rc));
			continue;
		}
		pf_set_table_remove(&a->sets, ids[i]);
		pf_debug("policy set %u deleted: no pod uses it", ids[i]);
		a->state_dirty = true;
	}
	free(ids);
}

static int agent_pass_alloc_steps(struct agent_pass *ps, size_t n_pods, size_t n_steps)
{
	ps->compiled = calloc(n_steps + 1, sizeof(*ps->compiled));
	ps->done = calloc(n_steps + 1, sizeof(*ps->done));
	ps->moved_ifx = calloc(n_pods + 1, sizeof(*ps->moved_ifx));
	ps->moved_set = calloc(n_pods + 1, sizeof(*ps->moved_set));
	return ps->compiled && ps->done && ps->moved_ifx && ps->moved_set ? 0 : -ENOMEM;
}

static void agent_pass_free(struct agent_pass *ps)
{
	agent_specs_free(&ps->specs);
	for (size_t k = 0; ps->compiled && k < ps->plan.n; k++)
		pf_compiled_free(&ps->compiled[k]);
	free(ps->compiled);
	free(ps->done);
	free(ps->moved_ifx);
	free(ps->moved_set);
	pf_set_plan_free(&ps->plan);
}

static void agent_reconcile_metrics(struct agent *a, double seconds)
{
	size_t enforced = 0, rules = 0, hosts = 0;

	for (size_t i = 0; i < a->n_pods; i++)
		enforced += a->pods[i]->bound && a->pods[i]->attached && !a->pods[i]->error[0];
	for (size_t i = 0; i < a->sets.n; i++) {
		rules += a->sets.e[i].n_rules;
		hosts += a->sets.e[i].n_hosts;
	}
	pf_prom_set(a->m.pods, NULL, (double)enforced);
	pf_prom_set(a->m.sets, NULL, (double)a->sets.n);
	pf_prom_set(a->m.entries, "rules", (double)rules);
	pf_prom_set(a->m.entries, "hosts", (double)hosts);
	pf_prom_observe(a->m.reconcile_seconds, NULL, seconds);
}

/* Before the source is loaded: pods not already enforced by the pins wait. */
static void agent_hold_pods(struct agent *a)
{
	for (size_t i = 0; i < a->n_pods; i++) {
		struct agent_pod *p = a->pods[i];

		if (!p->bound || !p->attached)
			snprintf(p->error, sizeof(p->error),
				 "waiting for the first full read of the %s: source",
				 a->source->name);
	}
}

/* The cache to the datapath, once the source is loaded. */
static void agent_pass_run(struct agent *a, struct agent_pass *ps)
{
	int rc = agent_endpoints_update(a, ps->why, sizeof(ps->why));

	if (!rc)
		rc = agent_specs_build(a, &ps->specs, ps->why, sizeof(ps->why));
	if (rc) {
		ps->err = rc;
		return;
	}
	ps->w = ps->specs.w;
	ps->n = ps->specs.n;
	rc = pf_set_table_plan(&a->sets, ps->w, ps->n, &ps->plan);
	if (rc) {
		agent_pass_fail(ps, rc, "plan policy sets: %s",
				rc == -ENOSPC ? "every policy set id is in use" : strerror(-rc));
		return;
	}
	if (agent_pass_alloc_steps(ps, ps->n, ps->plan.n)) {
		agent_pass_fail(ps, -ENOMEM, "reconcile: out of memory");
		return;
	}
	agent_pass_write(a, ps);
	agent_pass_bind(a, ps);
	agent_pass_revalidate(a, ps);
	agent_release_unused_sets(a, ps);
}

int agent_reconcile(struct agent *a)
{
	struct agent_pass ps = { 0 };
	uint64_t gen = ++a->gen_started;
	struct timespec t0;
	double seconds;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	agent_drop_gone(a);
	if (a->source_loaded)
		agent_pass_run(a, &ps);
	else
		agent_hold_pods(a);
	if (agent_state_flush(a))
		agent_pass_fail(&ps, -EIO, "the state file could not be saved");
	if (a->cfg.events)
		agent_names_refresh(a);
	seconds = agent_elapsed(&t0);
	agent_reconcile_metrics(a, seconds);
	if (ps.err) {
		pf_err("reconcile: %s; retrying", ps.why);
		pf_prom_add(a->m.reconcile_errors, NULL, 1);
	} else if (!a->source_loaded) {
		pf_debug("reconciled %zu pods: the source is not loaded yet, the pins stay as they are",
			 a->n_pods);
	} else if (ps.n_written || ps.n_adopted) {
		pf_info("reconciled %zu pods in %.1f ms: %zu policy sets, %zu written, %zu adopted",
			a->n_pods, seconds * 1e3, a->sets.n, ps.n_written, ps.n_adopted);
	} else {
		pf_debug("reconciled %zu pods in %.1f ms: nothing to write", a->n_pods,
			 seconds * 1e3);
	}
	rc = ps.err;
	agent_pass_free(&ps);
	a->last_reconcile_failed = rc != 0;
	if (!rc && a->source_loaded)
		a->first_reconcile_done = true;
	a->gen_done = gen;
	pthread_cond_broadcast(&a->reconciled);
	return rc;
}
