// SPDX-License-Identifier: Apache-2.0
/* Host veth names: SHA-1 against the FIPS vectors and padding edges, and the
 * names the seed would give the same pods. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "veth_name.h"

static void hex(const uint8_t d[20], char out[41])
{
	for (int i = 0; i < 20; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void sha1_is(const char *data, size_t len, const char *want)
{
	uint8_t d[20];
	char got[41];

	pf_sha1(data, len, d);
	hex(d, got);
	assert_string_equal(got, want);
}

static void sha1_matches_known_digests(void **state)
{
	char a[1000];

	(void)state;
	memset(a, 'a', sizeof(a));
	sha1_is("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	sha1_is("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
	sha1_is("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		"84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	/* 55, 56 and 64 bytes: the padding fits, spills, and starts a block. */
	sha1_is(a, 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a");
	sha1_is(a, 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699");
	sha1_is(a, 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d");
	sha1_is(a, 1000, "291e9a6c66994949b57ba5e650361e98fc36b1ba");
}

static void name_is_prefix_and_11_hex_of_sha1_of_namespace_dot_name(void **state)
{
	char name[IFNAMSIZ];

	(void)state;
	assert_int_equal(pf_veth_host_name("pf", "default", "nginx", name), 0);
	assert_string_equal(name, "pfc440f455693");
	assert_int_equal(pf_veth_host_name("eni", "kube-system", "coredns-5d78c9869d-abcde", name), 0);
	assert_string_equal(name, "eni4d5f75c480c");
	assert_int_equal(pf_veth_host_name("pfx0", "x", "a", name), 0);
	assert_string_equal(name, "pfx0456b416f2bf");
	assert_int_equal(strlen(name), IFNAMSIZ - 1);
}

static void distinct_pods_get_distinct_names(void **state)
{
	char a[IFNAMSIZ], b[IFNAMSIZ];

	(void)state;
	assert_int_equal(pf_veth_host_name("pf", "x", "a", a), 0);
	assert_int_equal(pf_veth_host_name("pf", "x", "b", b), 0);
	assert_string_not_equal(a, b);
	/* The dot keeps "x.ab" and "xa.b" apart only by position: different keys. */
	assert_int_equal(pf_veth_host_name("pf", "xa", "b", a), 0);
	assert_int_equal(pf_veth_host_name("pf", "x", "ab", b), 0);
	assert_string_not_equal(a, b);
}

static void prefix_longer_than_4_is_refused(void **state)
{
	char name[IFNAMSIZ] = "untouched";

	(void)state;
	assert_int_equal(pf_veth_host_name("abcde", "x", "a", name), -ENAMETOOLONG);
	assert_string_equal(name, "untouched");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sha1_matches_known_digests),
		cmocka_unit_test(name_is_prefix_and_11_hex_of_sha1_of_namespace_dot_name),
		cmocka_unit_test(distinct_pods_get_distinct_names),
		cmocka_unit_test(prefix_longer_than_4_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
