// SPDX-License-Identifier: Apache-2.0
/*
 * After a restart: the state file says which pods are local and what each
 * policy set holds; the pinned datapath says what is really enforced. Only
 * what both agree on is trusted:
 *  - a set whose pinned generation is not the one the file recorded was
 *    changed after the file was written: its contents are unknown and it is
 *    rewritten (in place) by the first reconcile;
 *  - a pod is bound when pf_pods still maps its veth to its set, attached
 *    when our programs are still on its veth; a veth that is gone or was
 *    made again is handled by the first reconcile;
 *  - pf_pods entries of interfaces that no longer exist are removed; pinned
 *    sets the file does not know are kept reserved while some existing
 *    interface is bound to them, and deleted otherwise.
 * A fresh datapath (nothing was pinned) has no sets and no bindings: every
 * pod is bound and attached anew.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "agent_state.h"
#include "log.h"
#include "agent.h"

static bool agent_prog_attached(const struct agent *a, int ifindex)
{
	for (int d = 0; d < 2; d++) {
		uint32_t id;

		if (pf_datapath_attached_prog(ifindex, (enum pf_dir)d, &id) || id != a->prog_id[d])
			return false;
	}
	return true;
}

/* Sets whose pinned generation is not the recorded one are not trusted. */
static void agent_check_sets(struct agent *a)
{
	int fd = pf_datapath_map_fd(a->dp, PF_MAP_SETS);

	for (size_t i = 0; i < a->sets.n; i++) {
		struct pf_set_entry *e = &a->sets.e[i];
		struct pf_set_val v;

		if (!e->key_known)
			continue;
		if (bpf_map_lookup_elem(fd, &e->id, &v) || v.gen != e->gen) {
			pf_warn("policy set %u changed after the state was saved: it is rewritten",
				e->id);
			e->key_known = false;
		}
	}
}

/* pf_pods entries of no local pod: dead ones go, live ones keep their set
 * reserved (their pods keep their rules until enforced again). */
static void agent_check_foreign_bindings(struct agent *a)
{
	int fd = pf_datapath_map_fd(a->dp, PF_MAP_PODS);
	uint32_t key, prev, *dead = NULL;
	size_t n_dead = 0;
	bool have_prev = false;
	char name[IF_NAMESIZE];

	while (!bpf_map_get_next_key(fd, have_prev ? &prev : NULL, &key)) {
		struct pf_pod_val v;
		uint32_t *grown;

		prev = key;
		have_prev = true;
		if (agent_pod_by_ifindex(a, (int)key) || bpf_map_lookup_elem(fd, &key, &v))
			continue;
		if (if_indextoname(key, name)) {
			pf_warn("%s (ifindex %u) is bound to policy set %u but is no pod of "
				"the state file: it keeps those rules until its pod is "
				"enforced again",
				name, key, v.set_id);
			if (!pf_set_table_get(&a->sets, v.set_id))
				pf_set_table_restore(&a->sets, v.set_id, 0, false, 0, 0, 0);
			pf_set_table_move(&a->sets, 0, v.set_id);
			continue;
		}
		grown = realloc(dead, (n_dead + 1) * sizeof(*dead));
		if (!grown)
			break;
		dead = grown;
		dead[n_dead++] = key;
	}
	for (size_t i = 0; i < n_dead; i++)
		pf_datapath_pod_unbind(a->dp, (int)dead[i]);
	if (n_dead)
		pf_info("removed %zu bindings of interfaces that no longer exist", n_dead);
	free(dead);
}

/* Pinned sets the table does not know: deleted by the first reconcile
 * (refs 0) unless a foreign binding reserved them above. */
static void agent_adopt_unknown_sets(struct agent *a)
{
	int fd = pf_datapath_map_fd(a->dp, PF_MAP_SETS);
	uint32_t key, prev;
	bool have_prev = false;

	while (!bpf_map_get_next_key(fd, have_prev ? &prev : NULL, &key)) {
		prev = key;
		have_prev = true;
		if (key && key <= PF_SET_ID_MAX && !pf_set_table_get(&a->sets, key))
			pf_set_table_restore(&a->sets, key, 0, false, 0, 0, 0);
	}
}

static void agent_restore_pod(struct agent *a, struct agent_pod *p)
{
	int idx = (int)if_nametoindex(p->lp.host_veth);
	struct pf_pod_val v;
	uint32_t key = (uint32_t)p->lp.ifindex;

	if (!a->adopted) {
		p->lp.set_id = 0; /* a fresh datapath: no set, no binding */
		return;
	}
	/* A veth that is gone or was made again: the first reconcile sees it. */
	if (idx != p->lp.ifindex)
		return;
	p->bound = p->lp.set_id &&
		   !bpf_map_lookup_elem(pf_datapath_map_fd(a->dp, PF_MAP_PODS), &key, &v) &&
		   v.set_id == p->lp.set_id;
	p->attached = agent_prog_attached(a, p->lp.ifindex);
}

int agent_restore(struct agent *a)
{
	struct pf_local_pod *pods;
	size_t n, bound = 0, attached = 0;
	char err[1024];
	int rc;

	rc = pf_agent_state_load(a->cfg.state_path, &pods, &n, &a->sets, err, sizeof(err));
	if (rc == -ENOENT) {
		pf_info("no state file %s: no local pods known yet", a->cfg.state_path);
		n = 0;
	} else if (rc) {
		pf_err("%s; refusing to start (the pinned datapath keeps enforcing; fix the file "
		       "or move it aside)", err);
		return rc;
	}
	if (!a->adopted)
		pf_set_table_free(&a->sets);
	else
		agent_check_sets(a);
	for (size_t i = 0; i < n; i++) {
		struct agent_pod *p = calloc(1, sizeof(*p));

		if (p)
			p->lp = pods[i];
		if (!p || agent_pod_insert(a, p)) {
			pf_err("restore pod %s/%s: out of memory", pods[i].ns, pods[i].name);
			pf_local_pod_free(&pods[i]);
			free(p);
			continue;
		}
		p->spec_dirty = true;
		agent_restore_pod(a, p);
		bound += p->bound;
		attached += p->attached;
	}
	free(pods);
	if (a->adopted) {
		agent_check_foreign_bindings(a);
		agent_adopt_unknown_sets(a);
	}
	pf_info("restored %zu local pods (%zu still bound, %zu still attached) and %zu policy "
		"sets from %s", a->n_pods, bound, attached, a->sets.n, a->cfg.state_path);
	return 0;
}
