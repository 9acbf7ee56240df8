// SPDX-License-Identifier: Apache-2.0
/* The first packet of a traced flow, as a pod's kernel would send it: a TCP
 * SYN, a UDP datagram, an SCTP INIT or an ICMP echo request, with every
 * checksum filled in (the datapath reads none of them, but a packet that
 * could have come off a real socket keeps the trace honest should it ever
 * start to). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <linux/if_ether.h>

#include "trace.h"

#define TRACE_IP4_HLEN 20
#define TRACE_IP6_HLEN 40
#define TRACE_TCP_HLEN 20
#define TRACE_UDP_HLEN 8
#define TRACE_SCTP_LEN (12 + 20) /* common header + INIT chunk, no parameters */
#define TRACE_ICMP_LEN 8
#define TRACE_UDP_PAYLOAD "podfence-trace"

/* Locally administered MACs: the programs never look at them. */
static const uint8_t trace_mac_dst[ETH_ALEN] = { 0x02, 0x70, 0x66, 0, 0, 0x02 };
static const uint8_t trace_mac_src[ETH_ALEN] = { 0x02, 0x70, 0x66, 0, 0, 0x01 };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* RFC 1071 one's complement sum, folded at the end by trace_csum_fold. */
static uint32_t trace_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t trace_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The pseudo-header sum of TCP, UDP and ICMPv6 (RFC 793, RFC 8200 8.1). */
static uint32_t trace_pseudo_sum(const struct pf_trace_flow *f, uint8_t proto, size_t l4_len)
{
	size_t alen = f->family == PF_FAMILY_V4 ? 4 : 16;
	uint32_t sum = trace_csum_add(0, f->src, alen);

	sum = trace_csum_add(sum, f->dst, alen);
	return sum + proto + (uint32_t)l4_len;
}

/* CRC32c (Castagnoli, reflected), the SCTP checksum of RFC 9260 appendix A. */
static uint32_t trace_crc32c(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return ~crc;
}

/* Writes the L4 header at l4; returns its length (0: unknown protocol). */
static size_t trace_put_l4(const struct pf_trace_flow *f, uint8_t proto, uint16_t sport,
			   uint8_t *l4)
{
	size_t len;
	uint32_t crc;

	switch (proto) {
	case IPPROTO_TCP:
		len = TRACE_TCP_HLEN;
		memset(l4, 0, len);
		put16(l4, sport);
		put16(l4 + 2, f->dport);
		put32(l4 + 4, 0x70660001u); /* initial sequence number */
		l4[12] = (TRACE_TCP_HLEN / 4) << 4;
		l4[13] = 0x02; /* SYN */
		put16(l4 + 14, 64240);
		put16(l4 + 16, trace_csum_fold(trace_csum_add(trace_pseudo_sum(f, proto, len),
							      l4, len)));
		return len;
	case IPPROTO_UDP:
		len = TRACE_UDP_HLEN + sizeof(TRACE_UDP_PAYLOAD) - 1;
		memset(l4, 0, TRACE_UDP_HLEN);
		memcpy(l4 + TRACE_UDP_HLEN, TRACE_UDP_PAYLOAD, sizeof(TRACE_UDP_PAYLOAD) - 1);
		put16(l4, sport);
		put16(l4 + 2, f->dport);
		put16(l4 + 4, (uint16_t)len);
		put16(l4 + 6, trace_csum_fold(trace_csum_add(trace_pseudo_sum(f, proto, len),
							     l4, len)));
		return len;
	case IPPROTO_SCTP:
		/* Common header with verification tag 0, as an INIT must carry
		 * (RFC 9260 8.5.1), then the INIT chunk with its fixed fields. */
		len = TRACE_SCTP_LEN;
		memset(l4, 0, len);
		put16(l4, sport);
		put16(l4 + 2, f->dport);
		l4[12] = 1; /* chunk type INIT */
		put16(l4 + 14, 20);
		put32(l4 + 16, 0x70660001u); /* initiate tag, never 0 */
		put32(l4 + 20, 106496);      /* advertised receiver window */
		put16(l4 + 24, 10);          /* outbound streams */
		put16(l4 + 26, 65535);       /* maximum inbound streams */
		put32(l4 + 28, 0x70660001u); /* initial TSN */
		crc = trace_crc32c(l4, len);
		/* Stored least significant byte first, as Linux does. */
		l4[8] = (uint8_t)crc;
		l4[9] = (uint8_t)(crc >> 8);
		l4[10] = (uint8_t)(crc >> 16);
		l4[11] = (uint8_t)(crc >> 24);
		return len;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		len = TRACE_ICMP_LEN;
		memset(l4, 0, len);
		l4[0] = proto == IPPROTO_ICMP ? 8 : 128; /* echo request */
		put16(l4 + 4, sport);                   /* identifier */
		put16(l4 + 6, 1);                       /* sequence */
		put16(l4 + 2, trace_csum_fold(trace_csum_add(
			proto == IPPROTO_ICMPV6 ? trace_pseudo_sum(f, proto, len) : 0, l4, len)));
		return len;
	default:
		return 0;
	}
}

uint8_t pf_trace_l4_proto(const struct pf_trace_flow *f)
{
	if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6)
		return f->family == PF_FAMILY_V6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	return f->proto;
}

size_t pf_trace_packet(const struct pf_trace_flow *f, uint16_t sport, uint8_t *buf, size_t len)
{
	uint8_t proto = pf_trace_l4_proto(f), l4[64], *ip = buf + ETH_HLEN;
	bool v4 = f->family == PF_FAMILY_V4;
	size_t ip_hlen = v4 ? TRACE_IP4_HLEN : TRACE_IP6_HLEN, l4_len;

	if (!v4 && f->family != PF_FAMILY_V6)
		return 0;
	l4_len = trace_put_l4(f, proto, sport, l4);
	if (!l4_len || len < ETH_HLEN + ip_hlen + l4_len)
		return 0;
	memcpy(buf, trace_mac_dst, ETH_ALEN);
	memcpy(buf + ETH_ALEN, trace_mac_src, ETH_ALEN);
	put16(buf + 2 * ETH_ALEN, v4 ? ETH_P_IP : ETH_P_IPV6);
	memset(ip, 0, ip_hlen);
	if (v4) {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(ip_hlen + l4_len));
		put16(ip + 4, sport);    /* identification: any value will do */
		put16(ip + 6, 0x4000);   /* don't fragment, offset 0 */
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, f->src, 4);
		memcpy(ip + 16, f->dst, 4);
		put16(ip + 10, trace_csum_fold(trace_csum_add(0, ip, ip_hlen)));
	} else {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)l4_len);
		ip[6] = proto;
		ip[7] = 64;
		memcpy(ip + 8, f->src, 16);
		memcpy(ip + 24, f->dst, 16);
	}
	memcpy(ip + ip_hlen, l4, l4_len);
	return ETH_HLEN + ip_hlen + l4_len;
}
