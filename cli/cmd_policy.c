// SPDX-License-Identifier: Apache-2.0
/* datapath apply / delete: replace or remove a policy set. A policy file is
 * read, checked and compiled before the datapath is opened, so a bad file
 * never touches a map. */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "cli.h"
#include "datapath.h"
#include "map_decode.h"
#include "output.h"
#include "policy_compile.h"

static int policy_file_compile(const char *file, struct pf_compiled *c)
{
	struct pf_policy_spec spec;
	const char *name = strcmp(file, "-") ? file : "(stdin)";
	json_error_t jerr;
	char err[512] = "";
	json_t *doc = strcmp(file, "-") ? json_load_file(file, 0, &jerr)
					: json_loadf(stdin, 0, &jerr);
	int e;

	if (!doc) {
		if (jerr.line < 0) /* could not be read at all */
			return cli_fail("read policy file %s: %s", name, jerr.text);
		return cli_fail("policy file %s: line %d column %d: %s", name, jerr.line,
				jerr.column, jerr.text);
	}
	e = pf_policy_spec_from_json(doc, &spec, err, sizeof(err));
	json_decref(doc);
	if (e)
		return cli_fail("policy file %s: %s", name, err[0] ? err : strerror(-e));
	e = pf_policy_compile(&spec, c);
	pf_policy_spec_free(&spec);
	if (e)
		return cli_fail("compile policy file %s: %s", name, strerror(-e));
	return 0;
}

int cmd_datapath_apply(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct pf_datapath *dp;
	struct pf_compiled c;
	struct pf_set_val set = { 0 };
	size_t entries;
	uint32_t set_id;
	char text[256];
	json_t *res;
	int rc, err;

	if (argc != 3)
		return cli_usage_error("datapath apply takes two arguments: SET_ID FILE");
	rc = cli_parse_u32(argv[1], "SET_ID", &set_id);
	if (rc)
		return rc;
	rc = policy_file_compile(argv[2], &c);
	if (rc)
		return rc;
	rc = cli_datapath_adopt(ctx, &dp);
	if (rc) {
		pf_compiled_free(&c);
		return rc;
	}
	err = pf_policy_set_apply(dp, set_id, &c);
	if (!err && bpf_map_lookup_elem(pf_datapath_map_fd(dp, PF_MAP_SETS), &set_id, &set))
		err = -errno;
	pf_datapath_close(dp);
	entries = c.dir[PF_DIR_INGRESS].n + c.dir[PF_DIR_EGRESS].n;
	pf_compiled_free(&c);
	if (err)
		return cli_fail("apply policy set %u: %s", set_id, strerror(-err));
	snprintf(text, sizeof(text),
		 "applied policy set %u: generation %u, ingress %s, egress %s, %zu entr%s",
		 set_id, set.gen, pf_isolation_name(set.isolation[PF_DIR_INGRESS]),
		 pf_isolation_name(set.isolation[PF_DIR_EGRESS]), entries,
		 entries == 1 ? "y" : "ies");
	res = json_pack("{s:s, s:I, s:I, s:s, s:s, s:I}", "result", "applied", "set_id",
			(json_int_t)set_id, "gen", (json_int_t)set.gen, "ingress",
			pf_isolation_name(set.isolation[PF_DIR_INGRESS]), "egress",
			pf_isolation_name(set.isolation[PF_DIR_EGRESS]), "entries",
			(json_int_t)entries);
	out_result(ctx, res, text);
	json_decref(res);
	return 0;
}

int cmd_datapath_delete(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct pf_datapath *dp;
	struct pf_set_val old;
	uint32_t set_id;
	bool existed;
	char text[128];
	json_t *res;
	int rc, err;

	if (argc != 2)
		return cli_usage_error("datapath delete takes one argument: SET_ID");
	rc = cli_parse_u32(argv[1], "SET_ID", &set_id);
	if (!rc)
		rc = cli_datapath_adopt(ctx, &dp);
	if (rc)
		return rc;
	existed = !bpf_map_lookup_elem(pf_datapath_map_fd(dp, PF_MAP_SETS), &set_id, &old);
	err = pf_policy_set_delete(dp, set_id);
	pf_datapath_close(dp);
	if (err)
		return cli_fail("delete policy set %u: %s", set_id, strerror(-err));
	snprintf(text, sizeof(text), existed ? "deleted policy set %u" :
		 "policy set %u was not present; nothing to delete", set_id);
	res = json_pack("{s:s, s:I}", "result", existed ? "deleted" : "absent", "set_id",
			(json_int_t)set_id);
	out_result(ctx, res, text);
	json_decref(res);
	return 0;
}
