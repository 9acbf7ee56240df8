/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every struct shared by the eBPF datapath and user space: map keys and
 * values, the verdict event, drop reasons. One header, so the two sides can
 * never disagree about a layout. Explicit padding everywhere: the kernel
 * compares hash and LPM keys byte by byte.
 */
#ifndef PODFENCE_ABI_H
#define PODFENCE_ABI_H

#ifdef __BPF__
#include <linux/types.h>
#else
#include <linux/types.h>
#include <assert.h>
#define PF_STATIC_ASSERT(c, m) static_assert(c, m)
#endif
#ifndef PF_STATIC_ASSERT
#define PF_STATIC_ASSERT(c, m)
#endif

/* Direction, always from the pod's point of view. */
enum pf_dir {
	PF_DIR_INGRESS = 0, /* sent to the pod: TC egress on the host veth */
	PF_DIR_EGRESS = 1,  /* sent by the pod: TC ingress on the host veth */
};

enum pf_family {
	PF_FAMILY_V4 = 4,
	PF_FAMILY_V6 = 6,
};

/* A pod's state for one direction. */
enum pf_isolation {
	PF_ISO_UNKNOWN = 0,      /* no policy decision yet: the node's default mode */
	PF_ISO_OPEN = 1,         /* no policy selects the pod for this direction */
	PF_ISO_ISOLATED = 2,     /* only what the policy set's rules allow */
};

enum pf_mode {
	PF_MODE_STANDARD = 0, /* allow until a policy arrives */
	PF_MODE_STRICT = 1,   /* deny until a policy arrives */
};

enum pf_verdict {
	PF_VERDICT_ALLOW = 0,
	PF_VERDICT_DENY = 1,
};

/* Why a packet was let through or dropped; counted in pf_metrics. */
enum pf_reason {
	PF_REASON_CT_ESTABLISHED = 0, /* allowed: belongs to a tracked flow */
	PF_REASON_POLICY_ALLOW,       /* allowed: a rule matched */
	PF_REASON_NOT_ISOLATED,       /* allowed: no policy isolates the pod */
	PF_REASON_MODE_DEFAULT_ALLOW, /* allowed: standard mode, no policy yet */
	PF_REASON_NOT_IP,             /* allowed: ARP and other non-IP frames */
	PF_REASON_ICMP6_ND,           /* allowed: IPv6 neighbour discovery */
	PF_REASON_POLICY_DENY,        /* dropped: isolated and no rule matched */
	PF_REASON_MODE_DEFAULT_DENY,  /* dropped: strict mode, no policy yet */
	PF_REASON_MALFORMED,          /* dropped: IP header unusable */
	PF_REASON__COUNT,
};

/* Layout of the pf_metrics per-CPU array: one counter per reason. */
#define PF_METRICS_SLOTS PF_REASON__COUNT

/* Flags of a flattened rule entry (pf_rule_val.flags). */
#define PF_RULE_ALL_PORTS (1u << 0)   /* every protocol and port */
#define PF_RULE_TCP_ALL   (1u << 1)   /* every TCP port */
#define PF_RULE_UDP_ALL   (1u << 2)   /* every UDP port */
#define PF_RULE_SCTP_ALL  (1u << 3)   /* every SCTP port */

/* Port ranges are merged per protocol into disjoint intervals, sorted by
 * (protocol << 16 | port), and stored PF_PORT_CHUNK at a time. */
#define PF_PORT_CHUNK 32
/* Longest chain of port chunks the datapath walks: 65536 ports per
 * protocol, three protocols, at most half of them isolated intervals. */
#define PF_PORT_CHUNKS_MAX (3 * 32768 / PF_PORT_CHUNK)

/* pf_hosts4, pf_hosts6 (hashes) and pf_rules (LPM trie): the flattened
 * policy of one generation of one policy set, one direction. In pf_rules
 * addr holds an IPv4 address in its first 4 bytes.
 *
 * Per direction and family, a set whose entries have at most PF_SET_PLENS
 * distinct prefix lengths keeps all of them in the family's hash, keyed by
 * length and masked address: the datapath tries each length, longest
 * first, and the first hit is the longest match. A set with more lengths
 * keeps its single addresses (/32, /128) in the hash and every other prefix
 * in pf_rules. IPv4 has a hash of its own with a 12-byte key: the datapath
 * hashes it in one jhash round where the 24 bytes of an IPv6 key take two. */
struct pf_rule_key {
	__u32 prefixlen;  /* LPM only: 40 + CIDR prefix length */
	__u32 gen;        /* big endian, so LPM matches it first */
	__u8 dir_family;  /* (dir << 4) | family */
	__u8 addr[16];
	__u8 pad[3];      /* outside the prefix; always zero */
};
#define PF_RULE_KEY_PREFIX_BASE 40

/* pf_hosts6 key: an address masked to plen bits, exact match. User space
 * also views an IPv4 key this way (pf_host4_key_view, lib/datapath.h). */
struct pf_host_key {
	__u32 gen;
	__u8 dir_family;  /* (dir << 4) | family */
	__u8 plen;        /* prefix length; the bits of addr past it are zero */
	__u8 pad[2];
	__u8 addr[16];
};

/* pf_hosts4 key. */
struct pf_host4_key {
	__u32 gen;
	__u8 dir_family;  /* (dir << 4) | PF_FAMILY_V4 */
	__u8 plen;
	__u8 pad[2];
	__u32 addr;       /* network order, masked to plen bits */
};

/* Ranges are encoded as (proto << 16 | port), inclusive. */
struct pf_port_range {
	__u32 lo;
	__u32 hi;
};

/* An entry with at most PF_RULE_INLINE ranges carries them in its value:
 * no pf_ports lookup. One with more keeps them in pf_ports chunks; up to
 * PF_RULE_CHUNK_INDEX chunks, the value carries each chunk's last key, so
 * the datapath looks up the one chunk that can hold the port. Longer lists
 * are walked chunk by chunk. */
#define PF_RULE_INLINE 4
#define PF_RULE_CHUNK_INDEX (2 * PF_RULE_INLINE)

struct pf_rule_val {
	__u32 rule_id;    /* index of the flattened entry, for events and trace */
	__u32 ports_id;   /* key into pf_ports (when n_chunks) */
	__u16 n_chunks;   /* how many pf_ports chunks ports_id has; 0: none */
	__u16 flags;      /* PF_RULE_* */
	__u8 n_inline;    /* ranges in inl[]; then n_chunks is 0 */
	__u8 pad[3];
	union {
		struct pf_port_range inl[PF_RULE_INLINE];
		/* n_chunks <= PF_RULE_CHUNK_INDEX: hi of each chunk's last range */
		__u32 chunk_last[PF_RULE_CHUNK_INDEX];
	};
};

struct pf_port_key {
	__u32 gen;
	__u32 ports_id;
	__u32 chunk;
};

struct pf_port_chunk {
	__u32 n;
	__u32 pad;
	struct pf_port_range r[PF_PORT_CHUNK];
};

/* Most distinct prefix lengths a set's entries (one direction, one family)
 * may have to be looked up one hash per length; PF_SET_PLENS_TRIE marks a
 * set with more, whose prefixes live in the LPM trie. */
#define PF_SET_PLENS 4
#define PF_SET_PLENS_TRIE 0xff

/* pf_sets: policy set -> its current generation, isolation and how its
 * entries are looked up. The record of what is in force: the datapath reads
 * each pod's copy in pf_pods. Generations start at 1. */
struct pf_set_val {
	__u32 gen;
	__u8 isolation[2]; /* indexed by enum pf_dir */
	__u8 pad[2];
	/* [dir][family == IPv6]: how many distinct prefix lengths the entries
	 * have (or PF_SET_PLENS_TRIE), and those lengths, longest first. */
	__u8 n_plens[2][2];
	__u8 plens[2][2][PF_SET_PLENS];
};

/* pf_pods: host-side veth ifindex -> the pod's policy set, and a copy of
 * that set's pf_sets value: a new flow costs one lookup, not two. A swap
 * rewrites pf_sets, then the copy of each pod of the set: every pod flips
 * whole, in one update, and the old generation stays until every pod of the
 * set has moved. */
struct pf_pod_val {
	__u32 set_id;
	__u32 pad;
	struct pf_set_val set; /* all zero while the set has no rules applied */
};

/* pf_config[0]: node-wide settings read on the new-flow path only. */
struct pf_config {
	__u32 mode;           /* enum pf_mode */
	__u32 events_enabled; /* non-zero: verdicts of new flows go to pf_events */
};

/* pf_ct4 and pf_ct6: connection tracking, keyed by flow from the pod's
 * point of view so both directions of one flow share an entry, and scoped to
 * the veth so one pod can never open a hole for another. Hashing the key is
 * most of what a conntrack hit costs (jhash mixes once per 12 bytes past the
 * first), so each family's key is as short as an exact match allows.
 *
 * How user space views a flow of either family (pf_ct4_key_view,
 * pf_ct6_entry_view in lib/datapath.h). */
struct pf_ct_key {
	__u32 ifindex;
	__u8 proto;
	__u8 family;
	__u16 pod_port;  /* host order; ICMP echo: the identifier */
	__u16 peer_port;
	__u16 pad;
	__u8 pod_addr[16];
	__u8 peer_addr[16];
};

/* pf_ct4 key: the whole flow in 20 bytes. */
struct pf_ct4_key {
	__u32 ifindex;
	__u32 pod_addr;  /* network order */
	__u32 peer_addr;
	__u16 pod_port;  /* host order; ICMP echo: the identifier */
	__u16 peer_port;
	__u8 proto;
	__u8 pad[3];
};

/* pf_ct6 key: the peer, the ports, and the protocol beside the low 24 bits
 * of the veth's ifindex, in 24 bytes (the whole flow took 44: two more
 * rounds of jhash, 10 ns a packet). The rest of the flow, the whole ifindex
 * and the pod's address, is in the value (struct pf_ct6_val) and checked on
 * every hit, so a packet passes as established only if its whole flow is
 * tracked. Two flows that differ only there (a second address of one pod, or
 * veths whose ifindexes are 2^24 apart) share a key: the first is tracked,
 * the second is judged by the policy packet by packet. */
struct pf_ct6_key {
	__u8 peer_addr[16];
	__u16 pod_port;  /* host order; ICMP echo: the identifier */
	__u16 peer_port;
	__u32 ifx_proto; /* pf_ct6_ifx_proto() */
};

#define PF_CT6_IFX_MASK 0xffffffu

static inline __u32 pf_ct6_ifx_proto(__u32 ifindex, __u8 proto)
{
	return (ifindex & PF_CT6_IFX_MASK) | (__u32)proto << 24;
}

/* The datapath reads no clock on a conntrack hit: a packet only sets seen
 * (and writes the entry only when seen was clear). The sweep in user space
 * turns seen into last_seen_ns = the sweep's time and clears it, so an
 * established flow writes its entry at most once per sweep period. */
struct pf_ct_val {
	__u64 last_seen_ns; /* creation, or the last sweep that found it seen */
	__u64 created_ns;   /* bpf_ktime_get_coarse_ns() of the first packet */
	__u8 origin;        /* enum pf_dir of the packet that opened the flow */
	__u8 seen;          /* a packet passed since last_seen_ns was stamped */
	__u8 pad[6];
};

/* pf_ct6 value: the entry, then what of the flow its key leaves out. */
struct pf_ct6_val {
	struct pf_ct_val ct;
	__u32 ifindex;
	__u8 pod_addr[16];
	__u32 pad;
};

/* pf_frags: ports of a fragmented datagram, learned from its first fragment. */
struct pf_frag_key {
	__u32 id;
	__u8 proto;
	__u8 family;
	__u16 pad;
	__u8 saddr[16];
	__u8 daddr[16];
};

struct pf_frag_val {
	__u16 sport;
	__u16 dport;
	__u32 pad;
};

/* One verdict, sent through the pf_events ring buffer. */
struct pf_event {
	__u64 ts_ns;
	__u32 ifindex;
	__u32 set_id;
	__u32 rule_id;    /* PF_RULE_NONE when no rule decided */
	__u8 verdict;     /* enum pf_verdict */
	__u8 dir;         /* enum pf_dir */
	__u8 family;
	__u8 proto;
	__u16 sport;
	__u16 dport;
	__u8 reason;      /* enum pf_reason */
	__u8 pad[3];
	__u8 saddr[16];
	__u8 daddr[16];
};
#define PF_RULE_NONE 0xffffffffu

PF_STATIC_ASSERT(sizeof(struct pf_rule_key) == 28, "pf_rule_key layout");
PF_STATIC_ASSERT(sizeof(struct pf_host_key) == 24, "pf_host_key layout");
PF_STATIC_ASSERT(sizeof(struct pf_host4_key) == 12, "pf_host4_key layout");
PF_STATIC_ASSERT(sizeof(struct pf_rule_val) == 16 + 8 * PF_RULE_INLINE, "pf_rule_val layout");
PF_STATIC_ASSERT(sizeof(struct pf_set_val) == 12 + 4 * PF_SET_PLENS, "pf_set_val layout");
PF_STATIC_ASSERT(sizeof(struct pf_pod_val) == 8 + sizeof(struct pf_set_val), "pf_pod_val layout");
PF_STATIC_ASSERT(sizeof(struct pf_port_chunk) == 8 + 8 * PF_PORT_CHUNK, "pf_port_chunk layout");
PF_STATIC_ASSERT(sizeof(struct pf_ct_key) == 44, "pf_ct_key layout");
PF_STATIC_ASSERT(sizeof(struct pf_ct4_key) == 20, "pf_ct4_key layout");
PF_STATIC_ASSERT(sizeof(struct pf_ct6_key) == 24, "pf_ct6_key layout");
PF_STATIC_ASSERT(sizeof(struct pf_ct6_val) == 48, "pf_ct6_val layout");
PF_STATIC_ASSERT(sizeof(struct pf_ct_val) == 24, "pf_ct_val layout");
PF_STATIC_ASSERT(sizeof(struct pf_frag_key) == 40, "pf_frag_key layout");
PF_STATIC_ASSERT(sizeof(struct pf_event) == 64, "pf_event layout");

/* Map sizes (user space may resize pf_ct4 and pf_ct6 before load). */
#define PF_MAX_PODS       16384
#define PF_MAX_SETS       16384
#define PF_MAX_RULES      (1 << 20)
#define PF_MAX_HOSTS      (1 << 20)
#define PF_MAX_PORT_CHUNKS (1 << 18)
#define PF_CT_DEFAULT_SIZE (1 << 18)
#define PF_MAX_FRAGS      8192
#define PF_EVENTS_BYTES   (1 << 20)

#endif /* PODFENCE_ABI_H */
