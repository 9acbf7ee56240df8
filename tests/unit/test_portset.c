// SPDX-License-Identifier: Apache-2.0
/* Port interval sets: merging, flags, and the datapath's matching rule. */
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "portset.h"

#define KEY(proto, port) (((uint32_t)(proto) << 16) | (port))

static void ranges_merge_when_they_touch_or_overlap(void **state)
{
	struct pf_portset ps = { 0 };

	(void)state;
	assert_int_equal(pf_portset_add(&ps, IPPROTO_TCP, 80, 90), 0);
	assert_int_equal(pf_portset_add(&ps, IPPROTO_TCP, 91, 95), 0);
	assert_int_equal(pf_portset_add(&ps, IPPROTO_TCP, 85, 86), 0);
	assert_int_equal(pf_portset_add(&ps, IPPROTO_UDP, 80, 80), 0);
	assert_int_equal(pf_portset_add(&ps, IPPROTO_TCP, 10, 10), 0);
	pf_portset_normalize(&ps);
	assert_int_equal(ps.n, 3);
	assert_int_equal(ps.r[0].lo, KEY(IPPROTO_TCP, 10));
	assert_int_equal(ps.r[1].lo, KEY(IPPROTO_TCP, 80));
	assert_int_equal(ps.r[1].hi, KEY(IPPROTO_TCP, 95));
	assert_int_equal(ps.r[2].lo, KEY(IPPROTO_UDP, 80));
	assert_true(pf_portset_allows(&ps, IPPROTO_TCP, 93, true));
	assert_false(pf_portset_allows(&ps, IPPROTO_TCP, 96, true));
	assert_false(pf_portset_allows(&ps, IPPROTO_SCTP, 80, true));
	pf_portset_free(&ps);
}

static void whole_protocol_flag_swallows_its_ranges(void **state)
{
	struct pf_portset ps = { 0 };

	(void)state;
	assert_int_equal(pf_portset_add(&ps, IPPROTO_UDP, 53, 53), 0);
	assert_int_equal(pf_portset_add(&ps, IPPROTO_UDP, 0, 0), 0);
	assert_int_equal(pf_portset_add(&ps, IPPROTO_TCP, 443, 443), 0);
	pf_portset_normalize(&ps);
	assert_true(ps.flags & PF_RULE_UDP_ALL);
	assert_int_equal(ps.n, 1);
	/* Unknown ports (a later fragment) match only a whole-protocol flag. */
	assert_true(pf_portset_allows(&ps, IPPROTO_UDP, 0, false));
	assert_false(pf_portset_allows(&ps, IPPROTO_TCP, 443, false));
	assert_true(pf_portset_allows(&ps, IPPROTO_TCP, 443, true));
	pf_portset_free(&ps);
}

static void every_protocol_matches_icmp_too(void **state)
{
	struct pf_portset all = { 0 }, tcp = { 0 };

	(void)state;
	assert_int_equal(pf_portset_add_all(&all), 0);
	assert_int_equal(pf_portset_add(&tcp, IPPROTO_TCP, 0, 0), 0);
	assert_true(pf_portset_allows(&all, IPPROTO_ICMP, 0, false));
	assert_false(pf_portset_allows(&tcp, IPPROTO_ICMP, 0, false));
	pf_portset_free(&all);
	pf_portset_free(&tcp);
}

static void union_equal_and_copy(void **state)
{
	struct pf_portset a = { 0 }, b = { 0 }, c = { 0 }, empty = { 0 };

	(void)state;
	assert_true(pf_portset_empty(&empty));
	assert_int_equal(pf_portset_add(&a, IPPROTO_TCP, 1, 100), 0);
	assert_int_equal(pf_portset_add(&b, IPPROTO_TCP, 50, 200), 0);
	assert_int_equal(pf_portset_union(&a, &b), 0);
	pf_portset_normalize(&a);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.r[0].hi, KEY(IPPROTO_TCP, 200));
	assert_int_equal(pf_portset_copy(&c, &a), 0);
	assert_true(pf_portset_equal(&a, &c));
	assert_false(pf_portset_equal(&a, &b));
	assert_false(pf_portset_empty(&c));
	pf_portset_free(&a);
	pf_portset_free(&b);
	pf_portset_free(&c);
}

static void many_disjoint_ranges_need_many_chunks(void **state)
{
	struct pf_portset ps = { 0 };

	(void)state;
	for (uint16_t p = 1000; p < 1000 + 2 * 100; p += 2)
		assert_int_equal(pf_portset_add(&ps, IPPROTO_TCP, p, p), 0);
	pf_portset_normalize(&ps);
	assert_int_equal(ps.n, 100);
	assert_int_equal(pf_portset_chunks(&ps), (100 + PF_PORT_CHUNK - 1) / PF_PORT_CHUNK);
	assert_true(pf_portset_allows(&ps, IPPROTO_TCP, 1198, true));
	assert_false(pf_portset_allows(&ps, IPPROTO_TCP, 1199, true));
	pf_portset_free(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ranges_merge_when_they_touch_or_overlap),
		cmocka_unit_test(whole_protocol_flag_swallows_its_ranges),
		cmocka_unit_test(every_protocol_matches_icmp_too),
		cmocka_unit_test(union_equal_and_copy),
		cmocka_unit_test(many_disjoint_ranges_need_many_chunks),
	};

	return cmocka_run_group_tests_name("portset", tests, NULL, NULL);
}
