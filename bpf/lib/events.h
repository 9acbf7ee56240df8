/* SPDX-License-Identifier: Apache-2.0 */
/* Verdict events and per-reason counters. Events are only built when the
 * node enabled them, and only for new flows, so they cost nothing when off. */
#ifndef PF_BPF_EVENTS_H
#define PF_BPF_EVENTS_H

static __always_inline void pf_count(enum pf_reason reason)
{
	__u32 slot = reason;
	__u64 *c = bpf_map_lookup_elem(&pf_metrics, &slot);

	if (c)
		*c += 1;
}

static __always_inline void pf_emit(const struct pf_config *cfg, const struct pf_pkt *p,
				    __u32 ifindex, __u32 set_id, __u32 rule_id,
				    enum pf_dir dir, enum pf_verdict verdict,
				    enum pf_reason reason)
{
	struct pf_event *e;

	if (!cfg || !cfg->events_enabled)
		return;
	e = bpf_ringbuf_reserve(&pf_events, sizeof(*e), 0);
	if (!e)
		return;
	e->ts_ns = bpf_ktime_get_ns();
	e->ifindex = ifindex;
	e->set_id = set_id;
	e->rule_id = rule_id;
	e->verdict = verdict;
	e->dir = dir;
	e->family = p->family;
	e->proto = p->proto;
	e->sport = p->sport;
	e->dport = p->dport;
	e->reason = reason;
	e->pad[0] = e->pad[1] = e->pad[2] = 0;
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, p->daddr, 16);
	bpf_ringbuf_submit(e, 0);
}

#endif
