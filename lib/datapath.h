/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The datapath as user space drives it: load the eBPF object (or re-adopt the
 * one pinned by a previous run), attach it to pod veths, bind pods to policy
 * sets, and swap a set's rules atomically.
 *
 * Pins live under one bpffs root (default /sys/fs/bpf/podfence): the maps by
 * name (pf_pods, pf_sets, pf_rules, ...) and the programs under progs/.
 */
#ifndef PF_DATAPATH_H
#define PF_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "podfence_abi.h"
#include "policy_compile.h"

#define PF_DEFAULT_PIN_ROOT "/sys/fs/bpf/podfence"

enum pf_map_id {
	PF_MAP_PODS,
	PF_MAP_SETS,
	PF_MAP_RULES,
	PF_MAP_HOSTS4,
	PF_MAP_HOSTS6,
	PF_MAP_PORTS,
	PF_MAP_CT4,
	PF_MAP_CT6,
	PF_MAP_FRAGS,
	PF_MAP_CONFIG,
	PF_MAP_METRICS,
	PF_MAP_EVENTS,
	PF_MAP__COUNT,
};

extern const char *const pf_map_names[PF_MAP__COUNT];
/* Program names, indexed by enum pf_dir: pf_to_pod, pf_from_pod. */
extern const char *const pf_prog_names[2];

struct pf_datapath_opts {
	const char *pin_root;  /* NULL: PF_DEFAULT_PIN_ROOT */
	uint32_t mode;         /* enum pf_mode */
	bool events;           /* verdict events through pf_events */
	uint32_t ct_size;      /* 0: PF_CT_DEFAULT_SIZE; entries of pf_ct4 and of
				* pf_ct6 each; used on first load only */
};

struct pf_datapath;

/* Loads and pins the datapath, or adopts what is pinned under the root
 * (*adopted says which). Returns 0 or -errno; errors are logged with context. */
int pf_datapath_open(const struct pf_datapath_opts *opts, struct pf_datapath **out,
		     bool *adopted);
/* Closes file descriptors; pins, attachments and map contents stay. */
void pf_datapath_close(struct pf_datapath *dp);
/* Removes every pin under root (programs stay attached where they are until
 * detached; maps die with their last user). */
int pf_datapath_unpin(const char *pin_root);

int pf_datapath_configure(struct pf_datapath *dp, uint32_t mode, bool events);

/* TC ingress gets pf_from_pod, TC egress gets pf_to_pod (clsact). */
int pf_datapath_attach(struct pf_datapath *dp, int ifindex);
int pf_datapath_detach(struct pf_datapath *dp, int ifindex);
/* The id of the program podfence's filter runs on ifindex for dir (TC egress
 * for PF_DIR_INGRESS, TC ingress for PF_DIR_EGRESS). Returns 0, -ENOENT when
 * no podfence filter is there, -EINVAL when the veth has no clsact at all,
 * -ENODEV when there is no such interface. */
int pf_datapath_attached_prog(int ifindex, enum pf_dir dir, uint32_t *prog_id);

/* Binds a pod veth to a policy set; unbinding also forgets its flows. */
int pf_datapath_pod_bind(struct pf_datapath *dp, int ifindex, uint32_t set_id);
int pf_datapath_pod_unbind(struct pf_datapath *dp, int ifindex);

/*
 * Replaces a policy set: the new rules are written under a fresh generation,
 * then one update of pf_sets flips rules and isolation together for every pod
 * of the set, then the old generation is removed. Tracked flows of the set's
 * pods that the new rules would refuse are removed, so revoked access stops
 * at once; flows still allowed keep their entries. On error nothing changed.
 */
int pf_policy_set_apply(struct pf_datapath *dp, uint32_t set_id,
			const struct pf_compiled *compiled);
int pf_policy_set_delete(struct pf_datapath *dp, uint32_t set_id);

/* Re-checks the tracked flows of pods just bound to a set whose rules are c
 * (what pf_policy_set_apply does for the pods already in it): flows c
 * refuses are removed, so a pod moved to stricter rules loses the access
 * they revoke at once; flows still allowed keep their entries. */
int pf_ct_revalidate_pods(struct pf_datapath *dp, const uint32_t *ifindexes, size_t n,
			  const struct pf_compiled *c);

/* Removes tracked flows idle for longer than max_idle_ns. The datapath
 * only marks a flow seen; each sweep stamps the flows marked since the last
 * one as active now, so a flow goes once it was idle for max_idle_ns, plus
 * at most the time between two sweeps. */
int pf_ct_sweep(struct pf_datapath *dp, uint64_t max_idle_ns, size_t *removed);

/* An IPv4 flow's pf_ct4 key from its pf_ct_key view, and back: the view
 * (family PF_FAMILY_V4, addresses in the first 4 bytes) is how user space
 * sees a tracked flow of either family. */
void pf_ct4_key_from_view(const struct pf_ct_key *view, struct pf_ct4_key *k);
void pf_ct4_key_view(const struct pf_ct4_key *k, struct pf_ct_key *view);

/* An IPv6 flow's pf_ct6 key from its view, and the view of a pf_ct6 entry
 * (the key leaves part of the flow to the value). pf_ct6_val_holds: is the
 * entry, found by the view's key, the view's flow? */
void pf_ct6_key_from_view(const struct pf_ct_key *view, struct pf_ct6_key *k);
bool pf_ct6_val_holds(const struct pf_ct6_val *v, const struct pf_ct_key *view);
void pf_ct6_entry_view(const struct pf_ct6_key *k, const struct pf_ct6_val *v,
		       struct pf_ct_key *view);

/* An IPv4 entry's pf_hosts4 key from its pf_host_key view, and back. */
void pf_host4_key_from_view(const struct pf_host_key *view, struct pf_host4_key *k);
void pf_host4_key_view(const struct pf_host4_key *k, struct pf_host_key *view);

/* Sums the per-CPU verdict counters (PF_REASON__COUNT values). */
int pf_datapath_read_metrics(struct pf_datapath *dp, uint64_t *out);

int pf_datapath_map_fd(const struct pf_datapath *dp, enum pf_map_id id);
int pf_datapath_prog_fd(const struct pf_datapath *dp, enum pf_dir dir);
const char *pf_datapath_root(const struct pf_datapath *dp);

#endif
