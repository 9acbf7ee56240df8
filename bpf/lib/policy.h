/* SPDX-License-Identifier: Apache-2.0 */
/* The policy lookup. User space flattens a policy set's rules so that the
 * longest matching prefix alone carries the union of every rule covering the
 * peer address (except holes included): one hash lookup per prefix length
 * the set has (or an exact-host lookup, then one LPM lookup, for sets with
 * many lengths), then a search of that entry's port intervals: in the entry
 * itself, in the one pf_ports chunk its index names, or chunk by chunk. */
#ifndef PF_BPF_POLICY_H
#define PF_BPF_POLICY_H

struct pf_port_search {
	__u32 gen;
	__u32 ports_id;
	__u32 key;   /* (proto << 16) | port */
	__u32 found;
};

/* Binary search of one chunk of disjoint, sorted intervals. */
static __always_inline int pf_chunk_has(const struct pf_port_chunk *c, __u32 key)
{
	__u32 lo = 0, hi = c->n, i;

	if (hi > PF_PORT_CHUNK)
		hi = PF_PORT_CHUNK;
	for (i = 0; i < 6 && lo < hi; i++) {
		__u32 mid = (lo + hi) >> 1;

		if (c->r[mid & (PF_PORT_CHUNK - 1)].lo <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return 0;
	return key <= c->r[(lo - 1) & (PF_PORT_CHUNK - 1)].hi;
}

/* bpf_loop callback: returns 1 to stop once the chunk that could hold the
 * key has been searched. */
static long pf_port_chunk_step(__u32 idx, void *ctx)
{
	struct pf_port_search *s = ctx;
	struct pf_port_key k = { .gen = s->gen, .ports_id = s->ports_id, .chunk = idx };
	struct pf_port_chunk *c = bpf_map_lookup_elem(&pf_ports, &k);
	__u32 n;

	if (!c)
		return 1;
	n = c->n;
	if (!n || n > PF_PORT_CHUNK)
		return 1;
	if (s->key > c->r[(n - 1) & (PF_PORT_CHUNK - 1)].hi)
		return 0; /* the key lies beyond this chunk */
	s->found = pf_chunk_has(c, s->key);
	return 1;
}

/* The ranges carried in the entry itself: sorted and disjoint. */
static __always_inline int pf_inline_has(const struct pf_rule_val *v, __u32 key)
{
	__u32 n = v->n_inline;
	int j;

	for (j = 0; j < PF_RULE_INLINE; j++) {
		if (j >= n || key < v->inl[j].lo)
			return 0;
		if (key <= v->inl[j].hi)
			return 1;
	}
	return 0;
}

/* Few chunks: the entry's index names the one chunk that can hold key. */
static __always_inline int pf_indexed_has(__u32 gen, const struct pf_rule_val *v, __u32 key)
{
	struct pf_port_key k = { .gen = gen, .ports_id = v->ports_id };
	struct pf_port_chunk *c;
	__u32 n = v->n_chunks;
	int j;

	for (j = 0; j < PF_RULE_CHUNK_INDEX; j++) {
		if (j >= n)
			return 0;
		if (key <= v->chunk_last[j])
			break;
	}
	if (j == PF_RULE_CHUNK_INDEX)
		return 0;
	k.chunk = j;
	c = bpf_map_lookup_elem(&pf_ports, &k);
	return c && pf_chunk_has(c, key);
}

static __always_inline int pf_ports_allow(__u32 gen, const struct pf_rule_val *v,
					  const struct pf_pkt *p)
{
	struct pf_port_search s;

	if (v->flags & PF_RULE_ALL_PORTS)
		return 1;
	if ((p->proto == IPPROTO_TCP && (v->flags & PF_RULE_TCP_ALL)) ||
	    (p->proto == IPPROTO_UDP && (v->flags & PF_RULE_UDP_ALL)) ||
	    (p->proto == IPPROTO_SCTP && (v->flags & PF_RULE_SCTP_ALL)))
		return 1;
	if (!p->ports_known ||
	    (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP && p->proto != IPPROTO_SCTP))
		return 0;
	s.key = ((__u32)p->proto << 16) | p->dport;
	if (v->n_inline)
		return pf_inline_has(v, s.key);
	if (!v->n_chunks)
		return 0;
	if (v->n_chunks <= PF_RULE_CHUNK_INDEX)
		return pf_indexed_has(gen, v, s.key);
	s.gen = gen;
	s.ports_id = v->ports_id;
	s.found = 0;
	bpf_loop(v->n_chunks < PF_PORT_CHUNKS_MAX ? v->n_chunks : PF_PORT_CHUNKS_MAX,
		 pf_port_chunk_step, &s, 0);
	return s.found;
}

/* word (network order) keeping its first bits bits. */
static __always_inline __u32 pf_mask_word(__u32 word, int bits)
{
	if (bits >= 32)
		return word;
	if (bits <= 0)
		return 0;
	return word & bpf_htonl(~0u << (32 - bits));
}

/* The flattened entry covering an IPv4 peer, or NULL. A set with few
 * prefix lengths (abi/podfence_abi.h) is searched one hash lookup per
 * length, longest first; otherwise the single address by hash, then the
 * LPM trie. */
static __always_inline struct pf_rule_val *pf_rule_lookup4(const struct pf_set_val *set,
							   enum pf_dir dir, __u32 peer)
{
	__u8 n = set->n_plens[dir & 1][0], dir_family = (dir << 4) | PF_FAMILY_V4;
	union pf_host4_words hk;
	struct pf_rule_key rk = {};
	struct pf_rule_val *v;
	int j;

	hk.w[0] = set->gen;
	if (n != PF_SET_PLENS_TRIE) {
		for (j = 0; j < PF_SET_PLENS; j++) {
			__u8 plen;

			if (j >= n)
				break;
			plen = set->plens[dir & 1][0][j];
			hk.w[1] = pf_word8(dir_family, plen, 0, 0);
			/* plen is 0..32: the shift stays below 64, no branch. */
			hk.w[2] = peer & bpf_htonl((__u32)(0xffffffffull << (32 - plen)));
			v = bpf_map_lookup_elem(&pf_hosts4, &hk.k);
			if (v)
				return v;
		}
		return NULL;
	}
	hk.w[1] = pf_word8(dir_family, 32, 0, 0);
	hk.w[2] = peer;
	v = bpf_map_lookup_elem(&pf_hosts4, &hk.k);
	if (v)
		return v;
	rk.prefixlen = PF_RULE_KEY_PREFIX_BASE + 32;
	rk.gen = bpf_htonl(set->gen);
	rk.dir_family = dir_family;
	__builtin_memcpy(rk.addr, &peer, 4);
	return bpf_map_lookup_elem(&pf_rules, &rk);
}

/* The same for an IPv6 peer. */
static __always_inline struct pf_rule_val *pf_rule_lookup6(const struct pf_set_val *set,
							   enum pf_dir dir, const __u32 *peer)
{
	__u8 n = set->n_plens[dir & 1][1], dir_family = (dir << 4) | PF_FAMILY_V6;
	union pf_host6_words hk;
	struct pf_rule_key rk = {};
	struct pf_rule_val *v;
	int j;

	hk.w[0] = set->gen;
	if (n != PF_SET_PLENS_TRIE) {
		for (j = 0; j < PF_SET_PLENS; j++) {
			int plen;

			if (j >= n)
				break;
			plen = set->plens[dir & 1][1][j];
			hk.w[1] = pf_word8(dir_family, plen, 0, 0);
			hk.w[2] = pf_mask_word(peer[0], plen);
			hk.w[3] = pf_mask_word(peer[1], plen - 32);
			hk.w[4] = pf_mask_word(peer[2], plen - 64);
			hk.w[5] = pf_mask_word(peer[3], plen - 96);
			v = bpf_map_lookup_elem(&pf_hosts6, &hk.k);
			if (v)
				return v;
		}
		return NULL;
	}
	hk.w[1] = pf_word8(dir_family, 128, 0, 0);
	hk.w[2] = peer[0];
	hk.w[3] = peer[1];
	hk.w[4] = peer[2];
	hk.w[5] = peer[3];
	v = bpf_map_lookup_elem(&pf_hosts6, &hk.k);
	if (v)
		return v;
	rk.prefixlen = PF_RULE_KEY_PREFIX_BASE + 128;
	rk.gen = bpf_htonl(set->gen);
	rk.dir_family = dir_family;
	__builtin_memcpy(rk.addr, peer, 16);
	return bpf_map_lookup_elem(&pf_rules, &rk);
}

#endif
