// SPDX-License-Identifier: Apache-2.0
/* Loading, pinning and re-adopting the datapath. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath_internal.h"
#include "map_layout.h"
#include "log.h"
#include "podfence.skel.h"

const char *const pf_map_names[PF_MAP__COUNT] = {
	[PF_MAP_PODS] = "pf_pods",       [PF_MAP_SETS] = "pf_sets",
	[PF_MAP_RULES] = "pf_rules",     [PF_MAP_HOSTS4] = "pf_hosts4",
	[PF_MAP_HOSTS6] = "pf_hosts6",
	[PF_MAP_PORTS] = "pf_ports",     [PF_MAP_CT4] = "pf_ct4",
	[PF_MAP_CT6] = "pf_ct6",         [PF_MAP_FRAGS] = "pf_frags",
	[PF_MAP_CONFIG] = "pf_config",
	[PF_MAP_METRICS] = "pf_metrics", [PF_MAP_EVENTS] = "pf_events",
};
const char *const pf_prog_names[2] = {
	[PF_DIR_INGRESS] = "pf_to_pod",
	[PF_DIR_EGRESS] = "pf_from_pod",
};

static int pf_mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int pf_check_bpffs(const char *root)
{
	char parent[PATH_MAX];
	struct statfs st;
	int err = pf_mkdir_p(root);

	if (err) {
		pf_err("create pin directory %s: %s", root, strerror(-err));
		return err;
	}
	snprintf(parent, sizeof(parent), "%s", root);
	if (statfs(parent, &st)) {
		err = -errno;
		pf_err("statfs %s: %s", root, strerror(errno));
		return err;
	}
	if (st.f_type != BPF_FS_MAGIC) {
		pf_err("pin root %s is not on a bpf filesystem (mount -t bpf bpf /sys/fs/bpf)",
		       root);
		return -ENOTSUP;
	}
	return 0;
}

static void pf_prog_pin_path(const char *root, int dir, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s/progs/%s", root, pf_prog_names[dir]) >= (int)len)
		buf[0] = 0;
}

/* A pinned map adopted must have this build's layout (lib/map_layout.h). */
static int pf_adopt_check(int fd, enum pf_map_id id, const char *path)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char why[512];
	int err;

	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		pf_err("read info of pinned map %s: %s", path, strerror(errno));
		return err;
	}
	err = pf_map_layout_check(&info, id, path, why, sizeof(why));
	if (err)
		pf_err("%s", why);
	return err;
}

static int pf_adopt(struct pf_datapath *dp)
{
	char path[PATH_MAX];
	int err;

	for (int d = 0; d < 2; d++) {
		pf_prog_pin_path(dp->root, d, path, sizeof(path));
		dp->prog_fd[d] = bpf_obj_get(path);
		if (dp->prog_fd[d] < 0)
			return -errno;
	}
	for (int m = 0; m < PF_MAP__COUNT; m++) {
		snprintf(path, sizeof(path), "%s/%s", dp->root, pf_map_names[m]);
		dp->map_fd[m] = bpf_obj_get(path);
		if (dp->map_fd[m] < 0) {
			int err = -errno;

			pf_err("adopt pinned map %s: %s", path, strerror(errno));
			return err;
		}
		err = pf_adopt_check(dp->map_fd[m], (enum pf_map_id)m, path);
		if (err)
			return err;
	}
	return 0;
}

static int pf_load(struct pf_datapath *dp, uint32_t ct_size)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = dp->root);
	struct bpf_program *progs[2];
	struct bpf_map *maps[PF_MAP__COUNT];
	char path[PATH_MAX];
	int err;

	dp->skel = podfence__open_opts(&oo);
	if (!dp->skel) {
		err = -errno;
		pf_err("open eBPF object: %s", strerror(errno));
		return err;
	}
	if (!ct_size)
		ct_size = PF_CT_DEFAULT_SIZE;
	err = bpf_map__set_max_entries(dp->skel->maps.pf_ct4, ct_size);
	if (!err)
		err = bpf_map__set_max_entries(dp->skel->maps.pf_ct6, ct_size);
	if (!err)
		err = podfence__load(dp->skel);
	if (err) {
		pf_err("load eBPF object (pinned maps under %s must match this build): %s",
		       dp->root, strerror(-err));
		return err;
	}
	progs[PF_DIR_INGRESS] = dp->skel->progs.pf_to_pod;
	progs[PF_DIR_EGRESS] = dp->skel->progs.pf_from_pod;
	maps[PF_MAP_PODS] = dp->skel->maps.pf_pods;
	maps[PF_MAP_SETS] = dp->skel->maps.pf_sets;
	maps[PF_MAP_RULES] = dp->skel->maps.pf_rules;
	maps[PF_MAP_HOSTS4] = dp->skel->maps.pf_hosts4;
	maps[PF_MAP_HOSTS6] = dp->skel->maps.pf_hosts6;
	maps[PF_MAP_PORTS] = dp->skel->maps.pf_ports;
	maps[PF_MAP_CT4] = dp->skel->maps.pf_ct4;
	maps[PF_MAP_CT6] = dp->skel->maps.pf_ct6;
	maps[PF_MAP_FRAGS] = dp->skel->maps.pf_frags;
	maps[PF_MAP_CONFIG] = dp->skel->maps.pf_config;
	maps[PF_MAP_METRICS] = dp->skel->maps.pf_metrics;
	maps[PF_MAP_EVENTS] = dp->skel->maps.pf_events;
	for (int m = 0; m < PF_MAP__COUNT; m++)
		dp->map_fd[m] = bpf_map__fd(maps[m]);
	snprintf(path, sizeof(path), "%s/progs", dp->root);
	err = pf_mkdir_p(path);
	for (int d = 0; d < 2 && !err; d++) {
		dp->prog_fd[d] = bpf_program__fd(progs[d]);
		pf_prog_pin_path(dp->root, d, path, sizeof(path));
		unlink(path); /* a half-pinned earlier run */
		err = bpf_program__pin(progs[d], path);
		if (err)
			pf_err("pin program %s: %s", path, strerror(-err));
	}
	return err;
}

/* Generations only ever grow: the next one is past every one in use. */
static void pf_next_gen_init(struct pf_datapath *dp)
{
	uint32_t key, *prev = NULL, max = 0;
	struct pf_set_val v;

	while (!bpf_map_get_next_key(dp->map_fd[PF_MAP_SETS], prev, &key)) {
		if (!bpf_map_lookup_elem(dp->map_fd[PF_MAP_SETS], &key, &v) && v.gen > max)
			max = v.gen;
		prev = &key;
	}
	dp->next_gen = max + 1;
}

int pf_datapath_open(const struct pf_datapath_opts *opts, struct pf_datapath **out,
		     bool *adopted)
{
	struct pf_datapath *dp = calloc(1, sizeof(*dp));
	const char *root;
	int err;

	if (!dp)
		return -ENOMEM;
	for (int m = 0; m < PF_MAP__COUNT; m++)
		dp->map_fd[m] = -1;
	dp->prog_fd[0] = dp->prog_fd[1] = -1;
	root = opts->pin_root ? opts->pin_root : PF_DEFAULT_PIN_ROOT;
	if (strlen(root) >= sizeof(dp->root)) {
		pf_err("pin root %s is longer than %zu characters", root, sizeof(dp->root) - 1);
		err = -ENAMETOOLONG;
		goto fail;
	}
	snprintf(dp->root, sizeof(dp->root), "%s", root);
	err = pf_check_bpffs(dp->root);
	if (err)
		goto fail;
	err = pf_adopt(dp);
	if (err == -EMEDIUMTYPE) {
		pf_err("the datapath pinned under %s is another build's: 'podfence-ctl datapath "
		       "unload' removes its pins so this build can load its own", dp->root);
		goto fail;
	}
	*adopted = !err;
	if (!*adopted) {
		for (int m = 0; m < PF_MAP__COUNT; m++)
			if (dp->map_fd[m] >= 0)
				close(dp->map_fd[m]);
		for (int d = 0; d < 2; d++)
			if (dp->prog_fd[d] >= 0)
				close(dp->prog_fd[d]);
		for (int m = 0; m < PF_MAP__COUNT; m++)
			dp->map_fd[m] = -1;
		dp->prog_fd[0] = dp->prog_fd[1] = -1;
		err = pf_load(dp, opts->ct_size);
		if (err)
			goto fail;
	}
	pf_next_gen_init(dp);
	err = pf_datapath_configure(dp, opts->mode, opts->events);
	if (err)
		goto fail;
	pf_info("datapath %s under %s (mode %s, events %s)", *adopted ? "adopted" : "loaded",
		dp->root, opts->mode == PF_MODE_STRICT ? "strict" : "standard",
		opts->events ? "on" : "off");
	*out = dp;
	return 0;
fail:
	pf_datapath_close(dp);
	return err;
}

void pf_datapath_close(struct pf_datapath *dp)
{
	if (!dp)
		return;
	if (dp->skel) {
		podfence__destroy(dp->skel);
	} else {
		for (int m = 0; m < PF_MAP__COUNT; m++)
			if (dp->map_fd[m] >= 0)
				close(dp->map_fd[m]);
		for (int d = 0; d < 2; d++)
			if (dp->prog_fd[d] >= 0)
				close(dp->prog_fd[d]);
	}
	for (size_t i = 0; i < dp->n_sets; i++)
		pf_compiled_free(&dp->sets[i].compiled);
	free(dp->sets);
	free(dp);
}

int pf_datapath_unpin(const char *pin_root)
{
	char path[PATH_MAX];
	int err = 0;

	for (int d = 0; d < 2; d++) {
		pf_prog_pin_path(pin_root, d, path, sizeof(path));
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	}
	snprintf(path, sizeof(path), "%s/progs", pin_root);
	rmdir(path);
	for (int m = 0; m < PF_MAP__COUNT; m++) {
		snprintf(path, sizeof(path), "%s/%s", pin_root, pf_map_names[m]);
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	}
	if (rmdir(pin_root) && errno != ENOENT)
		err = -errno;
	return err;
}

int pf_datapath_configure(struct pf_datapath *dp, uint32_t mode, bool events)
{
	struct pf_config cfg = { .mode = mode, .events_enabled = events };
	uint32_t zero = 0;

	dp->mode = mode;
	if (bpf_map_update_elem(dp->map_fd[PF_MAP_CONFIG], &zero, &cfg, BPF_ANY)) {
		int err = -errno;

		pf_err("write pf_config: %s", strerror(errno));
		return err;
	}
	return 0;
}

int pf_datapath_read_metrics(struct pf_datapath *dp, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu < 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t r = 0; r < PF_REASON__COUNT; r++) {
		out[r] = 0;
		if (bpf_map_lookup_elem(dp->map_fd[PF_MAP_METRICS], &r, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[r] += vals[c];
	}
	free(vals);
	return 0;
}

int pf_datapath_map_fd(const struct pf_datapath *dp, enum pf_map_id id)
{
	return dp->map_fd[id];
}

int pf_datapath_prog_fd(const struct pf_datapath *dp, enum pf_dir dir)
{
	return dp->prog_fd[dir];
}

const char *pf_datapath_root(const struct pf_datapath *dp)
{
	return dp->root;
}
