// SPDX-License-Identifier: Apache-2.0
/* Connection tracking, packet by packet: replies of allowed flows pass, a
 * flow is scoped to its veth, IPv4 flows live in pf_ct4 and IPv6 ones in
 * pf_ct6 (whose entries hold what their key leaves out), a policy change revokes what it no longer allows, the sweep turns
 * the datapath's seen marks into activity and removes idle flows, and
 * unbinding a pod forgets its flows. Crafted packets through
 * bpf_prog_test_run_opts on the real loaded programs and maps. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <bpf/bpf.h>

#include "pf_test.h"

#define OK 0
#define SHOT 2
#define POD "10.0.0.1"
#define POD6 "fd00::1"

static int ifx[2]; /* two pod veths */
static int ifx_far; /* a third, whose ifindex is ifx[0] + 2^24 */
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

static int setup(void **state)
{
	(void)state;
	dp = pf_test_datapath(PF_MODE_STANDARD, false);
	return pf_datapath_pod_bind(dp, ifx[0], 1) || pf_datapath_pod_bind(dp, ifx[1], 2) ||
	       pf_datapath_pod_bind(dp, ifx_far, 2);
}

static int teardown(void **state)
{
	(void)state;
	pf_test_datapath_destroy(dp);
	dp = NULL;
	return 0;
}

/* The entry of the TCP flow peer:40000 -> POD:dport on pod 0's veth. */
static bool ct_entry(const char *peer, uint16_t dport, struct pf_ct_val *v)
{
	struct pf_ct4_key k = { .ifindex = (uint32_t)ifx[0], .proto = IPPROTO_TCP,
				.pod_port = dport, .peer_port = 40000 };

	assert_int_equal(inet_pton(AF_INET, POD, &k.pod_addr), 1);
	assert_int_equal(inet_pton(AF_INET, peer, &k.peer_addr), 1);
	return !bpf_map_lookup_elem(pf_datapath_map_fd(dp, PF_MAP_CT4), &k, v);
}

static void replies_of_allowed_flows_pass(void **state)
{
	struct pf_test_l4 reply = { .proto = IPPROTO_TCP, .sport = 80, .dport = 40000,
				    .tcp_flags = 0x12 };
	struct pf_test_l4 other = { .proto = IPPROTO_TCP, .sport = 80, .dport = 40001,
				    .tcp_flags = 0x12 };
	struct pf_test_l4 udp_reply = { .proto = IPPROTO_UDP, .sport = 80, .dport = 40000 };

	(void)state;
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": []},"
				  "\"egress\": {\"rules\": [{\"cidr\": \"10.5.0.0/16\"}]}}");
	assert_int_equal(ingress_from("10.5.1.1", &reply), SHOT); /* nothing opened yet */
	assert_int_equal(egress_to("10.5.1.1", &TCP80), OK);
	assert_int_equal(ingress_from("10.5.1.1", &reply), OK);
	assert_int_equal(ingress_from("10.5.1.1", &other), SHOT);
	assert_int_equal(egress_to("10.5.1.1", &UDP80), OK);
	assert_int_equal(ingress_from("10.5.1.1", &udp_reply), OK);
	/* Ingress-initiated flows: their replies leave through the egress hook. */
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"10.7.0.0/16\"}]},"
				  "\"egress\": {\"rules\": []}}");
	struct pf_test_l4 out_reply = { .proto = IPPROTO_TCP, .sport = 80, .dport = 40000 };

	assert_int_equal(egress_to("10.7.0.1", &out_reply), SHOT);
	assert_int_equal(ingress_from("10.7.0.1", &TCP80), OK);
	assert_int_equal(egress_to("10.7.0.1", &out_reply), OK);
}

static void conntrack_is_scoped_to_the_veth(void **state)
{
	struct pf_test_l4 reply = { .proto = IPPROTO_TCP, .sport = 80, .dport = 40000 };
	struct pf_test_pkt p;

	(void)state;
	pf_test_apply_json(dp, 1, "{\"egress\": {\"rules\": [{\"cidr\": \"0.0.0.0/0\"}]},"
				  "\"ingress\": {\"rules\": []}}");
	pf_test_apply_json(dp, 2, "{\"ingress\": {\"rules\": []}}");
	assert_int_equal(egress_to("10.5.1.1", &TCP80), OK);
	/* The same addresses and ports arriving at another pod's veth. */
	pf_test_pkt_v4(&p, "10.5.1.1", POD, &reply);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[1], &p), SHOT);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &p), OK);
}

/* IPv6 flows live in pf_ct6, IPv4 ones in pf_ct4: replies, revocation,
 * the sweep and unbinding reach both. */
static void both_families_are_tracked_revoked_swept_and_forgotten(void **state)
{
	struct pf_test_l4 reply = { .proto = IPPROTO_TCP, .sport = 80, .dport = 40000,
				    .tcp_flags = 0x12 };
	struct pf_test_pkt out4, back4, out6, back6;
	size_t removed = 0;

	(void)state;
	pf_test_pkt_v4(&out4, POD, "10.5.1.1", &TCP80);
	pf_test_pkt_v4(&back4, "10.5.1.1", POD, &reply);
	pf_test_pkt_v6(&out6, POD6, "fd00:5::1", &TCP80);
	pf_test_pkt_v6(&back6, "fd00:5::1", POD6, &reply);
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": []}, \"egress\": {\"rules\": ["
				  "{\"cidr\": \"10.5.0.0/16\"}, {\"cidr\": \"fd00:5::/64\"}]}}");
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &back6), SHOT);
	assert_int_equal(pf_test_run(dp, PF_DIR_EGRESS, ifx[0], &out4), OK);
	assert_int_equal(pf_test_run(dp, PF_DIR_EGRESS, ifx[0], &out6), OK);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &back4), OK);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &back6), OK);
	assert_int_equal(pf_test_ct_count(dp), 2);
	/* Revoking the IPv6 peers removes that flow only. */
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": []}, \"egress\": {\"rules\": ["
				  "{\"cidr\": \"10.5.0.0/16\"}]}}");
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &back6), SHOT);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &back4), OK);
	assert_int_equal(pf_test_ct_count(dp), 1);
	/* The sweep reaches pf_ct6 too. */
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": []}, \"egress\": {\"rules\": ["
				  "{\"cidr\": \"10.5.0.0/16\"}, {\"cidr\": \"fd00:5::/64\"}]}}");
	assert_int_equal(pf_test_run(dp, PF_DIR_EGRESS, ifx[0], &out6), OK);
	assert_int_equal(pf_test_ct_count(dp), 2);
	assert_int_equal(pf_ct_sweep(dp, 60ull * 1000000000ull, &removed), 0);
	assert_int_equal(removed, 0);
	/* Unbinding forgets the flows of both families. */
	assert_int_equal(pf_datapath_pod_unbind(dp, ifx[0]), 0);
	assert_int_equal(pf_test_ct_count(dp), 0);
}

/* A pf_ct6 key leaves the pod's address and the high bits of the ifindex to
 * the value: a packet whose flow differs only there shares the key, and is
 * still judged by the policy, not let through as established. */
static void ipv6_entries_hold_the_whole_flow(void **state)
{
	struct pf_test_l4 reply = { .proto = IPPROTO_TCP, .sport = 80, .dport = 40000,
				    .tcp_flags = 0x12 };
	struct pf_test_pkt out, back, out_other, back_other;

	(void)state;
	pf_test_pkt_v6(&out, POD6, "fd00:5::1", &TCP80);
	pf_test_pkt_v6(&back, "fd00:5::1", POD6, &reply);
	pf_test_pkt_v6(&out_other, "fd00::2", "fd00:5::1", &TCP80);
	pf_test_pkt_v6(&back_other, "fd00:5::1", "fd00::2", &reply);
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": []}, \"egress\": {\"rules\": ["
				  "{\"cidr\": \"fd00:5::/64\"}]}}");
	pf_test_apply_json(dp, 2, "{\"ingress\": {\"rules\": []}}");
	assert_int_equal(pf_test_run(dp, PF_DIR_EGRESS, ifx[0], &out), OK);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &back), OK);
	/* The reply to another address of the pod, and to a veth whose ifindex
	 * has the same low 24 bits. */
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &back_other), SHOT);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx_far, &back), SHOT);
	/* The second flow is allowed but not tracked: the first keeps its entry. */
	assert_int_equal(pf_test_run(dp, PF_DIR_EGRESS, ifx[0], &out_other), OK);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &back_other), SHOT);
	assert_int_equal(pf_test_run(dp, PF_DIR_INGRESS, ifx[0], &back), OK);
	assert_int_equal(pf_test_ct_count(dp), 1);
}

static void policy_change_revokes_established_flows(void **state)
{
	struct pf_test_l4 r80 = { .proto = IPPROTO_TCP, .sport = 40000, .dport = 80, .tcp_flags = 0x10 };
	struct pf_test_l4 r81 = { .proto = IPPROTO_TCP, .sport = 40000, .dport = 81, .tcp_flags = 0x10 };

	(void)state;
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"0.0.0.0/0\","
				  "\"ports\": [{\"port\": 80}, {\"port\": 81}]}]}}");
	assert_int_equal(ingress_from("10.0.0.9", &TCP80), OK);
	assert_int_equal(ingress_from("10.0.0.9", &TCP81), OK);
	pf_test_apply_json(dp, 1, "{\"ingress\": {\"rules\": [{\"cidr\": \"0.0.0.0/0\","
				  "\"ports\": [{\"port\": 81}]}]}}");
	assert_int_equal(ingress_from("10.0.0.9", &r80), SHOT); /* revoked at once */
	assert_int_equal(ingress_from("10.0.0.9", &r81), OK);   /* still allowed */
}

static void idle_flows_are_swept_and_live_ones_kept(void **state)
{
	size_t removed = 99;

	(void)state;
	assert_int_equal(ingress_from("10.0.0.9", &TCP80), OK);
	assert_int_equal(ingress_from("10.0.0.9", &TCP81), OK);
	assert_int_equal(pf_test_ct_count(dp), 2);
	assert_int_equal(pf_ct_sweep(dp, 60ull * 1000000000ull, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(pf_test_ct_count(dp), 2);
	struct timespec ts = { 0, 30 * 1000000 };

	nanosleep(&ts, NULL);
	assert_int_equal(pf_ct_sweep(dp, 1000000, &removed), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(pf_test_ct_count(dp), 0);
}

static void sweep_turns_seen_into_activity(void **state)
{
	struct pf_test_l4 ack80 = { .proto = IPPROTO_TCP, .sport = 40000, .dport = 80,
				    .tcp_flags = 0x10 };
	struct timespec pause = { 0, 30 * 1000000 };
	struct pf_ct_val v, swept;
	size_t removed = 99;

	(void)state;
	assert_int_equal(ingress_from("10.0.0.9", &TCP80), OK);
	assert_int_equal(ingress_from("10.0.0.9", &TCP81), OK);
	/* The opening packet stamps the entry and does not mark it. */
	assert_true(ct_entry("10.0.0.9", 80, &v));
	assert_int_equal(v.seen, 0);
	assert_int_equal(v.last_seen_ns, v.created_ns);
	nanosleep(&pause, NULL);
	/* A later packet of the port 80 flow only marks it: no clock read. */
	assert_int_equal(ingress_from("10.0.0.9", &ack80), OK);
	assert_true(ct_entry("10.0.0.9", 80, &v));
	assert_int_equal(v.seen, 1);
	assert_int_equal(v.last_seen_ns, v.created_ns);
	/* Both flows are older than the limit: the marked one is stamped as
	 * active now and stays, the other goes. */
	assert_int_equal(pf_ct_sweep(dp, 1000000, &removed), 0);
	assert_int_equal(removed, 1);
	assert_false(ct_entry("10.0.0.9", 81, &v));
	assert_true(ct_entry("10.0.0.9", 80, &swept));
	assert_int_equal(swept.seen, 0);
	assert_true(swept.last_seen_ns > swept.created_ns);
	assert_int_equal(swept.created_ns, v.created_ns);
	assert_int_equal(swept.origin, PF_DIR_INGRESS);
	/* Within the limit of its new stamp the flow stays; past it, unmarked,
	 * it goes. */
	assert_int_equal(pf_ct_sweep(dp, 60ull * 1000000000ull, &removed), 0);
	assert_int_equal(removed, 0);
	nanosleep(&pause, NULL);
	assert_int_equal(pf_ct_sweep(dp, 1000000, &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(pf_test_ct_count(dp), 0);
}

static void unbinding_a_pod_forgets_its_flows(void **state)
{
	(void)state;
	assert_int_equal(ingress_from("10.0.0.9", &TCP80), OK);
	assert_int_equal(pf_test_ct_count(dp), 1);
	assert_int_equal(pf_datapath_pod_unbind(dp, ifx[0]), 0);
	assert_int_equal(pf_test_ct_count(dp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(replies_of_allowed_flows_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(conntrack_is_scoped_to_the_veth, setup, teardown),
		cmocka_unit_test_setup_teardown(both_families_are_tracked_revoked_swept_and_forgotten, setup, teardown),
		cmocka_unit_test_setup_teardown(ipv6_entries_hold_the_whole_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(policy_change_revokes_established_flows, setup, teardown),
		cmocka_unit_test_setup_teardown(idle_flows_are_swept_and_live_ones_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(sweep_turns_seen_into_activity, setup, teardown),
		cmocka_unit_test_setup_teardown(unbinding_a_pod_forgets_its_flows, setup, teardown),
	};

	if (pf_test_netns(2, ifx)) {
		fprintf(stderr, "cannot make a network namespace with veths (root needed)\n");
		return 1;
	}
	ifx_far = ifx[0] + (1 << 24);
	if (pf_test_veth_at(ifx_far, "pftfar")) {
		fprintf(stderr, "cannot make a veth with ifindex %d\n", ifx_far);
		return 1;
	}
	return cmocka_run_group_tests_name("conntrack", tests, NULL, NULL);
}
