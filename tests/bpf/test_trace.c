// SPDX-License-Identifier: Apache-2.0
/* lib/trace.c: flows traced through the real loaded programs on the real
 * maps, TCP, UDP, SCTP and ICMP, allowed and denied, in both directions,
 * each hop's verdict and the flattened entry that decided it, and no
 * conntrack entry left behind. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <linux/if_ether.h>

#include "cidr.h"
#include "pf_test.h"
#include "trace.h"

#define A "10.0.0.1"
#define B "10.0.0.2"
#define A6 "fd00::1"
#define B6 "fd00::2"

static int ifx[2]; /* host veths of pod A (set 1) and pod B (set 2) */
static struct pf_datapath *dp;
static struct pf_trace_maps maps;

/* Pod A may send to B on TCP 80-81, UDP 53 and SCTP 9000, to its /24 on
 * TCP 443 except the upper half, to fd00::/64 on TCP 80; its ingress has no
 * policy (the mode decides). Pod B takes TCP 80, UDP 53 and SCTP 9000 from
 * the /24 and TCP 80 from A6; its egress is open. */
static const char policy_a[] =
	"{\"egress\": {\"rules\": ["
	" {\"cidr\": \"10.0.0.2/32\", \"ports\": [{\"protocol\": \"TCP\", \"port\": 80,"
	"   \"endPort\": 81}, {\"protocol\": \"UDP\", \"port\": 53},"
	"   {\"protocol\": \"SCTP\", \"port\": 9000}]},"
	" {\"cidr\": \"10.0.0.0/24\", \"except\": [\"10.0.0.128/25\"],"
	"   \"ports\": [{\"protocol\": \"TCP\", \"port\": 443}]},"
	" {\"cidr\": \"fd00::/64\", \"ports\": [{\"protocol\": \"TCP\", \"port\": 80}]}]}}";
static const char policy_b[] =
	"{\"ingress\": {\"rules\": ["
	" {\"cidr\": \"10.0.0.0/24\", \"ports\": [{\"protocol\": \"TCP\", \"port\": 80},"
	"   {\"protocol\": \"UDP\", \"port\": 53}, {\"protocol\": \"SCTP\", \"port\": 9000}]},"
	" {\"cidr\": \"fd00::1/128\", \"ports\": [{\"protocol\": \"TCP\", \"port\": 80}]}]},"
	" \"egress\": {\"isolated\": false}}";

static int setup(uint32_t mode)
{
	dp = pf_test_datapath(mode, false);
	pf_trace_maps_from_datapath(dp, &maps);
	return pf_datapath_pod_bind(dp, ifx[0], 1) || pf_datapath_pod_bind(dp, ifx[1], 2);
}

static int setup_policies(void **state)
{
	(void)state;
	if (setup(PF_MODE_STANDARD))
		return 1;
	pf_test_apply_json(dp, 1, policy_a);
	pf_test_apply_json(dp, 2, policy_b);
	return 0;
}

static int setup_strict(void **state)
{
	(void)state;
	return setup(PF_MODE_STRICT);
}

static int teardown(void **state)
{
	(void)state;
	pf_test_datapath_destroy(dp);
	dp = NULL;
	return 0;
}

/* The ifindex of the pod with address addr, 0 for a peer off the node. */
static int pod_ifindex(const char *addr)
{
	if (!strcmp(addr, A) || !strcmp(addr, A6))
		return ifx[0];
	if (!strcmp(addr, B) || !strcmp(addr, B6))
		return ifx[1];
	return 0;
}

static struct pf_trace_flow flow(const char *src, const char *dst, uint8_t proto, uint16_t dport)
{
	struct pf_trace_flow f = { .proto = proto, .dport = dport };
	int af = strchr(src, ':') ? AF_INET6 : AF_INET;

	f.family = af == AF_INET ? PF_FAMILY_V4 : PF_FAMILY_V6;
	assert_int_equal(inet_pton(af, src, f.src), 1);
	assert_int_equal(inet_pton(af, dst, f.dst), 1);
	f.src_ifindex = pod_ifindex(src);
	f.dst_ifindex = pod_ifindex(dst);
	return f;
}

/* Traces and checks the overall verdict and that no tracked flow is left. */
static void trace(const char *src, const char *dst, uint8_t proto, uint16_t dport,
		  uint8_t verdict, struct pf_trace_result *r)
{
	struct pf_trace_flow f = flow(src, dst, proto, dport);
	char err[256] = "";
	size_t before = pf_test_ct_count(dp);

	if (pf_trace_run(&maps, &f, r, err, sizeof(err)))
		fail_msg("trace %s -> %s: %s", src, dst, err);
	assert_int_equal(r->verdict, verdict);
	assert_in_range(r->sport, 32768, 60999);
	assert_int_equal(pf_test_ct_count(dp), before);
	for (size_t i = 0; i < r->n_hops; i++)
		assert_true(r->hops[i].explained);
}

static void hop_is(const struct pf_trace_hop *h, enum pf_dir dir, int ifindex, uint8_t verdict,
		   uint8_t reason)
{
	assert_int_equal(h->dir, dir);
	assert_int_equal(h->ifindex, ifindex);
	assert_int_equal(h->verdict, verdict);
	assert_int_equal(h->tc_retval, verdict == PF_VERDICT_ALLOW ? 0 : 2);
	assert_int_equal(h->reason, reason);
	/* An allowed first packet was tracked by the program, then forgotten. */
	assert_int_equal(h->ct_removed, verdict == PF_VERDICT_ALLOW);
}

/* The hop's flattened entry: its CIDR, map (pf_hosts4/6 when hashed, else
 * pf_rules), and what it allows. */
static void entry_is(const struct pf_trace_hop *h, const char *cidr, bool hashed)
{
	char buf[64];

	assert_true(h->matched);
	assert_string_equal(pf_cidr_format(&h->entry.prefix, buf, sizeof(buf)), cidr);
	assert_int_equal(h->entry.hashed, hashed);
	assert_true(h->entry.ports_complete);
}

static bool entry_allows(const struct pf_trace_hop *h, uint8_t proto, uint16_t port)
{
	return pf_portset_allows(&h->entry.ports, proto, port, true);
}

static void tcp_allowed_by_both_pods(void **state)
{
	struct pf_trace_result r;

	(void)state;
	trace(A, B, IPPROTO_TCP, 80, PF_VERDICT_ALLOW, &r);
	assert_int_equal(r.n_hops, 2);
	hop_is(&r.hops[0], PF_DIR_EGRESS, ifx[0], PF_VERDICT_ALLOW, PF_REASON_POLICY_ALLOW);
	assert_true(r.hops[0].bound && r.hops[0].has_set);
	assert_int_equal(r.hops[0].set_id, 1);
	assert_int_equal(r.hops[0].isolation, PF_ISO_ISOLATED);
	entry_is(&r.hops[0], "10.0.0.2/32", true);
	assert_true(entry_allows(&r.hops[0], IPPROTO_TCP, 81));
	assert_true(entry_allows(&r.hops[0], IPPROTO_UDP, 53));
	assert_false(entry_allows(&r.hops[0], IPPROTO_TCP, 82));
	hop_is(&r.hops[1], PF_DIR_INGRESS, ifx[1], PF_VERDICT_ALLOW, PF_REASON_POLICY_ALLOW);
	assert_int_equal(r.hops[1].set_id, 2);
	entry_is(&r.hops[1], "10.0.0.0/24", true);
	pf_trace_result_free(&r);
}

static void tcp_denied_by_the_destination(void **state)
{
	struct pf_trace_result r;

	(void)state;
	trace(A, B, IPPROTO_TCP, 81, PF_VERDICT_DENY, &r);
	hop_is(&r.hops[0], PF_DIR_EGRESS, ifx[0], PF_VERDICT_ALLOW, PF_REASON_POLICY_ALLOW);
	/* The /24 covers A, but not on this port. */
	hop_is(&r.hops[1], PF_DIR_INGRESS, ifx[1], PF_VERDICT_DENY, PF_REASON_POLICY_DENY);
	entry_is(&r.hops[1], "10.0.0.0/24", true);
	assert_false(entry_allows(&r.hops[1], IPPROTO_TCP, 81));
	pf_trace_result_free(&r);
}

static void udp_allowed_and_denied(void **state)
{
	struct pf_trace_result r;

	(void)state;
	trace(A, B, IPPROTO_UDP, 53, PF_VERDICT_ALLOW, &r);
	hop_is(&r.hops[0], PF_DIR_EGRESS, ifx[0], PF_VERDICT_ALLOW, PF_REASON_POLICY_ALLOW);
	hop_is(&r.hops[1], PF_DIR_INGRESS, ifx[1], PF_VERDICT_ALLOW, PF_REASON_POLICY_ALLOW);
	pf_trace_result_free(&r);
	/* Both sides refuse UDP 54: every local hop runs, even after a deny. */
	trace(A, B, IPPROTO_UDP, 54, PF_VERDICT_DENY, &r);
	assert_int_equal(r.n_hops, 2);
	hop_is(&r.hops[0], PF_DIR_EGRESS, ifx[0], PF_VERDICT_DENY, PF_REASON_POLICY_DENY);
	entry_is(&r.hops[0], "10.0.0.2/32", true);
	hop_is(&r.hops[1], PF_DIR_INGRESS, ifx[1], PF_VERDICT_DENY, PF_REASON_POLICY_DENY);
	pf_trace_result_free(&r);
}

static void sctp_allowed_denied_and_not_tcp(void **state)
{
	struct pf_trace_result r;

	(void)state;
	trace(A, B, IPPROTO_SCTP, 9000, PF_VERDICT_ALLOW, &r);
	hop_is(&r.hops[0], PF_DIR_EGRESS, ifx[0], PF_VERDICT_ALLOW, PF_REASON_POLICY_ALLOW);
	hop_is(&r.hops[1], PF_DIR_INGRESS, ifx[1], PF_VERDICT_ALLOW, PF_REASON_POLICY_ALLOW);
	assert_true(entry_allows(&r.hops[1], IPPROTO_SCTP, 9000));
	pf_trace_result_free(&r);
	trace(A, B, IPPROTO_SCTP, 9001, PF_VERDICT_DENY, &r);
	hop_is(&r.hops[0], PF_DIR_EGRESS, ifx[0], PF_VERDICT_DENY, PF_REASON_POLICY_DENY);
	hop_is(&r.hops[1], PF_DIR_INGRESS, ifx[1], PF_VERDICT_DENY, PF_REASON_POLICY_DENY);
	pf_trace_result_free(&r);
	trace(A, B, IPPROTO_TCP, 9000, PF_VERDICT_DENY, &r);
	hop_is(&r.hops[0], PF_DIR_EGRESS, ifx[0], PF_VERDICT_DENY, PF_REASON_POLICY_DENY);
	pf_trace_result_free(&r);
}

static void reverse_direction_uses_the_other_policies(void **state)
{
	struct pf_trace_result r;

	(void)state;
	trace(B, A, IPPROTO_TCP, 22, PF_VERDICT_ALLOW, &r);
	assert_int_equal(r.n_hops, 2);
	/* B's egress is open; A's ingress has no policy: standard mode. */
	hop_is(&r.hops[0], PF_DIR_EGRESS, ifx[1], PF_VERDICT_ALLOW, PF_REASON_NOT_ISOLATED);
	assert_false(r.hops[0].matched);
	hop_is(&r.hops[1], PF_DIR_INGRESS, ifx[0], PF_VERDICT_ALLOW,
	       PF_REASON_MODE_DEFAULT_ALLOW);
	assert_int_equal(r.hops[1].isolation, PF_ISO_UNKNOWN);
	pf_trace_result_free(&r);
	trace(B, A, IPPROTO_SCTP, 9000, PF_VERDICT_ALLOW, &r);
	pf_trace_result_free(&r);
	trace(B, A, IPPROTO_UDP, 53, PF_VERDICT_ALLOW, &r);
	pf_trace_result_free(&r);
}

static void peers_off_the_node_have_one_hop(void **state)
{
	struct pf_trace_result r;

	(void)state;
	trace(A, "192.0.2.9", IPPROTO_TCP, 80, PF_VERDICT_DENY, &r);
	assert_int_equal(r.n_hops, 1);
	hop_is(&r.hops[0], PF_DIR_EGRESS, ifx[0], PF_VERDICT_DENY, PF_REASON_POLICY_DENY);
	assert_false(r.hops[0].matched);
	pf_trace_result_free(&r);
	trace("192.0.2.9", B, IPPROTO_TCP, 80, PF_VERDICT_DENY, &r);
	assert_int_equal(r.n_hops, 1);
	hop_is(&r.hops[0], PF_DIR_INGRESS, ifx[1], PF_VERDICT_DENY, PF_REASON_POLICY_DENY);
	pf_trace_result_free(&r);
	trace("10.0.0.77", B, IPPROTO_UDP, 53, PF_VERDICT_ALLOW, &r);
	entry_is(&r.hops[0], "10.0.0.0/24", true);
	pf_trace_result_free(&r);
}

static void except_hole_is_the_matched_entry(void **state)
{
	struct pf_trace_result r;

	(void)state;
	trace(A, "10.0.0.5", IPPROTO_TCP, 443, PF_VERDICT_ALLOW, &r);
	entry_is(&r.hops[0], "10.0.0.0/24", true);
	pf_trace_result_free(&r);
	trace(A, "10.0.0.200", IPPROTO_TCP, 443, PF_VERDICT_DENY, &r);
	hop_is(&r.hops[0], PF_DIR_EGRESS, ifx[0], PF_VERDICT_DENY, PF_REASON_POLICY_DENY);
	entry_is(&r.hops[0], "10.0.0.128/25", true);
	assert_int_equal(r.hops[0].entry.ports.n, 0);
	assert_int_equal(r.hops[0].entry.ports.flags, 0);
	pf_trace_result_free(&r);
}

static void icmp_needs_an_every_port_rule(void **state)
{
	struct pf_trace_result r;

	(void)state;
	trace(A, B, IPPROTO_ICMP, 0, PF_VERDICT_DENY, &r);
	hop_is(&r.hops[0], PF_DIR_EGRESS, ifx[0], PF_VERDICT_DENY, PF_REASON_POLICY_DENY);
	entry_is(&r.hops[0], "10.0.0.2/32", true);
	pf_trace_result_free(&r);
	pf_test_apply_json(dp, 1, "{\"egress\": {\"rules\": [{\"cidr\": \"10.0.0.0/24\"}]}}");
	trace(A, B, IPPROTO_ICMP, 0, PF_VERDICT_DENY, &r);
	hop_is(&r.hops[0], PF_DIR_EGRESS, ifx[0], PF_VERDICT_ALLOW, PF_REASON_POLICY_ALLOW);
	assert_true(r.hops[0].entry.ports.flags & PF_RULE_ALL_PORTS);
	hop_is(&r.hops[1], PF_DIR_INGRESS, ifx[1], PF_VERDICT_DENY, PF_REASON_POLICY_DENY);
	pf_trace_result_free(&r);
	trace(B, A, IPPROTO_ICMP, 0, PF_VERDICT_ALLOW, &r);
	pf_trace_result_free(&r);
}

static void ipv6_flows(void **state)
{
	struct pf_trace_result r;

	(void)state;
	trace(A6, B6, IPPROTO_TCP, 80, PF_VERDICT_ALLOW, &r);
	entry_is(&r.hops[0], "fd00::/64", true);
	entry_is(&r.hops[1], "fd00::1/128", true);
	pf_trace_result_free(&r);
	trace(A6, B6, IPPROTO_UDP, 53, PF_VERDICT_DENY, &r);
	hop_is(&r.hops[0], PF_DIR_EGRESS, ifx[0], PF_VERDICT_DENY, PF_REASON_POLICY_DENY);
	pf_trace_result_free(&r);
	trace(B6, A6, IPPROTO_ICMPV6, 0, PF_VERDICT_ALLOW, &r);
	pf_trace_result_free(&r);
}

static void live_flows_are_left_alone(void **state)
{
	struct pf_test_l4 syn = { .proto = IPPROTO_TCP, .sport = 40000, .dport = 80 };
	struct pf_test_pkt p;
	struct pf_trace_result r;

	(void)state;
	/* A real connection A -> B:80, tracked on both veths. */
	pf_test_pkt_v4(&p, A, B, &syn);
	assert_int_equal(pf_test_run(dp, PF_DIR_EGRESS, ifx[0], &p), 0);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[1], &p), 0);
	assert_int_equal(pf_test_ct_count(dp), 2);
	for (int i = 0; i < 20; i++) {
		trace(A, B, IPPROTO_TCP, 80, PF_VERDICT_ALLOW, &r);
		assert_int_not_equal(r.sport, 40000);
		pf_trace_result_free(&r);
	}
	assert_int_equal(pf_test_ct_count(dp), 2);
}

/* Five prefix lengths in one direction and family: the single addresses
 * stay hashed, every other prefix is found in the LPM trie; the IPv6
 * entries of the same set, with one length, are still hashed. */
static void sets_with_many_prefix_lengths_use_the_trie(void **state)
{
	struct pf_trace_result r;

	(void)state;
	pf_test_apply_json(dp, 1,
		"{\"egress\": {\"rules\": ["
		" {\"cidr\": \"10.0.0.2/32\", \"ports\": [{\"port\": 80}]},"
		" {\"cidr\": \"10.0.0.0/30\", \"ports\": [{\"port\": 81}]},"
		" {\"cidr\": \"10.0.0.0/24\", \"ports\": [{\"port\": 82}]},"
		" {\"cidr\": \"10.0.0.0/16\", \"ports\": [{\"port\": 83}]},"
		" {\"cidr\": \"10.0.0.0/8\", \"ports\": [{\"port\": 84}]},"
		" {\"cidr\": \"fd00::/64\", \"ports\": [{\"port\": 80}]}]}}");
	trace(A, B, IPPROTO_TCP, 80, PF_VERDICT_ALLOW, &r);
	assert_int_equal(r.hops[0].n_plens, PF_SET_PLENS_TRIE);
	entry_is(&r.hops[0], "10.0.0.2/32", true);
	assert_true(entry_allows(&r.hops[0], IPPROTO_TCP, 84));
	pf_trace_result_free(&r);
	trace(A, "10.0.0.3", IPPROTO_TCP, 81, PF_VERDICT_ALLOW, &r);
	entry_is(&r.hops[0], "10.0.0.0/30", false);
	pf_trace_result_free(&r);
	trace(A, "10.0.0.9", IPPROTO_TCP, 81, PF_VERDICT_DENY, &r);
	entry_is(&r.hops[0], "10.0.0.0/24", false);
	assert_true(entry_allows(&r.hops[0], IPPROTO_TCP, 84));
	pf_trace_result_free(&r);
	trace(A, "10.9.0.9", IPPROTO_TCP, 84, PF_VERDICT_ALLOW, &r);
	entry_is(&r.hops[0], "10.0.0.0/8", false);
	pf_trace_result_free(&r);
	trace(A, "11.0.0.1", IPPROTO_TCP, 84, PF_VERDICT_DENY, &r);
	assert_false(r.hops[0].matched);
	pf_trace_result_free(&r);
	trace(A6, B6, IPPROTO_TCP, 80, PF_VERDICT_ALLOW, &r);
	assert_int_equal(r.hops[0].n_plens, 1);
	assert_int_equal(r.hops[0].plens[0], 64);
	entry_is(&r.hops[0], "fd00::/64", true);
	pf_trace_result_free(&r);
}

/* More ranges than an entry's value holds: read from pf_ports chunks. */
static void ports_in_chunks_are_read(void **state)
{
	char json[4096];
	size_t off;
	struct pf_trace_result r;

	(void)state;
	off = (size_t)snprintf(json, sizeof(json), "{\"egress\": {\"rules\": [{\"cidr\": "
			       "\"10.0.0.0/24\", \"ports\": [");
	for (int i = 0; i < 40; i++)
		off += (size_t)snprintf(json + off, sizeof(json) - off, "%s{\"port\": %d}",
					i ? "," : "", 2000 + 2 * i);
	snprintf(json + off, sizeof(json) - off, "]}]}}");
	pf_test_apply_json(dp, 1, json);
	trace(A, "10.0.0.9", IPPROTO_TCP, 2078, PF_VERDICT_ALLOW, &r);
	entry_is(&r.hops[0], "10.0.0.0/24", true);
	assert_int_equal(r.hops[0].entry.ports.n, 40);
	assert_true(entry_allows(&r.hops[0], IPPROTO_TCP, 2000));
	assert_false(entry_allows(&r.hops[0], IPPROTO_TCP, 2001));
	pf_trace_result_free(&r);
	trace(A, "10.0.0.9", IPPROTO_TCP, 2079, PF_VERDICT_DENY, &r);
	hop_is(&r.hops[0], PF_DIR_EGRESS, ifx[0], PF_VERDICT_DENY, PF_REASON_POLICY_DENY);
	pf_trace_result_free(&r);
}

static void strict_mode_without_policy_denies(void **state)
{
	struct pf_trace_result r;
	struct pf_trace_flow f = flow(A, B, IPPROTO_TCP, 80);
	char err[256];

	(void)state;
	trace(A, B, IPPROTO_TCP, 80, PF_VERDICT_DENY, &r);
	hop_is(&r.hops[0], PF_DIR_EGRESS, ifx[0], PF_VERDICT_DENY, PF_REASON_MODE_DEFAULT_DENY);
	assert_true(r.hops[0].bound);
	assert_false(r.hops[0].has_set);
	assert_int_equal(r.hops[0].mode, PF_MODE_STRICT);
	pf_trace_result_free(&r);
	/* An interface that is not in this namespace is named. */
	f.src_ifindex = 9999;
	assert_int_equal(pf_trace_run(&maps, &f, &r, err, sizeof(err)), -ENODEV);
	assert_non_null(strstr(err, "ifindex 9999"));
	/* Nothing local: no program on this node sees the flow. */
	f.src_ifindex = f.dst_ifindex = 0;
	assert_int_equal(pf_trace_run(&maps, &f, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "neither end"));
}

/* Independent checks of the crafted packet: a header a kernel accepts. */
static uint16_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i < n; i++)
		sum += i & 1 ? p[i] : (uint32_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* RFC 9260 appendix A, with the checksum field itself taken as zero. */
static uint32_t crc32c_le(const uint8_t *p, size_t n)
{
	uint32_t crc = ~0u;

	for (size_t i = 0; i < n; i++) {
		crc ^= i >= 8 && i < 12 ? 0 : p[i];
		for (int b = 0; b < 8; b++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

static void crafted_packets_are_well_formed(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP };
	uint8_t pkt[PF_TRACE_PKT_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(protos); i++) {
		struct pf_trace_flow f = flow(A, B, protos[i], 8080);
		size_t len = pf_trace_packet(&f, 40001, pkt, sizeof(pkt));
		const uint8_t *ip = pkt + ETH_HLEN, *l4 = ip + 20;
		size_t l4_len = len - ETH_HLEN - 20;
		uint32_t pseudo;

		assert_true(len > ETH_HLEN + 20);
		assert_int_equal(pkt[12] << 8 | pkt[13], ETH_P_IP);
		assert_int_equal(ip[0], 0x45);
		assert_int_equal(ip[9], protos[i]);
		assert_int_equal(ip[2] << 8 | ip[3], len - ETH_HLEN);
		assert_int_equal(sum16(ip, 20, 0), 0xffff);
		assert_memory_equal(ip + 12, f.src, 4);
		assert_memory_equal(ip + 16, f.dst, 4);
		pseudo = sum16(ip + 12, 8, 0) + protos[i] + (uint32_t)l4_len;
		switch (protos[i]) {
		case IPPROTO_SCTP:
			assert_int_equal(l4[12], 1); /* INIT */
			assert_int_equal(crc32c_le(l4, l4_len), l4[8] | l4[9] << 8 | l4[10] << 16 |
					 (uint32_t)l4[11] << 24);
			/* fall through: the ports sit where TCP and UDP have them */
		case IPPROTO_TCP:
		case IPPROTO_UDP:
			assert_int_equal(l4[0] << 8 | l4[1], 40001);
			assert_int_equal(l4[2] << 8 | l4[3], 8080);
			if (protos[i] != IPPROTO_SCTP)
				assert_int_equal(sum16(l4, l4_len, pseudo), 0xffff);
			if (protos[i] == IPPROTO_TCP)
				assert_int_equal(l4[13], 0x02); /* SYN */
			break;
		default:
			assert_int_equal(l4[0], 8); /* echo request */
			assert_int_equal(l4[4] << 8 | l4[5], 40001);
			assert_int_equal(sum16(l4, l4_len, 0), 0xffff);
		}
	}
	struct pf_trace_flow f6 = flow(A6, B6, IPPROTO_ICMP, 0);
	size_t len = pf_trace_packet(&f6, 7, pkt, sizeof(pkt));

	assert_int_equal(pkt[12] << 8 | pkt[13], ETH_P_IPV6);
	assert_int_equal(pkt[ETH_HLEN + 6], IPPROTO_ICMPV6);
	assert_int_equal(pkt[ETH_HLEN + 40], 128);
	assert_int_equal(len, ETH_HLEN + 40 + 8);
	/* Too small a buffer writes nothing. */
	assert_int_equal(pf_trace_packet(&f6, 7, pkt, 40), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crafted_packets_are_well_formed),
		cmocka_unit_test_setup_teardown(tcp_allowed_by_both_pods, setup_policies, teardown),
		cmocka_unit_test_setup_teardown(tcp_denied_by_the_destination, setup_policies, teardown),
		cmocka_unit_test_setup_teardown(udp_allowed_and_denied, setup_policies, teardown),
		cmocka_unit_test_setup_teardown(sctp_allowed_denied_and_not_tcp, setup_policies, teardown),
		cmocka_unit_test_setup_teardown(reverse_direction_uses_the_other_policies, setup_policies, teardown),
		cmocka_unit_test_setup_teardown(peers_off_the_node_have_one_hop, setup_policies, teardown),
		cmocka_unit_test_setup_teardown(except_hole_is_the_matched_entry, setup_policies, teardown),
		cmocka_unit_test_setup_teardown(icmp_needs_an_every_port_rule, setup_policies, teardown),
		cmocka_unit_test_setup_teardown(ipv6_flows, setup_policies, teardown),
		cmocka_unit_test_setup_teardown(live_flows_are_left_alone, setup_policies, teardown),
		cmocka_unit_test_setup_teardown(sets_with_many_prefix_lengths_use_the_trie, setup_policies, teardown),
		cmocka_unit_test_setup_teardown(ports_in_chunks_are_read, setup_policies, teardown),
		cmocka_unit_test_setup_teardown(strict_mode_without_policy_denies, setup_strict, teardown),
	};

	if (pf_test_netns(2, ifx)) {
		fprintf(stderr, "cannot make a network namespace with veths (root needed)\n");
		return 1;
	}
	return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
