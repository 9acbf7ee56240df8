// SPDX-License-Identifier: Apache-2.0
/* Conntrack housekeeping: the idle sweep, forgetting a pod's flows, and
 * re-checking tracked flows after a policy change. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "datapath_internal.h"
#include "log.h"

/* Whether a tracked flow goes. A predicate may also rewrite the entry
 * through fd (the sweep does), and is asked again right before the entry is
 * deleted: a flow that came alive during the walk is kept. */
typedef bool (*pf_ct_doomed_fn)(int fd, const struct pf_ct_key *k, const struct pf_ct_val *v,
				void *ctx);

/* Deletes every entry the predicate condemns; keys are gathered first
 * because deleting during a get_next_key walk restarts it. */
static int pf_ct_prune(struct pf_datapath *dp, pf_ct_doomed_fn doomed, void *ctx,
		       size_t *removed)
{
	int fd = dp->map_fd[PF_MAP_CT];
	struct pf_ct_key cur, prev, *keys = NULL;
	struct pf_ct_val v;
	size_t n = 0, cap = 0, gone = 0;
	bool have_prev = false;
	int err = 0;

	while (!bpf_map_get_next_key(fd, have_prev ? &prev : NULL, &cur)) {
		prev = cur;
		have_prev = true;
		if (bpf_map_lookup_elem(fd, &cur, &v) || !doomed(fd, &cur, &v, ctx))
			continue;
		if (n == cap) {
			struct pf_ct_key *nk = realloc(keys, (cap = cap ? cap * 2 : 256) * sizeof(*nk));

			if (!nk) {
				err = -ENOMEM;
				break;
			}
			keys = nk;
		}
		keys[n++] = cur;
	}
	for (size_t i = 0; i < n; i++)
		if (!bpf_map_lookup_elem(fd, &keys[i], &v) && doomed(fd, &keys[i], &v, ctx) &&
		    !bpf_map_delete_elem(fd, &keys[i]))
			gone++;
	free(keys);
	if (removed)
		*removed = gone;
	return err;
}

struct pf_idle_ctx {
	uint64_t now, max_idle;
};

/* A flow seen since the last sweep is live now: the sweep, not the packet,
 * stamps last_seen_ns (the datapath reads no clock on a conntrack hit). An
 * entry the datapath or another pass removed meanwhile is no error. */
static bool pf_ct_idle(int fd, const struct pf_ct_key *k, const struct pf_ct_val *v, void *ctx)
{
	const struct pf_idle_ctx *c = ctx;

	if (v->seen) {
		struct pf_ct_val fresh = *v;

		fresh.seen = 0;
		fresh.last_seen_ns = c->now;
		bpf_map_update_elem(fd, k, &fresh, BPF_EXIST);
		return false;
	}
	return c->now > v->last_seen_ns && c->now - v->last_seen_ns > c->max_idle;
}

int pf_ct_sweep(struct pf_datapath *dp, uint64_t max_idle_ns, size_t *removed)
{
	struct pf_idle_ctx c = { .max_idle = max_idle_ns };
	struct timespec ts;

	/* The datapath stamps new entries with bpf_ktime_get_coarse_ns(). */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	c.now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return pf_ct_prune(dp, pf_ct_idle, &c, removed);
}

static bool pf_ct_of_ifindex(int fd, const struct pf_ct_key *k, const struct pf_ct_val *v,
			     void *ctx)
{
	(void)fd;
	(void)v;
	return k->ifindex == *(const uint32_t *)ctx;
}

int pf_ct_forget_ifindex(struct pf_datapath *dp, uint32_t ifindex)
{
	return pf_ct_prune(dp, pf_ct_of_ifindex, &ifindex, NULL);
}

struct pf_revalidate_ctx {
	const struct pf_compiled *c;
	const uint32_t *ifindexes; /* the pods whose flows are re-checked */
	size_t n;
	uint32_t mode;
};

/* Would the flow be refused if its first packet came now? */
static bool pf_ct_revoked(int fd, const struct pf_ct_key *k, const struct pf_ct_val *v,
			  void *ctx)
{
	const struct pf_revalidate_ctx *r = ctx;
	enum pf_dir dir = v->origin ? PF_DIR_EGRESS : PF_DIR_INGRESS;
	size_t i;

	(void)fd;
	for (i = 0; i < r->n && r->ifindexes[i] != k->ifindex; i++)
		;
	if (i == r->n)
		return false;
	switch (r->c->dir[dir].isolation) {
	case PF_ISO_OPEN:
		return false;
	case PF_ISO_ISOLATED:
		/* The port matched is the destination's: the peer's for egress,
		 * the pod's for ingress. */
		return !pf_compiled_allows(r->c, dir, k->family, k->peer_addr, k->proto,
					   dir == PF_DIR_EGRESS ? k->peer_port : k->pod_port,
					   k->proto == 6 || k->proto == 17 || k->proto == 132);
	default:
		return r->mode == PF_MODE_STRICT;
	}
}

int pf_ct_revalidate_pods(struct pf_datapath *dp, const uint32_t *ifindexes, size_t n,
			  const struct pf_compiled *c)
{
	struct pf_revalidate_ctx r = { .c = c, .ifindexes = ifindexes, .n = n,
				       .mode = dp->mode };
	size_t removed = 0;
	int err = n ? pf_ct_prune(dp, pf_ct_revoked, &r, &removed) : 0;

	if (err)
		pf_err("re-check tracked flows of %zu rebound pods: %s", n, strerror(-err));
	else if (removed)
		pf_info("%zu tracked flows of %zu rebound pods no longer allowed were removed",
			removed, n);
	return err;
}

int pf_ct_revalidate(struct pf_datapath *dp, uint32_t set_id, const struct pf_compiled *c)
{
	struct pf_revalidate_ctx r = { .c = c, .mode = dp->mode };
	uint32_t key, prev, *pods = NULL, *grown;
	struct pf_pod_val pod;
	bool have_prev = false;
	size_t removed = 0, cap = 0;
	int err;

	while (!bpf_map_get_next_key(dp->map_fd[PF_MAP_PODS], have_prev ? &prev : NULL, &key)) {
		prev = key;
		have_prev = true;
		if (bpf_map_lookup_elem(dp->map_fd[PF_MAP_PODS], &key, &pod) || pod.set_id != set_id)
			continue;
		if (r.n == cap) {
			grown = realloc(pods, (cap = cap ? cap * 2 : 8) * sizeof(*grown));
			if (!grown) {
				free(pods);
				return -ENOMEM;
			}
			pods = grown;
		}
		pods[r.n++] = key;
	}
	r.ifindexes = pods;
	err = r.n ? pf_ct_prune(dp, pf_ct_revoked, &r, &removed) : 0;
	free(pods);
	if (err)
		pf_err("re-check tracked flows of policy set %u: %s", set_id, strerror(-err));
	else if (removed)
		pf_info("policy set %u: %zu tracked flows no longer allowed were removed", set_id,
			removed);
	return err;
}
