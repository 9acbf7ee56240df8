/* SPDX-License-Identifier: Apache-2.0 */
/* What this build's datapath maps are (bpf/lib/maps.h): type, key and value
 * sizes. A pinned map of another layout belongs to another podfence build,
 * and reading or writing it with this build's structures would misread it. */
#ifndef PF_MAP_LAYOUT_H
#define PF_MAP_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include <bpf/bpf.h>

#include "datapath.h"

struct pf_map_layout {
	enum bpf_map_type type;
	uint32_t key_size, value_size;
};

extern const struct pf_map_layout pf_map_layouts[PF_MAP__COUNT];

/* 0 when info (of the map pinned at path) has map id's layout, else
 * -EMEDIUMTYPE and a sentence naming both layouts in err. */
int pf_map_layout_check(const struct bpf_map_info *info, enum pf_map_id id, const char *path,
			char *err, size_t len);

#endif
