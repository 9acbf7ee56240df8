/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pure decoding of the datapath's map keys and values (abi/podfence_abi.h)
 * into words a person reads and JSON a script reads. No map is touched here:
 * callers read the maps and hand the raw structs in, so every decoder can be
 * tested on hand-built keys.
 *
 * The text helpers return buf (or a static word) so they nest in printf
 * arguments; the JSON builders return a new reference, or NULL on allocation
 * failure. Field names of the JSON objects are documented in docs/cli.md.
 */
#ifndef PF_MAP_DECODE_H
#define PF_MAP_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "podfence_abi.h"

/* Words for the ABI's enums; "invalid" for a value outside the enum. */
const char *pf_dir_name(unsigned dir);             /* ingress, egress */
const char *pf_family_name(unsigned family);       /* ipv4, ipv6 */
const char *pf_isolation_name(unsigned isolation); /* unknown, open, isolated */
const char *pf_mode_name(unsigned mode);           /* standard, strict */
const char *pf_reason_name(unsigned reason);       /* ct-established, policy-deny, ... */
const char *pf_verdict_name(unsigned verdict);     /* allow, deny */
/* The verdict a reason stands for (PF_VERDICT_ALLOW or PF_VERDICT_DENY). */
unsigned pf_reason_verdict(unsigned reason);

/* "tcp", "udp", "sctp", "icmp", "icmpv6", else "ip-proto-N". */
const char *pf_ip_proto_text(uint8_t proto, char *buf, size_t len);
/* PF_RULE_* flags as comma-separated words ("all-ports", "tcp-all",
 * "udp-all", "sctp-all", unknown bits as hex), or "none". */
const char *pf_rule_flags_text(uint16_t flags, char *buf, size_t len);
/* A (proto << 16 | port) interval: "tcp 80", "udp 1000-2000", "sctp all". */
const char *pf_port_range_text(const struct pf_port_range *r, char *buf, size_t len);
/* The CIDR an LPM rule key stands for (prefixlen - 40 bits of addr):
 * "10.0.0.0/8", or "invalid prefixlen N" when the key cannot be one. */
const char *pf_decode_rule_key(const struct pf_rule_key *k, char *buf, size_t len);
/* The CIDR a pf_hosts4/pf_hosts6 key stands for (plen bits of addr; an
 * IPv4 key viewed with pf_host4_key_view): "10.0.0.5/32",
 * "10.1.0.0/16", or "invalid prefix length N". */
const char *pf_decode_host_key(const struct pf_host_key *k, char *buf, size_t len);

/* The ranges an entry carries in its value, as one chunk (c->n is 0 when
 * they are in pf_ports chunks instead). */
void pf_rule_val_inline_chunk(const struct pf_rule_val *v, struct pf_port_chunk *c);

/* Every port an entry allows, as words: its flags first ("all", "tcp all",
 * ...), then the ranges of its chunks in order. Empty: nothing allowed. */
json_t *pf_decode_ports_json(uint16_t flags, const struct pf_port_chunk *chunks,
			     size_t n_chunks);

/* One object per map entry. ifname may be NULL (not in this namespace).
 * A pod shows its copy of its set: generation (null: no rules applied) and
 * isolation.
 * A set's "lookup" says, per direction and family, the prefix lengths its
 * pf_hosts4/pf_hosts6 entries are found by, or "trie". */
json_t *pf_decode_pod_json(uint32_t ifindex, const char *ifname, const struct pf_pod_val *v);
json_t *pf_decode_set_json(uint32_t set_id, const struct pf_set_val *v);
json_t *pf_decode_rule_json(const struct pf_rule_key *k, const struct pf_rule_val *v);
json_t *pf_decode_host_json(const struct pf_host_key *k, const struct pf_rule_val *v);
json_t *pf_decode_port_chunk_json(const struct pf_port_key *k, const struct pf_port_chunk *c);
/* now_ns: CLOCK_MONOTONIC_COARSE, the clock of bpf_ktime_get_coarse_ns()
 * and of the sweep, which stamp created_ns and last_seen_ns. idle_s counts
 * from last_seen_ns; "seen" says a packet passed since (the datapath marks
 * a flow, the next sweep stamps it). */
json_t *pf_decode_ct_json(const struct pf_ct_key *k, const struct pf_ct_val *v, uint64_t now_ns);
json_t *pf_decode_frag_json(const struct pf_frag_key *k, const struct pf_frag_val *v);
json_t *pf_decode_config_json(const struct pf_config *c);
json_t *pf_decode_metric_json(unsigned reason, uint64_t packets);

#endif
