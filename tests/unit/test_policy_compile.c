// SPDX-License-Identifier: Apache-2.0
/* The policy compiler: flattened entries where the longest prefix alone
 * gives the answer. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "cidr.h"
#include "policy_compile.h"

static void compile(const char *text, struct pf_compiled *c)
{
	struct pf_policy_spec spec;
	json_error_t jerr;
	char err[256];
	json_t *root = json_loads(text, 0, &jerr);

	assert_non_null(root);
	assert_int_equal(pf_policy_spec_from_json(root, &spec, err, sizeof(err)), 0);
	json_decref(root);
	assert_int_equal(pf_policy_compile(&spec, c), 0);
	pf_policy_spec_free(&spec);
}

static bool allows(const struct pf_compiled *c, const char *addr, uint8_t proto, uint16_t port)
{
	struct pf_cidr a;
	char err[128];

	assert_int_equal(pf_addr_parse(addr, &a, err, sizeof(err)), 0);
	return pf_compiled_allows(c, PF_DIR_INGRESS, a.family, a.addr, proto, port, true);
}

static const char *entry_at(const struct pf_compiled *c, size_t i, char *buf, size_t len)
{
	return pf_cidr_format(&c->dir[PF_DIR_INGRESS].entries[i].prefix, buf, len);
}

static void holes_and_reallowed_parts_flatten(void **state)
{
	struct pf_compiled c;
	char buf[64];

	(void)state;
	compile("{\"ingress\":{\"isolated\":true,\"rules\":["
		"{\"cidr\":\"10.0.0.0/8\",\"except\":[\"10.1.0.0/16\"],"
		" \"ports\":[{\"protocol\":\"TCP\",\"port\":80}]},"
		"{\"cidr\":\"10.1.2.0/24\",\"ports\":[{\"protocol\":\"UDP\",\"port\":53}]}]}}", &c);
	assert_int_equal(c.dir[PF_DIR_INGRESS].n, 3);
	assert_string_equal(entry_at(&c, 0, buf, sizeof(buf)), "10.0.0.0/8");
	assert_string_equal(entry_at(&c, 1, buf, sizeof(buf)), "10.1.0.0/16");
	assert_string_equal(entry_at(&c, 2, buf, sizeof(buf)), "10.1.2.0/24");
	/* The hole is an entry with the empty port set: it shadows the /8. */
	assert_int_equal(c.dir[PF_DIR_INGRESS].entries[1].portset, 0);
	assert_true(allows(&c, "10.9.9.9", IPPROTO_TCP, 80));
	assert_false(allows(&c, "10.1.9.9", IPPROTO_TCP, 80));
	assert_true(allows(&c, "10.1.2.3", IPPROTO_UDP, 53));
	/* The /24 is inside the hole, so the /8's TCP 80 does not reach it. */
	assert_false(allows(&c, "10.1.2.3", IPPROTO_TCP, 80));
	assert_false(allows(&c, "11.0.0.1", IPPROTO_TCP, 80));
	pf_compiled_free(&c);
}

static void overlapping_rules_take_the_union(void **state)
{
	struct pf_compiled c;
	char buf[64];

	(void)state;
	compile("{\"ingress\":{\"isolated\":true,\"rules\":["
		"{\"cidr\":\"10.0.0.0/8\",\"ports\":[{\"protocol\":\"TCP\",\"port\":80}]},"
		"{\"cidr\":\"10.5.0.0/16\",\"ports\":[{\"protocol\":\"TCP\",\"port\":443}]}]}}", &c);
	assert_int_equal(c.dir[PF_DIR_INGRESS].n, 2);
	assert_string_equal(entry_at(&c, 1, buf, sizeof(buf)), "10.5.0.0/16");
	/* The longer prefix carries both rules' ports. */
	assert_true(allows(&c, "10.5.1.1", IPPROTO_TCP, 80));
	assert_true(allows(&c, "10.5.1.1", IPPROTO_TCP, 443));
	assert_false(allows(&c, "10.6.1.1", IPPROTO_TCP, 443));
	assert_int_equal(c.dir[PF_DIR_INGRESS].entries[1].n_sources, 2);
	pf_compiled_free(&c);
}

static void redundant_entries_are_dropped_and_port_sets_shared(void **state)
{
	struct pf_compiled c;

	(void)state;
	compile("{\"ingress\":{\"isolated\":true,\"rules\":["
		"{\"cidr\":\"10.0.0.0/8\"},{\"cidr\":\"10.1.0.0/16\"},"
		"{\"cidr\":\"192.168.0.1/32\",\"ports\":[{\"protocol\":\"TCP\",\"port\":22}]},"
		"{\"cidr\":\"192.168.0.2/32\",\"ports\":[{\"protocol\":\"TCP\",\"port\":22}]}]}}", &c);
	/* 10.1/16 adds nothing the /8 does not already allow. */
	assert_int_equal(c.dir[PF_DIR_INGRESS].n, 3);
	assert_int_equal(c.dir[PF_DIR_INGRESS].entries[1].portset,
			 c.dir[PF_DIR_INGRESS].entries[2].portset);
	/* empty, all, tcp/22 */
	assert_int_equal(c.n_portsets, 3);
	assert_true(allows(&c, "10.1.0.1", IPPROTO_ICMP, 0));
	pf_compiled_free(&c);
}

static void families_never_mix(void **state)
{
	struct pf_compiled c;

	(void)state;
	compile("{\"ingress\":{\"isolated\":true,\"rules\":[{\"cidr\":\"::/0\"}]}}", &c);
	assert_true(allows(&c, "fd00::1", IPPROTO_TCP, 80));
	assert_false(allows(&c, "10.0.0.1", IPPROTO_TCP, 80));
	pf_compiled_free(&c);
}

static void lookup_returns_the_longest_entry(void **state)
{
	struct pf_compiled c;
	struct pf_cidr a;
	char err[128], buf[64];
	const struct pf_flat_entry *e;

	(void)state;
	compile("{\"ingress\":{\"isolated\":true,\"rules\":["
		"{\"cidr\":\"10.0.0.0/8\",\"except\":[\"10.0.0.0/24\",\"10.0.0.128/25\"]}]}}", &c);
	assert_int_equal(pf_addr_parse("10.0.0.200", &a, err, sizeof(err)), 0);
	e = pf_compiled_lookup(&c, PF_DIR_INGRESS, a.family, a.addr);
	assert_non_null(e);
	/* The /25 hole lies inside the /24 hole and adds nothing: dropped. */
	assert_int_equal(c.dir[PF_DIR_INGRESS].n, 2);
	assert_string_equal(pf_cidr_format(&e->prefix, buf, sizeof(buf)), "10.0.0.0/24");
	assert_int_equal(e->portset, 0);
	assert_null(pf_compiled_lookup(&c, PF_DIR_EGRESS, a.family, a.addr));
	pf_compiled_free(&c);
}

/* Big sets take the binary-search path: it must find exactly the entry a
 * plain scan for the longest match finds. */
static void large_sets_find_the_longest_entry(void **state)
{
	struct pf_policy_spec spec = { 0 };
	struct pf_dir_policy *d = &spec.dir[PF_DIR_INGRESS];
	struct pf_compiled c;
	unsigned seed = 7;
	char err[128], text[64];

	(void)state;
	d->isolation = PF_ISO_ISOLATED;
	d->rules = calloc(600, sizeof(*d->rules));
	assert_non_null(d->rules);
	for (int i = 0; i < 600; i++) {
		static const int lens[] = { 8, 16, 20, 24, 28, 32 };

		snprintf(text, sizeof(text), "10.%u.%u.%u/%d", rand_r(&seed) % 4, rand_r(&seed) % 256,
			 rand_r(&seed) % 256, lens[rand_r(&seed) % 6]);
		assert_int_equal(pf_cidr_parse(text, &d->rules[i].cidr, err, sizeof(err)), 0);
		/* A port of its own, so no entry is redundant and dropped. */
		d->rules[i].ports = calloc(1, sizeof(*d->rules[i].ports));
		assert_non_null(d->rules[i].ports);
		d->rules[i].ports[0] = (struct pf_port_rule){ IPPROTO_TCP, (uint16_t)(1000 + i),
							      (uint16_t)(1000 + i) };
		d->rules[i].n_ports = 1;
		d->n_rules++;
	}
	assert_int_equal(pf_policy_compile(&spec, &c), 0);
	assert_true(c.dir[PF_DIR_INGRESS].n > 64);
	for (int i = 0; i < 20000; i++) {
		uint8_t addr[16] = { 10, (uint8_t)(rand_r(&seed) % 4), (uint8_t)rand_r(&seed),
				     (uint8_t)rand_r(&seed) };
		const struct pf_flat_entry *best = NULL, *got;
		const struct pf_compiled_dir *cd = &c.dir[PF_DIR_INGRESS];

		for (size_t e = 0; e < cd->n; e++)
			if (pf_cidr_has_addr(&cd->entries[e].prefix, addr) &&
			    (!best || cd->entries[e].prefix.len > best->prefix.len))
				best = &cd->entries[e];
		got = pf_compiled_lookup(&c, PF_DIR_INGRESS, PF_FAMILY_V4, addr);
		assert_ptr_equal(got, best);
	}
	pf_compiled_free(&c);
	pf_policy_spec_free(&spec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(holes_and_reallowed_parts_flatten),
		cmocka_unit_test(overlapping_rules_take_the_union),
		cmocka_unit_test(redundant_entries_are_dropped_and_port_sets_shared),
		cmocka_unit_test(families_never_mix),
		cmocka_unit_test(lookup_returns_the_longest_entry),
		cmocka_unit_test(large_sets_find_the_longest_entry),
	};

	return cmocka_run_group_tests_name("policy_compile", tests, NULL, NULL);
}
