/* SPDX-License-Identifier: Apache-2.0 */
/* Connection tracking: one entry per flow per pod veth, keyed from the pod's
 * point of view so a packet and its reply find the same entry. Entries are
 * only created for packets the policy allowed; idle ones are swept by user
 * space, and the LRU map evicts the oldest rather than refusing new flows. */
#ifndef PF_BPF_CONNTRACK_H
#define PF_BPF_CONNTRACK_H

/* The key of an IPv4 flow in pf_ct4. */
static __always_inline void pf_ct4_key_fill(struct pf_ct4_key *k, const struct pf_pkt *p,
					    __u32 ifindex, enum pf_dir dir)
{
	int egress = dir == PF_DIR_EGRESS;

	k->ifindex = ifindex;
	k->pod_addr = egress ? p->saddr[0] : p->daddr[0];
	k->peer_addr = egress ? p->daddr[0] : p->saddr[0];
	k->pod_port = egress ? p->sport : p->dport;
	k->peer_port = egress ? p->dport : p->sport;
	k->proto = p->proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
}

/* The key of an IPv6 flow in pf_ct6. */
static __always_inline void pf_ct6_key_fill(struct pf_ct_key *k, const struct pf_pkt *p,
					    __u32 ifindex, enum pf_dir dir)
{
	int egress = dir == PF_DIR_EGRESS;

	__builtin_memset(k, 0, sizeof(*k));
	k->ifindex = ifindex;
	k->proto = p->proto;
	k->family = p->family;
	k->pod_port = egress ? p->sport : p->dport;
	k->peer_port = egress ? p->dport : p->sport;
	__builtin_memcpy(k->pod_addr, egress ? p->saddr : p->daddr, 16);
	__builtin_memcpy(k->peer_addr, egress ? p->daddr : p->saddr, 16);
}

/* A conntrack lookup's answer: is the flow tracked? No clock read: the
 * sweep stamps last_seen_ns of the flows it finds seen
 * (abi/podfence_abi.h), so the entry is written once per sweep period at
 * most. Each map is looked up at a call site of its own, with the map
 * known there: the verifier then inlines the hash lookup. */
static __always_inline int pf_ct_seen(struct pf_ct_val *v)
{
	if (!v)
		return 0;
	if (!v->seen)
		v->seen = 1;
	return 1;
}

/* Tracks an allowed new flow: ck4 for IPv4, else ck6. */
static __always_inline void pf_ct_learn(const struct pf_ct4_key *ck4, const struct pf_ct_key *ck6,
					enum pf_dir dir)
{
	struct pf_ct_val v = { .origin = dir };

	v.last_seen_ns = bpf_ktime_get_coarse_ns();
	v.created_ns = v.last_seen_ns;
	if (ck4)
		bpf_map_update_elem(&pf_ct4, ck4, &v, BPF_NOEXIST);
	else
		bpf_map_update_elem(&pf_ct6, ck6, &v, BPF_NOEXIST);
}

#endif
