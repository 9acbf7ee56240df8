// SPDX-License-Identifier: Apache-2.0
/* datapath ...: drive the pinned datapath through lib/datapath.h. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "datapath.h"
#include "map_decode.h"
#include "output.h"
#include "pinned.h"

int cli_datapath_adopt(const struct cli_ctx *ctx, struct pf_datapath **dp)
{
	struct pf_datapath_opts o = { .pin_root = ctx->pin_root };
	struct pf_config cfg;
	bool adopted;
	int rc = pinned_require_complete(ctx->pin_root), err;

	/* pf_datapath_open writes its options into pf_config: hand it the
	 * pinned ones so that, say, an attach never turns strict mode off. */
	if (!rc)
		rc = pinned_config_read(ctx->pin_root, &cfg);
	if (rc)
		return rc;
	o.mode = cfg.mode;
	o.events = cfg.events_enabled;
	err = pf_datapath_open(&o, dp, &adopted);
	if (err)
		return cli_fail("adopt the datapath pinned under %s: %s", ctx->pin_root,
				strerror(-err));
	return 0;
}

static int parse_on_off(const char *text, const char *what, bool *out)
{
	if (!strcmp(text, "on") || !strcmp(text, "off")) {
		*out = !strcmp(text, "on");
		return 0;
	}
	return cli_usage_error("%s %s: expected on or off", what, text);
}

static int cmd_load(const struct cli_ctx *ctx, int argc, char **argv)
{
	const char *mode_arg = NULL, *events_arg = NULL, *ct_arg = NULL;
	struct cli_opt opts[] = {
		{ "--mode", &mode_arg }, { "--events", &events_arg }, { "--ct-size", &ct_arg },
		{ NULL, NULL },
	};
	struct pf_datapath_opts o = { .pin_root = ctx->pin_root };
	struct pf_datapath *dp;
	struct pf_config cfg = { 0 };
	bool events = false, adopted;
	uint32_t mode = PF_MODE_STANDARD;
	char text[512];
	json_t *res;
	int rc = cli_parse_opts(argc - 1, argv + 1, opts), err;

	if (rc)
		return rc;
	if (mode_arg && strcmp(mode_arg, "standard") && strcmp(mode_arg, "strict"))
		return cli_usage_error("--mode %s: expected standard or strict", mode_arg);
	mode = mode_arg && !strcmp(mode_arg, "strict") ? PF_MODE_STRICT : PF_MODE_STANDARD;
	if (events_arg && parse_on_off(events_arg, "--events", &events))
		return CLI_EXIT_USAGE;
	if (ct_arg && cli_parse_u32(ct_arg, "--ct-size", &o.ct_size))
		return CLI_EXIT_USAGE;
	if (ct_arg && !o.ct_size)
		return cli_usage_error("--ct-size must be at least 1");
	/* Adopting keeps the pinned settings; only the options given change. */
	if (pinned_complete(ctx->pin_root) && pinned_config_read(ctx->pin_root, &cfg))
		return CLI_EXIT_FAIL;
	o.mode = mode_arg ? mode : cfg.mode;
	o.events = events_arg ? events : cfg.events_enabled;
	err = pf_datapath_open(&o, &dp, &adopted);
	if (err)
		return cli_fail("load the datapath under %s: %s", ctx->pin_root, strerror(-err));
	if (adopted && (mode_arg || events_arg)) {
		err = pf_datapath_configure(dp, o.mode, o.events);
		if (err) {
			pf_datapath_close(dp);
			return cli_fail("configure the datapath under %s: %s", ctx->pin_root,
					strerror(-err));
		}
	}
	if (adopted && ct_arg)
		fprintf(stderr, CLI_NAME ": note: --ct-size applies to a first load only; the "
			"pinned pf_ct4 and pf_ct6 keep their sizes\n");
	snprintf(text, sizeof(text), "%s %s (mode %s, events %s)", adopted ? "adopted" : "loaded",
		 pf_datapath_root(dp), pf_mode_name(o.mode), o.events ? "on" : "off");
	res = json_pack("{s:s, s:s, s:s, s:s}", "result", adopted ? "adopted" : "loaded", "root",
			pf_datapath_root(dp), "mode", pf_mode_name(o.mode), "events",
			o.events ? "on" : "off");
	out_result(ctx, res, text);
	json_decref(res);
	pf_datapath_close(dp);
	return 0;
}

/* The interface as people and scripts see it: "pfv0 (ifindex 4)". */
static json_t *iface_json(int ifindex, char *text, size_t len)
{
	char name[IF_NAMESIZE];
	const char *n = cli_ifname((uint32_t)ifindex, name);

	if (n)
		snprintf(text, len, "%s (ifindex %d)", n, ifindex);
	else
		snprintf(text, len, "ifindex %d", ifindex);
	return json_pack("{s:I, s:s?}", "ifindex", (json_int_t)ifindex, "ifname", n);
}

/* An action on one interface and how its outcome reads. */
struct iface_action {
	int (*op)(struct pf_datapath *dp, int ifindex);
	bool must_exist;    /* false: a bare ifindex of a veth that is gone is fine */
	const char *doing;  /* for errors: "<doing> <iface>: <why>" */
	const char *result; /* the JSON "result" word */
	const char *before, *after; /* the sentence: "<before> <iface><after>" */
};

static int iface_run(const struct cli_ctx *ctx, int argc, char **argv,
		     const struct iface_action *a)
{
	struct pf_datapath *dp;
	char iface[64], text[256];
	int ifindex, rc, err;
	json_t *res;

	if (argc != 2)
		return cli_usage_error("datapath %s takes one argument: IF", argv[0]);
	rc = cli_ifindex(argv[1], a->must_exist, &ifindex);
	if (!rc)
		rc = cli_datapath_adopt(ctx, &dp);
	if (rc)
		return rc;
	res = iface_json(ifindex, iface, sizeof(iface));
	err = a->op(dp, ifindex);
	pf_datapath_close(dp);
	if (err) {
		json_decref(res);
		return cli_fail("%s %s: %s", a->doing, iface, strerror(-err));
	}
	json_object_set_new(res, "result", json_string(a->result));
	snprintf(text, sizeof(text), "%s %s%s", a->before, iface, a->after);
	out_result(ctx, res, text);
	json_decref(res);
	return 0;
}

static int cmd_attach(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct iface_action a = {
		pf_datapath_attach, true, "attach to", "attached",
		"attached pf_to_pod (tc-egress) and pf_from_pod (tc-ingress) to", "",
	};

	return iface_run(ctx, argc, argv, &a);
}

static int cmd_detach(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct iface_action a = {
		pf_datapath_detach, false, "detach from", "detached",
		"detached pf_to_pod and pf_from_pod from", "",
	};

	return iface_run(ctx, argc, argv, &a);
}

static int cmd_unbind(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct iface_action a = {
		pf_datapath_pod_unbind, false, "unbind", "unbound",
		"unbound", " and forgot its tracked flows",
	};

	return iface_run(ctx, argc, argv, &a);
}

static int cmd_bind(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct pf_datapath *dp;
	char iface[64], text[256];
	uint32_t set_id;
	int ifindex, rc, err;
	json_t *res;

	if (argc != 3)
		return cli_usage_error("datapath bind takes two arguments: IF SET_ID");
	rc = cli_parse_u32(argv[2], "SET_ID", &set_id);
	if (!rc)
		rc = cli_ifindex(argv[1], true, &ifindex);
	if (!rc)
		rc = cli_datapath_adopt(ctx, &dp);
	if (rc)
		return rc;
	res = iface_json(ifindex, iface, sizeof(iface));
	err = pf_datapath_pod_bind(dp, ifindex, set_id);
	pf_datapath_close(dp);
	if (err) {
		json_decref(res);
		return cli_fail("bind %s to policy set %u: %s", iface, set_id, strerror(-err));
	}
	json_object_set_new(res, "set_id", json_integer(set_id));
	json_object_set_new(res, "result", json_string("bound"));
	snprintf(text, sizeof(text), "bound %s to policy set %u", iface, set_id);
	out_result(ctx, res, text);
	json_decref(res);
	return 0;
}

static int cmd_sweep(const struct cli_ctx *ctx, int argc, char **argv)
{
	const char *idle_arg = NULL;
	struct cli_opt opts[] = { { "--idle", &idle_arg }, { NULL, NULL } };
	uint32_t idle = 300;
	struct pf_datapath *dp;
	size_t removed = 0;
	char text[160];
	json_t *res;
	int rc = cli_parse_opts(argc - 1, argv + 1, opts), err;

	if (!rc && idle_arg)
		rc = cli_parse_u32(idle_arg, "--idle", &idle);
	if (!rc)
		rc = cli_datapath_adopt(ctx, &dp);
	if (rc)
		return rc;
	err = pf_ct_sweep(dp, (uint64_t)idle * 1000000000ull, &removed);
	pf_datapath_close(dp);
	if (err)
		return cli_fail("sweep tracked flows idle for more than %u s: %s", idle,
				strerror(-err));
	snprintf(text, sizeof(text), "removed %zu tracked flow%s idle for more than %u s", removed,
		 removed == 1 ? "" : "s", idle);
	res = json_pack("{s:I, s:I}", "removed", (json_int_t)removed, "idle_s", (json_int_t)idle);
	out_result(ctx, res, text);
	json_decref(res);
	return 0;
}

static int cmd_metrics(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct out_col cols[] = {
		{ "reason", "REASON", NULL }, { "verdict", "VERDICT", NULL },
		{ "packets", "PACKETS", NULL }, { NULL, NULL, NULL },
	};
	uint64_t counts[PF_REASON__COUNT];
	struct pf_datapath *dp;
	json_t *rows;
	int rc, err;

	(void)argv;
	if (argc != 1)
		return cli_usage_error("datapath metrics takes no arguments");
	rc = cli_datapath_adopt(ctx, &dp);
	if (rc)
		return rc;
	err = pf_datapath_read_metrics(dp, counts);
	pf_datapath_close(dp);
	if (err)
		return cli_fail("read verdict counters from %s/pf_metrics: %s", ctx->pin_root,
				strerror(-err));
	rows = json_array();
	for (unsigned r = 0; r < PF_REASON__COUNT; r++)
		if (json_array_append_new(rows, pf_decode_metric_json(r, counts[r]))) {
			json_decref(rows);
			return cli_fail("list verdict counters: %s", strerror(ENOMEM));
		}
	if (ctx->json)
		out_json(rows);
	else
		out_table(NULL, rows, cols);
	json_decref(rows);
	return 0;
}

static int cmd_unload(const struct cli_ctx *ctx, int argc, char **argv)
{
	char text[512];
	json_t *res;
	int rc, err;

	(void)argv;
	if (argc != 1)
		return cli_usage_error("datapath unload takes no arguments");
	rc = pinned_require(ctx->pin_root);
	if (rc)
		return rc;
	err = pf_datapath_unpin(ctx->pin_root);
	if (err)
		return cli_fail("unpin everything under %s: %s", ctx->pin_root, strerror(-err));
	snprintf(text, sizeof(text), "unpinned everything under %s; programs stay attached "
		 "until 'datapath detach IF'", ctx->pin_root);
	res = json_pack("{s:s, s:s}", "result", "unpinned", "root", ctx->pin_root);
	out_result(ctx, res, text);
	json_decref(res);
	return 0;
}

int cmd_datapath(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "load", cmd_load },	  { "attach", cmd_attach },
		{ "detach", cmd_detach }, { "bind", cmd_bind },
		{ "unbind", cmd_unbind }, { "apply", cmd_datapath_apply },
		{ "delete", cmd_datapath_delete }, { "sweep", cmd_sweep },
		{ "metrics", cmd_metrics }, { "unload", cmd_unload },
		{ NULL, NULL },
	};

	return cli_dispatch(cmds, argv[0], ctx, argc - 1, argv + 1);
}
