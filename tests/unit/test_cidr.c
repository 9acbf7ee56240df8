// SPDX-License-Identifier: Apache-2.0
/* CIDR parsing, formatting and containment. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "cidr.h"

static void parses_and_clears_host_bits(void **state)
{
	struct pf_cidr c;
	char err[128], buf[64];

	(void)state;
	assert_int_equal(pf_cidr_parse("10.1.2.3/8", &c, err, sizeof(err)), 0);
	assert_int_equal(c.family, 4);
	assert_int_equal(c.len, 8);
	assert_string_equal(pf_cidr_format(&c, buf, sizeof(buf)), "10.0.0.0/8");
	assert_int_equal(pf_cidr_parse("fd00:1:2::7/48", &c, err, sizeof(err)), 0);
	assert_int_equal(c.family, 6);
	assert_string_equal(pf_cidr_format(&c, buf, sizeof(buf)), "fd00:1:2::/48");
	assert_int_equal(pf_cidr_parse("0.0.0.0/0", &c, err, sizeof(err)), 0);
	assert_int_equal(c.len, 0);
}

static void bare_address_is_a_host_prefix(void **state)
{
	struct pf_cidr c;
	char err[128], buf[64];

	(void)state;
	assert_int_equal(pf_cidr_parse("192.168.1.9", &c, err, sizeof(err)), 0);
	assert_int_equal(c.len, 32);
	assert_int_equal(pf_addr_parse("fd00::1", &c, err, sizeof(err)), 0);
	assert_int_equal(c.len, 128);
	assert_string_equal(pf_addr_format(6, c.addr, buf, sizeof(buf)), "fd00::1");
}

static void bad_input_is_named(void **state)
{
	static const char *const bad[] = { "10.0.0.300/8", "10.0.0.0/33", "fd00::/129",
					   "10.0.0.0/", "10.0.0.0/8x", "", "banana/8",
					   "10.0.0.0/-1" };
	struct pf_cidr c;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(pf_cidr_parse(bad[i], &c, err, sizeof(err)), -EINVAL);
		/* The message quotes the input so the operator can find it. */
		if (bad[i][0])
			assert_non_null(strstr(err, bad[i]));
		else
			assert_true(strlen(err) > 0);
	}
	assert_int_equal(pf_addr_parse("10.0.0.0/8", &c, err, sizeof(err)), -EINVAL);
}

static void containment_and_order(void **state)
{
	struct pf_cidr a, b, c, v6;
	char err[128];
	uint8_t inside[16] = { 10, 1, 200, 7 }, outside[16] = { 11, 0, 0, 1 };

	(void)state;
	assert_int_equal(pf_cidr_parse("10.0.0.0/8", &a, err, sizeof(err)), 0);
	assert_int_equal(pf_cidr_parse("10.1.0.0/16", &b, err, sizeof(err)), 0);
	assert_int_equal(pf_cidr_parse("10.2.0.0/16", &c, err, sizeof(err)), 0);
	assert_int_equal(pf_cidr_parse("::/0", &v6, err, sizeof(err)), 0);
	assert_true(pf_cidr_contains(&a, &b));
	assert_false(pf_cidr_contains(&b, &a));
	assert_false(pf_cidr_contains(&b, &c));
	assert_false(pf_cidr_contains(&v6, &a)); /* ::/0 holds no IPv4 */
	assert_true(pf_cidr_has_addr(&b, inside));
	assert_false(pf_cidr_has_addr(&a, outside));
	/* Preorder: a prefix right before what it contains. */
	assert_true(pf_cidr_cmp(&a, &b) < 0);
	assert_true(pf_cidr_cmp(&b, &c) < 0);
	assert_true(pf_cidr_cmp(&a, &v6) < 0);
	assert_int_equal(pf_cidr_cmp(&b, &b), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_and_clears_host_bits),
		cmocka_unit_test(bare_address_is_a_host_prefix),
		cmocka_unit_test(bad_input_is_named),
		cmocka_unit_test(containment_and_order),
	};

	return cmocka_run_group_tests_name("cidr", tests, NULL, NULL);
}
