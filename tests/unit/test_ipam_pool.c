// SPDX-License-Identifier: Apache-2.0
/* The address pool and its CIDR source: reserved addresses skipped,
 * exhaustion, idempotent assignment, release and delayed reuse, warm and
 * minimum targets, dual stack, and restoring saved assignments. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "podfence_abi.h"
#include "ipam_pool.h"

static struct pf_ipam_source *cidr_source(const char *text)
{
	struct pf_ipam_source *src = NULL;
	struct pf_cidr c;
	char err[256];

	assert_int_equal(pf_cidr_parse(text, &c, err, sizeof(err)), 0);
	assert_int_equal(pf_ipam_source_cidr_new(&c, &src, err, sizeof(err)), 0);
	return src;
}

static struct pf_ipam_pool *new_pool(const char *v4, const char *v6, unsigned warm,
				     unsigned minimum)
{
	struct pf_ipam_pool_opts o = { .warm_ip_target = warm, .minimum_ip_target = minimum };
	struct pf_ipam_pool *pool = NULL;

	assert_int_equal(pf_ipam_pool_new(&o, v4 ? cidr_source(v4) : NULL,
					  v6 ? cidr_source(v6) : NULL, &pool),
			 0);
	pf_ipam_pool_fill_warm(pool);
	return pool;
}

static const char *v4_text(const struct pf_ipam_assignment *a)
{
	static char buf[64];

	return pf_addr_format(PF_FAMILY_V4, a->v4, buf, sizeof(buf));
}

/* Assigns (container_id, "eth0") and returns its IPv4 as text, or NULL. */
static const char *assign(struct pf_ipam_pool *pool, const char *container_id, int want_err)
{
	struct pf_ipam_request req = { .container_id = container_id, .ifname = "eth0",
				       .pod_namespace = "x", .pod_name = container_id };
	const struct pf_ipam_assignment *a = NULL;
	bool existed;

	assert_int_equal(pf_ipam_pool_assign(pool, &req, &a, &existed), want_err);
	return want_err ? NULL : v4_text(a);
}

static const char *release(struct pf_ipam_pool *pool, const char *container_id)
{
	static char buf[64];
	struct pf_ipam_assignment out;

	assert_int_equal(pf_ipam_pool_release(pool, container_id, "eth0", &out), 0);
	pf_addr_format(PF_FAMILY_V4, out.v4, buf, sizeof(buf));
	pf_ipam_assignment_clear(&out);
	return buf;
}

static void test_cidr_source_skips_network_first_and_broadcast(void **state)
{
	struct pf_ipam_source *src = cidr_source("10.1.0.0/29");
	uint8_t addr[16];
	char text[64];
	const char *want[] = { "10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6" };

	(void)state;
	assert_int_equal(src->ops->capacity(src->priv), 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(src->ops->take(src->priv, addr), 0);
		assert_string_equal(pf_addr_format(PF_FAMILY_V4, addr, text, sizeof(text)),
				    want[i]);
	}
	assert_int_equal(src->ops->take(src->priv, addr), -ENOSPC);
	pf_ipam_source_free(src);

	src = cidr_source("fd00:1::/126");
	assert_int_equal(src->ops->capacity(src->priv), 2);
	assert_int_equal(src->ops->take(src->priv, addr), 0);
	assert_string_equal(pf_addr_format(PF_FAMILY_V6, addr, text, sizeof(text)), "fd00:1::2");
	assert_int_equal(src->ops->take(src->priv, addr), 0);
	assert_string_equal(pf_addr_format(PF_FAMILY_V6, addr, text, sizeof(text)), "fd00:1::3");
	assert_int_equal(src->ops->take(src->priv, addr), -ENOSPC);
	pf_ipam_source_free(src);

	src = cidr_source("fd00:10:244:1::/64");
	assert_int_equal(src->ops->capacity(src->priv), UINT64_MAX - 1);
	pf_ipam_source_free(src);
	src = cidr_source("10.0.0.0/8");
	assert_int_equal(src->ops->capacity(src->priv), (1u << 24) - 3);
	pf_ipam_source_free(src);
}

static void test_cidr_source_rejects_prefixes_with_nothing_left(void **state)
{
	static const char *const tiny[] = { "10.0.0.0/31", "10.0.0.1/32", "fd00::/127" };
	struct pf_ipam_source *src;
	struct pf_cidr c;
	char err[256];

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(pf_cidr_parse(tiny[i], &c, err, sizeof(err)), 0);
		assert_int_equal(pf_ipam_source_cidr_new(&c, &src, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "too small"));
	}
	src = cidr_source("10.0.0.0/30");
	assert_int_equal(src->ops->capacity(src->priv), 1);
	pf_ipam_source_free(src);
}

static void test_cidr_source_claim_checks_range_and_duplicates(void **state)
{
	struct pf_ipam_source *src = cidr_source("10.1.0.0/24");
	struct pf_cidr a;
	char err[64];
	uint8_t addr[16];

	(void)state;
	pf_addr_parse("10.1.0.7", &a, err, sizeof(err));
	assert_int_equal(src->ops->claim(src->priv, a.addr), 0);
	assert_int_equal(src->ops->claim(src->priv, a.addr), -EEXIST);
	src->ops->put(src->priv, a.addr);
	assert_int_equal(src->ops->claim(src->priv, a.addr), 0);
	static const char *const bad[] = { "10.1.0.0", "10.1.0.1", "10.1.0.255", "10.1.1.5" };

	for (size_t i = 0; i < 4; i++) {
		pf_addr_parse(bad[i], &a, err, sizeof(err));
		assert_int_equal(src->ops->claim(src->priv, a.addr), -ERANGE);
	}
	/* The cursor is where take continues. */
	pf_addr_parse("10.1.0.250", &a, err, sizeof(err));
	assert_int_equal(src->ops->seek(src->priv, a.addr), 0);
	assert_int_equal(src->ops->take(src->priv, addr), 0);
	assert_memory_equal(addr, a.addr, 4);
	src->ops->cursor(src->priv, addr);
	assert_int_equal(addr[3], 251);
	pf_ipam_source_free(src);
}

static void test_exhaustion_gives_enospc_and_changes_nothing(void **state)
{
	struct pf_ipam_pool *pool = new_pool("10.2.0.0/29", NULL, 0, 0);
	struct pf_ipam_family_stats st;
	char id[16];

	(void)state;
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		assert_non_null(assign(pool, id, 0));
	}
	assign(pool, "c5", -ENOSPC);
	assert_int_equal(pf_ipam_pool_count(pool), 5);
	assert_null(pf_ipam_pool_find(pool, "c5", "eth0"));
	pf_ipam_pool_stats(pool, PF_FAMILY_V4, &st);
	assert_int_equal(st.capacity, 5);
	assert_int_equal(st.assigned, 5);
	assert_int_equal(st.free, 0);
	/* The one released address is the only one, so it is reused. */
	assert_string_equal(release(pool, "c2"), "10.2.0.4");
	assert_string_equal(assign(pool, "c5", 0), "10.2.0.4");
	pf_ipam_pool_free(pool);
}

static void test_same_container_and_ifname_get_the_same_address(void **state)
{
	struct pf_ipam_pool *pool = new_pool("10.3.0.0/24", NULL, 0, 0);
	struct pf_ipam_request req = { .container_id = "abc", .ifname = "eth0" };
	const struct pf_ipam_assignment *a, *b;
	bool existed;
	uint8_t first[16];

	(void)state;
	assert_int_equal(pf_ipam_pool_assign(pool, &req, &a, &existed), 0);
	assert_false(existed);
	memcpy(first, a->v4, 16);
	assert_string_equal(a->netns, "");
	assert_int_equal(pf_ipam_pool_assign(pool, &req, &b, &existed), 0);
	assert_true(existed);
	assert_memory_equal(b->v4, first, 16);
	req.ifname = "net1";
	assert_int_equal(pf_ipam_pool_assign(pool, &req, &b, &existed), 0);
	assert_false(existed);
	assert_memory_not_equal(b->v4, first, 16);
	assert_int_equal(pf_ipam_pool_count(pool), 2);
	assert_string_equal(pf_ipam_pool_at(pool, 0)->ifname, "eth0");
	assert_string_equal(pf_ipam_pool_at(pool, 1)->ifname, "net1");
	assert_null(pf_ipam_pool_at(pool, 2));
	pf_ipam_pool_free(pool);
}

static void test_release_is_once_and_address_is_reused_last(void **state)
{
	struct pf_ipam_pool *pool = new_pool("10.4.0.0/28", NULL, 0, 0); /* .2 .. .14 */
	struct pf_ipam_assignment out;
	char id[16];

	(void)state;
	assert_string_equal(assign(pool, "a", 0), "10.4.0.2");
	assert_string_equal(assign(pool, "b", 0), "10.4.0.3");
	assert_string_equal(release(pool, "a"), "10.4.0.2");
	assert_int_equal(pf_ipam_pool_release(pool, "a", "eth0", &out), -ENOENT);
	assert_int_equal(pf_ipam_pool_release(pool, "b", "net9", &out), -ENOENT);
	/* Round robin: .2 comes back only after .4 .. .14. */
	for (int i = 4; i <= 14; i++) {
		char want[16];

		snprintf(id, sizeof(id), "n%d", i);
		snprintf(want, sizeof(want), "10.4.0.%d", i);
		assert_string_equal(assign(pool, id, 0), want);
	}
	assert_string_equal(assign(pool, "last", 0), "10.4.0.2");
	pf_ipam_pool_free(pool);
}

static void test_warm_target_keeps_addresses_reserved(void **state)
{
	struct pf_ipam_pool *pool = new_pool("10.5.0.0/29", NULL, 2, 0); /* 5 addresses */
	struct pf_ipam_family_stats st;

	(void)state;
	pf_ipam_pool_stats(pool, PF_FAMILY_V4, &st);
	assert_int_equal(st.warm, 2);
	assert_int_equal(st.warm_target, 2);
	assert_int_equal(st.shortfall, 0);
	assert_string_equal(assign(pool, "a", 0), "10.5.0.2"); /* the front of the warm set */
	pf_ipam_pool_stats(pool, PF_FAMILY_V4, &st);
	assert_int_equal(st.assigned, 1);
	assert_int_equal(st.warm, 2);
	assert_int_equal(st.free, 4);
	assert_non_null(assign(pool, "b", 0));
	assert_non_null(assign(pool, "c", 0));
	assert_non_null(assign(pool, "d", 0));
	pf_ipam_pool_stats(pool, PF_FAMILY_V4, &st);
	assert_int_equal(st.warm, 1);
	assert_int_equal(st.shortfall, 1);
	/* A released address joins the back of a warm set below target. */
	assert_string_equal(release(pool, "b"), "10.5.0.3");
	pf_ipam_pool_stats(pool, PF_FAMILY_V4, &st);
	assert_int_equal(st.warm, 2);
	assert_int_equal(st.shortfall, 0);
	assert_string_equal(assign(pool, "e", 0), "10.5.0.6");
	assert_string_equal(assign(pool, "f", 0), "10.5.0.3");
	pf_ipam_pool_free(pool);
}

static void test_released_address_goes_back_when_warm_set_is_full(void **state)
{
	struct pf_ipam_pool *pool = new_pool("10.6.0.0/24", NULL, 1, 0);
	const uint8_t *front;

	(void)state;
	assert_string_equal(assign(pool, "a", 0), "10.6.0.2");
	front = pf_ipam_pool_warm_at(pool, PF_FAMILY_V4, 0);
	assert_non_null(front);
	assert_int_equal(front[3], 3);
	assert_string_equal(release(pool, "a"), "10.6.0.2");
	/* .3 stays the warm one; .2 went back to the source's round robin. */
	assert_int_equal(pf_ipam_pool_warm_at(pool, PF_FAMILY_V4, 0)[3], 3);
	assert_null(pf_ipam_pool_warm_at(pool, PF_FAMILY_V4, 1));
	assert_string_equal(assign(pool, "b", 0), "10.6.0.3");
	assert_string_equal(assign(pool, "c", 0), "10.6.0.4");
	pf_ipam_pool_free(pool);
}

static void test_minimum_target_counts_assigned_and_warm(void **state)
{
	struct pf_ipam_pool *pool = new_pool("10.7.0.0/24", NULL, 0, 4);
	struct pf_ipam_family_stats st;
	char id[8];

	(void)state;
	pf_ipam_pool_stats(pool, PF_FAMILY_V4, &st);
	assert_int_equal(st.warm, 4);
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "p%d", i);
		assign(pool, id, 0);
	}
	pf_ipam_pool_stats(pool, PF_FAMILY_V4, &st);
	assert_int_equal(st.warm, 1);
	assign(pool, "p3", 0);
	assign(pool, "p4", 0);
	pf_ipam_pool_stats(pool, PF_FAMILY_V4, &st);
	assert_int_equal(st.warm, 0);
	assert_int_equal(st.shortfall, 0);
	pf_ipam_pool_free(pool);

	/* A minimum the CIDR cannot reach is a shortfall, not a failure. */
	pool = new_pool("10.8.0.0/29", NULL, 0, 10);
	pf_ipam_pool_stats(pool, PF_FAMILY_V4, &st);
	assert_int_equal(st.warm, 5);
	assert_int_equal(st.shortfall, 5);
	assert_string_equal(assign(pool, "a", 0), "10.8.0.2");
	pf_ipam_pool_free(pool);
}

static void test_dual_stack_assigns_both_and_rolls_back_on_v6_exhaustion(void **state)
{
	struct pf_ipam_pool *pool = new_pool("10.9.0.0/24", "fd00:9::/126", 0, 0);
	struct pf_ipam_request req = { .container_id = "a", .ifname = "eth0" };
	const struct pf_ipam_assignment *a;
	struct pf_ipam_family_stats st;
	bool existed;
	char text[64];

	(void)state;
	assert_int_equal(pf_ipam_pool_assign(pool, &req, &a, &existed), 0);
	assert_true(a->has_v4);
	assert_true(a->has_v6);
	assert_string_equal(pf_addr_format(PF_FAMILY_V6, a->v6, text, sizeof(text)), "fd00:9::2");
	req.container_id = "b";
	assert_int_equal(pf_ipam_pool_assign(pool, &req, &a, &existed), 0);
	req.container_id = "c";
	assert_int_equal(pf_ipam_pool_assign(pool, &req, &a, &existed), -ENOSPC);
	/* The IPv4 address taken for "c" went back: no warm set is kept. */
	pf_ipam_pool_stats(pool, PF_FAMILY_V4, &st);
	assert_int_equal(st.assigned, 2);
	assert_int_equal(st.warm, 0);
	assert_int_equal(pf_ipam_pool_count(pool), 2);
	assert_string_equal(release(pool, "a"), "10.9.0.2");
	assert_int_equal(pf_ipam_pool_assign(pool, &req, &a, &existed), 0);
	assert_string_equal(v4_text(a), "10.9.0.5");
	assert_string_equal(pf_addr_format(PF_FAMILY_V6, a->v6, text, sizeof(text)), "fd00:9::2");
	pf_ipam_pool_free(pool);

	/* With a warm set, the rolled back address stays first in line. */
	pool = new_pool("10.9.0.0/24", "fd00:9::/126", 1, 0);
	req.container_id = "a";
	assert_int_equal(pf_ipam_pool_assign(pool, &req, &a, &existed), 0);
	req.container_id = "b";
	assert_int_equal(pf_ipam_pool_assign(pool, &req, &a, &existed), 0);
	assert_int_equal(pf_ipam_pool_warm_at(pool, PF_FAMILY_V4, 0)[3], 4);
	req.container_id = "c";
	assert_int_equal(pf_ipam_pool_assign(pool, &req, &a, &existed), -ENOSPC);
	assert_int_equal(pf_ipam_pool_warm_at(pool, PF_FAMILY_V4, 0)[3], 4);
	assert_null(pf_ipam_pool_warm_at(pool, PF_FAMILY_V4, 1));
	pf_ipam_pool_free(pool);
}

static struct pf_ipam_assignment saved(const char *container_id, const char *v4)
{
	struct pf_ipam_assignment a = { .container_id = (char *)container_id,
					.ifname = "eth0",
					.netns = "/proc/1/ns/net",
					.pod_namespace = "x",
					.pod_name = "p",
					.has_v4 = true,
					.assigned_at = 1700000000 };
	struct pf_cidr c;
	char err[64];

	assert_int_equal(pf_addr_parse(v4, &c, err, sizeof(err)), 0);
	memcpy(a.v4, c.addr, 16);
	return a;
}

static void test_restore_rejects_duplicates_and_foreign_addresses(void **state)
{
	struct pf_ipam_pool *pool = new_pool("10.10.0.0/24", NULL, 2, 0);
	struct pf_ipam_assignment a = saved("a", "10.10.0.2"); /* in the warm set */
	struct pf_ipam_family_stats st;
	char err[256];

	(void)state;
	assert_int_equal(pf_ipam_pool_restore(pool, &a, err, sizeof(err)), 0);
	assert_int_equal(pf_ipam_pool_find(pool, "a", "eth0")->assigned_at, 1700000000);
	assert_string_equal(pf_ipam_pool_find(pool, "a", "eth0")->netns, "/proc/1/ns/net");
	a = saved("a", "10.10.0.9");
	assert_int_equal(pf_ipam_pool_restore(pool, &a, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "container a interface eth0 is assigned twice"));
	a = saved("b", "10.10.0.2");
	assert_int_equal(pf_ipam_pool_restore(pool, &a, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "address 10.10.0.2 is assigned twice"));
	a = saved("c", "10.11.0.2");
	assert_int_equal(pf_ipam_pool_restore(pool, &a, err, sizeof(err)), -ERANGE);
	assert_non_null(strstr(err, "10.10.0.0/24"));
	a = saved("d", "10.10.0.255");
	assert_int_equal(pf_ipam_pool_restore(pool, &a, err, sizeof(err)), -ERANGE);
	a = saved("e", "10.10.0.100");
	a.has_v6 = true;
	assert_int_equal(pf_ipam_pool_restore(pool, &a, err, sizeof(err)), -ERANGE);
	assert_non_null(strstr(err, "no IPv6 pool"));
	/* The failed restore of "e" left .100 free. */
	a = saved("f", "10.10.0.100");
	assert_int_equal(pf_ipam_pool_restore(pool, &a, err, sizeof(err)), 0);
	pf_ipam_pool_stats(pool, PF_FAMILY_V4, &st);
	assert_int_equal(st.assigned, 2);
	assert_int_equal(st.warm, 2);
	/* Nothing restored is handed out again. */
	for (int i = 0; i < 251; i++) {
		char id[16];
		const char *got;

		snprintf(id, sizeof(id), "n%d", i);
		got = assign(pool, id, 0);
		assert_string_not_equal(got, "10.10.0.2");
		assert_string_not_equal(got, "10.10.0.100");
	}
	assign(pool, "full", -ENOSPC);
	pf_ipam_pool_free(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_source_skips_network_first_and_broadcast),
		cmocka_unit_test(test_cidr_source_rejects_prefixes_with_nothing_left),
		cmocka_unit_test(test_cidr_source_claim_checks_range_and_duplicates),
		cmocka_unit_test(test_exhaustion_gives_enospc_and_changes_nothing),
		cmocka_unit_test(test_same_container_and_ifname_get_the_same_address),
		cmocka_unit_test(test_release_is_once_and_address_is_reused_last),
		cmocka_unit_test(test_warm_target_keeps_addresses_reserved),
		cmocka_unit_test(test_released_address_goes_back_when_warm_set_is_full),
		cmocka_unit_test(test_minimum_target_counts_assigned_and_warm),
		cmocka_unit_test(test_dual_stack_assigns_both_and_rolls_back_on_v6_exhaustion),
		cmocka_unit_test(test_restore_rejects_duplicates_and_foreign_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
