// SPDX-License-Identifier: Apache-2.0
/* A flow's first packet through the loaded programs, hop by hop, and the
 * maps read the way the program reads them to say why each hop decided as
 * it did. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>

#include "map_decode.h"
#include "policy_spec.h"
#include "trace.h"

/* A trace whose reading of the maps does not give the program's verdict
 * (a policy swapped mid-trace, a concurrent trace on the same port) is run
 * again from the start with a new port, this many times in all. */
#define TRACE_ATTEMPTS 3
#define TRACE_PORT_TRIES 64
/* Linux's default net.ipv4.ip_local_port_range: where a pod's kernel picks
 * the source port of a new connection. */
#define TRACE_PORT_LO 32768
#define TRACE_PORT_HI 60999

#define trace_fail(err, len, e, ...) (snprintf(err, len, __VA_ARGS__), (e))

void pf_trace_maps_from_datapath(const struct pf_datapath *dp, struct pf_trace_maps *m)
{
	m->prog[PF_DIR_INGRESS] = pf_datapath_prog_fd(dp, PF_DIR_INGRESS);
	m->prog[PF_DIR_EGRESS] = pf_datapath_prog_fd(dp, PF_DIR_EGRESS);
	m->pods = pf_datapath_map_fd(dp, PF_MAP_PODS);
	m->rules = pf_datapath_map_fd(dp, PF_MAP_RULES);
	m->hosts4 = pf_datapath_map_fd(dp, PF_MAP_HOSTS4);
	m->hosts6 = pf_datapath_map_fd(dp, PF_MAP_HOSTS6);
	m->ports = pf_datapath_map_fd(dp, PF_MAP_PORTS);
	m->ct4 = pf_datapath_map_fd(dp, PF_MAP_CT4);
	m->ct6 = pf_datapath_map_fd(dp, PF_MAP_CT6);
	m->config = pf_datapath_map_fd(dp, PF_MAP_CONFIG);
}

void pf_trace_result_free(struct pf_trace_result *r)
{
	for (size_t i = 0; i < r->n_hops; i++)
		pf_portset_free(&r->hops[i].entry.ports);
	memset(r, 0, sizeof(*r));
}

static bool trace_is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* The flow at one hop, as bpf/lib/conntrack.h keys it from the parsed
 * packet, seen as a pf_ct_key (trace_ct_op makes the pf_ct4 or pf_ct6 key
 * from it). */
static void trace_ct_key(const struct pf_trace_flow *f, uint16_t sport, enum pf_dir dir,
			 int ifindex, struct pf_ct_key *k)
{
	uint8_t proto = pf_trace_l4_proto(f);
	/* An echo's identifier stands for both ports (bpf/lib/parse.h). */
	uint16_t dport = trace_is_icmp(proto) ? sport : f->dport;

	memset(k, 0, sizeof(*k));
	k->ifindex = (uint32_t)ifindex;
	k->proto = proto;
	k->family = f->family;
	if (dir == PF_DIR_EGRESS) {
		k->pod_port = sport;
		k->peer_port = dport;
		memcpy(k->pod_addr, f->src, 16);
		memcpy(k->peer_addr, f->dst, 16);
	} else {
		k->pod_port = dport;
		k->peer_port = sport;
		memcpy(k->pod_addr, f->dst, 16);
		memcpy(k->peer_addr, f->src, 16);
	}
}

static const char *trace_ct_map(const struct pf_trace_flow *f)
{
	return pf_map_names[f->family == PF_FAMILY_V4 ? PF_MAP_CT4 : PF_MAP_CT6];
}

/* Looks up (del false) or deletes the flow's entry in pf_ct4 or pf_ct6.
 * Returns 0 when it was there, else -errno (-ENOENT: no such flow). A pf_ct6
 * entry found by the flow's key is the flow's only if its value says so. */
static int trace_ct_op(const struct pf_trace_maps *m, const struct pf_ct_key *k, bool del)
{
	struct pf_ct4_key k4;
	struct pf_ct6_key k6;
	struct pf_ct6_val v6;
	struct pf_ct_val v;

	if (k->family == PF_FAMILY_V4) {
		pf_ct4_key_from_view(k, &k4);
		if (del ? bpf_map_delete_elem(m->ct4, &k4) : bpf_map_lookup_elem(m->ct4, &k4, &v))
			return -errno;
		return 0;
	}
	pf_ct6_key_from_view(k, &k6);
	if (bpf_map_lookup_elem(m->ct6, &k6, &v6))
		return -errno;
	if (!pf_ct6_val_holds(&v6, k))
		return -ENOENT;
	if (del && bpf_map_delete_elem(m->ct6, &k6))
		return -errno;
	return 0;
}

/* A random port in the ephemeral range that no hop tracks a flow for, so
 * the program judges the packet as new and the entry it makes is ours. */
static int trace_pick_sport(const struct pf_trace_maps *m, const struct pf_trace_flow *f,
			    const struct pf_trace_hop *hops, size_t n, uint16_t *sport,
			    char *err, size_t err_len)
{
	struct pf_ct_key k;
	int rc;

	for (int t = 0; t < TRACE_PORT_TRIES; t++) {
		uint16_t rnd, port;
		bool free_everywhere = true;

		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			return trace_fail(err, err_len, -errno, "pick a random source port: %s",
					  strerror(errno));
		port = (uint16_t)(TRACE_PORT_LO + rnd % (TRACE_PORT_HI - TRACE_PORT_LO + 1));
		for (size_t i = 0; i < n && free_everywhere; i++) {
			trace_ct_key(f, port, hops[i].dir, hops[i].ifindex, &k);
			rc = trace_ct_op(m, &k, false);
			if (!rc)
				free_everywhere = false;
			else if (rc != -ENOENT)
				return trace_fail(err, err_len, rc, "look up %s: %s",
						  trace_ct_map(f), strerror(-rc));
		}
		if (free_everywhere) {
			*sport = port;
			return 0;
		}
	}
	return trace_fail(err, err_len, -EBUSY, "no free source port in %d random tries: "
			  "each one is a tracked flow of this flow's veths", TRACE_PORT_TRIES);
}

/* Clears the bits of addr past len. */
static void trace_mask(uint8_t *addr, unsigned len)
{
	for (unsigned i = 0; i < 16; i++) {
		if (len >= 8 * (i + 1))
			continue;
		addr[i] = len > 8 * i ? (uint8_t)(addr[i] & (0xff00 >> (len - 8 * i))) : 0;
	}
}

/* The ports an entry allows, from its value or its pf_ports chunks. */
static int trace_entry_ports(const struct pf_trace_maps *m, uint32_t gen,
			     const struct pf_rule_val *v, struct pf_trace_entry *e,
			     char *err, size_t err_len)
{
	unsigned n = v->n_chunks < PF_PORT_CHUNKS_MAX ? v->n_chunks : PF_PORT_CHUNKS_MAX;
	struct pf_portset *ps = &e->ports;
	struct pf_port_chunk c;

	memset(ps, 0, sizeof(*ps));
	ps->flags = v->flags;
	e->ports_complete = true;
	pf_rule_val_inline_chunk(v, &c);
	if (c.n && !(ps->r = malloc(c.n * sizeof(c.r[0]))))
		return trace_fail(err, err_len, -ENOMEM, "read the entry's ports: %s",
				  strerror(ENOMEM));
	if (c.n) {
		memcpy(ps->r, c.r, c.n * sizeof(c.r[0]));
		ps->n = ps->cap = c.n;
	}
	for (uint32_t ch = 0; ch < n; ch++) {
		struct pf_port_key k = { .gen = gen, .ports_id = v->ports_id, .chunk = ch };
		struct pf_port_range *grown;
		uint32_t cn;

		if (bpf_map_lookup_elem(m->ports, &k, &c)) {
			if (errno != ENOENT)
				return trace_fail(err, err_len, -errno, "read pf_ports: %s",
						  strerror(errno));
			e->ports_complete = false;
			break;
		}
		cn = c.n < PF_PORT_CHUNK ? c.n : PF_PORT_CHUNK;
		grown = realloc(ps->r, (ps->n + cn + 1) * sizeof(*grown));
		if (!grown)
			return trace_fail(err, err_len, -ENOMEM, "read pf_ports: %s",
					  strerror(ENOMEM));
		ps->r = grown;
		memcpy(ps->r + ps->n, c.r, cn * sizeof(c.r[0]));
		ps->n += cn;
		ps->cap = ps->n + 1;
	}
	return 0;
}

/* Looks hk up in pf_hosts4 or pf_hosts6, as its family says: 1 found,
 * 0 not there, or -errno with err set. */
static int trace_host_lookup(const struct pf_trace_maps *m, const struct pf_host_key *hk,
			     struct pf_rule_val *v, char *err, size_t err_len)
{
	struct pf_host4_key k4;
	const void *key = hk;
	int fd = m->hosts6;

	if ((hk->dir_family & 0xf) == PF_FAMILY_V4) {
		pf_host4_key_from_view(hk, &k4);
		key = &k4;
		fd = m->hosts4;
	}
	if (!bpf_map_lookup_elem(fd, key, v))
		return 1;
	if (errno == ENOENT)
		return 0;
	return trace_fail(err, err_len, -errno, "look up %s: %s",
			  pf_map_names[fd == m->hosts4 ? PF_MAP_HOSTS4 : PF_MAP_HOSTS6],
			  strerror(errno));
}

/* A set with few prefix lengths: one hash key per length, longest first;
 * the first one present is the entry (*len its length). */
static int trace_find_hashed(const struct pf_trace_maps *m, const struct pf_trace_hop *h,
			     struct pf_host_key *hk, const uint8_t *peer, unsigned *len,
			     struct pf_rule_val *v, char *err, size_t err_len)
{
	for (unsigned i = 0; i < h->n_plens && i < PF_SET_PLENS; i++) {
		int found;

		hk->plen = h->plens[i];
		memcpy(hk->addr, peer, 16);
		trace_mask(hk->addr, hk->plen);
		found = trace_host_lookup(m, hk, v, err, err_len);
		if (found) {
			*len = hk->plen;
			return found;
		}
	}
	return 0;
}

/* A set with many prefix lengths: the exact hash key, then the longest
 * pf_rules prefix (an LPM lookup with a full-length key). */
static int trace_find_trie(const struct pf_trace_maps *m, struct pf_host_key *hk,
			   struct pf_rule_key *rk, unsigned max, bool *hashed, unsigned *len,
			   struct pf_rule_val *v, char *err, size_t err_len)
{
	struct pf_rule_val w;
	int found;

	hk->plen = (uint8_t)max;
	*len = max;
	found = trace_host_lookup(m, hk, v, err, err_len);
	*hashed = found > 0;
	if (found)
		return found;
	rk->prefixlen = PF_RULE_KEY_PREFIX_BASE + max;
	if (bpf_map_lookup_elem(m->rules, rk, v)) {
		if (errno != ENOENT)
			return trace_fail(err, err_len, -errno, "look up pf_rules: %s",
					  strerror(errno));
		return 0; /* no entry covers the peer */
	}
	/* An LPM lookup gives the value, not the key. A key of length L finds
	 * the longest entry of at most L bits, so the entry's own length is the
	 * shortest that still finds it (rule ids are unique within a
	 * generation and direction). */
	for (*len = 0; *len < max; (*len)++) {
		rk->prefixlen = PF_RULE_KEY_PREFIX_BASE + *len;
		if (!bpf_map_lookup_elem(m->rules, rk, &w) && w.rule_id == v->rule_id)
			break;
	}
	return 1;
}

/* The entry the program finds for the peer, as bpf/lib/policy.h finds it. */
static int trace_entry_lookup(const struct pf_trace_maps *m, const struct pf_trace_flow *f,
			      struct pf_trace_hop *h, char *err, size_t err_len)
{
	const uint8_t *peer = h->dir == PF_DIR_EGRESS ? f->dst : f->src;
	unsigned max = f->family == PF_FAMILY_V4 ? 32 : 128, len = max;
	uint8_t dir_family = (uint8_t)(h->dir << 4 | f->family);
	struct pf_host_key hk = { .gen = h->gen, .dir_family = dir_family };
	struct pf_rule_key rk = { .gen = htonl(h->gen), .dir_family = dir_family };
	struct pf_trace_entry *e = &h->entry;
	struct pf_rule_val v;
	int found;

	memcpy(hk.addr, peer, 16);
	memcpy(rk.addr, peer, 16);
	e->hashed = h->n_plens != PF_SET_PLENS_TRIE;
	if (e->hashed)
		found = trace_find_hashed(m, h, &hk, peer, &len, &v, err, err_len);
	else
		found = trace_find_trie(m, &hk, &rk, max, &e->hashed, &len, &v, err, err_len);
	if (found <= 0)
		return found;
	h->matched = true;
	e->prefix.family = f->family;
	e->prefix.len = (uint8_t)len;
	memcpy(e->prefix.addr, peer, 16);
	trace_mask(e->prefix.addr, len);
	e->rule_id = v.rule_id;
	return trace_entry_ports(m, h->gen, &v, e, err, err_len);
}

/* What the program reads before its rule lookup: pf_config, then pf_pods
 * with the pod's copy of its set. With_entry also looks up the peer's entry
 * when isolated. */
static int trace_read_state(const struct pf_trace_maps *m, const struct pf_trace_flow *f,
			    struct pf_trace_hop *h, bool with_entry, char *err, size_t err_len)
{
	uint32_t zero = 0, ifindex = (uint32_t)h->ifindex;
	struct pf_config cfg;
	struct pf_pod_val pod;

	if (bpf_map_lookup_elem(m->config, &zero, &cfg))
		return trace_fail(err, err_len, -errno, "read pf_config: %s", strerror(errno));
	h->mode = cfg.mode;
	h->bound = !bpf_map_lookup_elem(m->pods, &ifindex, &pod);
	if (!h->bound && errno != ENOENT)
		return trace_fail(err, err_len, -errno, "look up ifindex %u in pf_pods: %s",
				  ifindex, strerror(errno));
	if (h->bound) {
		int v6 = f->family == PF_FAMILY_V6;

		h->set_id = pod.set_id;
		/* Generations start at 1: a zero copy is a set with no rules. */
		h->has_set = pod.set.gen != 0;
		h->gen = pod.set.gen;
		h->isolation = pod.set.isolation[h->dir];
		h->n_plens = pod.set.n_plens[h->dir][v6];
		memcpy(h->plens, pod.set.plens[h->dir][v6], sizeof(h->plens));
	}
	if (with_entry && h->isolation == PF_ISO_ISOLATED)
		return trace_entry_lookup(m, f, h, err, err_len);
	return 0;
}

/* The reason the maps give, decided as pf_verdict in bpf/podfence.bpf.c. */
static uint8_t trace_reason(const struct pf_trace_hop *h, const struct pf_trace_flow *f)
{
	uint8_t proto = pf_trace_l4_proto(f);

	switch (h->isolation) {
	case PF_ISO_OPEN:
		return PF_REASON_NOT_ISOLATED;
	case PF_ISO_ISOLATED:
		return h->matched && pf_portset_allows(&h->entry.ports, proto, f->dport,
						       !trace_is_icmp(proto))
			       ? PF_REASON_POLICY_ALLOW : PF_REASON_POLICY_DENY;
	default:
		return h->mode == PF_MODE_STRICT ? PF_REASON_MODE_DEFAULT_DENY
						 : PF_REASON_MODE_DEFAULT_ALLOW;
	}
}

static bool trace_same_state(const struct pf_trace_hop *a, const struct pf_trace_hop *b)
{
	return a->mode == b->mode && a->bound == b->bound && a->set_id == b->set_id &&
	       a->has_set == b->has_set && a->gen == b->gen && a->isolation == b->isolation;
}

static int trace_hop_run(const struct pf_trace_maps *m, const struct pf_trace_flow *f,
			 uint16_t sport, const uint8_t *pkt, size_t len, struct pf_trace_hop *h,
			 char *err, size_t err_len)
{
	struct __sk_buff ctx = { .ifindex = (uint32_t)h->ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (uint32_t)len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
	const char *prog = pf_prog_names[h->dir];
	struct pf_trace_hop after = { .dir = h->dir, .ifindex = h->ifindex };
	struct pf_ct_key k;
	int rc = trace_read_state(m, f, h, true, err, err_len);

	if (rc)
		return rc;
	if (bpf_prog_test_run_opts(m->prog[h->dir], &o)) {
		rc = -errno;
		if (rc == -ENODEV)
			return trace_fail(err, err_len, rc, "run %s on ifindex %d: no such interface "
					  "in this network namespace (run in the node's namespace: "
					  "nsenter --net=...)", prog, h->ifindex);
		return trace_fail(err, err_len, rc, "run %s on ifindex %d: %s", prog, h->ifindex,
				  strerror(-rc));
	}
	h->tc_retval = o.retval;
	if (o.retval != TC_ACT_OK && o.retval != TC_ACT_SHOT)
		return trace_fail(err, err_len, -EPROTO, "%s on ifindex %d returned %u, neither "
				  "TC_ACT_OK nor TC_ACT_SHOT", prog, h->ifindex, o.retval);
	h->verdict = o.retval == TC_ACT_OK ? PF_VERDICT_ALLOW : PF_VERDICT_DENY;
	/* An allowed first packet is tracked; the port was free of entries,
	 * so the entry there now is the one this run made. */
	if (h->verdict == PF_VERDICT_ALLOW) {
		trace_ct_key(f, sport, h->dir, h->ifindex, &k);
		rc = trace_ct_op(m, &k, true);
		h->ct_removed = !rc;
		if (rc && rc != -ENOENT)
			return trace_fail(err, err_len, rc, "delete the %s entry of the traced "
					  "flow on ifindex %d: %s", trace_ct_map(f), h->ifindex,
					  strerror(-rc));
	}
	rc = trace_read_state(m, f, &after, false, err, err_len);
	if (rc)
		return rc;
	h->reason = trace_reason(h, f);
	h->explained = trace_same_state(h, &after) && pf_reason_verdict(h->reason) == h->verdict;
	return 0;
}

static int trace_check_flow(const struct pf_trace_flow *f, char *err, size_t err_len)
{
	if (f->family != PF_FAMILY_V4 && f->family != PF_FAMILY_V6)
		return trace_fail(err, err_len, -EINVAL, "address family %u is neither IPv4 nor "
				  "IPv6", f->family);
	switch (f->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		if (!f->dport)
			return trace_fail(err, err_len, -EINVAL, "destination port 0: a %s trace "
					  "needs a port from 1 to 65535", pf_proto_name(f->proto));
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		break;
	default:
		return trace_fail(err, err_len, -EINVAL, "IP protocol %u cannot be traced "
				  "(TCP, UDP, SCTP or ICMP)", f->proto);
	}
	if (f->src_ifindex <= 0 && f->dst_ifindex <= 0)
		return trace_fail(err, err_len, -EINVAL, "neither end of the flow is a pod on "
				  "this node: none of its programs sees the flow");
	return 0;
}

int pf_trace_run(const struct pf_trace_maps *m, const struct pf_trace_flow *f,
		 struct pf_trace_result *r, char *err, size_t err_len)
{
	struct pf_trace_hop plan[2];
	uint8_t pkt[PF_TRACE_PKT_MAX];
	size_t n = 0, len;
	int rc = trace_check_flow(f, err, err_len);

	memset(r, 0, sizeof(*r));
	if (rc)
		return rc;
	memset(plan, 0, sizeof(plan));
	if (f->src_ifindex > 0)
		plan[n++] = (struct pf_trace_hop){ .dir = PF_DIR_EGRESS, .ifindex = f->src_ifindex };
	if (f->dst_ifindex > 0)
		plan[n++] = (struct pf_trace_hop){ .dir = PF_DIR_INGRESS, .ifindex = f->dst_ifindex };
	for (int attempt = 0; attempt < TRACE_ATTEMPTS; attempt++) {
		bool explained = true;

		pf_trace_result_free(r);
		rc = trace_pick_sport(m, f, plan, n, &r->sport, err, err_len);
		if (rc)
			return rc;
		len = pf_trace_packet(f, r->sport, pkt, sizeof(pkt));
		for (size_t i = 0; i < n; i++) {
			r->hops[i] = plan[i];
			r->n_hops = i + 1;
			rc = trace_hop_run(m, f, r->sport, pkt, len, &r->hops[i], err, err_len);
			if (rc) {
				pf_trace_result_free(r);
				return rc;
			}
			explained = explained && r->hops[i].explained;
		}
		if (explained)
			break;
	}
	r->verdict = PF_VERDICT_ALLOW;
	for (size_t i = 0; i < r->n_hops; i++)
		if (r->hops[i].verdict != PF_VERDICT_ALLOW)
			r->verdict = PF_VERDICT_DENY;
	return 0;
}
