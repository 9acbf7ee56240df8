// SPDX-License-Identifier: Apache-2.0
/*
 * Differential test: a plain evaluator written straight from the
 * networking.k8s.io/v1 NetworkPolicy rules (rules are additive; a peer
 * matches when its address is in ipBlock.cidr and in none of its except;
 * no ports means every protocol and port; endPort makes an inclusive range)
 * against the compiled maps and the real loaded program, on random rule sets
 * and packets. PF_DIFF_SEED=N replays a run; PF_DIFF_CASES=N sets its size.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <bpf/bpf.h>

#include "pf_test.h"

#define ROUND_CASES 200

static int ifx[1];
static unsigned seed;
static long total_cases = 10000;

/* --- the reference, from the spec ------------------------------------- */

static bool ref_in(const struct pf_cidr *c, uint8_t family, const uint8_t *addr)
{
	unsigned full = c->len / 8, rest = c->len % 8;

	if (c->family != family || memcmp(c->addr, addr, full))
		return false;
	return !rest || ((c->addr[full] ^ addr[full]) & (0xff << (8 - rest))) == 0;
}

static bool ref_allows(const struct pf_policy_spec *spec, uint32_t mode, enum pf_dir dir,
		       uint8_t family, const uint8_t *peer, uint8_t proto, uint16_t dport,
		       bool has_ports)
{
	const struct pf_dir_policy *d = &spec->dir[dir];

	if (d->isolation == PF_ISO_OPEN)
		return true;
	if (d->isolation == PF_ISO_UNKNOWN)
		return mode == PF_MODE_STANDARD;
	for (size_t r = 0; r < d->n_rules; r++) {
		const struct pf_peer_rule *rule = &d->rules[r];
		bool excepted = false;

		if (!ref_in(&rule->cidr, family, peer))
			continue;
		for (size_t x = 0; x < rule->n_except; x++)
			excepted |= ref_in(&rule->except[x], family, peer);
		if (excepted)
			continue;
		if (!rule->n_ports)
			return true;
		for (size_t p = 0; p < rule->n_ports; p++) {
			const struct pf_port_rule *pr = &rule->ports[p];

			if (pr->proto != proto)
				continue;
			if (!pr->port || (has_ports && dport >= pr->port && dport <= pr->end_port))
				return true;
		}
	}
	return false;
}

/* --- random rule sets and packets ------------------------------------- */

static unsigned rnd(unsigned n)
{
	return (unsigned)rand_r(&seed) % n;
}

/* Addresses come from a small universe so that rules overlap often:
 * IPv4 10.0.x.y and IPv6 fd00::x:y. */
static void rnd_addr(uint8_t family, uint8_t *addr)
{
	memset(addr, 0, 16);
	if (family == PF_FAMILY_V4) {
		addr[0] = 10;
		addr[2] = (uint8_t)rnd(4);
		addr[3] = (uint8_t)rnd(256);
	} else {
		addr[0] = 0xfd;
		addr[13] = (uint8_t)rnd(4);
		addr[15] = (uint8_t)rnd(256);
	}
}

/* The prefix lengths rules and holes of one policy set take, per family.
 * The datapath looks a set up by one hash per prefix length when a
 * direction and family has at most PF_SET_PLENS of them, and through the
 * LPM trie otherwise: half the sets draw from a few lengths, half from all,
 * so both layouts are checked. The longest length is always there, so a
 * hole can always be drawn inside a rule. */
static const uint8_t v4_lens[] = { 0, 8, 16, 22, 23, 24, 25, 26, 28, 30, 31, 32 };
static const uint8_t v6_lens[] = { 0, 64, 112, 118, 120, 122, 124, 127, 128 };
#define N_V4_LENS (sizeof(v4_lens) / sizeof(v4_lens[0]))
#define N_V6_LENS (sizeof(v6_lens) / sizeof(v6_lens[0]))

struct len_pool {
	bool few;
	uint8_t v4[N_V4_LENS], v6[N_V6_LENS];
	size_t n4, n6;
};

static void rnd_pool_side(const uint8_t *all, size_t n_all, bool few, uint8_t *out, size_t *n)
{
	*n = 0;
	out[(*n)++] = all[n_all - 1];
	for (size_t i = 0; i + 1 < n_all; i++)
		if (!few || rnd(n_all) < 2)
			out[(*n)++] = all[i];
	while (few && *n > PF_SET_PLENS) {
		size_t drop = 1 + rnd((unsigned)*n - 1);

		out[drop] = out[*n - 1];
		(*n)--;
	}
}

static void rnd_pool(struct len_pool *pool)
{
	pool->few = rnd(2);
	rnd_pool_side(v4_lens, N_V4_LENS, pool->few, pool->v4, &pool->n4);
	rnd_pool_side(v6_lens, N_V6_LENS, pool->few, pool->v6, &pool->n6);
}

static void rnd_cidr(const struct len_pool *pool, uint8_t family, struct pf_cidr *c,
		     unsigned min_len)
{
	const uint8_t *lens = family == PF_FAMILY_V4 ? pool->v4 : pool->v6;
	size_t n = family == PF_FAMILY_V4 ? pool->n4 : pool->n6;
	char text[64], addr[INET6_ADDRSTRLEN], err[128];
	uint8_t raw[16];
	unsigned len;

	do
		len = lens[rnd((unsigned)n)];
	while (len < min_len);
	rnd_addr(family, raw);
	inet_ntop(family == PF_FAMILY_V4 ? AF_INET : AF_INET6, raw, addr, sizeof(addr));
	snprintf(text, sizeof(text), "%s/%u", addr, len);
	assert_int_equal(pf_cidr_parse(text, c, err, sizeof(err)), 0);
}

static void rnd_rule(const struct len_pool *pool, struct pf_peer_rule *r, uint8_t family)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };

	memset(r, 0, sizeof(*r));
	rnd_cidr(pool, family, &r->cidr, 0);
	r->except = calloc(4, sizeof(*r->except));
	r->ports = calloc(4, sizeof(*r->ports));
	assert_non_null(r->except);
	assert_non_null(r->ports);
	/* A host route (/32, /128) has no room for a hole. */
	for (unsigned i = rnd(4), tries = 0;
	     i && tries < 20 && r->cidr.len < pf_cidr_max_len(family); tries++) {
		struct pf_cidr x;

		rnd_cidr(pool, family, &x, r->cidr.len + 1);
		if (!pf_cidr_contains(&r->cidr, &x) || x.len == r->cidr.len)
			continue;
		r->except[r->n_except++] = x;
		i--;
	}
	for (unsigned i = rnd(4); i; i--) {
		struct pf_port_rule *p = &r->ports[r->n_ports++];

		p->proto = protos[rnd(3)];
		if (rnd(5)) {
			p->port = (uint16_t)(75 + rnd(15));
			p->end_port = rnd(2) ? p->port : (uint16_t)(p->port + rnd(8));
		}
	}
}

static void rnd_spec(struct pf_policy_spec *spec)
{
	struct len_pool pool;

	rnd_pool(&pool);
	memset(spec, 0, sizeof(*spec));
	for (int d = 0; d < 2; d++) {
		struct pf_dir_policy *dp = &spec->dir[d];
		unsigned pick = rnd(10);

		dp->isolation = pick == 0 ? PF_ISO_UNKNOWN : pick == 1 ? PF_ISO_OPEN : PF_ISO_ISOLATED;
		dp->rules = calloc(9, sizeof(*dp->rules));
		assert_non_null(dp->rules);
		/* Many lengths only show with enough rules and holes. */
		for (unsigned r = pool.few ? rnd(9) : 6 + rnd(3); r; r--)
			rnd_rule(&pool, &dp->rules[dp->n_rules++],
				 rnd(4) ? PF_FAMILY_V4 : PF_FAMILY_V6);
	}
}

/* Prefer addresses on rule and hole boundaries: that is where bugs live. */
static void rnd_peer(const struct pf_policy_spec *spec, enum pf_dir dir, uint8_t *family,
		     uint8_t *addr)
{
	const struct pf_dir_policy *dp = &spec->dir[dir];

	*family = rnd(4) ? PF_FAMILY_V4 : PF_FAMILY_V6;
	rnd_addr(*family, addr);
	if (dp->n_rules && rnd(4)) {
		const struct pf_peer_rule *r = &dp->rules[rnd((unsigned)dp->n_rules)];
		const struct pf_cidr *c = r->n_except && rnd(2) ? &r->except[rnd((unsigned)r->n_except)]
								: &r->cidr;
		unsigned max = pf_cidr_max_len(c->family);

		*family = c->family;
		for (unsigned bit = 0; bit < max; bit++) {
			uint8_t mask = (uint8_t)(0x80 >> (bit % 8));

			if (bit < c->len)
				addr[bit / 8] = (uint8_t)((addr[bit / 8] & ~mask) | (c->addr[bit / 8] & mask));
			else if (rnd(2) && bit < max)
				addr[bit / 8] ^= mask;
		}
		if (*family == PF_FAMILY_V4)
			memset(addr + 4, 0, 12);
	}
}

static void build_pkt(struct pf_test_pkt *p, enum pf_dir dir, uint8_t family,
		      const uint8_t *peer, const struct pf_test_l4 *l4)
{
	char peer_text[INET6_ADDRSTRLEN];
	const char *pod = family == PF_FAMILY_V4 ? "10.9.9.9" : "fd09::9";

	inet_ntop(family == PF_FAMILY_V4 ? AF_INET : AF_INET6, peer, peer_text, sizeof(peer_text));
	if (family == PF_FAMILY_V4)
		dir == PF_DIR_INGRESS ? pf_test_pkt_v4(p, peer_text, pod, l4)
				      : pf_test_pkt_v4(p, pod, peer_text, l4);
	else
		dir == PF_DIR_INGRESS ? pf_test_pkt_v6(p, peer_text, pod, l4)
				      : pf_test_pkt_v6(p, pod, peer_text, l4);
}

static void compiled_maps_and_program_agree_with_the_spec(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP };
	long cases = 0, allowed = 0, layout[2] = { 0 }; /* isolated cases: hashed, trie */
	uint16_t next_sport = 1024;

	/* One datapath for every policy (loading one takes most of a second):
	 * each round swaps set 7 to a new policy, so generations come and go as
	 * under an agent, and rebinds the pod, which forgets the flows the
	 * round before tracked. Within a round each case is a flow of its own
	 * (a new source port). */
	struct pf_datapath *dp = pf_test_datapath(PF_MODE_STANDARD, false);

	(void)state;
	print_message("seed %u, %ld cases (replay: PF_DIFF_SEED=%u)\n", seed, total_cases, seed);
	while (cases < total_cases) {
		uint32_t mode = rnd(2) ? PF_MODE_STRICT : PF_MODE_STANDARD;
		struct pf_policy_spec spec;
		struct pf_compiled c;
		struct pf_set_val set;
		uint32_t set_id = 7;

		rnd_spec(&spec);
		assert_int_equal(pf_datapath_configure(dp, mode, false), 0);
		assert_int_equal(pf_datapath_pod_unbind(dp, ifx[0]), 0);
		assert_int_equal(pf_datapath_pod_bind(dp, ifx[0], 7), 0);
		assert_int_equal(pf_policy_compile(&spec, &c), 0);
		assert_int_equal(pf_policy_set_apply(dp, 7, &c), 0);
		assert_int_equal(bpf_map_lookup_elem(pf_datapath_map_fd(dp, PF_MAP_SETS), &set_id,
						     &set), 0);
		for (int i = 0; i < ROUND_CASES && cases < total_cases; i++, cases++) {
			enum pf_dir dir = rnd(2) ? PF_DIR_INGRESS : PF_DIR_EGRESS;
			struct pf_test_l4 l4 = { .proto = protos[rnd(4)], .sport = next_sport++,
						 .dport = (uint16_t)(73 + rnd(20)), .icmp_type = 8 };
			uint8_t family, peer[16];
			struct pf_test_pkt p;
			bool want, has_ports = l4.proto != IPPROTO_ICMP;

			if (l4.proto == IPPROTO_ICMP)
				l4.dport = 0;
			rnd_peer(&spec, dir, &family, peer);
			if (family == PF_FAMILY_V6 && l4.proto == IPPROTO_ICMP) {
				l4.proto = IPPROTO_ICMPV6;
				l4.icmp_type = 128;
			}
			want = ref_allows(&spec, mode, dir, family, peer, l4.proto, l4.dport, has_ports);
			if (spec.dir[dir].isolation == PF_ISO_ISOLATED)
				layout[set.n_plens[dir][family == PF_FAMILY_V6] ==
				       PF_SET_PLENS_TRIE]++;
			if (spec.dir[dir].isolation == PF_ISO_ISOLATED &&
			    pf_compiled_allows(&c, dir, family, peer, l4.proto, l4.dport, has_ports) != want)
				fail_msg("seed %u case %ld: user-space compiled lookup disagrees", seed, cases);
			build_pkt(&p, dir, family, peer, &l4);
			int got = pf_test_run(dp, dir, ifx[0], &p);

			if ((got == 0) != want) {
				char a[INET6_ADDRSTRLEN];
				json_t *j = pf_policy_spec_to_json(&spec);
				char *text = json_dumps(j, JSON_COMPACT);

				inet_ntop(family == 4 ? AF_INET : AF_INET6, peer, a, sizeof(a));
				fail_msg("seed %u case %ld: %s %s peer %s proto %u dport %u: program says %s, "
					 "spec says %s\npolicy (mode %s): %s", seed, cases,
					 dir == PF_DIR_INGRESS ? "ingress" : "egress", family == 4 ? "v4" : "v6",
					 a, l4.proto, l4.dport, got ? "deny" : "allow", want ? "allow" : "deny",
					 mode ? "strict" : "standard", text);
			}
			allowed += want;
		}
		pf_compiled_free(&c);
		pf_policy_spec_free(&spec);
	}
	pf_test_datapath_destroy(dp);
	print_message("%ld cases agree (%ld allowed, %ld denied; isolated: %ld hashed by prefix "
		      "length, %ld through the trie)\n", cases, allowed, cases - allowed, layout[0],
		      layout[1]);
	/* A generator that only ever produced one verdict, or one layout of
	 * the maps, would prove little. */
	assert_true(allowed > cases / 10 && allowed < cases - cases / 10);
	assert_true(layout[0] > cases / 10 && layout[1] > cases / 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(compiled_maps_and_program_agree_with_the_spec),
	};
	const char *s = getenv("PF_DIFF_SEED"), *n = getenv("PF_DIFF_CASES");

	seed = s ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL);
	if (n)
		total_cases = strtol(n, NULL, 10);
	if (pf_test_netns(1, ifx)) {
		fprintf(stderr, "cannot make a network namespace with a veth (root needed)\n");
		return 1;
	}
	return cmocka_run_group_tests_name("datapath_differential", tests, NULL, NULL);
}
