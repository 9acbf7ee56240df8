// SPDX-License-Identifier: GPL-2.0
/*
 * podfence datapath: two TC programs attached to every pod's host-side veth.
 *   pf_from_pod  TC ingress: what the pod sends   -> the pod's egress policy
 *   pf_to_pod    TC egress:  what is sent to it   -> the pod's ingress policy
 * Path of a packet: parse -> conntrack hit? -> pod and policy set state ->
 * flattened rule lookup -> verdict (+ conntrack entry, counter, event).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "podfence_abi.h"
#include "lib/maps.h"
#include "lib/words.h"
#include "lib/parse.h"
#include "lib/conntrack.h"
#include "lib/policy.h"
#include "lib/events.h"

/* A packet no tracked flow covers: pod and set state, then the policy.
 * ck4 (IPv4) or ck6 is the flow's conntrack key, tracked when allowed. */
static __always_inline int pf_new_flow(const struct pf_pkt *p, enum pf_dir dir, __u32 ifindex,
				       const struct pf_ct4_key *ck4, const struct pf_ct6_key *ck6)
{
	struct pf_config *cfg;
	struct pf_pod_val *pod;
	struct pf_set_val *set;
	struct pf_rule_val *rule;
	__u32 zero = 0, set_id = 0;
	__u8 iso = PF_ISO_UNKNOWN;
	enum pf_reason reason;

	cfg = bpf_map_lookup_elem(&pf_config, &zero);
	pod = bpf_map_lookup_elem(&pf_pods, &ifindex);
	set = NULL;
	if (pod) {
		set_id = pod->set_id;
		set = &pod->set;
		iso = set->isolation[dir & 1];
	}

	switch (iso) {
	case PF_ISO_OPEN:
		reason = PF_REASON_NOT_ISOLATED;
		goto allow;
	case PF_ISO_ISOLATED:
		break;
	default:
		if (cfg && cfg->mode == PF_MODE_STRICT) {
			reason = PF_REASON_MODE_DEFAULT_DENY;
			goto deny;
		}
		reason = PF_REASON_MODE_DEFAULT_ALLOW;
		goto allow;
	}

	if (!set)
		rule = NULL;
	else if (ck4)
		rule = pf_rule_lookup4(set, dir, dir == PF_DIR_EGRESS ? p->daddr[0] : p->saddr[0]);
	else
		rule = pf_rule_lookup6(set, dir, dir == PF_DIR_EGRESS ? p->daddr : p->saddr);
	if (rule && pf_ports_allow(set->gen, rule, p)) {
		pf_ct_learn(ck4, ck6, p, ifindex, dir);
		pf_count(PF_REASON_POLICY_ALLOW);
		pf_emit(cfg, p, ifindex, set_id, rule->rule_id, dir,
			PF_VERDICT_ALLOW, PF_REASON_POLICY_ALLOW);
		return TC_ACT_OK;
	}
	pf_count(PF_REASON_POLICY_DENY);
	pf_emit(cfg, p, ifindex, set_id, rule ? rule->rule_id : PF_RULE_NONE, dir,
		PF_VERDICT_DENY, PF_REASON_POLICY_DENY);
	return TC_ACT_SHOT;

allow:
	pf_ct_learn(ck4, ck6, p, ifindex, dir);
	pf_count(reason);
	pf_emit(cfg, p, ifindex, set_id, PF_RULE_NONE, dir, PF_VERDICT_ALLOW, reason);
	return TC_ACT_OK;
deny:
	pf_count(reason);
	pf_emit(cfg, p, ifindex, set_id, PF_RULE_NONE, dir, PF_VERDICT_DENY, reason);
	return TC_ACT_SHOT;
}

static __always_inline int pf_verdict(struct __sk_buff *skb, enum pf_dir dir)
{
	struct pf_pkt p = {};
	__u32 ifindex = skb->ifindex;
	int parsed = pf_parse(skb, &p);

	if (parsed == PF_PARSE_NOT_IP)
		return TC_ACT_OK;
	if (parsed == PF_PARSE_MALFORMED) {
		pf_count(PF_REASON_MALFORMED);
		return TC_ACT_SHOT;
	}
	if (p.family == PF_FAMILY_V4) {
		union pf_ct4_words ck4;

		pf_ct4_key_fill(&ck4, &p, ifindex, dir);
		if (pf_ct4_hit(bpf_map_lookup_elem(&pf_ct4, &ck4.k)))
			return TC_ACT_OK;
		return pf_new_flow(&p, dir, ifindex, &ck4.k, NULL);
	} else {
		union pf_ct6_words ck6;

		pf_ct6_key_fill(&ck6, &p, ifindex, dir);
		if (pf_ct6_hit(bpf_map_lookup_elem(&pf_ct6, &ck6.k), &p, ifindex, dir))
			return TC_ACT_OK;
		if (p.icmp_nd) {
			pf_count(PF_REASON_ICMP6_ND);
			return TC_ACT_OK;
		}
		return pf_new_flow(&p, dir, ifindex, NULL, &ck6.k);
	}
}

SEC("tc")
int pf_from_pod(struct __sk_buff *skb)
{
	return pf_verdict(skb, PF_DIR_EGRESS);
}

SEC("tc")
int pf_to_pod(struct __sk_buff *skb)
{
	return pf_verdict(skb, PF_DIR_INGRESS);
}

char LICENSE[] SEC("license") = "GPL";
