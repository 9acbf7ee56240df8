/* SPDX-License-Identifier: Apache-2.0 */
/* Test fixtures shared by the datapath tests: a private network namespace
 * with veth pairs (bpf_prog_test_run needs real ifindexes), a datapath pinned
 * under a bpffs root of the test's own, and crafted packets. */
#ifndef PF_TEST_H
#define PF_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datapath.h"
#include "policy_compile.h"

#define PF_TEST_MAX_PKT 512

struct pf_test_pkt {
	uint8_t data[PF_TEST_MAX_PKT];
	size_t len;
};

/* Enters a new network namespace and makes n veth pairs; ifindexes of one
 * side of each pair go to out. Returns 0 or -errno. */
int pf_test_netns(int n, int *out);

/* In that namespace, one more veth pair whose first end has the given
 * ifindex (named name, its peer name + "p"). Returns 0 or -errno. */
int pf_test_veth_at(int ifindex, const char *name);

/* Opens a fresh datapath under /sys/fs/bpf/podfence-test-<pid>-<seq>. */
struct pf_datapath *pf_test_datapath(uint32_t mode, bool events);
void pf_test_datapath_destroy(struct pf_datapath *dp);

/* Tracked flows of both families (entries of pf_ct4 and pf_ct6). */
size_t pf_test_ct_count(struct pf_datapath *dp);

/* Compiles a JSON policy set (pf_policy_spec_from_json's format) and applies
 * it to set_id. Fails the test on any error. */
void pf_test_apply_json(struct pf_datapath *dp, uint32_t set_id, const char *json);

/* Runs the program of dir on pkt as if it crossed ifindex; returns the TC
 * verdict (0 = TC_ACT_OK, 2 = TC_ACT_SHOT). */
int pf_test_run(struct pf_datapath *dp, enum pf_dir dir, int ifindex,
		const struct pf_test_pkt *pkt);

/* Packet builders. Addresses are text; ports in host order. */
struct pf_test_l4 {
	uint8_t proto;      /* IPPROTO_TCP/UDP/SCTP/ICMP/ICMPV6 or other */
	uint16_t sport, dport;
	uint8_t tcp_flags;  /* default SYN when 0 */
	uint8_t icmp_type;
};
void pf_test_pkt_v4(struct pf_test_pkt *p, const char *src, const char *dst,
		    const struct pf_test_l4 *l4);
void pf_test_pkt_v6(struct pf_test_pkt *p, const char *src, const char *dst,
		    const struct pf_test_l4 *l4);
/* IPv4 with n_opt_words 4-byte option words (IHL = 5 + n). */
void pf_test_pkt_v4_opts(struct pf_test_pkt *p, const char *src, const char *dst,
			 const struct pf_test_l4 *l4, int n_opt_words);
/* IPv4 fragment: frag_offset in 8-byte units, more = MF flag. A fragment
 * with offset > 0 carries payload bytes only, no L4 header. */
void pf_test_pkt_v4_frag(struct pf_test_pkt *p, const char *src, const char *dst,
			 const struct pf_test_l4 *l4, uint16_t id, uint16_t frag_offset,
			 bool more);
/* IPv6 with a chain of extension headers (IPPROTO_HOPOPTS, IPPROTO_ROUTING,
 * IPPROTO_DSTOPTS, IPPROTO_FRAGMENT with offset 0 and M set) before l4. */
void pf_test_pkt_v6_ext(struct pf_test_pkt *p, const char *src, const char *dst,
			const struct pf_test_l4 *l4, const uint8_t *exts, int n_exts);
/* A non-first IPv6 fragment. */
void pf_test_pkt_v6_frag(struct pf_test_pkt *p, const char *src, const char *dst,
			 uint8_t proto, uint32_t id, uint16_t frag_offset);
/* An ARP frame. */
void pf_test_pkt_arp(struct pf_test_pkt *p);

#endif
