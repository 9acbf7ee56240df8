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

void pf_ct4_key_from_view(const struct pf_ct_key *view, struct pf_ct4_key *k)
{
	memset(k, 0, sizeof(*k));
	k->ifindex = view->ifindex;
	memcpy(&k->pod_addr, view->pod_addr, 4);
	memcpy(&k->peer_addr, view->peer_addr, 4);
	k->pod_port = view->pod_port;
	k->peer_port = view->peer_port;
	k->proto = view->proto;
}

void pf_ct4_key_view(const struct pf_ct4_key *k, struct pf_ct_key *view)
{
	memset(view, 0, sizeof(*view));
	view->ifindex = k->ifindex;
	view->proto = k->proto;
	view->family = PF_FAMILY_V4;
	view->pod_port = k->pod_port;
	view->peer_port = k->peer_port;
	memcpy(view->pod_addr, &k->pod_addr, 4);
	memcpy(view->peer_addr, &k->peer_addr, 4);
}

void pf_ct6_key_from_view(const struct pf_ct_key *view, struct pf_ct6_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->peer_addr, view->peer_addr, 16);
	k->pod_port = view->pod_port;
	k->peer_port = view->peer_port;
	k->ifx_proto = pf_ct6_ifx_proto(view->ifindex, view->proto);
}

bool pf_ct6_val_holds(const struct pf_ct6_val *v, const struct pf_ct_key *view)
{
	return v->ifindex == view->ifindex && !memcmp(v->pod_addr, view->pod_addr, 16);
}

void pf_ct6_entry_view(const struct pf_ct6_key *k, const struct pf_ct6_val *v,
		       struct pf_ct_key *view)
{
	memset(view, 0, sizeof(*view));
	view->ifindex = v->ifindex;
	view->proto = (uint8_t)(k->ifx_proto >> 24);
	view->family = PF_FAMILY_V6;
	view->pod_port = k->pod_port;
	view->peer_port = k->peer_port;
	memcpy(view->pod_addr, v->pod_addr, 16);
	memcpy(view->peer_addr, k->peer_addr, 16);
}

/* What becomes of a tracked flow. */
enum pf_ct_fate {
	PF_CT_KEEP,
	PF_CT_REWRITE, /* keep it, with the value the judge changed */
	PF_CT_DROP,
};

/* Judges one flow, seen as a pf_ct_key whatever its map. The judge is asked
 * again right before a dropped entry is deleted: a flow that came alive
 * during the walk is kept. */
typedef enum pf_ct_fate (*pf_ct_judge_fn)(const struct pf_ct_key *k, struct pf_ct_val *v,
					  void *ctx);

static void pf_ct4_raw_view(const void *key, const void *val, struct pf_ct_key *view)
{
	(void)val;
	pf_ct4_key_view(key, view);
}

static void pf_ct6_raw_view(const void *key, const void *val, struct pf_ct_key *view)
{
	pf_ct6_entry_view(key, val, view);
}

/* The two conntrack maps, each with its key, its value (a struct pf_ct_val
 * first) and how user space views a flow of it. */
static const struct pf_ct_table {
	enum pf_map_id id;
	size_t key_size;
	void (*view)(const void *key, const void *val, struct pf_ct_key *view);
} pf_ct_tables[] = {
	{ PF_MAP_CT4, sizeof(struct pf_ct4_key), pf_ct4_raw_view },
	{ PF_MAP_CT6, sizeof(struct pf_ct6_key), pf_ct6_raw_view },
};

/* Room for a key or a value of either map. */
union pf_ct_raw_key {
	struct pf_ct4_key k4;
	struct pf_ct6_key k6;
};

union pf_ct_raw_val {
	struct pf_ct_val ct;
	struct pf_ct6_val v6;
};

/* Judges the flow of one table's raw key: true when it is to be dropped. */
static bool pf_ct_judge_one(int fd, const struct pf_ct_table *t, const void *raw,
			    pf_ct_judge_fn judge, void *ctx)
{
	struct pf_ct_key view;
	union pf_ct_raw_val v;

	if (bpf_map_lookup_elem(fd, raw, &v))
		return false; /* gone meanwhile */
	t->view(raw, &v, &view);
	switch (judge(&view, &v.ct, ctx)) {
	case PF_CT_DROP:
		return true;
	case PF_CT_REWRITE:
		/* An entry the datapath evicted meanwhile is no error. */
		bpf_map_update_elem(fd, raw, &v, BPF_EXIST);
		return false;
	default:
		return false;
	}
}

/* Deletes every entry of one table the judge drops; keys are gathered
 * first because deleting during a get_next_key walk restarts it. */
static int pf_ct_prune_table(struct pf_datapath *dp, const struct pf_ct_table *t,
			     pf_ct_judge_fn judge, void *ctx, size_t *removed)
{
	int fd = dp->map_fd[t->id];
	union pf_ct_raw_key cur, prev;
	uint8_t *keys = NULL;
	size_t n = 0, cap = 0;
	bool have_prev = false;
	int err = 0;

	while (!bpf_map_get_next_key(fd, have_prev ? &prev : NULL, &cur)) {
		memcpy(&prev, &cur, t->key_size);
		have_prev = true;
		if (!pf_ct_judge_one(fd, t, &cur, judge, ctx))
			continue;
		if (n == cap) {
			uint8_t *nk = realloc(keys, (cap = cap ? cap * 2 : 256) * t->key_size);

			if (!nk) {
				err = -ENOMEM;
				break;
			}
			keys = nk;
		}
		memcpy(keys + n++ * t->key_size, &cur, t->key_size);
	}
	for (size_t i = 0; i < n; i++)
		if (pf_ct_judge_one(fd, t, keys + i * t->key_size, judge, ctx) &&
		    !bpf_map_delete_elem(fd, keys + i * t->key_size))
			(*removed)++;
	free(keys);
	return err;
}

/* Both tables, IPv4 then IPv6. */
static int pf_ct_prune(struct pf_datapath *dp, pf_ct_judge_fn judge, void *ctx,
		       size_t *removed)
{
	size_t gone = 0;
	int err = 0;

	for (size_t i = 0; i < sizeof(pf_ct_tables) / sizeof(pf_ct_tables[0]) && !err; i++)
		err = pf_ct_prune_table(dp, &pf_ct_tables[i], judge, ctx, &gone);
	if (removed)
		*removed = gone;
	return err;
}

struct pf_idle_ctx {
	uint64_t now, max_idle;
};

/* A flow seen since the last sweep is live now: the sweep, not the packet,
 * stamps last_seen_ns (the datapath reads no clock on a conntrack hit). */
static enum pf_ct_fate pf_ct_idle(const struct pf_ct_key *k, struct pf_ct_val *v, void *ctx)
{
	const struct pf_idle_ctx *c = ctx;

	(void)k;
	if (v->seen) {
		v->seen = 0;
		v->last_seen_ns = c->now;
		return PF_CT_REWRITE;
	}
	return c->now > v->last_seen_ns && c->now - v->last_seen_ns > c->max_idle ? PF_CT_DROP
										  : PF_CT_KEEP;
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

static enum pf_ct_fate pf_ct_of_ifindex(const struct pf_ct_key *k, struct pf_ct_val *v,
					void *ctx)
{
	(void)v;
	return k->ifindex == *(const uint32_t *)ctx ? PF_CT_DROP : PF_CT_KEEP;
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
static enum pf_ct_fate pf_ct_revoked(const struct pf_ct_key *k, struct pf_ct_val *v, void *ctx)
{
	const struct pf_revalidate_ctx *r = ctx;
	enum pf_dir dir = v->origin ? PF_DIR_EGRESS : PF_DIR_INGRESS;
	bool refused;
	size_t i;

	for (i = 0; i < r->n && r->ifindexes[i] != k->ifindex; i++)
		;
	if (i == r->n)
		return PF_CT_KEEP;
	switch (r->c->dir[dir].isolation) {
	case PF_ISO_OPEN:
		refused = false;
		break;
	case PF_ISO_ISOLATED:
		/* The port matched is the destination's: the peer's for egress,
		 * the pod's for ingress. */
		refused = !pf_compiled_allows(r->c, dir, k->family, k->peer_addr, k->proto,
					      dir == PF_DIR_EGRESS ? k->peer_port : k->pod_port,
					      k->proto == 6 || k->proto == 17 || k->proto == 132);
		break;
	default:
		refused = r->mode == PF_MODE_STRICT;
	}
	return refused ? PF_CT_DROP : PF_CT_KEEP;
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

int pf_ct_revalidate(struct pf_datapath *dp, uint32_t set_id, const uint32_t *pods, size_t n,
		     const struct pf_compiled *c)
{
	struct pf_revalidate_ctx r = { .c = c, .ifindexes = pods, .n = n, .mode = dp->mode };
	size_t removed = 0;
	int err = n ? pf_ct_prune(dp, pf_ct_revoked, &r, &removed) : 0;

	if (err)
		pf_err("re-check tracked flows of policy set %u: %s", set_id, strerror(-err));
	else if (removed)
		pf_info("policy set %u: %zu tracked flows no longer allowed were removed", set_id,
			removed);
	return err;
}
