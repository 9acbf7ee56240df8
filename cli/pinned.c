// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "map_layout.h"
#include "pinned.h"

/* The path of pin i: -2 and -1 the programs, then the maps. */
static void pinned_path(const char *root, int i, char *path, size_t len)
{
	if (i < 0)
		snprintf(path, len, "%s/progs/%s", root, pf_prog_names[i + 2]);
	else
		snprintf(path, len, "%s/%s", root, pf_map_names[i]);
}

int pinned_require(const char *root)
{
	char path[PATH_MAX];
	struct stat st;

	for (int i = -2; i < PF_MAP__COUNT; i++) {
		pinned_path(root, i, path, sizeof(path));
		if (!stat(path, &st))
			return 0;
		if (errno != ENOENT && errno != ENOTDIR)
			return cli_fail("look for pins under %s: stat %s: %s", root, path,
					strerror(errno));
	}
	return cli_fail("no podfence datapath pinned under %s", root);
}

bool pinned_complete(const char *root)
{
	char path[PATH_MAX];
	struct stat st;

	for (int i = -2; i < PF_MAP__COUNT; i++) {
		pinned_path(root, i, path, sizeof(path));
		if (stat(path, &st))
			return false;
	}
	return true;
}

int pinned_require_complete(const char *root)
{
	char path[PATH_MAX];
	struct stat st;
	int rc = pinned_require(root);

	for (int i = -2; i < PF_MAP__COUNT && !rc; i++) {
		pinned_path(root, i, path, sizeof(path));
		if (stat(path, &st))
			rc = cli_fail("the datapath under %s is incomplete: %s: %s (run '" CLI_NAME
				      " datapath load' to repair it)", root, path, strerror(errno));
	}
	return rc;
}

int pinned_map_open_name(const char *root, const char *name, struct pinned_map *m)
{
	LIBBPF_OPTS(bpf_obj_get_opts, ro, .file_flags = BPF_F_RDONLY);
	__u32 len = sizeof(m->info);
	char path[PATH_MAX];

	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(path, sizeof(path), "%s/%s", root, name);
	m->fd = bpf_obj_get_opts(path, &ro);
	if (m->fd < 0)
		return cli_fail("open pinned map %s read-only: %s", path, strerror(errno));
	if (bpf_obj_get_info_by_fd(m->fd, &m->info, &len)) {
		int rc = cli_fail("read info of map %s: %s", path, strerror(errno));

		pinned_map_close(m);
		return rc;
	}
	return 0;
}

int pinned_map_open(const char *root, enum pf_map_id id, struct pinned_map *m)
{
	char path[PATH_MAX], err[512];
	int rc = pinned_map_open_name(root, pf_map_names[id], m);

	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/%s", root, m->name);
	if (!pf_map_layout_check(&m->info, id, path, err, sizeof(err)))
		return 0;
	rc = cli_fail("%s", err);
	pinned_map_close(m);
	return rc;
}

void pinned_map_close(struct pinned_map *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

int pinned_ncpus(int *ncpu)
{
	*ncpu = libbpf_num_possible_cpus();
	if (*ncpu <= 0)
		return cli_fail("count possible CPUs: %s", strerror(-*ncpu));
	return 0;
}

static bool pinned_percpu(enum bpf_map_type t)
{
	return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH ||
	       t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

int pinned_map_walk(const struct pinned_map *m, pinned_entry_fn fn, void *arg)
{
	size_t vsize = m->info.value_size;
	void *key, *prev, *value;
	bool have_prev = false;
	int ncpu = 1, rc = 0;

	if (pinned_percpu(m->info.type)) {
		if (pinned_ncpus(&ncpu))
			return CLI_EXIT_FAIL;
		vsize = ((vsize + 7) & ~(size_t)7) * (size_t)ncpu;
	}
	key = calloc(1, m->info.key_size);
	prev = calloc(1, m->info.key_size);
	value = calloc(1, vsize);
	if (!key || !prev || !value) {
		rc = cli_fail("walk map %s: %s", m->name, strerror(ENOMEM));
		goto out;
	}
	for (__u32 n = 0; n < m->info.max_entries; n++) {
		if (bpf_map_get_next_key(m->fd, have_prev ? prev : NULL, key)) {
			if (errno != ENOENT)
				rc = cli_fail("walk map %s: %s", m->name, strerror(errno));
			break;
		}
		memcpy(prev, key, m->info.key_size);
		have_prev = true;
		if (bpf_map_lookup_elem(m->fd, key, value)) {
			if (errno == ENOENT) /* deleted since get_next_key */
				continue;
			rc = cli_fail("read map %s: %s", m->name, strerror(errno));
			break;
		}
		rc = fn(key, value, arg);
		if (rc)
			break;
	}
out:
	free(key);
	free(prev);
	free(value);
	return rc;
}

static int pinned_count_one(const void *key, const void *value, void *arg)
{
	(void)key;
	(void)value;
	++*(long *)arg;
	return 0;
}

int pinned_map_count(const struct pinned_map *m, long *n)
{
	*n = 0;
	return pinned_map_walk(m, pinned_count_one, n);
}

int pinned_prog_open(const char *path, int *fd, struct bpf_prog_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	*fd = bpf_obj_get(path);
	if (*fd < 0)
		return cli_fail("open pinned program %s: %s", path, strerror(errno));
	if (bpf_obj_get_info_by_fd(*fd, info, &len)) {
		int rc = cli_fail("read info of program %s: %s", path, strerror(errno));

		close(*fd);
		*fd = -1;
		return rc;
	}
	return 0;
}

int pinned_config_read(const char *root, struct pf_config *cfg)
{
	struct pinned_map m;
	__u32 zero = 0;
	int rc = pinned_map_open(root, PF_MAP_CONFIG, &m);

	if (rc)
		return rc;
	if (bpf_map_lookup_elem(m.fd, &zero, cfg))
		rc = cli_fail("read %s/pf_config: %s", root, strerror(errno));
	pinned_map_close(&m);
	return rc;
}
