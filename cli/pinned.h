/* SPDX-License-Identifier: Apache-2.0 */
/* Read-only access to what the datapath pinned under its root: the
 * inspection commands open maps with BPF_F_RDONLY and never load, attach or
 * write anything. Every function here reports its own errors (cli_fail). */
#ifndef PF_CLI_PINNED_H
#define PF_CLI_PINNED_H

#include <stdbool.h>
#include <stddef.h>
#include <bpf/bpf.h>

#include "datapath.h"

struct pinned_map {
	int fd;
	char name[64]; /* the pin's file name */
	struct bpf_map_info info;
};

/* 0 when something is pinned under root; otherwise says "no podfence
 * datapath pinned under DIR" (or why root cannot be read): CLI_EXIT_FAIL. */
int pinned_require(const char *root);

/* True when every map and program of the datapath is pinned under root
 * (quiet: for "datapath load", which then adopts). */
bool pinned_complete(const char *root);
/* Like pinned_require, and every map and program of the datapath must be
 * pinned (what adopting it needs). 0 or CLI_EXIT_FAIL. */
int pinned_require_complete(const char *root);

/* Opens the map pinned at root/name read-only and reads its info.
 * 0 or CLI_EXIT_FAIL. */
int pinned_map_open_name(const char *root, const char *name, struct pinned_map *m);
/* Opens root/<name of id> so, and checks that its type and sizes are the
 * ones abi/podfence_abi.h describes. 0 or CLI_EXIT_FAIL. */
int pinned_map_open(const char *root, enum pf_map_id id, struct pinned_map *m);
void pinned_map_close(struct pinned_map *m);

/* Calls fn on every entry (per-CPU values: one value per possible CPU, each
 * rounded up to 8 bytes). At most max_entries entries are visited, so a map
 * changing under the walk cannot keep it going forever. fn returns 0 to go
 * on. Returns 0, or CLI_EXIT_FAIL after reporting what failed. */
typedef int (*pinned_entry_fn)(const void *key, const void *value, void *arg);
int pinned_map_walk(const struct pinned_map *m, pinned_entry_fn fn, void *arg);
/* Number of entries present: keys of a hash, LRU or LPM map, slots of an
 * array. 0 or CLI_EXIT_FAIL. */
int pinned_map_count(const struct pinned_map *m, long *n);

/* A pinned program: fd (opened plainly: the kernel refuses read-only program
 * fds; a program fd cannot change anything by itself) and its info. */
int pinned_prog_open(const char *path, int *fd, struct bpf_prog_info *info);

/* The node-wide configuration, read from the pinned pf_config. */
int pinned_config_read(const char *root, struct pf_config *cfg);

/* Number of possible CPUs, for per-CPU values; CLI_EXIT_FAIL on error. */
int pinned_ncpus(int *ncpu);

#endif
