// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <linux/if_ether.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

#include "pf_test.h"

int pf_test_netns(int n, int *out)
{
	struct nl_sock *sk;
	int err = 0;

	if (unshare(CLONE_NEWNET))
		return -errno;
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	if (nl_connect(sk, NETLINK_ROUTE)) {
		nl_socket_free(sk);
		return -ECONNREFUSED;
	}
	for (int i = 0; i < n && !err; i++) {
		char a[IF_NAMESIZE], b[IF_NAMESIZE];

		snprintf(a, sizeof(a), "pft%d", i);
		snprintf(b, sizeof(b), "pft%dp", i);
		if (rtnl_link_veth_add(sk, a, b, getpid()) < 0) {
			err = -EIO;
			break;
		}
		out[i] = (int)if_nametoindex(a);
		if (!out[i])
			err = -ENODEV;
	}
	nl_socket_free(sk);
	return err;
}

int pf_test_veth_at(int ifindex, const char *name)
{
	struct rtnl_link *link = rtnl_link_veth_alloc(), *peer;
	struct nl_sock *sk = nl_socket_alloc();
	char peer_name[IF_NAMESIZE];
	int err = -ENOMEM;

	if (!link || !sk)
		goto out;
	err = -ECONNREFUSED;
	if (nl_connect(sk, NETLINK_ROUTE))
		goto out;
	snprintf(peer_name, sizeof(peer_name), "%sp", name);
	rtnl_link_set_name(link, name);
	rtnl_link_set_ifindex(link, ifindex);
	peer = rtnl_link_veth_get_peer(link);
	rtnl_link_set_name(peer, peer_name);
	rtnl_link_put(peer);
	err = rtnl_link_add(sk, link, NLM_F_CREATE | NLM_F_EXCL) < 0 ? -EIO : 0;
	if (!err && (int)if_nametoindex(name) != ifindex)
		err = -EADDRNOTAVAIL;
out:
	if (link)
		rtnl_link_put(link);
	if (sk)
		nl_socket_free(sk);
	return err;
}

static int pf_test_seq;
static char pf_test_live_root[128];

/* A test killed mid-run (a timeout, ^C) still leaves no pins behind. */
static void pf_test_on_signal(int sig)
{
	if (pf_test_live_root[0])
		pf_datapath_unpin(pf_test_live_root);
	signal(sig, SIG_DFL);
	raise(sig);
}

struct pf_datapath *pf_test_datapath(uint32_t mode, bool events)
{
	char root[128];
	struct pf_datapath_opts o = { .pin_root = root, .mode = mode, .events = events };
	struct pf_datapath *dp = NULL;
	bool adopted;

	snprintf(root, sizeof(root), "/sys/fs/bpf/podfence-test-%d-%d", getpid(), pf_test_seq++);
	pf_datapath_unpin(root);
	snprintf(pf_test_live_root, sizeof(pf_test_live_root), "%s", root);
	signal(SIGTERM, pf_test_on_signal);
	signal(SIGINT, pf_test_on_signal);
	if (pf_datapath_open(&o, &dp, &adopted)) {
		pf_datapath_unpin(root); /* what a failed load made, before failing */
		fail_msg("cannot load the datapath under %s", root);
	}
	assert_false(adopted);
	return dp;
}

void pf_test_datapath_destroy(struct pf_datapath *dp)
{
	char root[256];

	if (!dp)
		return;
	snprintf(root, sizeof(root), "%s", pf_datapath_root(dp));
	pf_datapath_close(dp);
	assert_int_equal(pf_datapath_unpin(root), 0);
	pf_test_live_root[0] = 0;
}

size_t pf_test_ct_count(struct pf_datapath *dp)
{
	union {
		struct pf_ct4_key k4;
		struct pf_ct6_key k6;
	} k, prev;
	size_t n = 0;

	for (int m = PF_MAP_CT4; m <= PF_MAP_CT6; m++) {
		int fd = pf_datapath_map_fd(dp, m);
		bool first = true;

		while (!bpf_map_get_next_key(fd, first ? NULL : &prev, &k)) {
			prev = k;
			first = false;
			n++;
		}
	}
	return n;
}

void pf_test_apply_json(struct pf_datapath *dp, uint32_t set_id, const char *json)
{
	struct pf_policy_spec spec;
	struct pf_compiled c;
	json_error_t jerr;
	char err[256] = "";
	json_t *root = json_loads(json, 0, &jerr);

	if (!root)
		fail_msg("test policy is not JSON: %s", jerr.text);
	if (pf_policy_spec_from_json(root, &spec, err, sizeof(err)))
		fail_msg("test policy rejected: %s", err);
	json_decref(root);
	assert_int_equal(pf_policy_compile(&spec, &c), 0);
	assert_int_equal(pf_policy_set_apply(dp, set_id, &c), 0);
	pf_compiled_free(&c);
	pf_policy_spec_free(&spec);
}

int pf_test_run(struct pf_datapath *dp, enum pf_dir dir, int ifindex,
		const struct pf_test_pkt *pkt)
{
	struct __sk_buff ctx = { .ifindex = (uint32_t)ifindex };
	uint8_t out[PF_TEST_MAX_PKT + 64];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt->data, .data_size_in = (uint32_t)pkt->len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	assert_int_equal(bpf_prog_test_run_opts(pf_datapath_prog_fd(dp, dir), &o), 0);
	return (int)o.retval;
}

static const uint8_t pf_mac_a[6] = { 0x02, 0, 0, 0, 0, 1 };
static const uint8_t pf_mac_b[6] = { 0x02, 0, 0, 0, 0, 2 };

static size_t pf_put_eth(uint8_t *d, uint16_t proto)
{
	struct ethhdr *eth = (struct ethhdr *)d;

	memcpy(eth->h_dest, pf_mac_a, 6);
	memcpy(eth->h_source, pf_mac_b, 6);
	eth->h_proto = htons(proto);
	return sizeof(*eth);
}

/* Writes the L4 header and a few payload bytes; returns the length. */
static size_t pf_put_l4(uint8_t *d, const struct pf_test_l4 *l4)
{
	switch (l4->proto) {
	case IPPROTO_TCP:
		memset(d, 0, 24);
		*(uint16_t *)d = htons(l4->sport);
		*(uint16_t *)(d + 2) = htons(l4->dport);
		d[12] = 5 << 4;
		d[13] = l4->tcp_flags ? l4->tcp_flags : 0x02;
		return 24;
	case IPPROTO_UDP:
		memset(d, 0, 12);
		*(uint16_t *)d = htons(l4->sport);
		*(uint16_t *)(d + 2) = htons(l4->dport);
		*(uint16_t *)(d + 4) = htons(12);
		return 12;
	case IPPROTO_SCTP:
		/* Common header, then an INIT chunk header. */
		memset(d, 0, 28);
		*(uint16_t *)d = htons(l4->sport);
		*(uint16_t *)(d + 2) = htons(l4->dport);
		d[12] = 1;
		*(uint16_t *)(d + 14) = htons(16);
		return 28;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		memset(d, 0, 12);
		d[0] = l4->icmp_type;
		*(uint16_t *)(d + 4) = htons(l4->sport);
		return 12;
	default:
		memset(d, 0xab, 8);
		return 8;
	}
}

static void pf_put_v4(struct pf_test_pkt *p, const char *src, const char *dst, uint8_t proto,
		      int n_opt_words, uint16_t id, uint16_t frag, size_t l4_len)
{
	uint8_t *ip = p->data + ETH_HLEN;
	size_t hl = 20 + 4 * (size_t)n_opt_words;

	memset(ip, 0, hl);
	ip[0] = (uint8_t)(0x40 | (5 + n_opt_words));
	*(uint16_t *)(ip + 2) = htons((uint16_t)(hl + l4_len));
	*(uint16_t *)(ip + 4) = htons(id);
	*(uint16_t *)(ip + 6) = htons(frag);
	ip[8] = 64;
	ip[9] = proto;
	assert_int_equal(inet_pton(AF_INET, src, ip + 12), 1);
	assert_int_equal(inet_pton(AF_INET, dst, ip + 16), 1);
	for (int i = 0; i < n_opt_words * 4; i++)
		ip[20 + i] = 1; /* NOP options */
}

void pf_test_pkt_v4_opts(struct pf_test_pkt *p, const char *src, const char *dst,
			 const struct pf_test_l4 *l4, int n_opt_words)
{
	size_t off = pf_put_eth(p->data, ETH_P_IP), l4_len;

	off += 20 + 4 * (size_t)n_opt_words;
	l4_len = pf_put_l4(p->data + off, l4);
	pf_put_v4(p, src, dst, l4->proto, n_opt_words, 1, 0, l4_len);
	p->len = off + l4_len;
}

void pf_test_pkt_v4(struct pf_test_pkt *p, const char *src, const char *dst,
		    const struct pf_test_l4 *l4)
{
	pf_test_pkt_v4_opts(p, src, dst, l4, 0);
}

void pf_test_pkt_v4_frag(struct pf_test_pkt *p, const char *src, const char *dst,
			 const struct pf_test_l4 *l4, uint16_t id, uint16_t frag_offset,
			 bool more)
{
	size_t off = pf_put_eth(p->data, ETH_P_IP) + 20, l4_len;

	if (frag_offset) {
		memset(p->data + off, 0xcd, 16); /* payload only */
		l4_len = 16;
	} else {
		l4_len = pf_put_l4(p->data + off, l4);
	}
	pf_put_v4(p, src, dst, l4->proto, 0, id,
		  (uint16_t)((more ? 0x2000 : 0) | (frag_offset & 0x1fff)), l4_len);
	p->len = off + l4_len;
}

static size_t pf_put_v6(struct pf_test_pkt *p, const char *src, const char *dst,
			uint8_t nexthdr)
{
	uint8_t *ip = p->data + ETH_HLEN;

	memset(ip, 0, 40);
	ip[0] = 0x60;
	ip[6] = nexthdr;
	ip[7] = 64;
	assert_int_equal(inet_pton(AF_INET6, src, ip + 8), 1);
	assert_int_equal(inet_pton(AF_INET6, dst, ip + 24), 1);
	return ETH_HLEN + 40;
}

static void pf_v6_set_len(struct pf_test_pkt *p)
{
	*(uint16_t *)(p->data + ETH_HLEN + 4) = htons((uint16_t)(p->len - ETH_HLEN - 40));
}

void pf_test_pkt_v6_ext(struct pf_test_pkt *p, const char *src, const char *dst,
			const struct pf_test_l4 *l4, const uint8_t *exts, int n_exts)
{
	size_t off;

	pf_put_eth(p->data, ETH_P_IPV6);
	off = pf_put_v6(p, src, dst, n_exts ? exts[0] : l4->proto);
	for (int i = 0; i < n_exts; i++) {
		uint8_t *h = p->data + off;

		memset(h, 0, 8);
		h[0] = i + 1 < n_exts ? exts[i + 1] : l4->proto;
		if (exts[i] == IPPROTO_FRAGMENT) {
			*(uint16_t *)(h + 2) = htons(1); /* offset 0, more fragments */
			*(uint32_t *)(h + 4) = htonl(0x1234);
		} else if (exts[i] == IPPROTO_ROUTING) {
			h[2] = 0; /* type 0, no segments left */
		}
		off += 8;
	}
	off += pf_put_l4(p->data + off, l4);
	p->len = off;
	pf_v6_set_len(p);
}

void pf_test_pkt_v6(struct pf_test_pkt *p, const char *src, const char *dst,
		    const struct pf_test_l4 *l4)
{
	pf_test_pkt_v6_ext(p, src, dst, l4, NULL, 0);
}

void pf_test_pkt_v6_frag(struct pf_test_pkt *p, const char *src, const char *dst,
			 uint8_t proto, uint32_t id, uint16_t frag_offset)
{
	size_t off;
	uint8_t *h;

	pf_put_eth(p->data, ETH_P_IPV6);
	off = pf_put_v6(p, src, dst, IPPROTO_FRAGMENT);
	h = p->data + off;
	memset(h, 0, 8);
	h[0] = proto;
	*(uint16_t *)(h + 2) = htons((uint16_t)(frag_offset << 3));
	*(uint32_t *)(h + 4) = htonl(id);
	off += 8;
	memset(p->data + off, 0xcd, 16);
	p->len = off + 16;
	pf_v6_set_len(p);
}

void pf_test_pkt_arp(struct pf_test_pkt *p)
{
	size_t off = pf_put_eth(p->data, ETH_P_ARP);

	memset(p->data + off, 0, 28);
	p->len = off + 28;
}
