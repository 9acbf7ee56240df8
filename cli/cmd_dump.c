// SPDX-License-Identifier: Apache-2.0
/* ebpf dump-maps: the decoded contents of the pinned maps, read-only. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "datapath.h"
#include "map_decode.h"
#include "output.h"
#include "pinned.h"

struct dump_ctx {
	const char *map;
	json_t *entries;
	int ports_fd;     /* pf_ports, to list the ports of rule and host entries */
	uint64_t now_ns;  /* CLOCK_MONOTONIC_COARSE, the clock of conntrack stamps */
	int ncpu;
};

static int dump_append(struct dump_ctx *d, json_t *entry)
{
	if (!entry || json_array_append_new(d->entries, entry))
		return cli_fail("decode an entry of %s: %s", d->map, strerror(ENOMEM));
	return 0;
}

static int dump_pod(const void *key, const void *value, void *arg)
{
	uint32_t ifindex = *(const uint32_t *)key;
	char name[IF_NAMESIZE];

	return dump_append(arg, pf_decode_pod_json(ifindex, cli_ifname(ifindex, name), value));
}

static int dump_set(const void *key, const void *value, void *arg)
{
	return dump_append(arg, pf_decode_set_json(*(const uint32_t *)key, value));
}

/* The ports an entry allows, from its value or read from its chunks in
 * pf_ports. A missing chunk (a generation being written or retired) is
 * named in the list. */
static json_t *entry_ports(const struct dump_ctx *d, uint32_t gen, const struct pf_rule_val *v)
{
	size_t want = v->n_chunks < PF_PORT_CHUNKS_MAX ? v->n_chunks : PF_PORT_CHUNKS_MAX, n;
	struct pf_port_chunk *chunks = calloc(want + 1, sizeof(*chunks));
	json_t *ports;
	char note[48];

	if (!chunks)
		return NULL;
	if (v->n_inline) {
		pf_rule_val_inline_chunk(v, chunks);
		ports = pf_decode_ports_json(v->flags, chunks, 1);
		free(chunks);
		return ports;
	}
	for (n = 0; n < want; n++) {
		struct pf_port_key k = { .gen = gen, .ports_id = v->ports_id, .chunk = (uint32_t)n };

		if (bpf_map_lookup_elem(d->ports_fd, &k, &chunks[n]))
			break;
	}
	ports = pf_decode_ports_json(v->flags, chunks, n);
	if (ports && n < want) {
		snprintf(note, sizeof(note), "(chunk %zu missing)", n);
		json_array_append_new(ports, json_string(note));
	}
	free(chunks);
	return ports;
}

static int dump_with_ports(struct dump_ctx *d, json_t *entry, uint32_t gen,
			   const struct pf_rule_val *v)
{
	if (entry && json_object_set_new(entry, "ports", entry_ports(d, gen, v))) {
		json_decref(entry);
		entry = NULL;
	}
	return dump_append(d, entry);
}

static int dump_rule(const void *key, const void *value, void *arg)
{
	const struct pf_rule_key *k = key;

	return dump_with_ports(arg, pf_decode_rule_json(k, value), ntohl(k->gen), value);
}

static int dump_host6(const void *key, const void *value, void *arg)
{
	const struct pf_host_key *k = key;

	return dump_with_ports(arg, pf_decode_host_json(k, value), k->gen, value);
}

static int dump_host4(const void *key, const void *value, void *arg)
{
	struct pf_host_key view;

	pf_host4_key_view(key, &view);
	return dump_host6(&view, value, arg);
}

static int dump_port(const void *key, const void *value, void *arg)
{
	return dump_append(arg, pf_decode_port_chunk_json(key, value));
}

static int dump_ct6(const void *key, const void *value, void *arg)
{
	const struct pf_ct6_val *v = value;
	struct dump_ctx *d = arg;
	struct pf_ct_key view;

	pf_ct6_entry_view(key, v, &view);
	return dump_append(d, pf_decode_ct_json(&view, &v->ct, d->now_ns));
}

static int dump_ct4(const void *key, const void *value, void *arg)
{
	struct dump_ctx *d = arg;
	struct pf_ct_key view;

	pf_ct4_key_view(key, &view);
	return dump_append(d, pf_decode_ct_json(&view, value, d->now_ns));
}

static int dump_frag(const void *key, const void *value, void *arg)
{
	return dump_append(arg, pf_decode_frag_json(key, value));
}

static int dump_config(const void *key, const void *value, void *arg)
{
	(void)key;
	return dump_append(arg, pf_decode_config_json(value));
}

/* A per-CPU value: one u64 per possible CPU, summed. */
static int dump_metric(const void *key, const void *value, void *arg)
{
	const struct dump_ctx *d = arg;
	const uint64_t *per_cpu = value;
	uint64_t sum = 0;

	for (int c = 0; c < d->ncpu; c++)
		sum += per_cpu[c];
	return dump_append(arg, pf_decode_metric_json(*(const uint32_t *)key, sum));
}

static const struct out_col pod_cols[] = {
	{ "ifindex", "IFINDEX", NULL }, { "ifname", "IFNAME", NULL },
	{ "set_id", "SET", NULL },	{ "gen", "GEN", NULL },
	{ "ingress", "INGRESS", NULL }, { "egress", "EGRESS", NULL },
	{ NULL, NULL, NULL },
};
/* A set's "lookup" object as "ingress ipv4 32,24; egress ipv6 trie": the
 * directions and families that have entries. */
static char *format_lookup(json_t *lookup)
{
	static const char *const dirs[] = { "ingress", "egress" }, *const fams[] = { "ipv4", "ipv6" };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	bool any = false;

	if (!f)
		return NULL;
	for (int d = 0; d < 2; d++) {
		for (int fa = 0; fa < 2; fa++) {
			json_t *v = json_object_get(json_object_get(lookup, dirs[d]), fams[fa]);
			char *cell;

			if (!v || (json_is_array(v) && !json_array_size(v)))
				continue;
			cell = out_cell(v);
			fprintf(f, "%s%s %s %s", any ? "; " : "", dirs[d], fams[fa], cell ? cell : "?");
			free(cell);
			any = true;
		}
	}
	if (!any)
		fputs("-", f);
	fclose(f);
	return text;
}
static const struct out_col set_cols[] = {
	{ "set_id", "SET", NULL },	{ "gen", "GEN", NULL },
	{ "ingress", "INGRESS", NULL }, { "egress", "EGRESS", NULL },
	{ "lookup", "LOOKUP", format_lookup }, { NULL, NULL, NULL },
};
static char *format_ports(json_t *ports)
{
	/* An entry that allows nothing is an except hole. */
	return json_array_size(ports) ? out_cell(ports) : strdup("none (except hole)");
}
static const struct out_col rule_cols[] = {
	{ "gen", "GEN", NULL },		  { "direction", "DIRECTION", NULL },
	{ "family", "FAMILY", NULL },	  { "cidr", "CIDR", NULL },
	{ "rule_id", "RULE", NULL },	  { "flags", "FLAGS", NULL },
	{ "n_inline", "INLINE", NULL },	  { "ports_id", "PORTS_ID", NULL },
	{ "n_chunks", "CHUNKS", NULL },	  { "ports", "PORTS", format_ports },
	{ NULL, NULL, NULL },
};
static const struct out_col host_cols[] = {
	{ "gen", "GEN", NULL },		  { "direction", "DIRECTION", NULL },
	{ "family", "FAMILY", NULL },	  { "cidr", "CIDR", NULL },
	{ "rule_id", "RULE", NULL },	  { "flags", "FLAGS", NULL },
	{ "n_inline", "INLINE", NULL },	  { "ports_id", "PORTS_ID", NULL },
	{ "n_chunks", "CHUNKS", NULL },	  { "ports", "PORTS", format_ports },
	{ NULL, NULL, NULL },
};
static const struct out_col port_cols[] = {
	{ "gen", "GEN", NULL }, { "ports_id", "PORTS_ID", NULL }, { "chunk", "CHUNK", NULL },
	{ "n", "N", NULL },	{ "ranges", "RANGES", NULL },	  { NULL, NULL, NULL },
};
static const struct out_col ct_cols[] = {
	{ "ifindex", "IFINDEX", NULL },	    { "proto", "PROTO", NULL },
	{ "pod_addr", "POD_ADDR", NULL },   { "pod_port", "POD_PORT", NULL },
	{ "peer_addr", "PEER_ADDR", NULL }, { "peer_port", "PEER_PORT", NULL },
	{ "origin", "ORIGIN", NULL },	    { "idle_s", "IDLE_S", NULL },
	{ "seen", "SEEN", NULL },	    { "age_s", "AGE_S", NULL },
	{ NULL, NULL, NULL },
};
static const struct out_col frag_cols[] = {
	{ "id", "ID", NULL },	      { "proto", "PROTO", NULL }, { "saddr", "SADDR", NULL },
	{ "sport", "SPORT", NULL },   { "daddr", "DADDR", NULL }, { "dport", "DPORT", NULL },
	{ NULL, NULL, NULL },
};
static const struct out_col config_cols[] = {
	{ "mode", "MODE", NULL }, { "events", "EVENTS", NULL }, { NULL, NULL, NULL },
};
static const struct out_col metric_cols[] = {
	{ "reason", "REASON", NULL }, { "verdict", "VERDICT", NULL },
	{ "packets", "PACKETS", NULL }, { NULL, NULL, NULL },
};

static const struct {
	pinned_entry_fn entry; /* NULL: nothing to dump */
	const struct out_col *cols;
} dumpers[PF_MAP__COUNT] = {
	[PF_MAP_PODS] = { dump_pod, pod_cols },	     [PF_MAP_SETS] = { dump_set, set_cols },
	[PF_MAP_RULES] = { dump_rule, rule_cols },   [PF_MAP_HOSTS4] = { dump_host4, host_cols },
	[PF_MAP_HOSTS6] = { dump_host6, host_cols },
	[PF_MAP_PORTS] = { dump_port, port_cols },   [PF_MAP_CT4] = { dump_ct4, ct_cols },
	[PF_MAP_CT6] = { dump_ct6, ct_cols },	     [PF_MAP_FRAGS] = { dump_frag, frag_cols },
	[PF_MAP_CONFIG] = { dump_config, config_cols },
	[PF_MAP_METRICS] = { dump_metric, metric_cols },
	[PF_MAP_EVENTS] = { NULL, NULL },
};

#define EVENTS_NOTE "ring buffer of verdict events: a stream the agent consumes, not " \
		    "key/value entries; it cannot be dumped"

/* Reads one map into {"map", "type", "entries"} (pf_events: a "note"). */
static int dump_one(const char *root, enum pf_map_id id, json_t **out)
{
	struct dump_ctx d = { .map = pf_map_names[id], .ports_fd = -1 };
	struct pinned_map m, ports = { .fd = -1 };
	struct timespec now;
	int rc = pinned_map_open(root, id, &m);

	*out = NULL;
	if (rc)
		return rc;
	if (!dumpers[id].entry) {
		*out = json_pack("{s:s, s:s, s:n, s:s}", "map", m.name, "type",
				 libbpf_bpf_map_type_str(m.info.type), "entries", "note", EVENTS_NOTE);
		goto done;
	}
	if (id == PF_MAP_RULES || id == PF_MAP_HOSTS4 || id == PF_MAP_HOSTS6) {
		rc = pinned_map_open(root, PF_MAP_PORTS, &ports);
		d.ports_fd = ports.fd;
	}
	if (!rc && id == PF_MAP_METRICS)
		rc = pinned_ncpus(&d.ncpu);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	d.now_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	d.entries = json_array();
	if (!rc)
		rc = pinned_map_walk(&m, dumpers[id].entry, &d);
	if (!rc)
		*out = json_pack("{s:s, s:s, s:O}", "map", m.name, "type",
				 libbpf_bpf_map_type_str(m.info.type), "entries", d.entries);
	json_decref(d.entries);
done:
	if (!rc && !*out)
		rc = cli_fail("dump %s: %s", pf_map_names[id], strerror(ENOMEM));
	pinned_map_close(&ports);
	pinned_map_close(&m);
	return rc;
}

static void dump_table(enum pf_map_id id, json_t *dump)
{
	json_t *entries = json_object_get(dump, "entries");
	char title[160];

	if (!dumpers[id].entry) {
		printf("%s (%s): %s\n", pf_map_names[id],
		       json_string_value(json_object_get(dump, "type")), EVENTS_NOTE);
		return;
	}
	snprintf(title, sizeof(title), "%s (%s, %zu entr%s)", pf_map_names[id],
		 json_string_value(json_object_get(dump, "type")), json_array_size(entries),
		 json_array_size(entries) == 1 ? "y" : "ies");
	if (json_array_size(entries))
		out_table(title, entries, dumpers[id].cols);
	else
		printf("%s\n", title);
}

int cmd_ebpf_dump_maps(const struct cli_ctx *ctx, int argc, char **argv)
{
	int first = 0, last = PF_MAP__COUNT - 1, rc;
	json_t *all = NULL, *dump;

	if (argc > 2)
		return cli_usage_error("ebpf dump-maps takes at most one map name");
	if (argc == 2) {
		for (first = 0; first < PF_MAP__COUNT && strcmp(argv[1], pf_map_names[first]);
		     first++)
			;
		if (first == PF_MAP__COUNT)
			return cli_usage_error("unknown map \"%s\" (podfence pins pf_pods, pf_sets, "
					       "pf_rules, pf_hosts4, pf_hosts6, pf_ports, pf_ct4, "
					       "pf_ct6, pf_frags, "
					       "pf_config, pf_metrics, pf_events)", argv[1]);
		last = first;
	}
	rc = pinned_require(ctx->pin_root);
	if (rc)
		return rc;
	if (first != last && !(all = json_array()))
		return cli_fail("dump maps: %s", strerror(ENOMEM));
	for (int id = first; id <= last && !rc; id++) {
		rc = dump_one(ctx->pin_root, id, &dump);
		if (rc)
			break;
		if (all)
			json_array_append(all, dump);
		else if (ctx->json)
			out_json(dump);
		if (!ctx->json) {
			if (id != first)
				printf("\n");
			dump_table(id, dump);
		}
		json_decref(dump);
	}
	if (!rc && all && ctx->json)
		out_json(all);
	json_decref(all);
	return rc;
}
