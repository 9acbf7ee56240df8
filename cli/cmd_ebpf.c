// SPDX-License-Identifier: Apache-2.0
/* ebpf progs and ebpf maps: what is pinned, read without touching it. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "output.h"
#include "pinned.h"
#include "tc_query.h"

/* The pod veths the datapath knows: the keys of pf_pods. */
struct ifindex_list {
	uint32_t *v;
	size_t n, cap;
};

static int collect_ifindex(const void *key, const void *value, void *arg)
{
	struct ifindex_list *l = arg;

	(void)value;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		uint32_t *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return cli_fail("list pod veths: %s", strerror(ENOMEM));
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *(const uint32_t *)key;
	return 0;
}

static int pod_ifindexes(const char *root, struct ifindex_list *l)
{
	struct pinned_map pods;
	int rc = pinned_map_open(root, PF_MAP_PODS, &pods);

	if (!rc)
		rc = pinned_map_walk(&pods, collect_ifindex, l);
	pinned_map_close(&pods);
	return rc;
}

/* Program load times count from boot (CLOCK_BOOTTIME); people read UTC. */
static json_t *boot_ns_to_utc(uint64_t boot_ns)
{
	struct timespec real, boot;
	char text[32];
	struct tm tm;
	time_t t;

	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	t = real.tv_sec - boot.tv_sec + (time_t)(boot_ns / 1000000000ull);
	if (!gmtime_r(&t, &tm) || !strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return json_null();
	return json_string(text);
}

/* Run counters tick only while sysctl kernel.bpf_stats_enabled is 1. */
static bool bpf_stats_enabled(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "re");
	int on = 0;

	if (f) {
		if (fscanf(f, "%d", &on) != 1)
			on = 0;
		fclose(f);
	}
	return on;
}

static json_t *prog_attachments(uint32_t prog_id, const struct ifindex_list *pods)
{
	json_t *out = json_array();
	char name[IF_NAMESIZE];

	for (size_t i = 0; i < pods->n; i++) {
		for (int d = 0; d < 2; d++) {
			uint32_t id;

			if (pf_datapath_attached_prog((int)pods->v[i], d, &id) || id != prog_id)
				continue;
			json_array_append_new(out, json_pack("{s:I, s:s?, s:s}", "ifindex",
							     (json_int_t)pods->v[i], "ifname",
							     cli_ifname(pods->v[i], name), "hook",
							     tc_hook_name(d)));
		}
	}
	return out;
}

static json_t *prog_json(const char *pin, const struct bpf_prog_info *info,
			 const struct ifindex_list *pods, bool stats)
{
	const char *type = libbpf_bpf_prog_type_str(info->type);
	char tag[2 * BPF_TAG_SIZE + 1];

	for (int i = 0; i < BPF_TAG_SIZE; i++)
		snprintf(tag + 2 * i, 3, "%02x", info->tag[i]);
	/* Without stats and never counted, a 0 would claim "never ran". */
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:o, s:o}", "pin", pin, "name",
			 info->name, "id", (json_int_t)info->id, "type", type ? type : "unknown",
			 "tag", tag, "loaded_at", boot_ns_to_utc(info->load_time), "run_cnt",
			 stats || info->run_cnt ? json_integer((json_int_t)info->run_cnt) : json_null(),
			 "run_time_ns",
			 stats || info->run_cnt ? json_integer((json_int_t)info->run_time_ns) :
						  json_null(),
			 "attached", prog_attachments(info->id, pods));
}

static char *format_attached(json_t *list)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);
	json_t *a;

	if (!f)
		return NULL;
	json_array_foreach(list, i, a) {
		const char *name = json_string_value(json_object_get(a, "ifname"));

		fprintf(f, "%s%s %s", i ? ", " : "", name ? name : "?",
			json_string_value(json_object_get(a, "hook")));
	}
	if (!json_array_size(list))
		fputs("-", f);
	fclose(f);
	return text;
}

static int pin_filter(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int cmd_progs(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct out_col cols[] = {
		{ "name", "NAME", NULL },	     { "id", "ID", NULL },
		{ "type", "TYPE", NULL },	     { "tag", "TAG", NULL },
		{ "loaded_at", "LOADED", NULL },     { "run_cnt", "RUNS", NULL },
		{ "attached", "ATTACHED", format_attached }, { NULL, NULL, NULL },
	};
	struct ifindex_list pods = { 0 };
	struct dirent **ents = NULL;
	char dir[PATH_MAX], path[PATH_MAX + 256];
	json_t *rows = NULL;
	bool stats = bpf_stats_enabled();
	int n = 0, rc;

	(void)argv;
	if (argc != 1)
		return cli_usage_error("ebpf progs takes no arguments");
	rc = pinned_require(ctx->pin_root);
	if (!rc)
		rc = pod_ifindexes(ctx->pin_root, &pods);
	if (rc)
		goto out;
	snprintf(dir, sizeof(dir), "%s/progs", ctx->pin_root);
	n = scandir(dir, &ents, pin_filter, alphasort);
	if (n < 0 && errno != ENOENT) {
		rc = cli_fail("list pinned programs in %s: %s", dir, strerror(errno));
		goto out;
	}
	rows = json_array();
	for (int i = 0; i < n && !rc; i++) {
		struct bpf_prog_info info;
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		rc = pinned_prog_open(path, &fd, &info);
		if (rc)
			break;
		snprintf(path, sizeof(path), "progs/%s", ents[i]->d_name);
		if (json_array_append_new(rows, prog_json(path, &info, &pods, stats)))
			rc = cli_fail("describe program %s: %s", path, strerror(ENOMEM));
		close(fd);
	}
	if (!rc && ctx->json)
		out_json(rows);
	else if (!rc)
		out_table(NULL, rows, cols);
out:
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	free(pods.v);
	json_decref(rows);
	return rc;
}

/* What "entries" means for a map of this type. */
static json_t *map_count_json(const struct pinned_map *m, const char **note, int *rc)
{
	long n;

	*note = NULL;
	switch (m->info.type) {
	case BPF_MAP_TYPE_RINGBUF:
		*note = "ring buffer of max_entries bytes: a stream, not a key/value store";
		return json_null();
	case BPF_MAP_TYPE_ARRAY:
		*note = "array: every slot always exists";
		break;
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		*note = "per-CPU array: every slot exists, one value per CPU";
		break;
	case BPF_MAP_TYPE_LRU_HASH:
		*note = "keys present; the least recently used are evicted when full";
		break;
	default:
		*note = "keys present";
		break;
	}
	*rc = pinned_map_count(m, &n);
	return *rc ? NULL : json_integer(n);
}

static int cmd_maps(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct out_col cols[] = {
		{ "name", "NAME", NULL },	      { "id", "ID", NULL },
		{ "type", "TYPE", NULL },	      { "key_size", "KEY", NULL },
		{ "value_size", "VALUE", NULL },      { "max_entries", "MAX_ENTRIES", NULL },
		{ "entries", "ENTRIES", NULL },	      { "note", "COUNT MEANS", NULL },
		{ NULL, NULL, NULL },
	};
	struct dirent **ents = NULL;
	json_t *rows = NULL;
	int n, rc;

	(void)argv;
	if (argc != 1)
		return cli_usage_error("ebpf maps takes no arguments");
	rc = pinned_require(ctx->pin_root);
	if (rc)
		return rc;
	n = scandir(ctx->pin_root, &ents, pin_filter, alphasort);
	if (n < 0)
		return cli_fail("list pins in %s: %s", ctx->pin_root, strerror(errno));
	rows = json_array();
	for (int i = 0; i < n && !rc; i++) {
		struct pinned_map m;
		const char *type, *note;
		json_t *count;

		if (ents[i]->d_type == DT_DIR) /* progs/ */
			continue;
		rc = pinned_map_open_name(ctx->pin_root, ents[i]->d_name, &m);
		if (rc)
			break;
		count = map_count_json(&m, &note, &rc);
		type = libbpf_bpf_map_type_str(m.info.type);
		if (!rc && json_array_append_new(
			    rows, json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:o, s:s}", "name", m.name,
					    "id", (json_int_t)m.info.id, "type",
					    type ? type : "unknown", "key_size",
					    (json_int_t)m.info.key_size, "value_size",
					    (json_int_t)m.info.value_size, "max_entries",
					    (json_int_t)m.info.max_entries, "entries", count,
					    "note", note)))
			rc = cli_fail("describe map %s: %s", m.name, strerror(ENOMEM));
		pinned_map_close(&m);
	}
	if (!rc && ctx->json)
		out_json(rows);
	else if (!rc)
		out_table(NULL, rows, cols);
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	json_decref(rows);
	return rc;
}

int cmd_ebpf(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "progs", cmd_progs },
		{ "maps", cmd_maps },
		{ "dump-maps", cmd_ebpf_dump_maps },
		{ "loaded-ebpfdata", cmd_ebpf_loaded },
		{ NULL, NULL },
	};

	return cli_dispatch(cmds, argv[0], ctx, argc - 1, argv + 1);
}
