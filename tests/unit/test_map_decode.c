// SPDX-License-Identifier: Apache-2.0
/* Every map decoder on hand-built keys and values, checked against the exact
 * words and JSON documents podfence-ctl prints. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "datapath.h"
#include "map_decode.h"

/* Checks a JSON object against its compact text (keys in insertion order). */
static void assert_json(json_t *j, const char *expected)
{
	char *text;

	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);
	assert_string_equal(text, expected);
	free(text);
	json_decref(j);
}

static void set_addr(uint8_t *addr, int af, const char *text)
{
	memset(addr, 0, 16);
	assert_int_equal(inet_pton(af, text, addr), 1);
}

static struct pf_port_range range(uint8_t proto, uint16_t lo, uint16_t hi)
{
	return (struct pf_port_range){ (uint32_t)proto << 16 | lo, (uint32_t)proto << 16 | hi };
}

static void enum_words_name_every_value_and_reject_others(void **state)
{
	(void)state;
	assert_string_equal(pf_isolation_name(PF_ISO_UNKNOWN), "unknown");
	assert_string_equal(pf_isolation_name(PF_ISO_OPEN), "open");
	assert_string_equal(pf_isolation_name(PF_ISO_ISOLATED), "isolated");
	assert_string_equal(pf_isolation_name(3), "invalid");
	assert_string_equal(pf_dir_name(PF_DIR_INGRESS), "ingress");
	assert_string_equal(pf_dir_name(PF_DIR_EGRESS), "egress");
	assert_string_equal(pf_dir_name(2), "invalid");
	assert_string_equal(pf_family_name(PF_FAMILY_V4), "ipv4");
	assert_string_equal(pf_family_name(PF_FAMILY_V6), "ipv6");
	assert_string_equal(pf_family_name(0), "invalid");
	assert_string_equal(pf_mode_name(PF_MODE_STANDARD), "standard");
	assert_string_equal(pf_mode_name(PF_MODE_STRICT), "strict");
	assert_string_equal(pf_mode_name(7), "invalid");
	assert_string_equal(pf_verdict_name(PF_VERDICT_DENY), "deny");
}

static void reason_names_and_verdicts(void **state)
{
	static const char *const expected[PF_REASON__COUNT][2] = {
		{ "ct-established", "allow" },	 { "policy-allow", "allow" },
		{ "not-isolated", "allow" },	 { "mode-default-allow", "allow" },
		{ "not-ip", "allow" },		 { "icmp6-nd", "allow" },
		{ "policy-deny", "deny" },	 { "mode-default-deny", "deny" },
		{ "malformed", "deny" },
	};

	(void)state;
	for (unsigned r = 0; r < PF_REASON__COUNT; r++) {
		assert_string_equal(pf_reason_name(r), expected[r][0]);
		assert_string_equal(pf_verdict_name(pf_reason_verdict(r)), expected[r][1]);
	}
	assert_string_equal(pf_reason_name(PF_REASON__COUNT), "invalid");
}

static void protocol_names_fall_back_to_the_number(void **state)
{
	char buf[24];

	(void)state;
	assert_string_equal(pf_ip_proto_text(IPPROTO_TCP, buf, sizeof(buf)), "tcp");
	assert_string_equal(pf_ip_proto_text(IPPROTO_UDP, buf, sizeof(buf)), "udp");
	assert_string_equal(pf_ip_proto_text(IPPROTO_SCTP, buf, sizeof(buf)), "sctp");
	assert_string_equal(pf_ip_proto_text(IPPROTO_ICMP, buf, sizeof(buf)), "icmp");
	assert_string_equal(pf_ip_proto_text(IPPROTO_ICMPV6, buf, sizeof(buf)), "icmpv6");
	assert_string_equal(pf_ip_proto_text(47, buf, sizeof(buf)), "ip-proto-47");
}

static void rule_flags_as_words(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(pf_rule_flags_text(0, buf, sizeof(buf)), "none");
	assert_string_equal(pf_rule_flags_text(PF_RULE_ALL_PORTS, buf, sizeof(buf)), "all-ports");
	assert_string_equal(pf_rule_flags_text(PF_RULE_TCP_ALL | PF_RULE_SCTP_ALL, buf, sizeof(buf)),
			    "tcp-all,sctp-all");
	assert_string_equal(pf_rule_flags_text(PF_RULE_UDP_ALL | 0x40, buf, sizeof(buf)),
			    "udp-all,0x40");
	assert_string_equal(pf_rule_flags_text(0x100, buf, sizeof(buf)), "0x100");
	/* A short buffer is cut, never overrun. */
	assert_string_equal(pf_rule_flags_text(PF_RULE_TCP_ALL | PF_RULE_UDP_ALL, buf, 6), "tcp-a");
}

static void port_ranges_as_protocol_and_ports(void **state)
{
	struct pf_port_range r;
	char buf[64];

	(void)state;
	r = range(IPPROTO_TCP, 80, 80);
	assert_string_equal(pf_port_range_text(&r, buf, sizeof(buf)), "tcp 80");
	r = range(IPPROTO_UDP, 1000, 2000);
	assert_string_equal(pf_port_range_text(&r, buf, sizeof(buf)), "udp 1000-2000");
	r = range(IPPROTO_SCTP, 1, 65535);
	assert_string_equal(pf_port_range_text(&r, buf, sizeof(buf)), "sctp all");
	r = range(IPPROTO_TCP, 2, 65535);
	assert_string_equal(pf_port_range_text(&r, buf, sizeof(buf)), "tcp 2-65535");
	r = (struct pf_port_range){ 6u << 16 | 80, 17u << 16 | 80 };
	assert_string_equal(pf_port_range_text(&r, buf, sizeof(buf)), "invalid range 0x60050-0x110050");
}

static void rule_key_cidr_is_prefixlen_minus_40(void **state)
{
	struct pf_rule_key k = { .prefixlen = 48, .dir_family = PF_DIR_EGRESS << 4 | PF_FAMILY_V4 };
	char buf[64];

	(void)state;
	set_addr(k.addr, AF_INET, "10.0.0.0");
	assert_string_equal(pf_decode_rule_key(&k, buf, sizeof(buf)), "10.0.0.0/8");
	k.prefixlen = 40;
	assert_string_equal(pf_decode_rule_key(&k, buf, sizeof(buf)), "0.0.0.0/0");
	/* Bits past the prefix do not take part in the match: not shown. */
	set_addr(k.addr, AF_INET, "10.255.1.1");
	k.prefixlen = 40 + 12;
	assert_string_equal(pf_decode_rule_key(&k, buf, sizeof(buf)), "10.240.0.0/12");
	k.prefixlen = 73;
	assert_string_equal(pf_decode_rule_key(&k, buf, sizeof(buf)), "invalid prefixlen 73");
	k.prefixlen = 39;
	assert_string_equal(pf_decode_rule_key(&k, buf, sizeof(buf)), "invalid prefixlen 39");
	k.dir_family = PF_FAMILY_V6;
	k.prefixlen = 40 + 64;
	set_addr(k.addr, AF_INET6, "fd00:1::");
	assert_string_equal(pf_decode_rule_key(&k, buf, sizeof(buf)), "fd00:1::/64");
	k.prefixlen = 40 + 129;
	assert_string_equal(pf_decode_rule_key(&k, buf, sizeof(buf)), "invalid prefixlen 169");
}

static void rule_entry_json(void **state)
{
	struct pf_rule_key k = {
		.prefixlen = 40 + 16,
		.gen = htonl(3),
		.dir_family = PF_DIR_INGRESS << 4 | PF_FAMILY_V4,
	};
	struct pf_rule_val v = { .rule_id = 2, .ports_id = 1, .n_chunks = 1,
				 .flags = PF_RULE_UDP_ALL };

	(void)state;
	set_addr(k.addr, AF_INET, "172.16.0.0");
	assert_json(pf_decode_rule_json(&k, &v),
		    "{\"gen\":3,\"direction\":\"ingress\",\"family\":\"ipv4\","
		    "\"cidr\":\"172.16.0.0/16\",\"rule_id\":2,\"flags\":\"udp-all\","
		    "\"n_inline\":0,\"ports_id\":1,\"n_chunks\":1}");
}

static void host_entry_json(void **state)
{
	struct pf_host_key k = { .gen = 9, .dir_family = PF_DIR_EGRESS << 4 | PF_FAMILY_V6,
				 .plen = 128 };
	struct pf_rule_val v = { .rule_id = 0, .flags = PF_RULE_ALL_PORTS };

	(void)state;
	set_addr(k.addr, AF_INET6, "fd00::5");
	assert_json(pf_decode_host_json(&k, &v),
		    "{\"gen\":9,\"direction\":\"egress\",\"family\":\"ipv6\","
		    "\"cidr\":\"fd00::5/128\",\"rule_id\":0,\"flags\":\"all-ports\","
		    "\"n_inline\":0,\"ports_id\":0,\"n_chunks\":0}");
}

static void host_key_is_a_prefix_of_its_length(void **state)
{
	struct pf_host_key k = { .dir_family = PF_DIR_INGRESS << 4 | PF_FAMILY_V4, .plen = 16 };
	char buf[64];

	(void)state;
	set_addr(k.addr, AF_INET, "10.1.0.0");
	assert_string_equal(pf_decode_host_key(&k, buf, sizeof(buf)), "10.1.0.0/16");
	k.plen = 32;
	set_addr(k.addr, AF_INET, "10.1.2.3");
	assert_string_equal(pf_decode_host_key(&k, buf, sizeof(buf)), "10.1.2.3/32");
	k.plen = 33;
	assert_string_equal(pf_decode_host_key(&k, buf, sizeof(buf)), "invalid prefix length 33");
	k.dir_family = PF_FAMILY_V6;
	k.plen = 64;
	set_addr(k.addr, AF_INET6, "fd00:1::");
	assert_string_equal(pf_decode_host_key(&k, buf, sizeof(buf)), "fd00:1::/64");
	k.dir_family = 0;
	assert_string_equal(pf_decode_host_key(&k, buf, sizeof(buf)), "invalid prefix length 64");
}

static void port_chunk_json_lists_its_ranges(void **state)
{
	struct pf_port_key k = { .gen = 3, .ports_id = 1, .chunk = 0 };
	struct pf_port_chunk c = { .n = 3 };

	(void)state;
	c.r[0] = range(IPPROTO_TCP, 80, 80);
	c.r[1] = range(IPPROTO_UDP, 1000, 2000);
	c.r[2] = range(IPPROTO_SCTP, 1, 65535);
	c.r[3] = range(IPPROTO_TCP, 9, 9); /* past n: not shown */
	assert_json(pf_decode_port_chunk_json(&k, &c),
		    "{\"gen\":3,\"ports_id\":1,\"chunk\":0,\"n\":3,"
		    "\"ranges\":[\"tcp 80\",\"udp 1000-2000\",\"sctp all\"]}");
}

static void inline_ranges_read_as_one_chunk(void **state)
{
	struct pf_rule_val v = { .n_inline = 2 };
	struct pf_port_chunk c;

	(void)state;
	v.inl[0] = range(IPPROTO_TCP, 80, 81);
	v.inl[1] = range(IPPROTO_UDP, 53, 53);
	pf_rule_val_inline_chunk(&v, &c);
	assert_int_equal(c.n, 2);
	assert_json(pf_decode_ports_json(PF_RULE_SCTP_ALL, &c, 1),
		    "[\"sctp all\",\"tcp 80-81\",\"udp 53\"]");
	/* Ranges in pf_ports: nothing inline. */
	v = (struct pf_rule_val){ .n_chunks = 2 };
	pf_rule_val_inline_chunk(&v, &c);
	assert_int_equal(c.n, 0);
	/* A corrupt count never reads past the value. */
	v.n_inline = 200;
	pf_rule_val_inline_chunk(&v, &c);
	assert_int_equal(c.n, PF_RULE_INLINE);
}

static void allowed_ports_are_flags_then_ranges_of_every_chunk(void **state)
{
	struct pf_port_chunk c[2] = { { .n = PF_PORT_CHUNK }, { .n = 1 } };

	(void)state;
	for (int i = 0; i < PF_PORT_CHUNK; i++)
		c[0].r[i] = range(IPPROTO_TCP, (uint16_t)(100 + 2 * i), (uint16_t)(100 + 2 * i));
	c[1].r[0] = range(IPPROTO_UDP, 53, 53);
	json_t *all = pf_decode_ports_json(PF_RULE_SCTP_ALL, c, 2);

	assert_non_null(all);
	assert_int_equal(json_array_size(all), 1 + PF_PORT_CHUNK + 1);
	assert_string_equal(json_string_value(json_array_get(all, 0)), "sctp all");
	assert_string_equal(json_string_value(json_array_get(all, 1)), "tcp 100");
	assert_string_equal(json_string_value(json_array_get(all, PF_PORT_CHUNK)), "tcp 162");
	assert_string_equal(json_string_value(json_array_get(all, PF_PORT_CHUNK + 1)), "udp 53");
	json_decref(all);

	assert_json(pf_decode_ports_json(PF_RULE_ALL_PORTS, NULL, 0), "[\"all\"]");
	/* An except hole allows nothing. */
	assert_json(pf_decode_ports_json(0, NULL, 0), "[]");
	/* A corrupt count never reads past the chunk. */
	c[1].n = 1000;
	all = pf_decode_ports_json(0, &c[1], 1);
	assert_int_equal(json_array_size(all), PF_PORT_CHUNK);
	json_decref(all);
}

static void ct_entry_from_the_pods_side_with_idle_seconds(void **state)
{
	struct pf_ct_key k = { .ifindex = 7, .proto = IPPROTO_TCP, .family = PF_FAMILY_V4,
			       .pod_port = 80, .peer_port = 40000 };
	struct pf_ct_val v = { .last_seen_ns = 5000000000ull, .created_ns = 2000000000ull,
			       .origin = PF_DIR_INGRESS };

	(void)state;
	set_addr(k.pod_addr, AF_INET, "10.0.0.1");
	set_addr(k.peer_addr, AF_INET, "10.1.2.3");
	assert_json(pf_decode_ct_json(&k, &v, 17900000000ull),
		    "{\"ifindex\":7,\"proto\":\"tcp\",\"family\":\"ipv4\",\"pod_addr\":\"10.0.0.1\","
		    "\"pod_port\":80,\"peer_addr\":\"10.1.2.3\",\"peer_port\":40000,"
		    "\"origin\":\"ingress\",\"idle_s\":12,\"seen\":false,\"age_s\":15}");
	/* Stamped after "now" was read: idle 0, not a huge unsigned number. */
	assert_json(pf_decode_ct_json(&k, &v, 1000), "{\"ifindex\":7,\"proto\":\"tcp\","
		    "\"family\":\"ipv4\",\"pod_addr\":\"10.0.0.1\",\"pod_port\":80,"
		    "\"peer_addr\":\"10.1.2.3\",\"peer_port\":40000,\"origin\":\"ingress\","
		    "\"idle_s\":0,\"seen\":false,\"age_s\":0}");
}

/* A pf_ct6 entry keeps part of its flow in the value: made from a view and
 * viewed again it is the same flow, and it holds only that flow. */
static void ct6_entry_round_trips_its_view(void **state)
{
	struct pf_ct_key view = { .ifindex = (1u << 24) + 5, .proto = IPPROTO_UDP,
				  .family = PF_FAMILY_V6, .pod_port = 53, .peer_port = 40000 };
	struct pf_ct6_val v = { .ifindex = view.ifindex };
	struct pf_ct_key back, other;
	struct pf_ct6_key k;

	(void)state;
	set_addr(view.pod_addr, AF_INET6, "fd00::1");
	set_addr(view.peer_addr, AF_INET6, "fd00:2::9");
	memcpy(v.pod_addr, view.pod_addr, 16);
	pf_ct6_key_from_view(&view, &k);
	assert_int_equal(k.ifx_proto, 5u | (uint32_t)IPPROTO_UDP << 24);
	pf_ct6_entry_view(&k, &v, &back);
	assert_memory_equal(&back, &view, sizeof(view));
	assert_true(pf_ct6_val_holds(&v, &view));
	other = view;
	other.ifindex = 5; /* same low 24 bits, same key */
	assert_false(pf_ct6_val_holds(&v, &other));
	other = view;
	set_addr(other.pod_addr, AF_INET6, "fd00::2");
	assert_false(pf_ct6_val_holds(&v, &other));
}

static void ct_entry_ipv6_icmp_echo(void **state)
{
	struct pf_ct_key k = { .ifindex = 4, .proto = IPPROTO_ICMPV6, .family = PF_FAMILY_V6,
			       .pod_port = 99, .peer_port = 99 };
	struct pf_ct_val v = { .last_seen_ns = 1, .created_ns = 1, .origin = PF_DIR_EGRESS,
			       .seen = 1 };

	(void)state;
	set_addr(k.pod_addr, AF_INET6, "fd00::1");
	set_addr(k.peer_addr, AF_INET6, "fd00:2::9");
	assert_json(pf_decode_ct_json(&k, &v, 1),
		    "{\"ifindex\":4,\"proto\":\"icmpv6\",\"family\":\"ipv6\",\"pod_addr\":\"fd00::1\","
		    "\"pod_port\":99,\"peer_addr\":\"fd00:2::9\",\"peer_port\":99,"
		    "\"origin\":\"egress\",\"idle_s\":0,\"seen\":true,\"age_s\":0}");
}

static void frag_entry_json(void **state)
{
	struct pf_frag_key k = { .id = 4660, .proto = IPPROTO_UDP, .family = PF_FAMILY_V4 };
	struct pf_frag_val v = { .sport = 5353, .dport = 53 };

	(void)state;
	set_addr(k.saddr, AF_INET, "10.0.0.1");
	set_addr(k.daddr, AF_INET, "10.9.9.9");
	assert_json(pf_decode_frag_json(&k, &v),
		    "{\"id\":4660,\"proto\":\"udp\",\"family\":\"ipv4\",\"saddr\":\"10.0.0.1\","
		    "\"daddr\":\"10.9.9.9\",\"sport\":5353,\"dport\":53}");
	k.family = 0;
	assert_json(pf_decode_frag_json(&k, &v),
		    "{\"id\":4660,\"proto\":\"udp\",\"family\":\"invalid\",\"saddr\":null,"
		    "\"daddr\":null,\"sport\":5353,\"dport\":53}");
}

static void pod_set_config_and_metric_json(void **state)
{
	struct pf_pod_val pod = { .set_id = 12 };
	struct pf_set_val set = { .gen = 4, .isolation = { PF_ISO_ISOLATED, PF_ISO_OPEN },
				  .n_plens = { { 2, 0 }, { PF_SET_PLENS_TRIE, 1 } },
				  .plens = { { { 32, 24 } }, { { 0 }, { 64 } } } };
	struct pf_config cfg = { .mode = PF_MODE_STRICT, .events_enabled = 1 };

	(void)state;
	assert_json(pf_decode_pod_json(5, "veth0", &pod),
		    "{\"ifindex\":5,\"ifname\":\"veth0\",\"set_id\":12,\"gen\":null,"
		    "\"ingress\":\"unknown\",\"egress\":\"unknown\"}");
	pod.set = set;
	assert_json(pf_decode_pod_json(5, NULL, &pod),
		    "{\"ifindex\":5,\"ifname\":null,\"set_id\":12,\"gen\":4,"
		    "\"ingress\":\"isolated\",\"egress\":\"open\"}");
	assert_json(pf_decode_set_json(12, &set),
		    "{\"set_id\":12,\"gen\":4,\"ingress\":\"isolated\",\"egress\":\"open\","
		    "\"lookup\":{\"ingress\":{\"ipv4\":[32,24],\"ipv6\":[]},"
		    "\"egress\":{\"ipv4\":\"trie\",\"ipv6\":[64]}}}");
	set.isolation[PF_DIR_INGRESS] = PF_ISO_UNKNOWN;
	set.isolation[PF_DIR_EGRESS] = 9;
	set.n_plens[PF_DIR_INGRESS][0] = PF_SET_PLENS + 1;
	assert_json(pf_decode_set_json(12, &set),
		    "{\"set_id\":12,\"gen\":4,\"ingress\":\"unknown\",\"egress\":\"invalid\","
		    "\"lookup\":{\"ingress\":{\"ipv4\":\"invalid\",\"ipv6\":[]},"
		    "\"egress\":{\"ipv4\":\"trie\",\"ipv6\":[64]}}}");
	assert_json(pf_decode_config_json(&cfg), "{\"mode\":\"strict\",\"events\":\"on\"}");
	cfg = (struct pf_config){ 0 };
	assert_json(pf_decode_config_json(&cfg), "{\"mode\":\"standard\",\"events\":\"off\"}");
	assert_json(pf_decode_metric_json(PF_REASON_POLICY_DENY, 42),
		    "{\"reason\":\"policy-deny\",\"verdict\":\"deny\",\"packets\":42}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(enum_words_name_every_value_and_reject_others),
		cmocka_unit_test(reason_names_and_verdicts),
		cmocka_unit_test(protocol_names_fall_back_to_the_number),
		cmocka_unit_test(rule_flags_as_words),
		cmocka_unit_test(port_ranges_as_protocol_and_ports),
		cmocka_unit_test(rule_key_cidr_is_prefixlen_minus_40),
		cmocka_unit_test(rule_entry_json),
		cmocka_unit_test(host_entry_json),
		cmocka_unit_test(host_key_is_a_prefix_of_its_length),
		cmocka_unit_test(port_chunk_json_lists_its_ranges),
		cmocka_unit_test(inline_ranges_read_as_one_chunk),
		cmocka_unit_test(allowed_ports_are_flags_then_ranges_of_every_chunk),
		cmocka_unit_test(ct_entry_from_the_pods_side_with_idle_seconds),
		cmocka_unit_test(ct6_entry_round_trips_its_view),
		cmocka_unit_test(ct_entry_ipv6_icmp_echo),
		cmocka_unit_test(frag_entry_json),
		cmocka_unit_test(pod_set_config_and_metric_json),
	};

	return cmocka_run_group_tests_name("map_decode", tests, NULL, NULL);
}
