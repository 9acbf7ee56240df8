// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <bpf/libbpf.h>

#include "map_layout.h"

const struct pf_map_layout pf_map_layouts[PF_MAP__COUNT] = {
	[PF_MAP_PODS] = { BPF_MAP_TYPE_HASH, 4, sizeof(struct pf_pod_val) },
	[PF_MAP_SETS] = { BPF_MAP_TYPE_HASH, 4, sizeof(struct pf_set_val) },
	[PF_MAP_RULES] = { BPF_MAP_TYPE_LPM_TRIE, sizeof(struct pf_rule_key),
			   sizeof(struct pf_rule_val) },
	[PF_MAP_HOSTS4] = { BPF_MAP_TYPE_HASH, sizeof(struct pf_host4_key),
			    sizeof(struct pf_rule_val) },
	[PF_MAP_HOSTS6] = { BPF_MAP_TYPE_HASH, sizeof(struct pf_host_key),
			    sizeof(struct pf_rule_val) },
	[PF_MAP_PORTS] = { BPF_MAP_TYPE_HASH, sizeof(struct pf_port_key),
			   sizeof(struct pf_port_chunk) },
	[PF_MAP_CT4] = { BPF_MAP_TYPE_LRU_HASH, sizeof(struct pf_ct4_key), sizeof(struct pf_ct_val) },
	[PF_MAP_CT6] = { BPF_MAP_TYPE_LRU_HASH, sizeof(struct pf_ct6_key),
			 sizeof(struct pf_ct6_val) },
	[PF_MAP_FRAGS] = { BPF_MAP_TYPE_LRU_HASH, sizeof(struct pf_frag_key),
			   sizeof(struct pf_frag_val) },
	[PF_MAP_CONFIG] = { BPF_MAP_TYPE_ARRAY, 4, sizeof(struct pf_config) },
	[PF_MAP_METRICS] = { BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(__u64) },
	[PF_MAP_EVENTS] = { BPF_MAP_TYPE_RINGBUF, 0, 0 },
};

static const char *pf_map_type_name(enum bpf_map_type t)
{
	const char *name = libbpf_bpf_map_type_str(t);

	return name ? name : "of an unknown type";
}

int pf_map_layout_check(const struct bpf_map_info *info, enum pf_map_id id, const char *path,
			char *err, size_t len)
{
	const struct pf_map_layout *want = &pf_map_layouts[id];

	if (info->type == want->type && info->key_size == want->key_size &&
	    info->value_size == want->value_size)
		return 0;
	snprintf(err, len, "map %s is %s with key size %u and value size %u; this build "
		 "expects %s, %u, %u (pinned by another podfence build?)", path,
		 pf_map_type_name(info->type), info->key_size, info->value_size,
		 pf_map_type_name(want->type), want->key_size, want->value_size);
	return -EMEDIUMTYPE;
}
