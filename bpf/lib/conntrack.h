/* SPDX-License-Identifier: Apache-2.0 */
/* Connection tracking: one entry per flow per pod veth, keyed from the pod's
 * point of view so a packet and its reply find the same entry. Entries are
 * only created for packets the policy allowed; idle ones are swept by user
 * space, and the LRU map evicts the oldest rather than refusing new flows. */
#ifndef PF_BPF_CONNTRACK_H
#define PF_BPF_CONNTRACK_H

static __always_inline void pf_ct_key_fill(struct pf_ct_key *k, const struct pf_pkt *p,
					   __u32 ifindex, enum pf_dir dir)
{
	k->ifindex = ifindex;
	k->proto = p->proto;
	k->family = p->family;
	if (dir == PF_DIR_EGRESS) {
		k->pod_port = p->sport;
		k->peer_port = p->dport;
		__builtin_memcpy(k->pod_addr, p->saddr, 16);
		__builtin_memcpy(k->peer_addr, p->daddr, 16);
	} else {
		k->pod_port = p->dport;
		k->peer_port = p->sport;
		__builtin_memcpy(k->pod_addr, p->daddr, 16);
		__builtin_memcpy(k->peer_addr, p->saddr, 16);
	}
}

static __always_inline int pf_ct_hit(const struct pf_ct_key *k)
{
	struct pf_ct_val *v = bpf_map_lookup_elem(&pf_ct, k);

	if (!v)
		return 0;
	/* No clock read: the sweep stamps last_seen_ns of the flows it finds
	 * seen (abi/podfence_abi.h), so the entry is written once per sweep
	 * period at most. */
	if (!v->seen)
		v->seen = 1;
	return 1;
}

static __always_inline void pf_ct_learn(const struct pf_ct_key *k, enum pf_dir dir)
{
	struct pf_ct_val v = { .origin = dir };

	v.last_seen_ns = bpf_ktime_get_coarse_ns();
	v.created_ns = v.last_seen_ns;
	bpf_map_update_elem(&pf_ct, k, &v, BPF_NOEXIST);
}

#endif
