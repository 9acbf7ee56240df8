/* SPDX-License-Identifier: Apache-2.0 */
/* Packet parsing: Ethernet, IPv4 (with options and fragments), IPv6 (with
 * extension headers and fragments), then the ports of TCP, UDP and SCTP and
 * the identifier of ICMP echo. A header that cannot be read never yields
 * ports: such a packet can only match an "every port" rule. */
#ifndef PF_BPF_PARSE_H
#define PF_BPF_PARSE_H

#define PF_ETH_HLEN 14
#define PF_IP6_MAX_EXT 8

struct pf_pkt {
	__u8 family;
	__u8 proto;
	__u8 ports_known; /* sport/dport hold real L4 ports */
	__u8 icmp_nd;     /* IPv6 neighbour discovery: always allowed */
	__u16 sport;      /* host order */
	__u16 dport;
	__u32 saddr[4];   /* network order; IPv4 in saddr[0], the rest zero */
	__u32 daddr[4];
};

enum pf_parse_result {
	PF_PARSE_IP = 0,
	PF_PARSE_NOT_IP,
	PF_PARSE_MALFORMED,
};

/* The ports of one datagram, from a TCP/UDP/SCTP header or an ICMP echo
 * header, read with bpf_skb_load_bytes so any offset is safe. */
static __always_inline void pf_parse_l4(struct __sk_buff *skb, __u32 off,
					 struct pf_pkt *p)
{
	__u8 hdr[6];

	switch (p->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		if (bpf_skb_load_bytes(skb, off, hdr, 4) < 0)
			return;
		p->sport = (hdr[0] << 8) | hdr[1];
		p->dport = (hdr[2] << 8) | hdr[3];
		p->ports_known = 1;
		return;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (bpf_skb_load_bytes(skb, off, hdr, 6) < 0)
			return;
		if ((p->proto == IPPROTO_ICMP && (hdr[0] == 8 || hdr[0] == 0)) ||
		    (p->proto == IPPROTO_ICMPV6 && (hdr[0] == 128 || hdr[0] == 129))) {
			/* Echo: the identifier keys the flow on both sides. */
			p->sport = (hdr[4] << 8) | hdr[5];
			p->dport = p->sport;
		}
		if (p->proto == IPPROTO_ICMPV6 && hdr[0] >= 133 && hdr[0] <= 137)
			p->icmp_nd = 1;
		return;
	}
}

/* Fragments after the first carry no L4 header: their ports are those the
 * first fragment recorded, or unknown. */
static __always_inline void pf_frag_learn(struct pf_pkt *p, __u32 id)
{
	struct pf_frag_key k = { .id = id, .proto = p->proto, .family = p->family };
	struct pf_frag_val v = { .sport = p->sport, .dport = p->dport };

	if (!p->ports_known)
		return;
	__builtin_memcpy(k.saddr, p->saddr, 16);
	__builtin_memcpy(k.daddr, p->daddr, 16);
	bpf_map_update_elem(&pf_frags, &k, &v, BPF_ANY);
}

static __always_inline void pf_frag_recall(struct pf_pkt *p, __u32 id)
{
	struct pf_frag_key k = { .id = id, .proto = p->proto, .family = p->family };
	struct pf_frag_val *v;

	__builtin_memcpy(k.saddr, p->saddr, 16);
	__builtin_memcpy(k.daddr, p->daddr, 16);
	v = bpf_map_lookup_elem(&pf_frags, &k);
	if (!v)
		return;
	p->sport = v->sport;
	p->dport = v->dport;
	p->ports_known = 1;
}

static __always_inline int pf_parse_ipv4(struct __sk_buff *skb, struct pf_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + PF_ETH_HLEN;
	__u32 ihl, frag;

	if ((void *)(ip + 1) > end)
		return PF_PARSE_MALFORMED;
	ihl = ip->ihl;
	if (ihl < 5 || ip->version != 4)
		return PF_PARSE_MALFORMED;
	p->family = PF_FAMILY_V4;
	p->proto = ip->protocol;
	__builtin_memcpy(p->saddr, &ip->saddr, 4);
	__builtin_memcpy(p->daddr, &ip->daddr, 4);
	frag = bpf_ntohs(ip->frag_off);
	if (frag & 0x1fff) {
		pf_frag_recall(p, bpf_ntohs(ip->id));
		return PF_PARSE_IP;
	}
	if (ihl == 5 && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP ||
			 p->proto == IPPROTO_SCTP)) {
		/* The common case, read straight from the packet. */
		__u16 *ports = (void *)(ip + 1);

		if ((void *)(ports + 2) <= end) {
			p->sport = bpf_ntohs(ports[0]);
			p->dport = bpf_ntohs(ports[1]);
			p->ports_known = 1;
		}
	} else {
		pf_parse_l4(skb, PF_ETH_HLEN + ihl * 4, p);
	}
	if (frag & 0x2000)
		pf_frag_learn(p, bpf_ntohs(ip->id));
	return PF_PARSE_IP;
}

static __always_inline int pf_parse_ipv6(struct __sk_buff *skb, struct pf_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6 = data + PF_ETH_HLEN;
	__u32 off = PF_ETH_HLEN + sizeof(*ip6);
	__u8 nexthdr;
	int i;

	if ((void *)(ip6 + 1) > end)
		return PF_PARSE_MALFORMED;
	if (ip6->version != 6)
		return PF_PARSE_MALFORMED;
	p->family = PF_FAMILY_V6;
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr, &ip6->daddr, 16);
	nexthdr = ip6->nexthdr;

	for (i = 0; i < PF_IP6_MAX_EXT; i++) {
		__u8 ext[8];

		switch (nexthdr) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
			if (bpf_skb_load_bytes(skb, off, ext, 2) < 0)
				return PF_PARSE_MALFORMED;
			/* AH counts its length in 4-byte words minus 2 (RFC 4302),
			 * the others in 8-byte words minus 1 (RFC 8200). */
			if (nexthdr == IPPROTO_AH)
				off += (ext[1] + 2) * 4;
			else
				off += (ext[1] + 1) * 8;
			nexthdr = ext[0];
			continue;
		case IPPROTO_FRAGMENT: {
			__u16 frag;
			__u32 id;

			if (bpf_skb_load_bytes(skb, off, ext, 8) < 0)
				return PF_PARSE_MALFORMED;
			nexthdr = ext[0];
			frag = (ext[2] << 8) | ext[3];
			id = ((__u32)ext[4] << 24) | ((__u32)ext[5] << 16) |
			     ((__u32)ext[6] << 8) | ext[7];
			off += 8;
			p->proto = nexthdr;
			if (frag & 0xfff8) {
				pf_frag_recall(p, id);
				return PF_PARSE_IP;
			}
			pf_parse_l4(skb, off, p);
			if (frag & 1)
				pf_frag_learn(p, id);
			return PF_PARSE_IP;
		}
		default:
			p->proto = nexthdr;
			if (!i && (nexthdr == IPPROTO_TCP || nexthdr == IPPROTO_UDP ||
				   nexthdr == IPPROTO_SCTP)) {
				/* No extension header, the common case: read the
				 * ports straight from the packet, as for IPv4. */
				__u16 *ports = (void *)(ip6 + 1);

				if ((void *)(ports + 2) <= end) {
					p->sport = bpf_ntohs(ports[0]);
					p->dport = bpf_ntohs(ports[1]);
					p->ports_known = 1;
					return PF_PARSE_IP;
				}
			}
			pf_parse_l4(skb, off, p);
			return PF_PARSE_IP;
		}
	}
	/* More extension headers than we walk: protocol and ports unknown,
	 * so only "every protocol" rules can match. */
	p->proto = 0xff;
	return PF_PARSE_IP;
}

static __always_inline int pf_parse(struct __sk_buff *skb, struct pf_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return PF_PARSE_MALFORMED;
	/* Headers the stack left outside the linear area: pull them in once. */
	if (end - data < PF_ETH_HLEN + 60 && skb->len > (__u32)(end - data)) {
		bpf_skb_pull_data(skb, skb->len < 128 ? skb->len : 128);
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		eth = data;
		if ((void *)(eth + 1) > end)
			return PF_PARSE_MALFORMED;
	}
	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		return pf_parse_ipv4(skb, p);
	case bpf_htons(ETH_P_IPV6):
		return pf_parse_ipv6(skb, p);
	default:
		return PF_PARSE_NOT_IP;
	}
}

#endif
