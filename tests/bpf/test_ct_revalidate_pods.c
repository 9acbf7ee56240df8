// SPDX-License-Identifier: Apache-2.0
/* pf_ct_revalidate_pods: a pod moved to another policy set keeps the
 * tracked flows the new set allows and loses, at once, those it refuses;
 * other pods' flows are not touched. Real programs and maps, crafted
 * packets. */
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "pf_test.h"

#define OK 0
#define SHOT 2
#define POD "10.0.0.1"

static int ifx[2];

static const struct pf_test_l4 SYN80 = { .proto = IPPROTO_TCP, .sport = 40000, .dport = 80 };
static const struct pf_test_l4 SYN81 = { .proto = IPPROTO_TCP, .sport = 40000, .dport = 81 };
/* A mid-connection segment: passes only through conntrack or a rule. */
static const struct pf_test_l4 ACK80 = { .proto = IPPROTO_TCP, .sport = 40000, .dport = 80,
					 .tcp_flags = 0x10 };
static const struct pf_test_l4 ACK81 = { .proto = IPPROTO_TCP, .sport = 40000, .dport = 81,
					 .tcp_flags = 0x10 };

static int to_pod(struct pf_datapath *dp, int ifindex, const struct pf_test_l4 *l4)
{
	struct pf_test_pkt p;

	pf_test_pkt_v4(&p, "10.9.0.1", POD, l4);
	return pf_test_run(dp, PF_DIR_INGRESS, ifindex, &p);
}

static void compile_json(const char *json, struct pf_compiled *c)
{
	struct pf_policy_spec spec;
	char err[256] = "";
	json_t *root = json_loads(json, 0, NULL);

	assert_non_null(root);
	if (pf_policy_spec_from_json(root, &spec, err, sizeof(err)))
		fail_msg("%s", err);
	json_decref(root);
	assert_int_equal(pf_policy_compile(&spec, c), 0);
	pf_policy_spec_free(&spec);
}

#define OPEN "{\"ingress\": {\"rules\": [{\"cidr\": \"10.9.0.0/16\"}]}}"
#define ONLY_80 "{\"ingress\": {\"rules\": [{\"cidr\": \"10.9.0.0/16\"," \
		"\"ports\": [{\"protocol\": \"TCP\", \"port\": 80}]}]}}"

static void a_rebound_pod_loses_the_flows_its_new_set_refuses(void **state)
{
	struct pf_datapath *dp = pf_test_datapath(PF_MODE_STANDARD, false);
	struct pf_compiled only80;
	uint32_t moved = (uint32_t)ifx[0];

	(void)state;
	pf_test_apply_json(dp, 1, OPEN);
	pf_test_apply_json(dp, 2, ONLY_80);
	assert_int_equal(pf_datapath_pod_bind(dp, ifx[0], 1), 0);
	assert_int_equal(pf_datapath_pod_bind(dp, ifx[1], 1), 0);
	/* Both pods open two connections under set 1. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(to_pod(dp, ifx[i], &SYN80), OK);
		assert_int_equal(to_pod(dp, ifx[i], &SYN81), OK);
	}
	/* Pod 0 moves to set 2 (port 80 only); until re-checked, conntrack
	 * still carries its port 81 flow. */
	assert_int_equal(pf_datapath_pod_bind(dp, ifx[0], 2), 0);
	assert_int_equal(to_pod(dp, ifx[0], &ACK81), OK);
	compile_json(ONLY_80, &only80);
	assert_int_equal(pf_ct_revalidate_pods(dp, &moved, 1, &only80), 0);
	assert_int_equal(to_pod(dp, ifx[0], &ACK81), SHOT);
	assert_int_equal(to_pod(dp, ifx[0], &ACK80), OK);
	/* Pod 1 did not move: its flows stay. */
	assert_int_equal(to_pod(dp, ifx[1], &ACK81), OK);
	pf_compiled_free(&only80);
	pf_test_datapath_destroy(dp);
}

static void no_pods_is_nothing_to_do(void **state)
{
	struct pf_datapath *dp = pf_test_datapath(PF_MODE_STANDARD, false);
	struct pf_compiled c;

	(void)state;
	compile_json(ONLY_80, &c);
	assert_int_equal(pf_ct_revalidate_pods(dp, NULL, 0, &c), 0);
	pf_compiled_free(&c);
	pf_test_datapath_destroy(dp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_rebound_pod_loses_the_flows_its_new_set_refuses),
		cmocka_unit_test(no_pods_is_nothing_to_do),
	};

	if (pf_test_netns(2, ifx)) {
		fprintf(stderr, "cannot make a network namespace with veths (root needed)\n");
		return 1;
	}
	return cmocka_run_group_tests_name("ct_revalidate_pods", tests, NULL, NULL);
}
