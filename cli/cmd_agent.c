// SPDX-License-Identifier: Apache-2.0
/* pods, policies, explain: questions to podfence-agent over its socket
 * (docs/cli.md; the API is the agent socket contract). -o json prints the
 * agent's reply as it came; explain adds the flattened entries. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "http_client.h"
#include "k8s_names.h"
#include "map_decode.h"
#include "output.h"
#include "policy_compile.h"

/* The agent answers from memory; a slower answer means it is stuck. */
#define CLI_AGENT_TIMEOUT_MS 5000

int cli_agent_get(const struct cli_ctx *ctx, const char *url_path, json_t **doc)
{
	char errmsg[512] = "", *reply = NULL;
	const char *why;
	json_error_t jerr;
	long status;
	int err, rc = 0;

	*doc = NULL;
	err = pf_http_unix_request(ctx->agent_socket, "GET", url_path, NULL, CLI_AGENT_TIMEOUT_MS,
				   &status, &reply, errmsg, sizeof(errmsg));
	if (err)
		return cli_fail("ask podfence-agent: %s (is podfence-agent running? its socket is "
				"chosen with --agent-socket PATH)",
				errmsg[0] ? errmsg : strerror(-err));
	*doc = json_loads(reply, 0, &jerr);
	why = json_string_value(json_object_get(*doc, "error"));
	if (status < 200 || status > 299)
		rc = cli_fail("podfence-agent on %s: GET %s: HTTP %ld: %s", ctx->agent_socket,
			      url_path, status, why ? why : reply);
	else if (!json_is_object(*doc))
		rc = cli_fail("podfence-agent on %s: GET %s: the reply is not a JSON object: %s",
			      ctx->agent_socket, url_path, *doc ? "" : jerr.text);
	free(reply);
	if (rc) {
		json_decref(*doc);
		*doc = NULL;
	}
	return rc;
}

bool cli_pod_ref_ok(const char *arg)
{
	const char *slash = strchr(arg, '/');
	char ns[64];

	if (!slash || (size_t)(slash - arg) >= sizeof(ns))
		return false;
	memcpy(ns, arg, (size_t)(slash - arg));
	ns[slash - arg] = '\0';
	return pf_k8s_dns_label_ok(ns) && pf_k8s_dns_subdomain_ok(slash + 1, strlen(slash + 1));
}

json_t *cli_portset_json(const struct pf_portset *ps)
{
	size_t n = pf_portset_chunks(ps);
	struct pf_port_chunk *chunks = calloc(n + 1, sizeof(*chunks));
	json_t *words;

	if (!chunks)
		return NULL;
	for (size_t i = 0; i < ps->n; i++) {
		struct pf_port_chunk *c = &chunks[i / PF_PORT_CHUNK];

		c->r[c->n++] = ps->r[i];
	}
	words = pf_decode_ports_json(ps->flags, chunks, n);
	free(chunks);
	return words;
}

/* The array member key of doc, which the contract says is there. */
static json_t *agent_array(const struct cli_ctx *ctx, json_t *doc, const char *key,
			   const char *url_path)
{
	json_t *a = json_object_get(doc, key);

	if (!json_is_array(a))
		cli_fail("podfence-agent on %s: GET %s: the reply has no \"%s\" array",
			 ctx->agent_socket, url_path, key);
	return json_is_array(a) ? a : NULL;
}

int cmd_pods(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct out_col cols[] = {
		{ "namespace", "NAMESPACE", NULL }, { "name", "NAME", NULL },
		{ "local", "LOCAL", NULL },	    { "ipv4", "IPV4", NULL },
		{ "host_veth", "HOST_VETH", NULL }, { "policy_set", "SET", NULL },
		{ "ingress", "INGRESS", NULL },	    { "egress", "EGRESS", NULL },
		{ NULL, NULL, NULL },
	};
	json_t *doc, *pods, *rows, *p;
	size_t i;
	int rc;

	(void)argv;
	if (argc != 1)
		return cli_usage_error("pods takes no arguments");
	rc = cli_agent_get(ctx, "/v1/pods", &doc);
	if (rc)
		return rc;
	pods = agent_array(ctx, doc, "pods", "/v1/pods");
	if (!pods) {
		json_decref(doc);
		return CLI_EXIT_FAIL;
	}
	if (ctx->json) {
		out_json(doc);
		json_decref(doc);
		return 0;
	}
	rows = json_array();
	json_array_foreach(pods, i, p) {
		json_t *iso = json_object_get(p, "isolation");

		json_array_append_new(rows, json_pack(
			"{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?}",
			"namespace", json_object_get(p, "namespace"), "name", json_object_get(p, "name"),
			"local", json_object_get(p, "local"), "ipv4", json_object_get(p, "ipv4"),
			"host_veth", json_object_get(p, "host_veth"),
			"policy_set", json_object_get(p, "policy_set"),
			"ingress", json_object_get(iso, "ingress"),
			"egress", json_object_get(iso, "egress")));
	}
	out_table(NULL, rows, cols);
	json_decref(rows);
	json_decref(doc);
	return 0;
}

int cmd_policies(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct out_col cols[] = {
		{ "namespace", "NAMESPACE", NULL }, { "name", "NAME", NULL },
		{ "policy_types", "TYPES", NULL },  { "selects", "SELECTS", NULL },
		{ NULL, NULL, NULL },
	};
	json_t *doc, *policies;
	int rc;

	(void)argv;
	if (argc != 1)
		return cli_usage_error("policies takes no arguments");
	rc = cli_agent_get(ctx, "/v1/policies", &doc);
	if (rc)
		return rc;
	policies = agent_array(ctx, doc, "policies", "/v1/policies");
	if (policies) {
		if (ctx->json)
			out_json(doc);
		else
			out_table(NULL, policies, cols);
	}
	json_decref(doc);
	return policies ? 0 : CLI_EXIT_FAIL;
}

/* The flattened entries of the agent's spec for the pod, compiled here the
 * way pf_policy_set_apply's caller compiles it: [{direction, cidr, ports,
 * rules}], rules being the indices of the spec's rules (in that direction)
 * that the entry unites. *c keeps the compiled set for the isolation. */
static int explain_entries(const char *pod, json_t *spec, struct pf_compiled *c, json_t **out)
{
	struct pf_policy_spec ps;
	char err[512] = "", buf[64];
	int e = pf_policy_spec_from_json(spec, &ps, err, sizeof(err));

	if (e)
		return cli_fail("the agent's policy set spec for %s: %s", pod,
				err[0] ? err : strerror(-e));
	e = pf_policy_compile(&ps, c);
	pf_policy_spec_free(&ps);
	if (e)
		return cli_fail("compile the agent's policy set spec for %s: %s", pod,
				strerror(-e));
	*out = json_array();
	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < c->dir[d].n; i++) {
			const struct pf_flat_entry *fe = &c->dir[d].entries[i];
			json_t *rules = json_array();

			for (size_t s = 0; s < fe->n_sources; s++)
				json_array_append_new(rules, json_integer(fe->sources[s]));
			json_array_append_new(*out, json_pack(
				"{s:s, s:s, s:o*, s:o}", "direction", pf_dir_name((unsigned)d),
				"cidr", pf_cidr_format(&fe->prefix, buf, sizeof(buf)),
				"ports", cli_portset_json(&c->portsets[fe->portset]), "rules", rules));
		}
	}
	return 0;
}

/* "ingress isolated" words for one direction: the compiled spec's when the
 * pod has one, else what the agent says. */
static const char *explain_isolation(json_t *pod, const struct pf_compiled *c, bool have_spec,
				     int dir)
{
	const char *agent = json_string_value(
		json_object_get(json_object_get(pod, "isolation"), pf_dir_name((unsigned)dir)));

	if (have_spec)
		return pf_isolation_name(c->dir[dir].isolation);
	return agent ? agent : "unknown";
}

static char *explain_ports_cell(json_t *v)
{
	return json_array_size(v) ? out_cell(v) : strdup("none (except hole)");
}

static void explain_print(json_t *doc, json_t *entries, const struct pf_compiled *c,
			  bool have_spec)
{
	static const struct out_col fields[] = {
		{ "pod", "pod", NULL },		   { "where", "node", NULL },
		{ "addresses", "addresses", NULL }, { "policy_set", "policy set", NULL },
		{ "policies", "policies", NULL },   { "ingress", "ingress", NULL },
		{ "egress", "egress", NULL },	   { NULL, NULL, NULL },
	};
	static const struct out_col cols[] = {
		{ "direction", "DIRECTION", NULL }, { "cidr", "CIDR", NULL },
		{ "ports", "PORTS", explain_ports_cell }, { "rules", "FROM RULES", NULL },
		{ NULL, NULL, NULL },
	};
	json_t *pod = json_object_get(doc, "pod"), *addrs = json_array(), *summary;
	const char *veth = json_string_value(json_object_get(pod, "host_veth"));
	const char *ns = json_string_value(json_object_get(pod, "namespace"));
	const char *name = json_string_value(json_object_get(pod, "name"));
	json_t *ifindex = json_object_get(pod, "ifindex");
	char where[128], ref[320];

	snprintf(ref, sizeof(ref), "%s/%s", ns ? ns : "?", name ? name : "?");
	if (!json_is_true(json_object_get(pod, "local")))
		snprintf(where, sizeof(where), "remote (on another node)");
	else if (json_is_integer(ifindex))
		snprintf(where, sizeof(where), "local (host veth %s, ifindex %" JSON_INTEGER_FORMAT ")",
			 veth ? veth : "-", json_integer_value(ifindex));
	else
		snprintf(where, sizeof(where), "local (host veth %s)", veth ? veth : "-");
	if (json_is_string(json_object_get(pod, "ipv4")))
		json_array_append(addrs, json_object_get(pod, "ipv4"));
	if (json_is_string(json_object_get(pod, "ipv6")))
		json_array_append(addrs, json_object_get(pod, "ipv6"));
	summary = json_pack("{s:s, s:s, s:o, s:O?, s:O?, s:s, s:s}", "pod", ref, "where", where,
			    "addresses", addrs, "policy_set", json_object_get(doc, "policy_set"),
			    "policies", json_object_get(doc, "policies"),
			    "ingress", explain_isolation(pod, c, have_spec, PF_DIR_INGRESS),
			    "egress", explain_isolation(pod, c, have_spec, PF_DIR_EGRESS));
	out_fields(summary, fields);
	json_decref(summary);
	if (!have_spec) {
		printf("\nno policy set spec: the node's mode decides for this pod\n");
		return;
	}
	printf("\nflattened rules (the longest matching CIDR alone decides):\n");
	out_table(NULL, entries, cols);
}

int cmd_explain(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct pf_compiled c = { 0 };
	json_t *doc, *spec, *entries = NULL;
	char url[512];
	bool have_spec;
	int rc;

	if (argc != 2)
		return cli_usage_error("explain takes one argument: NS/POD");
	if (!cli_pod_ref_ok(argv[1]))
		return cli_usage_error("explain %s: expected NAMESPACE/POD (a Kubernetes namespace "
				       "and pod name)", argv[1]);
	/* Names passed cli_pod_ref_ok: nothing in them needs URL escaping. */
	snprintf(url, sizeof(url), "/v1/explain?pod=%s", argv[1]);
	rc = cli_agent_get(ctx, url, &doc);
	if (rc)
		return rc;
	if (!json_is_object(json_object_get(doc, "pod"))) {
		json_decref(doc);
		return cli_fail("podfence-agent on %s: GET %s: the reply has no \"pod\" object",
				ctx->agent_socket, url);
	}
	spec = json_object_get(doc, "spec");
	have_spec = json_is_object(spec);
	rc = have_spec ? explain_entries(argv[1], spec, &c, &entries) : 0;
	if (!rc && !entries)
		entries = json_array();
	if (!rc && ctx->json) {
		json_object_set(doc, "entries", entries);
		out_json(doc);
	} else if (!rc) {
		explain_print(doc, entries, &c, have_spec);
	}
	json_decref(entries);
	json_decref(doc);
	if (have_spec)
		pf_compiled_free(&c);
	return rc;
}
