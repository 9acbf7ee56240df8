// SPDX-License-Identifier: Apache-2.0
/* Writing a compiled policy set into the maps under a fresh generation and
 * swapping it in: the set's pf_sets value, then each of its pods' copy in
 * pf_pods, each one update. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "datapath_internal.h"
#include "log.h"

static bool pf_is_host(const struct pf_cidr *c)
{
	return c->len == pf_cidr_max_len(c->family);
}

void pf_host4_key_from_view(const struct pf_host_key *view, struct pf_host4_key *k)
{
	memset(k, 0, sizeof(*k));
	k->gen = view->gen;
	k->dir_family = view->dir_family;
	k->plen = view->plen;
	memcpy(&k->addr, view->addr, 4);
}

void pf_host4_key_view(const struct pf_host4_key *k, struct pf_host_key *view)
{
	memset(view, 0, sizeof(*view));
	view->gen = k->gen;
	view->dir_family = k->dir_family;
	view->plen = k->plen;
	memcpy(view->addr, &k->addr, 4);
}

union pf_host_keys {
	struct pf_host4_key v4;
	struct pf_host_key v6;
};

/* The key of hashed entry c in pf_hosts4 or pf_hosts6 (into buf), and that
 * map's fd. */
static const void *pf_host_key_fill(struct pf_datapath *dp, uint32_t gen, int dir,
				    const struct pf_cidr *c, union pf_host_keys *buf, int *fd)
{
	struct pf_host_key view = { .gen = gen, .dir_family = (uint8_t)(dir << 4 | c->family),
				    .plen = c->len };

	memcpy(view.addr, c->addr, 16);
	if (c->family == PF_FAMILY_V4) {
		pf_host4_key_from_view(&view, &buf->v4);
		*fd = dp->map_fd[PF_MAP_HOSTS4];
		return &buf->v4;
	}
	buf->v6 = view;
	*fd = dp->map_fd[PF_MAP_HOSTS6];
	return &buf->v6;
}

/* Per direction and family, the distinct prefix lengths of the entries,
 * longest first, or PF_SET_PLENS_TRIE when there are more than
 * PF_SET_PLENS (abi/podfence_abi.h). */
static void pf_set_plens(const struct pf_compiled *c, struct pf_set_val *v)
{
	for (int d = 0; d < 2; d++) {
		for (int f = 0; f < 2; f++) {
			uint8_t family = f ? PF_FAMILY_V6 : PF_FAMILY_V4;
			bool have[129] = { false };
			unsigned n = 0;

			for (size_t i = 0; i < c->dir[d].n; i++)
				if (c->dir[d].entries[i].prefix.family == family)
					have[c->dir[d].entries[i].prefix.len] = true;
			memset(v->plens[d][f], 0, PF_SET_PLENS);
			for (int len = (int)pf_cidr_max_len(family); len >= 0; len--) {
				if (!have[len])
					continue;
				if (n == PF_SET_PLENS) {
					n = PF_SET_PLENS_TRIE;
					break;
				}
				v->plens[d][f][n++] = (uint8_t)len;
			}
			v->n_plens[d][f] = (uint8_t)n;
		}
	}
}

/* Whether an entry of a set laid out as v is hashed (pf_hosts4/pf_hosts6)
 * rather than put in pf_rules. */
static bool pf_entry_hashed(const struct pf_set_val *v, int dir, const struct pf_cidr *c)
{
	return v->n_plens[dir][c->family == PF_FAMILY_V6] != PF_SET_PLENS_TRIE || pf_is_host(c);
}

static void pf_rule_key_fill(struct pf_rule_key *k, uint32_t gen, int dir,
			     const struct pf_cidr *c)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = PF_RULE_KEY_PREFIX_BASE + c->len;
	k->gen = htonl(gen);
	k->dir_family = (uint8_t)(dir << 4 | c->family);
	memcpy(k->addr, c->addr, 16);
}

/* The pf_ports chunks a port set takes: none when its ranges fit in the
 * entries' values. */
static size_t pf_stored_chunks(const struct pf_portset *ps)
{
	return ps->n <= PF_RULE_INLINE ? 0 : pf_portset_chunks(ps);
}

/* The value of an entry allowing ps (ports_id its index). */
static void pf_rule_val_fill(struct pf_rule_val *v, uint32_t rule_id, uint32_t ports_id,
			     const struct pf_portset *ps)
{
	size_t chunks = pf_stored_chunks(ps);

	memset(v, 0, sizeof(*v));
	v->rule_id = rule_id;
	v->ports_id = ports_id;
	v->flags = ps->flags;
	if (!chunks) {
		v->n_inline = (uint8_t)ps->n;
		memcpy(v->inl, ps->r, ps->n * sizeof(ps->r[0]));
		return;
	}
	v->n_chunks = (uint16_t)chunks;
	for (size_t c = 0; c < chunks && chunks <= PF_RULE_CHUNK_INDEX; c++) {
		size_t last = (c + 1) * PF_PORT_CHUNK;

		v->chunk_last[c] = ps->r[(last < ps->n ? last : ps->n) - 1].hi;
	}
}

/* Deletes the keys a compiled set wrote under gen (missing keys are fine). */
static void pf_gen_purge_compiled(struct pf_datapath *dp, uint32_t gen,
				  const struct pf_compiled *c)
{
	struct pf_set_val layout;

	pf_set_plens(c, &layout);
	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < c->dir[d].n; i++) {
			const struct pf_cidr *p = &c->dir[d].entries[i].prefix;

			if (pf_entry_hashed(&layout, d, p)) {
				union pf_host_keys hk;
				int fd;
				const void *key = pf_host_key_fill(dp, gen, d, p, &hk, &fd);

				bpf_map_delete_elem(fd, key);
			} else {
				struct pf_rule_key rk;

				pf_rule_key_fill(&rk, gen, d, p);
				bpf_map_delete_elem(dp->map_fd[PF_MAP_RULES], &rk);
			}
		}
	}
	for (uint32_t ps = 0; ps < c->n_portsets; ps++) {
		for (uint32_t ch = 0; ch < pf_stored_chunks(&c->portsets[ps]); ch++) {
			struct pf_port_key pk = { .gen = gen, .ports_id = ps, .chunk = ch };

			bpf_map_delete_elem(dp->map_fd[PF_MAP_PORTS], &pk);
		}
	}
}

/* Deletes from one map every key whose generation is gen. Keys are gathered
 * first: deleting during a get_next_key walk would restart the walk. */
static int pf_purge_map_scan(int fd, size_t key_size, uint32_t (*gen_of)(const void *),
			     uint32_t gen)
{
	uint8_t *keys = NULL, prev[64], cur[64];
	size_t n = 0, cap = 0;
	bool have_prev = false;
	int err = 0;

	while (!bpf_map_get_next_key(fd, have_prev ? prev : NULL, cur)) {
		if (gen_of(cur) == gen) {
			if (n == cap) {
				uint8_t *nk = realloc(keys, (cap = cap ? cap * 2 : 64) * key_size);

				if (!nk) {
					err = -ENOMEM;
					break;
				}
				keys = nk;
			}
			memcpy(keys + n++ * key_size, cur, key_size);
		}
		memcpy(prev, cur, key_size);
		have_prev = true;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, keys + i * key_size);
	free(keys);
	return err;
}

/* Both pf_hosts4 and pf_hosts6 keys start with the generation. */
static uint32_t pf_host_key_gen(const void *k)
{
	return ((const struct pf_host_key *)k)->gen;
}

static uint32_t pf_rule_key_gen(const void *k)
{
	return ntohl(((const struct pf_rule_key *)k)->gen);
}

static uint32_t pf_port_key_gen(const void *k)
{
	return ((const struct pf_port_key *)k)->gen;
}

int pf_gen_purge_scan(struct pf_datapath *dp, uint32_t gen)
{
	int err = pf_purge_map_scan(dp->map_fd[PF_MAP_HOSTS4], sizeof(struct pf_host4_key),
				    pf_host_key_gen, gen);

	if (!err)
		err = pf_purge_map_scan(dp->map_fd[PF_MAP_HOSTS6], sizeof(struct pf_host_key),
					pf_host_key_gen, gen);
	if (!err)
		err = pf_purge_map_scan(dp->map_fd[PF_MAP_RULES], sizeof(struct pf_rule_key),
					pf_rule_key_gen, gen);
	if (!err)
		err = pf_purge_map_scan(dp->map_fd[PF_MAP_PORTS], sizeof(struct pf_port_key),
					pf_port_key_gen, gen);
	return err;
}

static int pf_gen_write(struct pf_datapath *dp, uint32_t gen, const struct pf_compiled *c,
			const struct pf_set_val *layout)
{
	struct pf_port_chunk chunk;

	for (uint32_t ps = 0; ps < c->n_portsets; ps++) {
		const struct pf_portset *set = &c->portsets[ps];

		for (uint32_t ch = 0; ch < pf_stored_chunks(set); ch++) {
			struct pf_port_key pk = { .gen = gen, .ports_id = ps, .chunk = ch };
			size_t first = (size_t)ch * PF_PORT_CHUNK, n = set->n - first;

			memset(&chunk, 0, sizeof(chunk));
			chunk.n = n > PF_PORT_CHUNK ? PF_PORT_CHUNK : (uint32_t)n;
			memcpy(chunk.r, set->r + first, chunk.n * sizeof(chunk.r[0]));
			if (bpf_map_update_elem(dp->map_fd[PF_MAP_PORTS], &pk, &chunk, BPF_ANY))
				return -errno;
		}
	}
	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < c->dir[d].n; i++) {
			const struct pf_flat_entry *e = &c->dir[d].entries[i];
			struct pf_rule_val v;
			int r;

			pf_rule_val_fill(&v, (uint32_t)i, e->portset, &c->portsets[e->portset]);
			if (pf_entry_hashed(layout, d, &e->prefix)) {
				union pf_host_keys hk;
				int fd;
				const void *key = pf_host_key_fill(dp, gen, d, &e->prefix, &hk, &fd);

				r = bpf_map_update_elem(fd, key, &v, BPF_ANY);
			} else {
				struct pf_rule_key rk;

				pf_rule_key_fill(&rk, gen, d, &e->prefix);
				r = bpf_map_update_elem(dp->map_fd[PF_MAP_RULES], &rk, &v, BPF_ANY);
			}
			if (r)
				return -errno;
		}
	}
	return 0;
}

static struct pf_set_record *pf_set_record_get(struct pf_datapath *dp, uint32_t set_id,
					       bool create)
{
	struct pf_set_record *grown;

	for (size_t i = 0; i < dp->n_sets; i++)
		if (dp->sets[i].set_id == set_id)
			return &dp->sets[i];
	if (!create)
		return NULL;
	grown = realloc(dp->sets, (dp->n_sets + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	dp->sets = grown;
	memset(&dp->sets[dp->n_sets], 0, sizeof(*grown));
	dp->sets[dp->n_sets].set_id = set_id;
	return &dp->sets[dp->n_sets++];
}

/* Removes the generation a set used before, from what we wrote or by scan. */
static void pf_gen_retire(struct pf_datapath *dp, struct pf_set_record *rec, uint32_t old_gen)
{
	int err = 0;

	if (rec && rec->known && rec->gen == old_gen)
		pf_gen_purge_compiled(dp, old_gen, &rec->compiled);
	else
		err = pf_gen_purge_scan(dp, old_gen);
	if (err)
		pf_warn("remove generation %u of the rule maps: %s (left for the next scan)",
			old_gen, strerror(-err));
}

static int pf_compiled_clone(struct pf_compiled *dst, const struct pf_compiled *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->portsets = calloc(src->n_portsets + 1, sizeof(*dst->portsets));
	if (!dst->portsets)
		return -ENOMEM;
	for (size_t i = 0; i < src->n_portsets; i++, dst->n_portsets++)
		if (pf_portset_copy(&dst->portsets[i], &src->portsets[i]))
			goto nomem;
	for (int d = 0; d < 2; d++) {
		const struct pf_compiled_dir *sd = &src->dir[d];
		struct pf_compiled_dir *dd = &dst->dir[d];

		dd->isolation = sd->isolation;
		dd->entries = calloc(sd->n + 1, sizeof(*dd->entries));
		if (!dd->entries)
			goto nomem;
		for (size_t i = 0; i < sd->n; i++, dd->n++) {
			dd->entries[i] = sd->entries[i];
			dd->entries[i].sources = malloc(sd->entries[i].n_sources *
							sizeof(uint32_t) + 1);
			if (!dd->entries[i].sources)
				goto nomem;
			memcpy(dd->entries[i].sources, sd->entries[i].sources,
			       sd->entries[i].n_sources * sizeof(uint32_t));
		}
	}
	return 0;
nomem:
	pf_compiled_free(dst);
	return -ENOMEM;
}

/* The pod veths bound to set_id in pf_pods (*pods to free). */
static int pf_set_pods(struct pf_datapath *dp, uint32_t set_id, uint32_t **pods, size_t *n)
{
	int fd = dp->map_fd[PF_MAP_PODS];
	uint32_t key, prev, *grown;
	struct pf_pod_val pod;
	bool have_prev = false;
	size_t cap = 0;

	*pods = NULL;
	*n = 0;
	while (!bpf_map_get_next_key(fd, have_prev ? &prev : NULL, &key)) {
		prev = key;
		have_prev = true;
		if (bpf_map_lookup_elem(fd, &key, &pod) || pod.set_id != set_id)
			continue;
		if (*n == cap) {
			grown = realloc(*pods, (cap = cap ? cap * 2 : 8) * sizeof(*grown));
			if (!grown) {
				free(*pods);
				*pods = NULL;
				*n = 0;
				return -ENOMEM;
			}
			*pods = grown;
		}
		(*pods)[(*n)++] = key;
	}
	return 0;
}

/* Gives each of the n pods still bound to set_id v as its copy of the set,
 * one update per pod. *done: how many were handled before an error. */
static int pf_set_pods_write(struct pf_datapath *dp, uint32_t set_id, const uint32_t *pods,
			     size_t n, const struct pf_set_val *v, size_t *done)
{
	int fd = dp->map_fd[PF_MAP_PODS];
	struct pf_pod_val pod;

	for (*done = 0; *done < n; (*done)++) {
		const uint32_t *key = &pods[*done];

		if (bpf_map_lookup_elem(fd, key, &pod) || pod.set_id != set_id)
			continue; /* unbound or moved meanwhile */
		pod.set = *v;
		if (bpf_map_update_elem(fd, key, &pod, BPF_EXIST) && errno != ENOENT) {
			int err = -errno;

			pf_err("give pod veth %u generation %u of policy set %u in pf_pods: %s",
			       *key, v->gen, set_id, strerror(errno));
			return err;
		}
	}
	return 0;
}

int pf_policy_set_apply(struct pf_datapath *dp, uint32_t set_id, const struct pf_compiled *c)
{
	struct pf_set_val old = { 0 }, v = { .gen = dp->next_gen++ };
	struct pf_set_record *rec;
	uint32_t *pods;
	size_t n_pods, flipped, undone;
	bool had_old;
	int err;

	v.isolation[PF_DIR_INGRESS] = c->dir[PF_DIR_INGRESS].isolation;
	v.isolation[PF_DIR_EGRESS] = c->dir[PF_DIR_EGRESS].isolation;
	pf_set_plens(c, &v);
	had_old = !bpf_map_lookup_elem(dp->map_fd[PF_MAP_SETS], &set_id, &old);
	if (!had_old)
		memset(&old, 0, sizeof(old));
	err = pf_set_pods(dp, set_id, &pods, &n_pods);
	if (err) {
		pf_err("list the pods of policy set %u: %s; the previous rules stay in force",
		       set_id, strerror(-err));
		return err;
	}

	err = pf_gen_write(dp, v.gen, c, &v);
	if (err) {
		pf_err("write rules of policy set %u (generation %u): %s; the previous rules "
		       "stay in force", set_id, v.gen, strerror(-err));
		goto undo_gen;
	}
	/* The swap: the record, then each pod's copy, each one update seen
	 * whole by every packet. */
	if (bpf_map_update_elem(dp->map_fd[PF_MAP_SETS], &set_id, &v, BPF_ANY)) {
		err = -errno;
		pf_err("swap policy set %u to generation %u: %s; the previous rules stay in force",
		       set_id, v.gen, strerror(errno));
		goto undo_gen;
	}
	err = pf_set_pods_write(dp, set_id, pods, n_pods, &v, &flipped);
	if (err) {
		pf_err("swap policy set %u to generation %u: the previous rules stay in force",
		       set_id, v.gen);
		pf_set_pods_write(dp, set_id, pods, flipped, &old, &undone);
		if (had_old)
			bpf_map_update_elem(dp->map_fd[PF_MAP_SETS], &set_id, &old, BPF_ANY);
		else
			bpf_map_delete_elem(dp->map_fd[PF_MAP_SETS], &set_id);
		goto undo_gen;
	}
	rec = pf_set_record_get(dp, set_id, true);
	if (had_old)
		pf_gen_retire(dp, rec, old.gen);
	if (rec) {
		pf_compiled_free(&rec->compiled);
		rec->gen = v.gen;
		rec->known = !pf_compiled_clone(&rec->compiled, c);
	}
	err = pf_ct_revalidate(dp, set_id, pods, n_pods, c);
	free(pods);
	return err;
undo_gen:
	pf_gen_purge_compiled(dp, v.gen, c);
	free(pods);
	return err;
}

int pf_policy_set_delete(struct pf_datapath *dp, uint32_t set_id)
{
	struct pf_set_record *rec = pf_set_record_get(dp, set_id, false);
	struct pf_set_val old, none = { 0 };
	uint32_t *pods;
	size_t n_pods, done, undone;
	int err;

	if (bpf_map_lookup_elem(dp->map_fd[PF_MAP_SETS], &set_id, &old))
		return 0;
	err = pf_set_pods(dp, set_id, &pods, &n_pods);
	if (err) {
		pf_err("list the pods of policy set %u: %s", set_id, strerror(-err));
		return err;
	}
	/* Its pods fall back to the mode's default, then the record goes. */
	err = pf_set_pods_write(dp, set_id, pods, n_pods, &none, &done);
	if (!err && bpf_map_delete_elem(dp->map_fd[PF_MAP_SETS], &set_id) && errno != ENOENT) {
		err = -errno;
		pf_err("delete policy set %u: %s", set_id, strerror(errno));
	}
	if (err) {
		pf_set_pods_write(dp, set_id, pods, done, &old, &undone);
		free(pods);
		return err;
	}
	free(pods);
	pf_gen_retire(dp, rec, old.gen);
	if (rec) {
		pf_compiled_free(&rec->compiled);
		rec->known = false;
	}
	return 0;
}
