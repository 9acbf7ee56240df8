// SPDX-License-Identifier: Apache-2.0
/* The datapath, packet by packet: every rule shape, both directions, both
 * modes, port lists of every size, unusual headers, swaps, events and
 * adoption (tests/bpf/test_conntrack.c has the tracked flows); crafted
 * packets through bpf_prog_test_run_opts on the real loaded programs and
 * maps. */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pf_test.h"

#define OK 0
#define SHOT 2
#define POD "10.0.0.1"
#define POD6 "fd00::1"

static int ifx[2]; /* two pod veths */
static struct pf_datapath *dp;

static const struct pf_test_l4 TCP80 = { .proto = IPPROTO_TCP, .sport = 40000, .dport = 80 };
static const struct pf_test_l4 TCP81 = { .proto = IPPROTO_TCP, .sport = 40000, .dport = 81 };
static const struct pf_test_l4 UDP80 = { .proto = IPPROTO_UDP, .sport = 40000, .dport = 80 };

static int ingress_from(const char *peer, const struct pf_test_l4 *l4)
{
	struct pf_test_pkt p;

	pf_test_pkt_v4(&p, peer, POD, l4);
	return pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p);
}

static int egress_to(const char *peer, const struct pf_test_l4 *l4)
{
	struct pf_test_pkt p;

	pf_test_pkt_v4(&p, POD, peer, l4);
	return pf_test_run(dp, PF_DIR_EGRESS, ifx[0], &p);
}

static struct pf_test_l4 tcp_port(uint16_t port)
{
	return (struct pf_test_l4){ .proto = IPPROTO_TCP, .sport = 40000, .dport = port };
}

static int setup_standard(void **state)
{
	(void)state;
	dp = pf_test_datapath(PF_MODE_STANDARD, false);
	return pf_datapath_pod_bind(dp, ifx[0], 1) || pf_datapath_pod_bind(dp, ifx[1], 2);
}

static int setup_strict(void **state)
{
	(void)state;
	dp = pf_test_datapath(PF_MODE_STRICT, false);
	return pf_datapath_pod_bind(dp, ifx[0], 1);
}

static int teardown(void **state)
{
	(void)state;
	pf_test_datapath_destroy(dp);
	dp = NULL;
	return 0;
}

static void standard_mode_allows_until_policy(void **state)
{
	(void)state;
	assert_int_equal(ingress_from("192.168.9.9", &TCP80), OK);
	assert_int_equal(egress_to("192.168.9.9", &UDP80), OK);
}

static void strict_mode_denies_until_policy(void **state)
{
	(void)state;
	assert_int_equal(ingress_from("192.168.9.9", &TCP80), SHOT);
	assert_int_equal(egress_to("192.168.9.9", &TCP80), SHOT);
	/* A pod the agent never registered gets the node default too. */
	struct pf_test_pkt p;

	pf_test_pkt_v4(&p, "192.168.9.9", POD, &TCP80);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[1], &p), SHOT);
}

static void strict_mode_open_direction_allows(void **state)
{
	(void)state;
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"isolated\": false}}");
	assert_int_equal(ingress_from("192.168.9.9", &TCP80), OK);
	assert_int_equal(egress_to("192.168.9.9", &TCP80), SHOT); /* still no policy */
}

static void isolated_without_rules_denies_everything(void **state)
{
	(void)state;
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": []}}");
	assert_int_equal(ingress_from("10.9.9.9", &TCP80), SHOT);
	assert_int_equal(ingress_from("10.9.9.9", &UDP80), SHOT);
	assert_int_equal(egress_to("10.9.9.9", &TCP80), OK); /* egress not isolated */
}

static void port_rule_matches_cidr_protocol_and_port(void **state)
{
	(void)state;
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"10.1.0.0/24\","
				  "\"ports\": [{\"protocol\": \"TCP\", \"port\": 80}]}]}}");
	assert_int_equal(ingress_from("10.1.0.7", &TCP80), OK);
	assert_int_equal(ingress_from("10.1.0.7", &TCP81), SHOT);
	assert_int_equal(ingress_from("10.1.0.7", &UDP80), SHOT);
	assert_int_equal(ingress_from("10.1.1.7", &TCP80), SHOT);
}

static void except_hole_denies_and_inner_rule_reallows(void **state)
{
	(void)state;
	pf_test_apply_json(dp, 1,
		"{\"ingress\": {\"rules\": ["
		"{\"cidr\": \"10.0.0.0/8\", \"except\": [\"10.1.0.0/16\", \"10.2.3.4/32\"]},"
		"{\"cidr\": \"10.1.2.0/24\", \"ports\": [{\"port\": 443}]}]}}");
	struct pf_test_l4 t443 = tcp_port(443);

	assert_int_equal(ingress_from("10.200.0.1", &TCP80), OK);
	assert_int_equal(ingress_from("10.1.9.9", &TCP80), SHOT);   /* in the hole */
	assert_int_equal(ingress_from("10.2.3.4", &TCP80), SHOT);   /* host hole */
	assert_int_equal(ingress_from("10.2.3.5", &TCP80), OK);
	assert_int_equal(ingress_from("10.1.2.9", &t443), OK);      /* re-allowed */
	assert_int_equal(ingress_from("10.1.2.9", &TCP80), SHOT);   /* only 443 */
	assert_int_equal(ingress_from("11.0.0.1", &TCP80), SHOT);   /* outside */
}

static void overlapping_rules_are_additive(void **state)
{
	(void)state;
	pf_test_apply_json(dp, 1,
		"{\"ingress\": {\"rules\": ["
		"{\"cidr\": \"10.0.0.0/8\", \"ports\": [{\"port\": 80}]},"
		"{\"cidr\": \"10.1.0.0/16\", \"ports\": [{\"port\": 443}]},"
		"{\"cidr\": \"10.1.0.5/32\", \"ports\": [{\"protocol\": \"UDP\", \"port\": 53}]}]}}");
	struct pf_test_l4 t443 = tcp_port(443), u53 = { .proto = IPPROTO_UDP, .dport = 53 };

	assert_int_equal(ingress_from("10.1.0.5", &TCP80), OK);
	assert_int_equal(ingress_from("10.1.0.5", &t443), OK);
	assert_int_equal(ingress_from("10.1.0.5", &u53), OK);
	assert_int_equal(ingress_from("10.1.0.6", &u53), SHOT);
	assert_int_equal(ingress_from("10.2.0.5", &t443), SHOT);
	assert_int_equal(ingress_from("10.2.0.5", &TCP80), OK);
}

static void end_port_range_is_inclusive(void **state)
{
	(void)state;
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"0.0.0.0/0\","
				  "\"ports\": [{\"protocol\": \"UDP\", \"port\": 53, \"endPort\": 80}]}]}}");
	for (uint16_t port = 50; port < 85; port++) {
		struct pf_test_l4 u = { .proto = IPPROTO_UDP, .sport = 1, .dport = port };
		struct pf_test_l4 t = tcp_port(port);

		assert_int_equal(ingress_from("1.2.3.4", &u), port >= 53 && port <= 80 ? OK : SHOT);
		assert_int_equal(ingress_from("1.2.3.4", &t), SHOT);
	}
}

static void many_port_ranges_on_one_cidr(void **state)
{
	char json[16384];
	size_t off;

	(void)state;
	/* 300 ranges: far past one chunk and past the AWS agent's cap of 24. */
	off = (size_t)snprintf(json, sizeof(json),
			       "{\"egress\": {\"rules\": [{\"cidr\": \"10.0.0.0/8\", \"ports\": [");
	for (int i = 0; i < 300; i++)
		off += (size_t)snprintf(json + off, sizeof(json) - off,
					"%s{\"port\": %d, \"endPort\": %d}", i ? "," : "",
					1000 + 10 * i, 1002 + 10 * i);
	snprintf(json + off, sizeof(json) - off, "]}]}}");
	pf_test_apply_json(dp, 1, json);
	for (int port = 990; port < 4020; port++) {
		struct pf_test_l4 t = tcp_port((uint16_t)port);
		int in = port >= 1000 && port < 4000 && (port - 1000) % 10 <= 2;

		assert_int_equal(egress_to("10.3.3.3", &t), in ? OK : SHOT);
	}
}

/* n TCP ranges 1000+10i .. 1002+10i on 10.0.0.0/8, egress. */
static void apply_ranges(int n)
{
	char *json = malloc(64 + 40 * (size_t)n);
	size_t off;

	assert_non_null(json);
	off = (size_t)sprintf(json, "{\"egress\": {\"rules\": [{\"cidr\": \"10.0.0.0/8\", "
				    "\"ports\": [");
	for (int i = 0; i < n; i++)
		off += (size_t)sprintf(json + off, "%s{\"port\": %d, \"endPort\": %d}", i ? "," : "",
				       1000 + 10 * i, 1002 + 10 * i);
	sprintf(json + off, "]}]}}");
	pf_test_apply_json(dp, 1, json);
	free(json);
}

/* Every range boundary, the gaps between and the ports past both ends. */
static void check_ranges(int n)
{
	for (int i = -1; i <= n; i++) {
		for (int off = -1; off <= 3; off++) {
			int port = 1000 + 10 * i + off;
			struct pf_test_l4 t = tcp_port((uint16_t)port);
			bool in = i >= 0 && i < n && off >= 0 && off <= 2;

			if (egress_to("10.3.3.3", &t) != (in ? OK : SHOT))
				fail_msg("%d ranges: port %d should be %s", n, port,
					 in ? "allowed" : "denied");
		}
	}
}

/* The three shapes of a port list (abi/podfence_abi.h): in the entry's
 * value, in chunks the value indexes, in more chunks than the index
 * holds. The sizes sit on each side of every threshold. */
static void port_lists_inline_indexed_and_walked(void **state)
{
	static const int sizes[] = { 1, PF_RULE_INLINE, PF_RULE_INLINE + 1, PF_PORT_CHUNK,
				     PF_PORT_CHUNK + 1, PF_PORT_CHUNK * PF_RULE_CHUNK_INDEX,
				     PF_PORT_CHUNK * PF_RULE_CHUNK_INDEX + 1 };

	(void)state;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		apply_ranges(sizes[s]);
		check_ranges(sizes[s]);
	}
}

static void protocol_without_port_allows_every_port(void **state)
{
	(void)state;
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"10.0.0.0/8\","
				  "\"ports\": [{\"protocol\": \"TCP\"}]}]}}");
	struct pf_test_l4 t = tcp_port(65535), s = { .proto = IPPROTO_SCTP, .dport = 80 };

	assert_int_equal(ingress_from("10.0.0.9", &t), OK);
	assert_int_equal(ingress_from("10.0.0.9", &UDP80), SHOT);
	assert_int_equal(ingress_from("10.0.0.9", &s), SHOT);
}

static void icmp_matches_only_all_ports_rules(void **state)
{
	struct pf_test_l4 ping = { .proto = IPPROTO_ICMP, .icmp_type = 8, .sport = 7 };

	(void)state;
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"10.0.0.0/8\","
				  "\"ports\": [{\"port\": 80}]}]}}");
	assert_int_equal(ingress_from("10.0.0.9", &ping), SHOT);
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"10.0.0.0/8\"}]}}");
	assert_int_equal(ingress_from("10.0.0.9", &ping), OK);
}

static void sctp_is_not_tcp(void **state)
{
	struct pf_test_l4 s80 = { .proto = IPPROTO_SCTP, .sport = 5, .dport = 80 };
	struct pf_test_l4 s81 = { .proto = IPPROTO_SCTP, .sport = 5, .dport = 81 };

	(void)state;
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"0.0.0.0/0\","
				  "\"ports\": [{\"protocol\": \"SCTP\", \"port\": 80}]}]}}");
	assert_int_equal(ingress_from("10.0.0.9", &s80), OK);
	assert_int_equal(ingress_from("10.0.0.9", &s81), SHOT);
	assert_int_equal(ingress_from("10.0.0.9", &TCP80), SHOT);
}

static void ipv6_rules_and_holes(void **state)
{
	struct pf_test_pkt p;

	(void)state;
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"fd00:1::/64\","
				  "\"except\": [\"fd00:1::bad/128\"], \"ports\": [{\"port\": 80}]}]}}");
	pf_test_pkt_v6(&p, "fd00:1::5", POD6, &TCP80);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), OK);
	pf_test_pkt_v6(&p, "fd00:1::5", POD6, &TCP81);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), SHOT);
	pf_test_pkt_v6(&p, "fd00:1::bad", POD6, &TCP80);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), SHOT);
	pf_test_pkt_v6(&p, "fd00:2::5", POD6, &TCP80);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), SHOT);
	/* An IPv4 rule never matches an IPv6 peer, and back. */
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"0.0.0.0/0\"}]}}");
	pf_test_pkt_v6(&p, "fd00:1::5", POD6, &TCP80);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), SHOT);
}

static void egress_rules_match_destination(void **state)
{
	(void)state;
	pf_test_apply_json(dp, 1, "{\"egress\": {\"rules\": [{\"cidr\": \"10.5.0.0/16\","
				  "\"ports\": [{\"port\": 80}]}]}}");
	assert_int_equal(egress_to("10.5.1.1", &TCP80), OK);
	assert_int_equal(egress_to("10.5.1.1", &TCP81), SHOT);
	assert_int_equal(egress_to("10.6.1.1", &TCP80), SHOT);
	assert_int_equal(ingress_from("10.6.1.1", &TCP81), OK); /* ingress open */
}

static void ipv4_options_do_not_hide_ports(void **state)
{
	struct pf_test_pkt p;

	(void)state;
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"0.0.0.0/0\","
				  "\"ports\": [{\"port\": 80}]}]}}");
	for (int words = 1; words <= 10; words++) {
		pf_test_pkt_v4_opts(&p, "10.0.0.9", POD, &TCP80, words);
		assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), OK);
		pf_test_pkt_v4_opts(&p, "10.0.0.9", POD, &TCP81, words);
		assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), SHOT);
	}
}

static void ipv4_fragments_follow_their_first_fragment(void **state)
{
	struct pf_test_pkt p;

	(void)state;
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"0.0.0.0/0\","
				  "\"ports\": [{\"protocol\": \"UDP\", \"port\": 80}]}]}}");
	/* A later fragment with no first fragment seen: ports unknown. */
	pf_test_pkt_v4_frag(&p, "10.0.0.9", POD, &UDP80, 77, 100, false);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), SHOT);
	/* A denied first fragment: its followers stay denied. */
	struct pf_test_l4 u81 = { .proto = IPPROTO_UDP, .sport = 40000, .dport = 81 };

	pf_test_pkt_v4_frag(&p, "10.0.0.8", POD, &u81, 78, 0, true);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), SHOT);
	pf_test_pkt_v4_frag(&p, "10.0.0.8", POD, &u81, 78, 185, false);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), SHOT);
	/* An allowed first fragment: the rest of the datagram passes. */
	pf_test_pkt_v4_frag(&p, "10.0.0.7", POD, &UDP80, 79, 0, true);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), OK);
	pf_test_pkt_v4_frag(&p, "10.0.0.7", POD, &UDP80, 79, 185, false);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), OK);
	/* With an every-port rule any fragment passes. */
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"0.0.0.0/0\"}]}}");
	pf_test_pkt_v4_frag(&p, "10.0.0.6", POD, &UDP80, 80, 100, false);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), OK);
}

static void ipv6_extension_headers_do_not_hide_ports(void **state)
{
	static const uint8_t chain[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING,
					 IPPROTO_DSTOPTS };
	static const uint8_t frag[] = { IPPROTO_HOPOPTS, IPPROTO_FRAGMENT };
	struct pf_test_pkt p;

	(void)state;
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"::/0\","
				  "\"ports\": [{\"port\": 80}]}]}}");
	pf_test_pkt_v6_ext(&p, "fd00::9", POD6, &TCP80, chain, 4);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), OK);
	pf_test_pkt_v6_ext(&p, "fd00::9", POD6, &TCP81, chain, 4);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), SHOT);
	/* First fragment behind a hop-by-hop header, then a later fragment. */
	pf_test_pkt_v6_ext(&p, "fd00::8", POD6, &TCP80, frag, 2);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), OK);
	pf_test_pkt_v6_frag(&p, "fd00::8", POD6, IPPROTO_TCP, 0x1234, 100);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), OK);
	pf_test_pkt_v6_frag(&p, "fd00::7", POD6, IPPROTO_TCP, 0x1234, 100);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), SHOT);
	/* Nine extension headers: more than the walk follows, so unknown. */
	static const uint8_t deep[] = { 0, 60, 60, 60, 60, 60, 60, 60, 60 };

	pf_test_pkt_v6_ext(&p, "fd00::9", POD6, &TCP80, deep, 9);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), SHOT);
}

static void malformed_headers_never_pass_a_port_rule(void **state)
{
	struct pf_test_pkt p;

	(void)state;
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"0.0.0.0/0\","
				  "\"ports\": [{\"port\": 80}]}]}}");
	pf_test_pkt_v4(&p, "10.0.0.9", POD, &TCP80);
	p.data[14] = 0x44; /* IHL 4: shorter than an IPv4 header */
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), SHOT);
	pf_test_pkt_v4(&p, "10.0.0.9", POD, &TCP80);
	p.len = 14 + 20 + 2; /* TCP header cut after the source port */
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), SHOT);
	pf_test_pkt_v4(&p, "10.0.0.9", POD, &TCP80);
	p.data[14] = 0x4f; /* IHL 15: options run past the end of the packet */
	p.len = 14 + 40;
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), SHOT);
}

static void arp_and_neighbour_discovery_always_pass(void **state)
{
	struct pf_test_l4 ns = { .proto = IPPROTO_ICMPV6, .icmp_type = 135 };
	struct pf_test_l4 echo = { .proto = IPPROTO_ICMPV6, .icmp_type = 128 };
	struct pf_test_pkt p;

	(void)state;
	pf_test_pkt_arp(&p);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), OK);
	assert_int_equal(pf_test_run(dp, PF_DIR_EGRESS, ifx[0], &p), OK);
	pf_test_pkt_v6(&p, "fe80::1", POD6, &ns);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), OK);
	pf_test_pkt_v6(&p, "fe80::1", POD6, &echo);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), SHOT);
}

/* The generation each pod veth holds in its copy of its set. */
static uint32_t pod_gen(int ifindex)
{
	struct pf_pod_val v;
	uint32_t key = (uint32_t)ifindex;

	assert_int_equal(bpf_map_lookup_elem(pf_datapath_map_fd(dp, PF_MAP_PODS), &key, &v), 0);
	return v.set.gen;
}

static uint32_t set_gen(uint32_t set_id)
{
	struct pf_set_val v;

	if (bpf_map_lookup_elem(pf_datapath_map_fd(dp, PF_MAP_SETS), &set_id, &v))
		return 0;
	return v.gen;
}

/* Each pod carries a copy of its set's value: every pod of the set follows
 * a swap, a pod bound later gets the set as it is, and deleting the set
 * leaves its pods to the mode's default. */
static void every_pod_of_a_set_follows_its_swaps(void **state)
{
	struct pf_test_pkt p;

	(void)state;
	pf_test_pkt_v4(&p, "10.0.0.9", POD, &TCP80);
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": []}}");
	assert_int_equal(pf_datapath_pod_bind(dp, ifx[1], 1), 0);
	assert_int_equal(pod_gen(ifx[1]), set_gen(1));
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), SHOT);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[1], &p), SHOT);
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"10.0.0.0/8\"}]}}");
	assert_int_equal(pod_gen(ifx[0]), set_gen(1));
	assert_int_equal(pod_gen(ifx[1]), set_gen(1));
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), OK);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[1], &p), OK);
	assert_int_equal(pf_datapath_pod_unbind(dp, ifx[1]), 0);
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": []}}");
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), SHOT);
	/* Deleted: the pod falls back to standard mode's default. */
	assert_int_equal(pf_policy_set_delete(dp, 1), 0);
	assert_int_equal(set_gen(1), 0);
	assert_int_equal(pod_gen(ifx[0]), 0);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), OK);
}

static void bad_input_is_named_and_changes_nothing(void **state)
{
	static const struct {
		const char *json, *says;
	} bad[] = {
		{ "{\"ingress\": {\"rules\": [{\"cidr\": \"10.0.0.0/33\"}]}}", "10.0.0.0/33" },
		{ "{\"ingress\": {\"rules\": [{\"cidr\": \"10.0.0.300/8\"}]}}", "10.0.0.300" },
		{ "{\"ingress\": {\"rules\": [{\"cidr\": \"0.0.0.0/0\", \"ports\": "
		  "[{\"port\": 90, \"endPort\": 80}]}]}}", "90-80" },
		{ "{\"ingress\": {\"rules\": [{\"cidr\": \"0.0.0.0/0\", \"ports\": "
		  "[{\"protocol\": \"TCPX\", \"port\": 80}]}]}}", "TCPX" },
		{ "{\"ingress\": {\"rules\": [{\"cidr\": \"10.0.0.0/8\", \"except\": "
		  "[\"11.0.0.0/16\"]}]}}", "11.0.0.0/16" },
		{ "{\"ingress\": {\"rules\": [{\"cidr\": \"0.0.0.0/0\", \"ports\": "
		  "[{\"port\": 70000}]}]}}", "70000" },
	};

	(void)state;
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"0.0.0.0/0\","
				  "\"ports\": [{\"port\": 80}]}]}}");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pf_policy_spec spec;
		char err[256] = "";
		json_t *root = json_loads(bad[i].json, 0, NULL);

		assert_non_null(root);
		assert_int_not_equal(pf_policy_spec_from_json(root, &spec, err, sizeof(err)), 0);
		json_decref(root);
		if (!strstr(err, bad[i].says))
			fail_msg("error \"%s\" does not name \"%s\"", err, bad[i].says);
		assert_int_equal(ingress_from("10.0.0.9", &TCP80), OK);
		assert_int_equal(ingress_from("10.0.0.9", &TCP81), SHOT);
	}
}

static int ring_count(void *ctx, void *data, size_t len)
{
	const struct pf_event *e = data;
	struct pf_event *last = ctx;

	assert_int_equal(len, sizeof(*e));
	*last = *e;
	return 0;
}

static void events_report_verdicts_only_when_enabled(void **state)
{
	struct pf_event last = { 0 };
	struct ring_buffer *rb;

	(void)state;
	rb = ring_buffer__new(pf_datapath_map_fd(dp, PF_MAP_EVENTS), ring_count, &last, NULL);
	assert_non_null(rb);
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"10.0.0.0/8\","
				  "\"ports\": [{\"port\": 80}]}]}}");
	assert_int_equal(ingress_from("10.0.0.9", &TCP81), SHOT);
	assert_int_equal(ring_buffer__consume(rb), 0);
	assert_int_equal(pf_datapath_configure(dp, PF_MODE_STANDARD, true), 0);
	assert_int_equal(ingress_from("10.0.0.9", &TCP81), SHOT);
	assert_int_equal(ring_buffer__consume(rb), 1);
	assert_int_equal(last.verdict, PF_VERDICT_DENY);
	assert_int_equal(last.dir, PF_DIR_INGRESS);
	assert_int_equal(last.dport, 81);
	assert_int_equal(last.set_id, 1);
	assert_int_equal(last.reason, PF_REASON_POLICY_DENY);
	assert_int_equal(ingress_from("10.0.0.9", &TCP80), OK);
	assert_int_equal(ring_buffer__consume(rb), 1);
	assert_int_equal(last.verdict, PF_VERDICT_ALLOW);
	assert_int_not_equal(last.rule_id, PF_RULE_NONE);
	/* Established packets are not reported again. */
	assert_int_equal(ingress_from("10.0.0.9", &TCP80), OK);
	assert_int_equal(ring_buffer__consume(rb), 0);
	ring_buffer__free(rb);
}

static void restart_adopts_pinned_state(void **state)
{
	struct pf_datapath_opts o = { .mode = PF_MODE_STANDARD };
	struct pf_test_l4 reply = { .proto = IPPROTO_TCP, .sport = 80, .dport = 40000 };
	char root[256];
	bool adopted = false;

	(void)state;
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": []},"
				  "\"egress\": {\"rules\": [{\"cidr\": \"10.5.0.0/16\"}]}}");
	assert_int_equal(egress_to("10.5.1.1", &TCP80), OK);
	snprintf(root, sizeof(root), "%s", pf_datapath_root(dp));
	pf_datapath_close(dp);
	o.pin_root = root;
	assert_int_equal(pf_datapath_open(&o, &dp, &adopted), 0);
	assert_true(adopted);
	assert_int_equal(ingress_from("10.5.1.1", &reply), OK);   /* flow kept */
	assert_int_equal(ingress_from("10.5.1.1", &TCP81), SHOT); /* policy kept */
	assert_int_equal(egress_to("10.6.1.1", &TCP80), SHOT);
	/* A swap after adoption retires the generation it did not write. */
	pf_test_apply_json(dp, 1, "{\"egress\": {\"rules\": [{\"cidr\": \"10.6.0.0/16\"}]}}");
	assert_int_equal(egress_to("10.6.1.1", &TCP80), OK);
	assert_int_equal(egress_to("10.5.1.2", &TCP80), SHOT);
}

/* Pins of another build (here a pf_ct6 of the old 44-byte key) are not
 * adopted: opening fails with a reason, and the pins stay as they were. */
static char refused_root[256];

static void another_builds_pins_are_refused(void **state)
{
	struct pf_datapath_opts o = { .mode = PF_MODE_STANDARD };
	char *root = refused_root, path[300];
	bool adopted = false;
	int old;

	(void)state;
	snprintf(root, sizeof(refused_root), "%s", pf_datapath_root(dp));
	pf_datapath_close(dp);
	dp = NULL;
	snprintf(path, sizeof(path), "%s/pf_ct6", root);
	old = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "pf_ct6", 44, sizeof(struct pf_ct_val), 64,
			     NULL);
	assert_true(old >= 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(bpf_obj_pin(old, path), 0);
	o.pin_root = root;
	assert_int_equal(pf_datapath_open(&o, &dp, &adopted), -EMEDIUMTYPE);
	assert_null(dp);
	assert_true(access(path, F_OK) == 0);
	close(old);
}

/* Whatever the test reached, nothing of it stays pinned. */
static int teardown_refused(void **state)
{
	(void)state;
	pf_test_datapath_destroy(dp);
	dp = NULL;
	return refused_root[0] ? pf_datapath_unpin(refused_root) : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(standard_mode_allows_until_policy, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(strict_mode_denies_until_policy, setup_strict, teardown),
		cmocka_unit_test_setup_teardown(strict_mode_open_direction_allows, setup_strict, teardown),
		cmocka_unit_test_setup_teardown(isolated_without_rules_denies_everything, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(port_rule_matches_cidr_protocol_and_port, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(except_hole_denies_and_inner_rule_reallows, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(overlapping_rules_are_additive, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(end_port_range_is_inclusive, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(many_port_ranges_on_one_cidr, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(port_lists_inline_indexed_and_walked, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(protocol_without_port_allows_every_port, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(icmp_matches_only_all_ports_rules, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(sctp_is_not_tcp, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(ipv6_rules_and_holes, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(egress_rules_match_destination, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(ipv4_options_do_not_hide_ports, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(ipv4_fragments_follow_their_first_fragment, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(ipv6_extension_headers_do_not_hide_ports, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(malformed_headers_never_pass_a_port_rule, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(arp_and_neighbour_discovery_always_pass, setup_strict, teardown),
		cmocka_unit_test_setup_teardown(every_pod_of_a_set_follows_its_swaps, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(bad_input_is_named_and_changes_nothing, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(events_report_verdicts_only_when_enabled, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(restart_adopts_pinned_state, setup_standard, teardown),
		cmocka_unit_test_setup_teardown(another_builds_pins_are_refused, setup_standard, teardown_refused),
	};

	if (pf_test_netns(2, ifx)) {
		fprintf(stderr, "cannot make a network namespace with veths (root needed)\n");
		return 1;
	}
	return cmocka_run_group_tests_name("datapath_verdicts", tests, NULL, NULL);
}
