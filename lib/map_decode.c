// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "map_decode.h"

#define PF_WORD(table, i) ((i) < sizeof(table) / sizeof(table[0]) && table[i] ? table[i] : "invalid")

static const char *const pf_dir_words[] = {
	[PF_DIR_INGRESS] = "ingress",
	[PF_DIR_EGRESS] = "egress",
};
static const char *const pf_isolation_words[] = {
	[PF_ISO_UNKNOWN] = "unknown",
	[PF_ISO_OPEN] = "open",
	[PF_ISO_ISOLATED] = "isolated",
};
static const char *const pf_mode_words[] = {
	[PF_MODE_STANDARD] = "standard",
	[PF_MODE_STRICT] = "strict",
};
static const char *const pf_verdict_words[] = {
	[PF_VERDICT_ALLOW] = "allow",
	[PF_VERDICT_DENY] = "deny",
};
static const char *const pf_reason_words[PF_REASON__COUNT] = {
	[PF_REASON_CT_ESTABLISHED] = "ct-established",
	[PF_REASON_POLICY_ALLOW] = "policy-allow",
	[PF_REASON_NOT_ISOLATED] = "not-isolated",
	[PF_REASON_MODE_DEFAULT_ALLOW] = "mode-default-allow",
	[PF_REASON_NOT_IP] = "not-ip",
	[PF_REASON_ICMP6_ND] = "icmp6-nd",
	[PF_REASON_POLICY_DENY] = "policy-deny",
	[PF_REASON_MODE_DEFAULT_DENY] = "mode-default-deny",
	[PF_REASON_MALFORMED] = "malformed",
};

const char *pf_dir_name(unsigned dir)
{
	return PF_WORD(pf_dir_words, dir);
}

const char *pf_family_name(unsigned family)
{
	return family == PF_FAMILY_V4 ? "ipv4" : family == PF_FAMILY_V6 ? "ipv6" : "invalid";
}

const char *pf_isolation_name(unsigned isolation)
{
	return PF_WORD(pf_isolation_words, isolation);
}

const char *pf_mode_name(unsigned mode)
{
	return PF_WORD(pf_mode_words, mode);
}

const char *pf_reason_name(unsigned reason)
{
	return PF_WORD(pf_reason_words, reason);
}

const char *pf_verdict_name(unsigned verdict)
{
	return PF_WORD(pf_verdict_words, verdict);
}

/* The enum lists every allowing reason before the first dropping one. */
unsigned pf_reason_verdict(unsigned reason)
{
	return reason < PF_REASON_POLICY_DENY ? PF_VERDICT_ALLOW : PF_VERDICT_DENY;
}

const char *pf_ip_proto_text(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	default:
		snprintf(buf, len, "ip-proto-%u", proto);
		return buf;
	}
}

static const struct {
	uint16_t bit;
	const char *word; /* in pf_rule_flags_text */
	const char *ports; /* in the allowed-ports list */
} pf_rule_flag_words[] = {
	{ PF_RULE_ALL_PORTS, "all-ports", "all" },
	{ PF_RULE_TCP_ALL, "tcp-all", "tcp all" },
	{ PF_RULE_UDP_ALL, "udp-all", "udp all" },
	{ PF_RULE_SCTP_ALL, "sctp-all", "sctp all" },
};
#define PF_N_FLAG_WORDS (sizeof(pf_rule_flag_words) / sizeof(pf_rule_flag_words[0]))

const char *pf_rule_flags_text(uint16_t flags, char *buf, size_t len)
{
	uint16_t known = 0;
	int used = 0;

	if (!len)
		return buf;
	buf[0] = 0;
	for (size_t i = 0; i < PF_N_FLAG_WORDS; i++) {
		known |= pf_rule_flag_words[i].bit;
		if ((flags & pf_rule_flag_words[i].bit) && used >= 0 && (size_t)used < len)
			used += snprintf(buf + used, len - used, "%s%s", used ? "," : "",
					 pf_rule_flag_words[i].word);
	}
	if ((flags & ~known) && used >= 0 && (size_t)used < len)
		used += snprintf(buf + used, len - used, "%s0x%x", used ? "," : "",
				 (unsigned)(flags & ~known));
	if (!used)
		snprintf(buf, len, "none");
	return buf;
}

const char *pf_port_range_text(const struct pf_port_range *r, char *buf, size_t len)
{
	unsigned lo = r->lo & 0xffff, hi = r->hi & 0xffff;
	char pbuf[24];
	const char *proto;

	if ((r->lo >> 16) != (r->hi >> 16) || (r->lo >> 24)) {
		/* Never written by the compiler: show the raw words. */
		snprintf(buf, len, "invalid range 0x%x-0x%x", r->lo, r->hi);
		return buf;
	}
	proto = pf_ip_proto_text((uint8_t)(r->lo >> 16), pbuf, sizeof(pbuf));
	if (lo <= 1 && hi == 65535)
		snprintf(buf, len, "%s all", proto);
	else if (lo == hi)
		snprintf(buf, len, "%s %u", proto, lo);
	else
		snprintf(buf, len, "%s %u-%u", proto, lo, hi);
	return buf;
}

/* The prefix of len bits of addr (the bits past it are ignored), or NULL
 * when it cannot be one of family. */
static const char *pf_prefix_text(uint8_t family, unsigned len, const uint8_t *addr, char *buf,
				  size_t buflen)
{
	struct pf_cidr c = { .family = family };

	if ((family != PF_FAMILY_V4 && family != PF_FAMILY_V6) || len > pf_cidr_max_len(family))
		return NULL;
	c.len = (uint8_t)len;
	for (unsigned i = 0; i < sizeof(c.addr); i++) {
		unsigned bit = i * 8;

		if (bit + 8 <= c.len)
			c.addr[i] = addr[i];
		else if (bit < c.len)
			c.addr[i] = addr[i] & (uint8_t)(0xff << (8 - (c.len - bit)));
	}
	return pf_cidr_format(&c, buf, buflen);
}

const char *pf_decode_rule_key(const struct pf_rule_key *k, char *buf, size_t len)
{
	/* The trie matches only the prefix bits, whatever follows them. */
	if (k->prefixlen >= PF_RULE_KEY_PREFIX_BASE &&
	    pf_prefix_text(k->dir_family & 0xf, k->prefixlen - PF_RULE_KEY_PREFIX_BASE, k->addr,
			   buf, len))
		return buf;
	snprintf(buf, len, "invalid prefixlen %u", k->prefixlen);
	return buf;
}

const char *pf_decode_host_key(const struct pf_host_key *k, char *buf, size_t len)
{
	if (!pf_prefix_text(k->dir_family & 0xf, k->plen, k->addr, buf, len))
		snprintf(buf, len, "invalid prefix length %u", k->plen);
	return buf;
}

void pf_rule_val_inline_chunk(const struct pf_rule_val *v, struct pf_port_chunk *c)
{
	memset(c, 0, sizeof(*c));
	c->n = v->n_inline < PF_RULE_INLINE ? v->n_inline : PF_RULE_INLINE;
	memcpy(c->r, v->inl, c->n * sizeof(c->r[0]));
}

json_t *pf_decode_ports_json(uint16_t flags, const struct pf_port_chunk *chunks,
			     size_t n_chunks)
{
	json_t *out = json_array();
	char buf[64];

	if (!out)
		return NULL;
	for (size_t i = 0; i < PF_N_FLAG_WORDS; i++)
		if (flags & pf_rule_flag_words[i].bit)
			json_array_append_new(out, json_string(pf_rule_flag_words[i].ports));
	for (size_t c = 0; c < n_chunks; c++) {
		uint32_t n = chunks[c].n > PF_PORT_CHUNK ? PF_PORT_CHUNK : chunks[c].n;

		for (uint32_t i = 0; i < n; i++)
			json_array_append_new(out, json_string(pf_port_range_text(
							   &chunks[c].r[i], buf, sizeof(buf))));
	}
	return out;
}

static json_t *pf_addr_json(uint8_t family, const uint8_t *addr)
{
	char buf[INET6_ADDRSTRLEN];

	if (family != PF_FAMILY_V4 && family != PF_FAMILY_V6)
		return json_null();
	return json_string(pf_addr_format(family, addr, buf, sizeof(buf)));
}

json_t *pf_decode_pod_json(uint32_t ifindex, const char *ifname, const struct pf_pod_val *v)
{
	return json_pack("{s:I, s:s?, s:I, s:o, s:s, s:s}", "ifindex", (json_int_t)ifindex,
			 "ifname", ifname, "set_id", (json_int_t)v->set_id, "gen",
			 v->set.gen ? json_integer(v->set.gen) : json_null(), "ingress",
			 pf_isolation_name(v->set.isolation[PF_DIR_INGRESS]), "egress",
			 pf_isolation_name(v->set.isolation[PF_DIR_EGRESS]));
}

/* How one direction and family of a set is looked up: its prefix lengths,
 * "trie", or "invalid" for a count no compiler writes. */
static json_t *pf_set_lookup_json(const struct pf_set_val *v, int dir, int v6)
{
	uint8_t n = v->n_plens[dir][v6];
	json_t *lens;

	if (n == PF_SET_PLENS_TRIE)
		return json_string("trie");
	if (n > PF_SET_PLENS)
		return json_string("invalid");
	lens = json_array();
	for (uint8_t i = 0; lens && i < n; i++)
		json_array_append_new(lens, json_integer(v->plens[dir][v6][i]));
	return lens;
}

json_t *pf_decode_set_json(uint32_t set_id, const struct pf_set_val *v)
{
	json_t *lookup = json_object();

	for (int d = 0; lookup && d < 2; d++)
		json_object_set_new(lookup, pf_dir_name((unsigned)d),
				    json_pack("{s:o, s:o}", "ipv4", pf_set_lookup_json(v, d, 0),
					      "ipv6", pf_set_lookup_json(v, d, 1)));
	return json_pack("{s:I, s:I, s:s, s:s, s:o}", "set_id", (json_int_t)set_id, "gen",
			 (json_int_t)v->gen, "ingress", pf_isolation_name(v->isolation[PF_DIR_INGRESS]),
			 "egress", pf_isolation_name(v->isolation[PF_DIR_EGRESS]), "lookup", lookup);
}

/* The fields pf_rules, pf_hosts4 and pf_hosts6 share: the value's. */
static json_t *pf_rule_val_fields(json_t *o, const struct pf_rule_val *v)
{
	char flags[64];

	if (o && json_object_update_new(o, json_pack("{s:I, s:s, s:i, s:I, s:i}", "rule_id",
						      (json_int_t)v->rule_id, "flags",
						      pf_rule_flags_text(v->flags, flags, sizeof(flags)),
						      "n_inline", (int)v->n_inline,
						      "ports_id", (json_int_t)v->ports_id,
						      "n_chunks", (int)v->n_chunks))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *pf_decode_rule_json(const struct pf_rule_key *k, const struct pf_rule_val *v)
{
	char cidr[64];

	return pf_rule_val_fields(
		json_pack("{s:I, s:s, s:s, s:s}", "gen", (json_int_t)ntohl(k->gen), "direction",
			  pf_dir_name(k->dir_family >> 4), "family",
			  pf_family_name(k->dir_family & 0xf), "cidr",
			  pf_decode_rule_key(k, cidr, sizeof(cidr))),
		v);
}

json_t *pf_decode_host_json(const struct pf_host_key *k, const struct pf_rule_val *v)
{
	char cidr[64];

	return pf_rule_val_fields(json_pack("{s:I, s:s, s:s, s:s}", "gen", (json_int_t)k->gen,
					    "direction", pf_dir_name(k->dir_family >> 4),
					    "family", pf_family_name(k->dir_family & 0xf),
					    "cidr", pf_decode_host_key(k, cidr, sizeof(cidr))),
				  v);
}

json_t *pf_decode_port_chunk_json(const struct pf_port_key *k, const struct pf_port_chunk *c)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:o}", "gen", (json_int_t)k->gen, "ports_id",
			 (json_int_t)k->ports_id, "chunk", (json_int_t)k->chunk, "n",
			 (json_int_t)c->n, "ranges", pf_decode_ports_json(0, c, 1));
}

static json_int_t pf_seconds_since(uint64_t now_ns, uint64_t then_ns)
{
	return now_ns > then_ns ? (json_int_t)((now_ns - then_ns) / 1000000000ull) : 0;
}

json_t *pf_decode_ct_json(const struct pf_ct_key *k, const struct pf_ct_val *v, uint64_t now_ns)
{
	char proto[24];

	return json_pack("{s:I, s:s, s:s, s:o, s:i, s:o, s:i, s:s, s:I, s:b, s:I}", "ifindex",
			 (json_int_t)k->ifindex, "proto", pf_ip_proto_text(k->proto, proto, sizeof(proto)),
			 "family", pf_family_name(k->family), "pod_addr",
			 pf_addr_json(k->family, k->pod_addr), "pod_port", (int)k->pod_port,
			 "peer_addr", pf_addr_json(k->family, k->peer_addr), "peer_port",
			 (int)k->peer_port, "origin", pf_dir_name(v->origin), "idle_s",
			 pf_seconds_since(now_ns, v->last_seen_ns), "seen", v->seen != 0, "age_s",
			 pf_seconds_since(now_ns, v->created_ns));
}

json_t *pf_decode_frag_json(const struct pf_frag_key *k, const struct pf_frag_val *v)
{
	char proto[24];

	return json_pack("{s:I, s:s, s:s, s:o, s:o, s:i, s:i}", "id", (json_int_t)k->id, "proto",
			 pf_ip_proto_text(k->proto, proto, sizeof(proto)), "family",
			 pf_family_name(k->family), "saddr", pf_addr_json(k->family, k->saddr),
			 "daddr", pf_addr_json(k->family, k->daddr), "sport", (int)v->sport,
			 "dport", (int)v->dport);
}

json_t *pf_decode_config_json(const struct pf_config *c)
{
	return json_pack("{s:s, s:s}", "mode", pf_mode_name(c->mode), "events",
			 c->events_enabled ? "on" : "off");
}

json_t *pf_decode_metric_json(unsigned reason, uint64_t packets)
{
	return json_pack("{s:s, s:s, s:I}", "reason", pf_reason_name(reason), "verdict",
			 pf_verdict_name(pf_reason_verdict(reason)), "packets", (json_int_t)packets);
}
