/* SPDX-License-Identifier: Apache-2.0 */
/* Every map of the datapath, pinned by name under the agent's bpffs root so
 * that programs and state outlive an agent restart. */
#ifndef PF_BPF_MAPS_H
#define PF_BPF_MAPS_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PF_MAX_PODS);
	__type(key, __u32); /* host-side veth ifindex */
	__type(value, struct pf_pod_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pf_pods SEC(".maps");

/* Read by user space only: the programs read each pod's copy in pf_pods. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PF_MAX_SETS);
	__type(key, __u32); /* policy set id */
	__type(value, struct pf_set_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pf_sets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PF_MAX_RULES);
	__type(key, struct pf_rule_key);
	__type(value, struct pf_rule_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pf_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PF_MAX_HOSTS);
	__type(key, struct pf_host4_key);
	__type(value, struct pf_rule_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pf_hosts4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PF_MAX_HOSTS);
	__type(key, struct pf_host_key);
	__type(value, struct pf_rule_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pf_hosts6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PF_MAX_PORT_CHUNKS);
	__type(key, struct pf_port_key);
	__type(value, struct pf_port_chunk);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pf_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PF_CT_DEFAULT_SIZE);
	__type(key, struct pf_ct4_key);
	__type(value, struct pf_ct_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pf_ct4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PF_CT_DEFAULT_SIZE);
	__type(key, struct pf_ct6_key);
	__type(value, struct pf_ct6_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pf_ct6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PF_MAX_FRAGS);
	__type(key, struct pf_frag_key);
	__type(value, struct pf_frag_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pf_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pf_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pf_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PF_METRICS_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pf_metrics SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PF_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pf_events SEC(".maps");

#endif
