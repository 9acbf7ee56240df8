// SPDX-License-Identifier: Apache-2.0
/*
 * bench/datapath: what the datapath costs per packet, as the kernel measures
 * it (bpf_prog_test_run_opts, ns per repetition), next to the floor: a TC
 * program that returns at once, run on the same packet the same way.
 *
 * Figures: the floor; established flows (conntrack hit); new flows of IPv4
 * and IPv6 against policy sets of 1, 100, 10,000 and 60,000 CIDR entries
 * with 1 or 100 port ranges each. A new-flow packet comes from a peer the
 * policy names, to a port it denies: no conntrack entry is made, so every
 * repetition walks the whole new-flow path (conntrack miss, the pod's
 * lookup, one hash lookup per prefix length of the set, the port search).
 * Every run's verdict and the
 * datapath's own counters are checked, so a figure is what its label says.
 *
 * Runs as root in a private network namespace (bpf_prog_test_run needs a
 * real ifindex for the pod veth) under a pin root of its own, removed at
 * exit and on SIGINT/SIGTERM.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <jansson.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

#include "datapath.h"
#include "log.h"
#include "policy_compile.h"
#include "policy_spec.h"

#define BENCH_REPS 1000000u     /* repetitions of one run */
#define BENCH_RUNS 5            /* runs per figure; the median is reported */
#define BENCH_ONCE_FLOWS 10000u /* single-repetition runs of the allowed new flow */
#define BENCH_MAX_RANGES 100
#define BENCH_SPORT_ESTABLISHED 40000
#define BENCH_SPORT_ONCE_BASE 20000

static const size_t bench_cidr_counts[] = { 1, 100, 10000, 60000 };
static const size_t bench_range_counts[] = { 1, BENCH_MAX_RANGES };
static const int bench_families[] = { 4, 6 };
#define BENCH_ROWS (2 * 4 * 2)
/* The headline figures (and the goals) are those of this policy size with
 * one port range. */
#define BENCH_HEADLINE_CIDRS 10000

struct bench_pkt {
	uint8_t data[96];
	uint32_t len;
};

/* A figure and the floor measured in the same rounds. */
struct bench_fig {
	double ns;       /* 0: the row has no such figure */
	double floor_ns;
};

struct bench_row {
	int family;
	size_t cidrs, ranges;
	struct bench_fig prefix;      /* denied new flow, peer inside a prefix entry */
	struct bench_fig host;        /* denied new flow, peer is a host entry */
	struct bench_fig established; /* conntrack hit */
	struct bench_fig once;        /* allowed new flow, mean of single repetitions */
	double compile_ms, apply_ms;
	long long map_bytes;          /* what the set adds to the rule and port maps */
};

/* Three figures of BENCH_RUNS runs per row, each run after a floor run. */
#define BENCH_FLOOR_RUNS (BENCH_ROWS * 3 * BENCH_RUNS)

struct bench {
	int ifindex;
	int floor_fd;
	struct pf_datapath *dp;
	uint64_t counters[PF_REASON__COUNT];
	uint32_t floor_runs[BENCH_FLOOR_RUNS];
	size_t n_floor_runs;
	struct bench_row rows[BENCH_ROWS];
	size_t n_rows;
};

static char bench_root[64];

/* Killed mid-run: leave no pins behind (the namespace dies with us). */
static void bench_on_signal(int sig)
{
	pf_datapath_unpin(bench_root);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int bench_netns_veth(int *ifindex)
{
	struct nl_sock *sk;
	int err;

	if (unshare(CLONE_NEWNET)) {
		err = -errno;
		fprintf(stderr, "datapath bench: unshare(CLONE_NEWNET): %s (run as root)\n",
			strerror(errno));
		return err;
	}
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	err = nl_connect(sk, NETLINK_ROUTE);
	if (!err)
		err = rtnl_link_veth_add(sk, "pfb0", "pfb0p", getpid());
	nl_socket_free(sk);
	if (err < 0) {
		fprintf(stderr, "datapath bench: create veth pfb0 in a private netns: %s\n",
			nl_geterror(err));
		return -EIO;
	}
	*ifindex = (int)if_nametoindex("pfb0");
	if (!*ifindex) {
		fprintf(stderr, "datapath bench: find veth pfb0: %s\n", strerror(errno));
		return -ENODEV;
	}
	return 0;
}

/* The floor: r0 = TC_ACT_OK; exit. */
static int bench_floor_load(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = TC_ACT_OK },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "pf_bench_floor", "GPL", insns, 2, NULL);

	if (fd < 0)
		fprintf(stderr, "datapath bench: load the floor program: %s\n", strerror(errno));
	return fd;
}

static void bench_put16(uint8_t *d, uint16_t v)
{
	d[0] = (uint8_t)(v >> 8);
	d[1] = (uint8_t)v;
}

/* Ethernet + IPv4 or IPv6 + TCP SYN from peer:sport to the pod's dport. */
static void bench_pkt_build(struct bench_pkt *p, int family, const uint8_t *peer,
			    uint16_t sport, uint16_t dport)
{
	static const uint8_t pod4[4] = { 10, 250, 0, 1 };
	static const uint8_t pod6[16] = { 0xfd, 0, 0, 0, 0, 0xfa, [15] = 1 };
	uint8_t *ip = p->data + ETH_HLEN, *tcp;
	uint32_t l3 = family == 4 ? 20 : 40;

	memset(p, 0, sizeof(*p));
	p->data[0] = p->data[6] = 0x02;
	p->data[5] = 1;
	p->data[11] = 2;
	bench_put16(p->data + 12, family == 4 ? ETH_P_IP : ETH_P_IPV6);
	if (family == 4) {
		ip[0] = 0x45;
		bench_put16(ip + 2, 20 + 20);
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 12, peer, 4);
		memcpy(ip + 16, pod4, 4);
	} else {
		ip[0] = 0x60;
		bench_put16(ip + 4, 20);
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;
		memcpy(ip + 8, peer, 16);
		memcpy(ip + 24, pod6, 16);
	}
	tcp = ip + l3;
	bench_put16(tcp, sport);
	bench_put16(tcp + 2, dport);
	tcp[12] = 5 << 4;
	tcp[13] = 0x02; /* SYN */
	p->len = ETH_HLEN + l3 + 20;
}

/* Entry i of a policy set: every tenth a prefix (a /24 or a /64, each in a
 * range of its own), the others single peers (/32, /128), the shape a
 * policy naming pods plus a few ipBlocks resolves to. */
static void bench_entry(int family, size_t i, struct pf_cidr *c)
{
	memset(c, 0, sizeof(*c));
	c->family = (uint8_t)family;
	if (i % 10 == 0) {
		size_t k = i / 10;

		if (family == 4) {
			c->addr[0] = 100;
			c->addr[1] = (uint8_t)(64 + (k >> 8));
			c->addr[2] = (uint8_t)k;
			c->len = 24;
		} else {
			c->addr[0] = 0xfd;
			c->addr[3] = 0x64;
			c->addr[6] = (uint8_t)(k >> 8);
			c->addr[7] = (uint8_t)k;
			c->len = 64;
		}
	} else if (family == 4) {
		c->addr[0] = 10;
		c->addr[1] = (uint8_t)(1 + (i >> 16));
		c->addr[2] = (uint8_t)(i >> 8);
		c->addr[3] = (uint8_t)i;
		c->len = 32;
	} else {
		c->addr[0] = 0xfd;
		c->addr[3] = 0x10;
		c->addr[12] = (uint8_t)(i >> 24);
		c->addr[13] = (uint8_t)(i >> 16);
		c->addr[14] = (uint8_t)(i >> 8);
		c->addr[15] = (uint8_t)i;
		c->len = 128;
	}
}

/* The peers a row measures: one inside the last prefix entry, and the last
 * host entry (none when the set has a single entry). */
static void bench_peer_in_prefix(int family, size_t cidrs, uint8_t *addr)
{
	struct pf_cidr c;

	bench_entry(family, (cidrs - 1) / 10 * 10, &c);
	memcpy(addr, c.addr, 16);
	addr[family == 4 ? 3 : 15] = 77;
}

static bool bench_peer_host(int family, size_t cidrs, uint8_t *addr)
{
	size_t i = (cidrs - 1) % 10 ? cidrs - 1 : cidrs - 2;
	struct pf_cidr c;

	if (cidrs < 2)
		return false;
	bench_entry(family, i, &c);
	memcpy(addr, c.addr, 16);
	return true;
}

/* TCP ranges 1000+10r .. 1004+10r. The allowed port is in the last range
 * and the denied one in the gap before it (below the only range when there
 * is one), so the port search walks every chunk. */
static uint16_t bench_port_allowed(size_t ranges)
{
	return (uint16_t)(1000 + 10 * (ranges - 1));
}

static uint16_t bench_port_denied(size_t ranges)
{
	return (uint16_t)(bench_port_allowed(ranges) - 3);
}

/* The pod's ingress policy: cidrs peers, each with the same port ranges. */
static int bench_spec_build(struct pf_policy_spec *spec, int family, size_t cidrs,
			    struct pf_port_rule *ports, size_t ranges)
{
	struct pf_dir_policy *in = &spec->dir[PF_DIR_INGRESS];

	memset(spec, 0, sizeof(*spec));
	for (size_t r = 0; r < ranges; r++)
		ports[r] = (struct pf_port_rule){ .proto = IPPROTO_TCP,
						  .port = (uint16_t)(1000 + 10 * r),
						  .end_port = (uint16_t)(1004 + 10 * r) };
	in->isolation = PF_ISO_ISOLATED;
	in->rules = calloc(cidrs, sizeof(*in->rules));
	if (!in->rules)
		return -ENOMEM;
	in->n_rules = cidrs;
	for (size_t i = 0; i < cidrs; i++) {
		bench_entry(family, i, &in->rules[i].cidr);
		in->rules[i].ports = ports;
		in->rules[i].n_ports = ranges;
	}
	return 0;
}

static double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Bytes the kernel charges for a map: the memlock line of its fdinfo, the
 * map's current usage for maps without preallocation. */
static long long bench_map_bytes(int fd)
{
	char path[64], line[128];
	long long bytes = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &bytes) == 1)
			break;
	fclose(f);
	return bytes;
}

static long long bench_rule_maps_bytes(struct pf_datapath *dp)
{
	const enum pf_map_id ids[] = { PF_MAP_RULES, PF_MAP_HOSTS4, PF_MAP_HOSTS6, PF_MAP_PORTS };
	long long sum = 0;

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		long long b = bench_map_bytes(pf_datapath_map_fd(dp, ids[i]));

		if (b < 0)
			return -1;
		sum += b;
	}
	return sum;
}

/* One bpf_prog_test_run_opts call; the verdict must be the expected one. */
static int bench_run(int prog_fd, int ifindex, const struct bench_pkt *p, uint32_t repeat,
		     int verdict, uint32_t *ns)
{
	struct __sk_buff ctx = { .ifindex = (uint32_t)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->data, .data_size_in = p->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o)) {
		int err = -errno;

		fprintf(stderr, "datapath bench: bpf_prog_test_run_opts (repeat %u): %s\n",
			repeat, strerror(errno));
		return err;
	}
	if ((int)o.retval != verdict) {
		fprintf(stderr, "datapath bench: verdict %u where %d was expected: the figure "
			"would not measure what it claims\n", o.retval, verdict);
		return -EPROTO;
	}
	*ns = o.duration;
	return 0;
}

static int bench_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t bench_median_of(uint32_t *v, size_t n)
{
	qsort(v, n, sizeof(v[0]), bench_u32_cmp);
	return v[n / 2];
}

/* BENCH_RUNS runs of BENCH_REPS repetitions, each after a floor run on the
 * same packet: the medians of both. */
static int bench_measure(struct bench *b, int prog_fd, const struct bench_pkt *p, int verdict,
			 struct bench_fig *fig)
{
	uint32_t runs[BENCH_RUNS], floors[BENCH_RUNS];

	for (int r = 0; r < BENCH_RUNS; r++) {
		int err = bench_run(b->floor_fd, b->ifindex, p, BENCH_REPS, TC_ACT_OK, &floors[r]);

		if (!err)
			err = bench_run(prog_fd, b->ifindex, p, BENCH_REPS, verdict, &runs[r]);
		if (err)
			return err;
		if (!floors[r]) {
			fprintf(stderr, "datapath bench: a floor run measured 0 ns\n");
			return -ERANGE;
		}
		b->floor_runs[b->n_floor_runs++] = floors[r];
	}
	fig->ns = bench_median_of(runs, BENCH_RUNS);
	fig->floor_ns = bench_median_of(floors, BENCH_RUNS);
	return 0;
}

/* Means of BENCH_ONCE_FLOWS single-repetition runs, each the first packet of
 * a flow of its own (a new source port), each after a floor run. */
static int bench_measure_once(struct bench *b, int prog_fd, int family, const uint8_t *peer,
			      uint16_t dport, struct bench_fig *fig)
{
	uint64_t sum = 0, floor_sum = 0;
	struct bench_pkt p;

	for (uint32_t i = 0; i < BENCH_ONCE_FLOWS; i++) {
		uint32_t one, floor;
		int err;

		bench_pkt_build(&p, family, peer, (uint16_t)(BENCH_SPORT_ONCE_BASE + i), dport);
		err = bench_run(b->floor_fd, b->ifindex, &p, 1, TC_ACT_OK, &floor);
		if (!err)
			err = bench_run(prog_fd, b->ifindex, &p, 1, TC_ACT_OK, &one);
		if (err)
			return err;
		sum += one;
		floor_sum += floor;
	}
	fig->ns = (double)sum / BENCH_ONCE_FLOWS;
	fig->floor_ns = (double)floor_sum / BENCH_ONCE_FLOWS;
	return 0;
}

/* The datapath's verdict counters since the last check must show exactly
 * `allowed` policy allows and `denied` policy denies, and nothing else: a
 * conntrack hit counts nothing, a new flow counts once. */
static int bench_counters_check(struct bench *b, uint64_t allowed, uint64_t denied,
				const char *what)
{
	uint64_t now[PF_REASON__COUNT], d[PF_REASON__COUNT], other = 0;
	int err = pf_datapath_read_metrics(b->dp, now);

	if (err) {
		fprintf(stderr, "datapath bench: read pf_metrics: %s\n", strerror(-err));
		return err;
	}
	for (int r = 0; r < PF_REASON__COUNT; r++) {
		d[r] = now[r] - b->counters[r];
		if (r != PF_REASON_POLICY_ALLOW && r != PF_REASON_POLICY_DENY)
			other += d[r];
	}
	memcpy(b->counters, now, sizeof(now));
	if (d[PF_REASON_POLICY_ALLOW] == allowed && d[PF_REASON_POLICY_DENY] == denied && !other)
		return 0;
	fprintf(stderr, "datapath bench: %s: the counters show %llu allowed, %llu denied and "
		"%llu other new flows where %llu, %llu and 0 were expected\n", what,
		(unsigned long long)d[PF_REASON_POLICY_ALLOW],
		(unsigned long long)d[PF_REASON_POLICY_DENY], (unsigned long long)other,
		(unsigned long long)allowed, (unsigned long long)denied);
	return -EPROTO;
}

/* Compiles and applies the row's policy set as set_id, bound to the pod. */
static int bench_row_apply(struct bench *b, struct bench_row *row, uint32_t set_id)
{
	struct pf_port_rule ports[BENCH_MAX_RANGES];
	struct pf_policy_spec spec;
	struct pf_compiled c;
	long long before = bench_rule_maps_bytes(b->dp), after;
	double t0, t1, t2;
	int err = bench_spec_build(&spec, row->family, row->cidrs, ports, row->ranges);

	if (err)
		return err;
	t0 = bench_now_ms();
	err = pf_policy_compile(&spec, &c);
	t1 = bench_now_ms();
	free(spec.dir[PF_DIR_INGRESS].rules); /* the ports array is on our stack */
	if (err) {
		fprintf(stderr, "datapath bench: compile %zu CIDRs x %zu ranges: %s\n",
			row->cidrs, row->ranges, strerror(-err));
		return err;
	}
	err = pf_policy_set_apply(b->dp, set_id, &c);
	t2 = bench_now_ms();
	pf_compiled_free(&c);
	if (err)
		return err; /* pf_policy_set_apply said what failed */
	after = bench_rule_maps_bytes(b->dp);
	row->compile_ms = t1 - t0;
	row->apply_ms = t2 - t1;
	row->map_bytes = before < 0 || after < 0 ? -1 : after - before;
	return pf_datapath_pod_bind(b->dp, b->ifindex, set_id);
}

static int bench_row_measure(struct bench *b, struct bench_row *row, bool quick)
{
	const uint64_t all_runs = (uint64_t)BENCH_RUNS * BENCH_REPS;
	int fd = pf_datapath_prog_fd(b->dp, PF_DIR_INGRESS), err;
	uint16_t allowed = bench_port_allowed(row->ranges);
	uint16_t denied = bench_port_denied(row->ranges);
	uint8_t peer[16] = { 0 };
	struct bench_pkt p;
	uint32_t first;

	bench_peer_in_prefix(row->family, row->cidrs, peer);
	bench_pkt_build(&p, row->family, peer, BENCH_SPORT_ESTABLISHED, denied);
	err = bench_measure(b, fd, &p, TC_ACT_SHOT, &row->prefix);
	if (!err)
		err = bench_counters_check(b, 0, all_runs, "denied, peer in a prefix");
	if (!err && bench_peer_host(row->family, row->cidrs, peer)) {
		bench_pkt_build(&p, row->family, peer, BENCH_SPORT_ESTABLISHED, denied);
		err = bench_measure(b, fd, &p, TC_ACT_SHOT, &row->host);
		if (!err)
			err = bench_counters_check(b, 0, all_runs, "denied, peer is a host");
	}
	if (err)
		return err;

	/* Established: one allowed packet opens the flow, then the same packet
	 * repeated is a conntrack hit (and counts nothing). */
	bench_peer_in_prefix(row->family, row->cidrs, peer);
	bench_pkt_build(&p, row->family, peer, BENCH_SPORT_ESTABLISHED, allowed);
	err = bench_run(fd, b->ifindex, &p, 1, TC_ACT_OK, &first);
	if (!err)
		err = bench_measure(b, fd, &p, TC_ACT_OK, &row->established);
	if (!err)
		err = bench_counters_check(b, 1, 0, "established");
	if (quick || err)
		return err;
	err = bench_measure_once(b, fd, row->family, peer, allowed, &row->once);
	if (!err)
		err = bench_counters_check(b, BENCH_ONCE_FLOWS, 0, "allowed new flows");
	return err;
}

/* Every row in turn: the pod leaves the previous set (forgetting its flows,
 * so the apply has none to re-check), that set goes, the row's set comes.
 * Quick: the headline size only, without the single-repetition column. */
static int bench_rows(struct bench *b, bool quick)
{
	for (size_t f = 0; f < 2; f++) {
		for (size_t c = 0; c < 4; c++) {
			for (size_t r = 0; r < 2; r++) {
				struct bench_row *row = &b->rows[b->n_rows];
				uint32_t set_id = (uint32_t)b->n_rows + 1;
				int err;

				if (quick && bench_cidr_counts[c] != BENCH_HEADLINE_CIDRS)
					continue;
				row->family = bench_families[f];
				row->cidrs = bench_cidr_counts[c];
				row->ranges = bench_range_counts[r];
				err = pf_datapath_pod_unbind(b->dp, b->ifindex);
				if (!err && set_id > 1)
					err = pf_policy_set_delete(b->dp, set_id - 1);
				if (!err)
					err = bench_row_apply(b, row, set_id);
				if (!err)
					err = bench_row_measure(b, row, quick);
				if (err) {
					fprintf(stderr, "datapath bench: IPv%d, %zu CIDRs x %zu "
						"ranges failed\n", row->family, row->cidrs,
						row->ranges);
					return err;
				}
				b->n_rows++;
			}
		}
	}
	return 0;
}

static const struct bench_row *bench_find(const struct bench *b, int family, size_t cidrs,
					  size_t ranges)
{
	for (size_t i = 0; i < b->n_rows; i++)
		if (b->rows[i].family == family && b->rows[i].cidrs == cidrs &&
		    b->rows[i].ranges == ranges)
			return &b->rows[i];
	return NULL;
}

static double bench_ratio(const struct bench_fig *f)
{
	return f->ns / f->floor_ns;
}

/* "  ns  ratio" in 13 columns; a figure of 0 is one the row has not. */
static void bench_cell(char *buf, const struct bench_fig *f)
{
	if (f->ns > 0)
		snprintf(buf, 16, "%5.0f %6.2fx", f->ns, bench_ratio(f));
	else
		snprintf(buf, 16, "%5s %7s", "-", "");
}

/* The floor over the whole benchmark: median, lowest and highest run (the
 * median sorts the runs in place). */
static void bench_floor_summary(struct bench *b, uint32_t *median, uint32_t *lo, uint32_t *hi)
{
	*median = bench_median_of(b->floor_runs, b->n_floor_runs);
	*lo = b->floor_runs[0];
	*hi = b->floor_runs[b->n_floor_runs - 1];
}

static void bench_print_table(struct bench *b, const char *kernel)
{
	const struct bench_row *h4 = bench_find(b, 4, BENCH_HEADLINE_CIDRS, 1);
	const struct bench_row *h6 = bench_find(b, 6, BENCH_HEADLINE_CIDRS, 1);
	uint32_t floor, lo, hi;
	char label[64];

	bench_floor_summary(b, &floor, &lo, &hi);
	printf("podfence datapath: ns per packet as bpf_prog_test_run_opts reports it (whole ns),\n"
	       "median of %d runs of %u repetitions each. Each run follows a run of the floor\n"
	       "on the same packet; x = the figure over the median of those floor runs.\n"
	       "kernel %s, %ld CPUs\n\n", BENCH_RUNS, BENCH_REPS, kernel,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-48s %5u ns          (median of %zu runs; %u..%u)\n",
	       "floor (TC program returning TC_ACT_OK at once)", floor, b->n_floor_runs, lo, hi);
	printf("%-48s %5.0f ns %7.2fx\n", "established IPv4 (conntrack hit)", h4->established.ns,
	       bench_ratio(&h4->established));
	printf("%-48s %5.0f ns %7.2fx\n", "established IPv6 (conntrack hit)", h6->established.ns,
	       bench_ratio(&h6->established));
	snprintf(label, sizeof(label), "new flow IPv4, %d CIDRs, 1 port range",
		 BENCH_HEADLINE_CIDRS);
	printf("%-48s %5.0f ns %7.2fx\n\n", label, h4->prefix.ns, bench_ratio(&h4->prefix));
	printf("goals: established <= 2x the floor: IPv4 %s, IPv6 %s; new flow IPv4 at %d CIDRs "
	       "<= 4x: %s\n\n", bench_ratio(&h4->established) <= 2 ? "met" : "missed",
	       bench_ratio(&h6->established) <= 2 ? "met" : "missed", BENCH_HEADLINE_CIDRS,
	       bench_ratio(&h4->prefix) <= 4 ? "met" : "missed");

	printf("New flows to a denied port (no conntrack entry is made, so every repetition\n"
	       "takes the whole new-flow path). The sets have two prefix lengths, so each\n"
	       "length is one hash lookup. \"in prefix\": the peer lies in a /24 (/64) entry:\n"
	       "the /32 (/128) lookup misses, the /24 (/64) one hits. \"host\": the peer is a\n"
	       "/32 (/128) entry: one lookup. \"established\": the in-prefix peer to an allowed\n"
	       "port, conntrack hit. 1 port range: in the entry; 100: in pf_ports chunks.\n\n");
	printf("%-4s %6s %6s | %-13s | %-13s | %-13s | %-13s | %8s %8s %10s\n", "fam", "CIDRs",
	       "ranges", "in prefix", "host", "established", "allowed new*", "compile", "apply",
	       "rule maps");
	printf("%-4s %6s %6s | %-13s | %-13s | %-13s | %-13s | %8s %8s %10s\n", "", "", "",
	       "   ns      x", "   ns      x", "   ns      x", "   ns      x", "ms", "ms", "KiB");
	for (size_t i = 0; i < b->n_rows; i++) {
		const struct bench_row *r = &b->rows[i];
		char prefix[16], host[16], est[16], once[16];

		bench_cell(prefix, &r->prefix);
		bench_cell(host, &r->host);
		bench_cell(est, &r->established);
		bench_cell(once, &r->once);
		printf("IPv%d %6zu %6zu | %s | %s | %s | %s | %8.1f %8.1f %10lld\n", r->family,
		       r->cidrs, r->ranges, prefix, host, est, once, r->compile_ms, r->apply_ms,
		       r->map_bytes < 0 ? -1 : r->map_bytes / 1024);
	}
	printf("\n* allowed new flow: mean of %u single-repetition runs, each from a new source\n"
	       "  port (conntrack miss, rules, port search, conntrack insert), each after a\n"
	       "  single-repetition floor run. One repetition pays the timer reads and runs\n"
	       "  with caches cooled by the syscall: compare it with its own floor only.\n"
	       "compile: pf_policy_compile; apply: pf_policy_set_apply (write the maps, swap);\n"
	       "rule maps: what the set adds to pf_rules, pf_hosts4, pf_hosts6 and pf_ports\n"
	       "(fdinfo memlock).\n",
	       BENCH_ONCE_FLOWS);
}

static json_t *bench_fig_json(const struct bench_fig *f)
{
	if (!(f->ns > 0))
		return json_null();
	return json_pack("{s:f, s:f, s:f}", "ns", f->ns, "floor_ns", f->floor_ns, "ratio",
			 bench_ratio(f));
}

static json_t *bench_row_json(const struct bench_row *r)
{
	return json_pack("{s:i, s:I, s:I, s:f, s:f, s:o, s:o, s:o, s:o, s:f, s:f, s:I}",
			 "family", r->family, "cidrs", (json_int_t)r->cidrs, "port_ranges",
			 (json_int_t)r->ranges, "ns", r->prefix.ns, "ratio",
			 bench_ratio(&r->prefix), "peer_in_prefix", bench_fig_json(&r->prefix),
			 "peer_host", bench_fig_json(&r->host), "established",
			 bench_fig_json(&r->established), "allowed_new_flow_once",
			 bench_fig_json(&r->once), "compile_ms", r->compile_ms, "apply_ms",
			 r->apply_ms, "rule_map_bytes", (json_int_t)r->map_bytes);
}

static int bench_print_json(struct bench *b, const char *kernel)
{
	const struct bench_row *h4 = bench_find(b, 4, BENCH_HEADLINE_CIDRS, 1);
	const struct bench_row *h6 = bench_find(b, 6, BENCH_HEADLINE_CIDRS, 1);
	json_t *root, *by_count = json_object(), *ratios = json_object(), *rows = json_array();
	uint32_t floor, lo, hi;
	char *text;

	bench_floor_summary(b, &floor, &lo, &hi);
	for (size_t i = 0; i < b->n_rows; i++) {
		const struct bench_row *r = &b->rows[i];
		char key[24];

		json_array_append_new(rows, bench_row_json(r));
		if (r->family == 4 && r->ranges == 1) {
			snprintf(key, sizeof(key), "%zu", r->cidrs);
			json_object_set_new(by_count, key, json_real(r->prefix.ns));
			json_object_set_new(ratios, key, json_real(bench_ratio(&r->prefix)));
		}
	}
	root = json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:o, s:o, s:o, s:I, s:i, s:I,"
			 " s:s, s:I}", "floor_ns", (double)floor, "floor_min_ns",
			 (double)lo, "floor_max_ns", (double)hi, "established_ns",
			 h4->established.ns, "established_ratio", bench_ratio(&h4->established),
			 "established_v6_ns", h6->established.ns, "established_v6_ratio",
			 bench_ratio(&h6->established), "new_flow_ns", by_count,
			 "new_flow_ratio", ratios, "new_flow", rows, "repetitions",
			 (json_int_t)BENCH_REPS, "runs", BENCH_RUNS, "floor_runs",
			 (json_int_t)b->n_floor_runs, "kernel", kernel, "cpus",
			 (json_int_t)sysconf(_SC_NPROCESSORS_ONLN));
	text = root ? json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) : NULL;
	json_decref(root);
	if (!text) {
		fprintf(stderr, "datapath bench: build the JSON report: out of memory\n");
		return -ENOMEM;
	}
	printf("%s\n", text);
	free(text);
	return 0;
}

static int bench_setup(struct bench *b)
{
	struct pf_datapath_opts o = { .pin_root = bench_root, .mode = PF_MODE_STANDARD };
	struct sigaction sa = { .sa_handler = bench_on_signal };
	bool adopted;
	int err;

	err = bench_netns_veth(&b->ifindex);
	if (err)
		return err;
	b->floor_fd = bench_floor_load();
	if (b->floor_fd < 0)
		return -EINVAL;
	snprintf(bench_root, sizeof(bench_root), "/sys/fs/bpf/podfence-bench-%d", getpid());
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = pf_datapath_open(&o, &b->dp, &adopted);
	if (err)
		return err; /* pf_datapath_open said what failed */
	if (adopted) {
		fprintf(stderr, "datapath bench: %s held a datapath already\n", bench_root);
		return -EEXIST;
	}
	err = pf_datapath_read_metrics(b->dp, b->counters);
	if (err)
		fprintf(stderr, "datapath bench: read pf_metrics: %s\n", strerror(-err));
	return err;
}

static void bench_teardown(struct bench *b)
{
	if (b->dp) {
		int err;

		pf_datapath_close(b->dp);
		err = pf_datapath_unpin(bench_root);
		if (err)
			fprintf(stderr, "datapath bench: remove pins under %s: %s\n", bench_root,
				strerror(-err));
	}
	if (b->floor_fd >= 0)
		close(b->floor_fd);
}

static void bench_usage(FILE *out)
{
	fprintf(out, "usage: datapath [--json] [--quick]\n"
		     "  Measures the podfence datapath per packet with bpf_prog_test_run_opts\n"
		     "  against a TC program that returns at once. Needs root (a private netns,\n"
		     "  a bpffs pin root of its own). --json: one JSON object on stdout.\n"
		     "  --quick: only the %d-entry sets (the headline figures), without the\n"
		     "  single-repetition column.\n", BENCH_HEADLINE_CIDRS);
}

int main(int argc, char **argv)
{
	static struct bench b = { .floor_fd = -1 };
	struct utsname un;
	bool json = false, quick = false;
	int err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--quick")) {
			quick = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			bench_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "datapath bench: unknown argument \"%s\"\n", argv[i]);
			bench_usage(stderr);
			return 2;
		}
	}
	uname(&un);
	pf_log_set_level(PF_LOG_WARN);
	err = bench_setup(&b);
	if (!err)
		err = bench_rows(&b, quick);
	if (!err)
		err = json ? bench_print_json(&b, un.release) : (bench_print_table(&b, un.release), 0);
	bench_teardown(&b);
	return err ? 1 : 0;
}
