// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "podfence_abi.h"
#include "ipam_pool.h"
#include "log.h"

typedef uint8_t pf_addr16[16];

/* One family's side of the pool. The warm set is a queue: assignments take
 * from the front, released addresses join the back. */
struct pf_ipam_family {
	struct pf_ipam_source *src;
	pf_addr16 *warm;
	size_t n_warm, cap_warm;
	uint64_t assigned;
	uint64_t shortfall;
};

struct pf_ipam_pool {
	struct pf_ipam_pool_opts opts;
	struct pf_ipam_family fam[2]; /* [0] IPv4, [1] IPv6 */
	struct pf_ipam_assignment *a;
	size_t n, cap;
};

static struct pf_ipam_family *pf_fam(struct pf_ipam_pool *pool, uint8_t family)
{
	struct pf_ipam_family *f = &pool->fam[family == PF_FAMILY_V6];

	return f->src ? f : NULL;
}

int pf_ipam_pool_new(const struct pf_ipam_pool_opts *opts, struct pf_ipam_source *v4,
		     struct pf_ipam_source *v6, struct pf_ipam_pool **out)
{
	struct pf_ipam_pool *pool = calloc(1, sizeof(*pool));

	if (!pool)
		return -ENOMEM;
	pool->opts = *opts;
	pool->fam[0].src = v4;
	pool->fam[1].src = v6;
	*out = pool;
	return 0;
}

void pf_ipam_assignment_clear(struct pf_ipam_assignment *a)
{
	free(a->container_id);
	free(a->ifname);
	free(a->netns);
	free(a->pod_namespace);
	free(a->pod_name);
	memset(a, 0, sizeof(*a));
}

void pf_ipam_pool_free(struct pf_ipam_pool *pool)
{
	if (!pool)
		return;
	for (size_t i = 0; i < pool->n; i++)
		pf_ipam_assignment_clear(&pool->a[i]);
	free(pool->a);
	for (int i = 0; i < 2; i++) {
		free(pool->fam[i].warm);
		pf_ipam_source_free(pool->fam[i].src);
	}
	free(pool);
}

static uint64_t pf_warm_target(const struct pf_ipam_pool *pool, const struct pf_ipam_family *f)
{
	uint64_t warm = pool->opts.warm_ip_target, min = pool->opts.minimum_ip_target;
	uint64_t below_min = min > f->assigned ? min - f->assigned : 0;

	return warm > below_min ? warm : below_min;
}

static int pf_warm_insert(struct pf_ipam_family *f, size_t at, const uint8_t *addr)
{
	if (f->n_warm == f->cap_warm) {
		size_t cap = f->cap_warm ? f->cap_warm * 2 : 16;
		pf_addr16 *grown = realloc(f->warm, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		f->warm = grown;
		f->cap_warm = cap;
	}
	memmove(f->warm + at + 1, f->warm + at, (f->n_warm - at) * sizeof(*f->warm));
	memcpy(f->warm[at], addr, 16);
	f->n_warm++;
	return 0;
}

static void pf_warm_remove(struct pf_ipam_family *f, size_t at, uint8_t *addr)
{
	if (addr)
		memcpy(addr, f->warm[at], 16);
	memmove(f->warm + at, f->warm + at + 1, (f->n_warm - at - 1) * sizeof(*f->warm));
	f->n_warm--;
}

/* Brings the warm set to its target: reserves from the source what is
 * missing, and returns the most recently added surplus (most often the
 * address just released) to the source, which hands it out last. */
static void pf_rebalance(struct pf_ipam_pool *pool, struct pf_ipam_family *f)
{
	uint64_t target = pf_warm_target(pool, f), was_short = f->shortfall;
	uint8_t addr[16];

	while (f->n_warm < target && !f->src->ops->take(f->src->priv, addr)) {
		if (pf_warm_insert(f, f->n_warm, addr)) {
			f->src->ops->put(f->src->priv, addr);
			break;
		}
	}
	while (f->n_warm > target) {
		pf_warm_remove(f, f->n_warm - 1, addr);
		f->src->ops->put(f->src->priv, addr);
	}
	f->shortfall = target - f->n_warm;
	if (f->shortfall && !was_short)
		pf_warn("ipam pool %s cannot keep its warm target (WARM_IP_TARGET=%u, "
			"MINIMUM_IP_TARGET=%u): %llu assigned, %zu warm, %llu short",
			f->src->name, pool->opts.warm_ip_target, pool->opts.minimum_ip_target,
			(unsigned long long)f->assigned, f->n_warm,
			(unsigned long long)f->shortfall);
	else if (!f->shortfall && was_short)
		pf_info("ipam pool %s meets its warm target again: %zu warm", f->src->name,
			f->n_warm);
}

void pf_ipam_pool_fill_warm(struct pf_ipam_pool *pool)
{
	for (int i = 0; i < 2; i++)
		if (pool->fam[i].src)
			pf_rebalance(pool, &pool->fam[i]);
}

/* The next address for a pod: the front of the warm set, else the source. */
static int pf_take(struct pf_ipam_family *f, uint8_t *addr)
{
	if (f->n_warm) {
		pf_warm_remove(f, 0, addr);
		return 0;
	}
	return f->src->ops->take(f->src->priv, addr);
}

/* Undoes pf_take for an address no pod got: it goes back to the front of
 * the warm set if the set wants it, else to the source. */
static void pf_untake(struct pf_ipam_pool *pool, struct pf_ipam_family *f, const uint8_t *addr)
{
	if (pf_warm_insert(f, 0, addr))
		f->src->ops->put(f->src->priv, addr);
	pf_rebalance(pool, f);
}

static ssize_t pf_index(const struct pf_ipam_pool *pool, const char *container_id,
			const char *ifname)
{
	for (size_t i = 0; i < pool->n; i++)
		if (!strcmp(pool->a[i].container_id, container_id) &&
		    !strcmp(pool->a[i].ifname, ifname))
			return (ssize_t)i;
	return -1;
}

const struct pf_ipam_assignment *pf_ipam_pool_find(const struct pf_ipam_pool *pool,
						   const char *container_id, const char *ifname)
{
	ssize_t i = pf_index(pool, container_id, ifname);

	return i < 0 ? NULL : &pool->a[i];
}

size_t pf_ipam_pool_count(const struct pf_ipam_pool *pool)
{
	return pool->n;
}

const struct pf_ipam_assignment *pf_ipam_pool_at(const struct pf_ipam_pool *pool, size_t i)
{
	return i < pool->n ? &pool->a[i] : NULL;
}

static int pf_copy_strings(struct pf_ipam_assignment *dst, const char *container_id,
			   const char *ifname, const char *netns, const char *pod_namespace,
			   const char *pod_name)
{
	dst->container_id = strdup(container_id);
	dst->ifname = strdup(ifname);
	dst->netns = strdup(netns ? netns : "");
	dst->pod_namespace = strdup(pod_namespace ? pod_namespace : "");
	dst->pod_name = strdup(pod_name ? pod_name : "");
	if (!dst->container_id || !dst->ifname || !dst->netns || !dst->pod_namespace ||
	    !dst->pod_name) {
		pf_ipam_assignment_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

/* Appends a (moved in) and accounts its addresses as assigned. */
static int pf_append(struct pf_ipam_pool *pool, struct pf_ipam_assignment *a)
{
	if (pool->n == pool->cap) {
		size_t cap = pool->cap ? pool->cap * 2 : 64;
		struct pf_ipam_assignment *grown = realloc(pool->a, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		pool->a = grown;
		pool->cap = cap;
	}
	pool->a[pool->n++] = *a;
	if (a->has_v4)
		pool->fam[0].assigned++;
	if (a->has_v6)
		pool->fam[1].assigned++;
	pf_ipam_pool_fill_warm(pool);
	return 0;
}

int pf_ipam_pool_assign(struct pf_ipam_pool *pool, const struct pf_ipam_request *req,
			const struct pf_ipam_assignment **out, bool *existed)
{
	struct pf_ipam_family *v4 = pf_fam(pool, PF_FAMILY_V4), *v6 = pf_fam(pool, PF_FAMILY_V6);
	struct pf_ipam_assignment a = { 0 };
	ssize_t i = pf_index(pool, req->container_id, req->ifname);
	int err;

	*existed = i >= 0;
	if (*existed) {
		*out = &pool->a[i];
		return 0;
	}
	err = pf_copy_strings(&a, req->container_id, req->ifname, req->netns,
			      req->pod_namespace, req->pod_name);
	if (err)
		return err;
	if (v4 && (err = pf_take(v4, a.v4)))
		goto fail;
	a.has_v4 = v4 != NULL;
	if (v6 && (err = pf_take(v6, a.v6)))
		goto fail;
	a.has_v6 = v6 != NULL;
	a.assigned_at = (int64_t)time(NULL);
	err = pf_append(pool, &a);
	if (err)
		goto fail;
	*out = &pool->a[pool->n - 1];
	return 0;
fail:
	if (a.has_v4)
		pf_untake(pool, v4, a.v4);
	if (a.has_v6)
		pf_untake(pool, v6, a.v6);
	pf_ipam_assignment_clear(&a);
	return err;
}

int pf_ipam_pool_release(struct pf_ipam_pool *pool, const char *container_id,
			 const char *ifname, struct pf_ipam_assignment *out)
{
	ssize_t i = pf_index(pool, container_id, ifname);
	struct pf_ipam_family *f;

	if (i < 0)
		return -ENOENT;
	*out = pool->a[i];
	memmove(pool->a + i, pool->a + i + 1, (pool->n - (size_t)i - 1) * sizeof(*pool->a));
	pool->n--;
	for (int fi = 0; fi < 2; fi++) {
		const uint8_t *addr = fi ? out->v6 : out->v4;

		if (!(fi ? out->has_v6 : out->has_v4) || !(f = &pool->fam[fi])->src)
			continue;
		f->assigned--;
		/* To the back of the warm set; the rebalance may hand it
		 * straight back to the source. */
		if (pf_warm_insert(f, f->n_warm, addr))
			f->src->ops->put(f->src->priv, addr);
		pf_rebalance(pool, f);
	}
	return 0;
}

/* Takes addr of family for a restored assignment: out of the warm set if
 * it is there, else claimed from the source. */
static int pf_restore_addr(struct pf_ipam_pool *pool, uint8_t family, const uint8_t *addr,
			   char *err, size_t err_len)
{
	struct pf_ipam_family *f = pf_fam(pool, family);
	char text[64];
	int rc;

	pf_addr_format(family, addr, text, sizeof(text));
	if (!f) {
		snprintf(err, err_len, "address %s: no %s pool is configured", text,
			 family == PF_FAMILY_V4 ? "IPv4" : "IPv6");
		return -ERANGE;
	}
	for (size_t i = 0; i < pool->n; i++) {
		const struct pf_ipam_assignment *o = &pool->a[i];

		if ((family == PF_FAMILY_V4 ? o->has_v4 : o->has_v6) &&
		    !memcmp(family == PF_FAMILY_V4 ? o->v4 : o->v6, addr, 16)) {
			snprintf(err, err_len, "address %s is assigned twice (already to %s/%s)",
				 text, o->container_id, o->ifname);
			return -EEXIST;
		}
	}
	for (size_t i = 0; i < f->n_warm; i++) {
		if (!memcmp(f->warm[i], addr, 16)) {
			pf_warm_remove(f, i, NULL);
			return 0;
		}
	}
	rc = f->src->ops->claim(f->src->priv, addr);
	if (rc == -ERANGE)
		snprintf(err, err_len,
			 "address %s is not one pool %s hands out (outside it, or reserved)", text,
			 f->src->name);
	else if (rc)
		snprintf(err, err_len, "address %s cannot be taken from pool %s: %s", text,
			 f->src->name, strerror(-rc));
	return rc;
}

int pf_ipam_pool_restore(struct pf_ipam_pool *pool, const struct pf_ipam_assignment *a,
			 char *err, size_t err_len)
{
	struct pf_ipam_assignment copy = { 0 };
	int rc;

	if (pf_index(pool, a->container_id, a->ifname) >= 0) {
		snprintf(err, err_len, "container %s interface %s is assigned twice",
			 a->container_id, a->ifname);
		return -EEXIST;
	}
	rc = pf_copy_strings(&copy, a->container_id, a->ifname, a->netns, a->pod_namespace,
			     a->pod_name);
	if (rc) {
		snprintf(err, err_len, "restoring %s/%s: out of memory", a->container_id,
			 a->ifname);
		return rc;
	}
	copy.assigned_at = a->assigned_at;
	if (a->has_v4 && (rc = pf_restore_addr(pool, PF_FAMILY_V4, a->v4, err, err_len)))
		goto fail;
	copy.has_v4 = a->has_v4;
	memcpy(copy.v4, a->v4, 16);
	if (a->has_v6 && (rc = pf_restore_addr(pool, PF_FAMILY_V6, a->v6, err, err_len)))
		goto fail;
	copy.has_v6 = a->has_v6;
	memcpy(copy.v6, a->v6, 16);
	rc = pf_append(pool, &copy);
	if (!rc)
		return 0;
	snprintf(err, err_len, "restoring %s/%s: out of memory", a->container_id, a->ifname);
fail:
	if (copy.has_v4)
		pool->fam[0].src->ops->put(pool->fam[0].src->priv, copy.v4);
	if (copy.has_v6)
		pool->fam[1].src->ops->put(pool->fam[1].src->priv, copy.v6);
	pf_ipam_assignment_clear(&copy);
	return rc;
}

void pf_ipam_pool_stats(const struct pf_ipam_pool *pool, uint8_t family,
			struct pf_ipam_family_stats *st)
{
	const struct pf_ipam_family *f = &pool->fam[family == PF_FAMILY_V6];

	memset(st, 0, sizeof(*st));
	if (!f->src)
		return;
	st->present = true;
	st->kind = f->src->kind;
	st->name = f->src->name;
	st->capacity = f->src->ops->capacity(f->src->priv);
	st->assigned = f->assigned;
	st->free = st->capacity - f->assigned;
	st->warm = f->n_warm;
	st->warm_target = pf_warm_target(pool, f);
	st->shortfall = f->shortfall;
}

const uint8_t *pf_ipam_pool_warm_at(const struct pf_ipam_pool *pool, uint8_t family, size_t i)
{
	const struct pf_ipam_family *f = &pool->fam[family == PF_FAMILY_V6];

	return i < f->n_warm ? f->warm[i] : NULL;
}

struct pf_ipam_source *pf_ipam_pool_source(struct pf_ipam_pool *pool, uint8_t family)
{
	return pool->fam[family == PF_FAMILY_V6].src;
}
