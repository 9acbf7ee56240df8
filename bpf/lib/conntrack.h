/* SPDX-License-Identifier: Apache-2.0 */
/* Connection tracking: one entry per flow per pod veth, keyed from the pod's
 * point of view so a packet and its reply find the same entry. Entries are
 * only created for packets the policy allowed; idle ones are swept by user
 * space, and the LRU map evicts the oldest rather than refusing new flows. */
#ifndef PF_BPF_CONNTRACK_H
#define PF_BPF_CONNTRACK_H

/* The key of an IPv4 flow in pf_ct4 (struct pf_ct4_key, word by word). */
static __always_inline void pf_ct4_key_fill(union pf_ct4_words *k, const struct pf_pkt *p,
					    __u32 ifindex, enum pf_dir dir)
{
	int egress = dir == PF_DIR_EGRESS;

	k->w[0] = ifindex;
	k->w[1] = egress ? p->saddr[0] : p->daddr[0]; /* pod_addr */
	k->w[2] = egress ? p->daddr[0] : p->saddr[0]; /* peer_addr */
	k->w[3] = egress ? pf_word16(p->sport, p->dport) : pf_word16(p->dport, p->sport);
	k->w[4] = pf_word8(p->proto, 0, 0, 0);
}

/* The key of an IPv6 flow in pf_ct6 (struct pf_ct6_key, word by word). */
static __always_inline void pf_ct6_key_fill(union pf_ct6_words *k, const struct pf_pkt *p,
					    __u32 ifindex, enum pf_dir dir)
{
	int egress = dir == PF_DIR_EGRESS;
	const __u32 *peer = egress ? p->daddr : p->saddr;

	k->w[0] = peer[0];
	k->w[1] = peer[1];
	k->w[2] = peer[2];
	k->w[3] = peer[3];
	k->w[4] = egress ? pf_word16(p->sport, p->dport) : pf_word16(p->dport, p->sport);
	k->w[5] = pf_ct6_ifx_proto(ifindex, p->proto);
}

/* The pod's address of the packet: its source going out, else its
 * destination. */
static __always_inline const __u32 *pf_pod_addr(const struct pf_pkt *p, enum pf_dir dir)
{
	return dir == PF_DIR_EGRESS ? p->saddr : p->daddr;
}

/* Marks a tracked flow seen. No clock read: the sweep stamps last_seen_ns
 * of the flows it finds seen (abi/podfence_abi.h), so the entry is written
 * once per sweep period at most. Each map is looked up at a call site of
 * its own, with the map known there: the verifier then inlines the hash
 * lookup. */
static __always_inline int pf_ct_seen(struct pf_ct_val *v)
{
	if (!v->seen)
		v->seen = 1;
	return 1;
}

/* An IPv4 conntrack lookup's answer: is the flow tracked? */
static __always_inline int pf_ct4_hit(struct pf_ct_val *v)
{
	return v ? pf_ct_seen(v) : 0;
}

/* An IPv6 one: the entry holds the flow only if the rest of it, which the
 * key leaves out, is the packet's too. */
static __always_inline int pf_ct6_hit(struct pf_ct6_val *v, const struct pf_pkt *p,
				      __u32 ifindex, enum pf_dir dir)
{
	const __u32 *pod = pf_pod_addr(p, dir), *have;

	if (!v || v->ifindex != ifindex)
		return 0;
	have = (const __u32 *)v->pod_addr;
	if ((have[0] ^ pod[0]) | (have[1] ^ pod[1]) | (have[2] ^ pod[2]) | (have[3] ^ pod[3]))
		return 0;
	return pf_ct_seen(&v->ct);
}

/* Tracks an allowed new flow: ck4 for IPv4, else ck6. BPF_NOEXIST: an IPv6
 * entry that shares the key but not the flow is left alone (pf_ct6_key). */
static __always_inline void pf_ct_learn(const struct pf_ct4_key *ck4, const struct pf_ct6_key *ck6,
					const struct pf_pkt *p, __u32 ifindex, enum pf_dir dir)
{
	struct pf_ct_val v = { .origin = dir };

	v.last_seen_ns = bpf_ktime_get_coarse_ns();
	v.created_ns = v.last_seen_ns;
	if (ck4) {
		bpf_map_update_elem(&pf_ct4, ck4, &v, BPF_NOEXIST);
	} else {
		struct pf_ct6_val v6 = { .ct = v, .ifindex = ifindex };

		__builtin_memcpy(v6.pod_addr, pf_pod_addr(p, dir), 16);
		bpf_map_update_elem(&pf_ct6, ck6, &v6, BPF_NOEXIST);
	}
}

#endif
