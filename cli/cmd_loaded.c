// SPDX-License-Identifier: Apache-2.0
/* ebpf loaded-ebpfdata: everything the datapath has loaded, per pod veth,
 * read-only. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cidr.h"
#include "cli.h"
#include "map_decode.h"
#include "output.h"
#include "pinned.h"
#include "tc_query.h"

/* Entries of each generation: prefixes (in pf_rules or hashed) and single
 * addresses (hashed). */
struct gen_count {
	uint32_t gen;
	long rules, hosts;
};

struct loaded_ctx {
	struct gen_count *gens;
	size_t n_gens;
	uint32_t prog_id[2]; /* 0: not pinned */
	json_t *pods;
};

static struct gen_count *gen_slot(struct loaded_ctx *l, uint32_t gen)
{
	struct gen_count *grown;

	for (size_t i = 0; i < l->n_gens; i++)
		if (l->gens[i].gen == gen)
			return &l->gens[i];
	grown = realloc(l->gens, (l->n_gens + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	l->gens = grown;
	l->gens[l->n_gens] = (struct gen_count){ .gen = gen };
	return &l->gens[l->n_gens++];
}

static int count_rule(const void *key, const void *value, void *arg)
{
	struct gen_count *g = gen_slot(arg, ntohl(((const struct pf_rule_key *)key)->gen));

	(void)value;
	if (!g)
		return cli_fail("count rule entries: %s", strerror(ENOMEM));
	g->rules++;
	return 0;
}

/* pf_hosts4 and pf_hosts6 keys both start with gen, dir_family and plen:
 * a single address is a host, any other prefix a rule. */
static int count_host(const void *key, const void *value, void *arg)
{
	const struct pf_host4_key *k = key;
	struct gen_count *g = gen_slot(arg, k->gen);

	(void)value;
	if (!g)
		return cli_fail("count host entries: %s", strerror(ENOMEM));
	if (k->plen == pf_cidr_max_len(k->dir_family & 0xf))
		g->hosts++;
	else
		g->rules++;
	return 0;
}

static json_t *attach_state(int ifindex, enum pf_dir dir, uint32_t prog_id)
{
	char buf[64];

	if (!prog_id)
		return json_string("program not pinned");
	return json_string(tc_attach_state(ifindex, dir, prog_id, buf, sizeof(buf)));
}

static int loaded_pod(const void *key, const void *value, void *arg)
{
	struct loaded_ctx *l = arg;
	const struct pf_pod_val *pod = value;
	uint32_t ifindex = *(const uint32_t *)key;
	const struct pf_set_val *set = &pod->set;
	char name[IF_NAMESIZE];
	struct gen_count *g = NULL;
	bool have_set = set->gen != 0;
	json_t *row;

	/* The pod's copy of its set is what the datapath enforces; a pod bound
	 * to a set that was never applied (generation 0) gets the mode's
	 * default. */
	if (have_set)
		g = gen_slot(l, set->gen);
	row = json_pack("{s:I, s:s?, s:I, s:o, s:s, s:s, s:o, s:o, s:I, s:I}", "ifindex",
			(json_int_t)ifindex, "ifname", cli_ifname(ifindex, name), "set_id",
			(json_int_t)pod->set_id, "set_gen",
			have_set ? json_integer(set->gen) : json_null(), "ingress",
			pf_isolation_name(set->isolation[PF_DIR_INGRESS]), "egress",
			pf_isolation_name(set->isolation[PF_DIR_EGRESS]),
			pf_prog_names[PF_DIR_INGRESS],
			attach_state((int)ifindex, PF_DIR_INGRESS, l->prog_id[PF_DIR_INGRESS]),
			pf_prog_names[PF_DIR_EGRESS],
			attach_state((int)ifindex, PF_DIR_EGRESS, l->prog_id[PF_DIR_EGRESS]),
			"rules", (json_int_t)(g ? g->rules : 0), "hosts",
			(json_int_t)(g ? g->hosts : 0));
	if (!row || json_array_append_new(l->pods, row))
		return cli_fail("describe pod veth %u: %s", ifindex, strerror(ENOMEM));
	return 0;
}

/* The ids of the pinned programs; a missing pin is shown, not fatal. */
static json_t *loaded_programs(const char *root, struct loaded_ctx *l, int *rc)
{
	json_t *progs = json_array();
	char path[PATH_MAX];

	for (int d = 0; d < 2 && !*rc; d++) {
		struct bpf_prog_info info;
		int fd;

		snprintf(path, sizeof(path), "%s/progs/%s", root, pf_prog_names[d]);
		if (access(path, F_OK) && errno == ENOENT) {
			json_array_append_new(progs, json_pack("{s:s, s:n, s:s}", "name",
							       pf_prog_names[d], "id", "hook",
							       tc_hook_name(d)));
			continue;
		}
		*rc = pinned_prog_open(path, &fd, &info);
		if (*rc)
			break;
		close(fd);
		l->prog_id[d] = info.id;
		json_array_append_new(progs, json_pack("{s:s, s:I, s:s}", "name", pf_prog_names[d],
						       "id", (json_int_t)info.id, "hook",
						       tc_hook_name(d)));
	}
	return progs;
}

static char *format_programs(json_t *progs)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);
	json_t *p;

	if (!f)
		return NULL;
	json_array_foreach(progs, i, p) {
		json_t *id = json_object_get(p, "id");

		fprintf(f, "%s%s ", i ? ", " : "", json_string_value(json_object_get(p, "name")));
		if (json_is_integer(id))
			fprintf(f, "(id %" JSON_INTEGER_FORMAT ", %s)", json_integer_value(id),
				json_string_value(json_object_get(p, "hook")));
		else
			fputs("(not pinned)", f);
	}
	fclose(f);
	return text;
}

int cmd_ebpf_loaded(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct out_col head_cols[] = {
		{ "root", "root", NULL },   { "mode", "mode", NULL },
		{ "events", "events", NULL }, { "programs", "programs", format_programs },
		{ NULL, NULL, NULL },
	};
	static const struct out_col pod_cols[] = {
		{ "ifindex", "IFINDEX", NULL },
		{ "ifname", "IFNAME", NULL },
		{ "set_id", "SET", NULL },
		{ "set_gen", "GEN", NULL },
		{ "ingress", "INGRESS", NULL },
		{ "egress", "EGRESS", NULL },
		{ "pf_to_pod", "PF_TO_POD", NULL },
		{ "pf_from_pod", "PF_FROM_POD", NULL },
		{ "rules", "RULES", NULL },
		{ "hosts", "HOSTS", NULL },
		{ NULL, NULL, NULL },
	};
	struct pinned_map pods = { .fd = -1 }, rules = { .fd = -1 }, hosts4 = { .fd = -1 },
			  hosts6 = { .fd = -1 };
	struct loaded_ctx l = { 0 };
	struct pf_config cfg;
	json_t *doc = NULL, *progs = NULL;
	int rc;

	(void)argv;
	if (argc != 1)
		return cli_usage_error("ebpf loaded-ebpfdata takes no arguments");
	rc = pinned_require(ctx->pin_root);
	if (!rc)
		rc = pinned_config_read(ctx->pin_root, &cfg);
	if (!rc)
		rc = pinned_map_open(ctx->pin_root, PF_MAP_PODS, &pods);
	if (!rc)
		rc = pinned_map_open(ctx->pin_root, PF_MAP_RULES, &rules);
	if (!rc)
		rc = pinned_map_open(ctx->pin_root, PF_MAP_HOSTS4, &hosts4);
	if (!rc)
		rc = pinned_map_open(ctx->pin_root, PF_MAP_HOSTS6, &hosts6);
	if (!rc)
		rc = pinned_map_walk(&rules, count_rule, &l);
	if (!rc)
		rc = pinned_map_walk(&hosts4, count_host, &l);
	if (!rc)
		rc = pinned_map_walk(&hosts6, count_host, &l);
	if (!rc)
		progs = loaded_programs(ctx->pin_root, &l, &rc);
	l.pods = json_array();
	if (!rc)
		rc = pinned_map_walk(&pods, loaded_pod, &l);
	if (!rc) {
		doc = json_pack("{s:s, s:s, s:s, s:O, s:O}", "root", ctx->pin_root, "mode",
				pf_mode_name(cfg.mode), "events", cfg.events_enabled ? "on" : "off",
				"programs", progs, "pods", l.pods);
		if (!doc)
			rc = cli_fail("describe the loaded datapath: %s", strerror(ENOMEM));
	}
	if (!rc && ctx->json) {
		out_json(doc);
	} else if (!rc) {
		out_fields(doc, head_cols);
		printf("\n");
		if (json_array_size(l.pods))
			out_table(NULL, l.pods, pod_cols);
		else
			printf("no pod veth is bound (pf_pods is empty)\n");
	}
	json_decref(doc);
	json_decref(progs);
	json_decref(l.pods);
	free(l.gens);
	pinned_map_close(&pods);
	pinned_map_close(&rules);
	pinned_map_close(&hosts4);
	pinned_map_close(&hosts6);
	return rc;
}
