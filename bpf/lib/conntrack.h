/* SPDX-License-Identifier: Apache-2.0 */
/* Connection tracking: one entry per flow per pod veth, keyed from the pod's
 * point of view so a packet and its reply find the same entry. Entries are
 * only created for packets the policy allowed; idle ones are swept by user
 * space, and the LRU map evicts the oldest rather than refusing new flows. */
#ifndef PF_BPF_CONNTRACK_H
#define PF_BPF_CONNTRACK_H

/* A flow's key in pf_ct4 or pf_ct6, as its packet's family says. */
union pf_ct_keys {
	struct pf_ct4_key v4;
	struct pf_ct_key v6;
};

static __always_inline void pf_ct_key_fill(union pf_ct_keys *k, const struct pf_pkt *p,
					   __u32 ifindex, enum pf_dir dir)
{
	int egress = dir == PF_DIR_EGRESS;

	if (p->family == PF_FAMILY_V4) {
		k->v4.ifindex = ifindex;
		k->v4.pod_addr = egress ? p->saddr[0] : p->daddr[0];
		k->v4.peer_addr = egress ? p->daddr[0] : p->saddr[0];
		k->v4.pod_port = egress ? p->sport : p->dport;
		k->v4.peer_port = egress ? p->dport : p->sport;
		k->v4.proto = p->proto;
		k->v4.pad[0] = k->v4.pad[1] = k->v4.pad[2] = 0;
		return;
	}
	__builtin_memset(&k->v6, 0, sizeof(k->v6));
	k->v6.ifindex = ifindex;
	k->v6.proto = p->proto;
	k->v6.family = p->family;
	k->v6.pod_port = egress ? p->sport : p->dport;
	k->v6.peer_port = egress ? p->dport : p->sport;
	__builtin_memcpy(k->v6.pod_addr, egress ? p->saddr : p->daddr, 16);
	__builtin_memcpy(k->v6.peer_addr, egress ? p->daddr : p->saddr, 16);
}

static __always_inline int pf_ct_hit(const union pf_ct_keys *k, const struct pf_pkt *p)
{
	struct pf_ct_val *v = p->family == PF_FAMILY_V4 ? bpf_map_lookup_elem(&pf_ct4, &k->v4)
							: bpf_map_lookup_elem(&pf_ct6, &k->v6);

	if (!v)
		return 0;
	/* No clock read: the sweep stamps last_seen_ns of the flows it finds
	 * seen (abi/podfence_abi.h), so the entry is written once per sweep
	 * period at most. */
	if (!v->seen)
		v->seen = 1;
	return 1;
}

static __always_inline void pf_ct_learn(const union pf_ct_keys *k, const struct pf_pkt *p,
					enum pf_dir dir)
{
	struct pf_ct_val v = { .origin = dir };

	v.last_seen_ns = bpf_ktime_get_coarse_ns();
	v.created_ns = v.last_seen_ns;
	if (p->family == PF_FAMILY_V4)
		bpf_map_update_elem(&pf_ct4, &k->v4, &v, BPF_NOEXIST);
	else
		bpf_map_update_elem(&pf_ct6, &k->v6, &v, BPF_NOEXIST);
}

#endif
