/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tracing one flow through the real datapath. A crafted first packet
 * (Ethernet, then IPv4 or IPv6, then a TCP SYN, a UDP datagram, an SCTP INIT
 * or an ICMP echo request) is run with bpf_prog_test_run_opts through the
 * loaded programs on the pinned maps, as the pods' host veths would see it:
 *   1. the source pod's pf_from_pod (its egress policy), when the source is
 *      a pod on this node;
 *   2. the destination pod's pf_to_pod (its ingress policy), when the
 *      destination is a pod on this node.
 * Every local hop is run, even after a deny, so both sides' answers show;
 * the flow is allowed only if every hop allows it.
 *
 * The verdict of a hop is the program's own return code. Why: the maps are
 * read the way the program reads them (pf_config, pf_pods and the pod's copy
 * of its set's value, then the
 * peer's entry: one pf_hosts4/pf_hosts6 key per prefix length of the set, or
 * the exact address there and then the longest pf_rules prefix, then that entry's
 * ports), and that reading must give the program's verdict to be reported
 * as "explained". No switch is turned on for a trace (events stay
 * as configured; nothing global changes).
 *
 * Side effects, the same as one real first packet's: the verdict counters
 * in pf_metrics count it, and when event logging is on the agent receives
 * its verdict event. The conntrack entry an allowed hop creates is deleted
 * right after the hop (keyed exactly as bpf/lib/conntrack.h keys it), so a
 * trace leaves no tracked flow behind.
 */
#ifndef PF_TRACE_H
#define PF_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "datapath.h"
#include "portset.h"

/* The programs and maps a trace uses. pf_ct4 and pf_ct6 must be writable
 * (the trace deletes the entries it made); the others may be read-only fds. */
struct pf_trace_maps {
	int prog[2];   /* indexed by enum pf_dir: pf_to_pod, pf_from_pod */
	int pods, rules, hosts4, hosts6, ports, ct4, ct6, config;
};

/* Borrows the fds of an open datapath. */
void pf_trace_maps_from_datapath(const struct pf_datapath *dp, struct pf_trace_maps *m);

struct pf_trace_flow {
	uint8_t family;           /* PF_FAMILY_V4 or PF_FAMILY_V6 */
	uint8_t proto;            /* IPPROTO_TCP, _UDP, _SCTP, or _ICMP (an ICMPv6
				   * echo on IPv6; IPPROTO_ICMPV6 is taken too) */
	uint8_t src[16], dst[16]; /* IPv4 in the first 4 bytes, the rest zero */
	uint16_t dport;           /* host order; unused for ICMP */
	int src_ifindex;          /* host veth of the source pod; 0: not local */
	int dst_ifindex;          /* host veth of the destination pod; 0: not local */
};

/* The flattened entry that covers the peer in one direction. */
struct pf_trace_entry {
	bool hashed;              /* found in pf_hosts4/6, else in the pf_rules trie */
	struct pf_cidr prefix;    /* the key's address and prefix length */
	uint32_t rule_id;         /* index of the flattened entry in its direction */
	struct pf_portset ports;  /* what it allows: flags, the ranges of the value
				   * or of its pf_ports chunks */
	bool ports_complete;      /* false: a pf_ports chunk was missing */
};

struct pf_trace_hop {
	enum pf_dir dir;          /* EGRESS: pf_from_pod; INGRESS: pf_to_pod */
	int ifindex;
	uint32_t tc_retval;       /* what the program returned */
	uint8_t verdict;          /* enum pf_verdict of tc_retval */
	/* The maps, read as the program reads them. */
	uint8_t reason;           /* enum pf_reason that reading gives */
	bool explained;           /* that reason's verdict is the program's */
	bool bound;               /* the veth is in pf_pods ... */
	uint32_t set_id;          /* ... bound to this policy set */
	bool has_set;             /* the set has rules applied ... */
	uint32_t gen;             /* ... at this generation */
	uint8_t isolation;        /* enum pf_isolation for dir */
	/* How the set's entries for dir and the flow's family are looked up:
	 * these prefix lengths in the family's hash, or PF_SET_PLENS_TRIE. */
	uint8_t n_plens;
	uint8_t plens[PF_SET_PLENS];
	uint32_t mode;            /* enum pf_mode of pf_config */
	bool matched;             /* entry holds the flattened entry for the peer */
	struct pf_trace_entry entry;
	bool ct_removed;          /* the hop tracked the flow; the entry was deleted */
};

struct pf_trace_result {
	uint16_t sport;           /* the random ephemeral port (ICMP: the echo id) */
	uint8_t verdict;          /* PF_VERDICT_ALLOW only if every hop allowed */
	struct pf_trace_hop hops[2];
	size_t n_hops;
};

/*
 * Traces f. At least one of src_ifindex and dst_ifindex must be set, and
 * both must be ifindexes in the calling thread's network namespace (the
 * kernel resolves the ctx ifindex there). Returns 0 with r filled (free it
 * with pf_trace_result_free), or -errno with err saying what failed on what.
 */
int pf_trace_run(const struct pf_trace_maps *m, const struct pf_trace_flow *f,
		 struct pf_trace_result *r, char *err, size_t err_len);
void pf_trace_result_free(struct pf_trace_result *r);

/* The IP protocol the packet of f carries (ICMP becomes ICMPv6 on IPv6). */
uint8_t pf_trace_l4_proto(const struct pf_trace_flow *f);

/* Largest packet pf_trace_packet writes. */
#define PF_TRACE_PKT_MAX 128

/* Writes the first packet of f with source port sport (ICMP: the echo
 * identifier) into buf, checksums filled in. Pure. Returns its length, or 0
 * when len is too small or the protocol is not one of the four. */
size_t pf_trace_packet(const struct pf_trace_flow *f, uint16_t sport, uint8_t *buf, size_t len);

#endif
