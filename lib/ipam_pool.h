/* SPDX-License-Identifier: Apache-2.0 */
/* The node's pod address pool: which (container, interface) holds which
 * IPv4 (and IPv6) address, over one address source per family
 * (ipam_source.h). Besides the assigned addresses the pool keeps a warm set
 * per family, reserved from the source but not assigned, sized by the
 * seed's knobs:
 *   WARM_IP_TARGET     unassigned addresses kept reserved;
 *   MINIMUM_IP_TARGET  addresses reserved in all (assigned + warm).
 * A released address goes to the back of the warm set, or back to the
 * source when the warm set is full, so it is not handed straight to the
 * next pod. Not thread-safe: the daemon serializes calls. */
#ifndef PF_IPAM_POOL_H
#define PF_IPAM_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipam_source.h"

struct pf_ipam_assignment {
	char *container_id, *ifname;            /* the key */
	char *netns, *pod_namespace, *pod_name; /* "" when not given */
	bool has_v4, has_v6;
	uint8_t v4[16], v6[16]; /* IPv4 in the first 4 bytes */
	int64_t assigned_at;    /* unix seconds */
};

struct pf_ipam_request {
	const char *container_id, *ifname;
	const char *netns, *pod_namespace, *pod_name; /* may be NULL */
};

struct pf_ipam_pool_opts {
	unsigned warm_ip_target;
	unsigned minimum_ip_target;
};

struct pf_ipam_pool;

/* Takes ownership of the sources (v6 may be NULL: an IPv4-only node). The
 * warm sets stay empty until the first change or pf_ipam_pool_fill_warm,
 * so saved assignments can be restored first. */
int pf_ipam_pool_new(const struct pf_ipam_pool_opts *opts, struct pf_ipam_source *v4,
		     struct pf_ipam_source *v6, struct pf_ipam_pool **out);
void pf_ipam_pool_free(struct pf_ipam_pool *pool);
/* Reserves what each warm set misses (and logs a warning, once, when the
 * source cannot give it). Every change of the pool does this too. */
void pf_ipam_pool_fill_warm(struct pf_ipam_pool *pool);

/* Gives the request an address of every family the pool has. The same
 * (container_id, ifname) gets its existing assignment back (*existed set).
 * *a points into the pool and stays valid until the next change. Returns
 * 0, -ENOSPC when a family has no address left (nothing changes), -ENOMEM. */
int pf_ipam_pool_assign(struct pf_ipam_pool *pool, const struct pf_ipam_request *req,
			const struct pf_ipam_assignment **a, bool *existed);
/* Releases the assignment of (container_id, ifname) and moves it to *out
 * (free with pf_ipam_assignment_clear). -ENOENT when there was none. */
int pf_ipam_pool_release(struct pf_ipam_pool *pool, const char *container_id,
			 const char *ifname, struct pf_ipam_assignment *out);
/* Puts back an assignment exactly as given (restoring a checkpoint, or
 * undoing a release that could not be saved). -EEXIST when its key or an
 * address is already assigned, -ERANGE when an address is not one the pool
 * hands out; err says which. */
int pf_ipam_pool_restore(struct pf_ipam_pool *pool, const struct pf_ipam_assignment *a,
			 char *err, size_t err_len);

const struct pf_ipam_assignment *pf_ipam_pool_find(const struct pf_ipam_pool *pool,
						   const char *container_id, const char *ifname);
/* Assignments in the order they were made: index 0 .. count-1. */
size_t pf_ipam_pool_count(const struct pf_ipam_pool *pool);
const struct pf_ipam_assignment *pf_ipam_pool_at(const struct pf_ipam_pool *pool, size_t i);

struct pf_ipam_family_stats {
	bool present;       /* the pool has this family */
	const char *kind;   /* the source's kind, "cidr" */
	const char *name;   /* the source's name, e.g. the CIDR */
	uint64_t capacity;  /* addresses the source can give in all */
	uint64_t assigned;  /* held by pods */
	uint64_t free;      /* capacity - assigned: pods that still fit */
	uint64_t warm;      /* reserved, unassigned */
	uint64_t warm_target;
	uint64_t shortfall; /* how far the warm set is below its target */
};
void pf_ipam_pool_stats(const struct pf_ipam_pool *pool, uint8_t family,
			struct pf_ipam_family_stats *st);
/* Warm address i (0 .. stats.warm-1, next to be assigned first) of a
 * family, 16 bytes. */
const uint8_t *pf_ipam_pool_warm_at(const struct pf_ipam_pool *pool, uint8_t family, size_t i);
/* The source of a family, or NULL (the checkpoint saves its cursor). */
struct pf_ipam_source *pf_ipam_pool_source(struct pf_ipam_pool *pool, uint8_t family);

void pf_ipam_assignment_clear(struct pf_ipam_assignment *a);

#endif
