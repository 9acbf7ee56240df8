// SPDX-License-Identifier: Apache-2.0
/* trace FROM TO: a flow's first packet through the real loaded programs on
 * the pinned maps (lib/trace.h). FROM and TO are NS/POD, looked up through
 * podfence-agent's GET /v1/pods, or a bare IP address (a pod's address is
 * taken as that pod). Exit status: 0 allowed, 1 denied, 2 no verdict. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "cli.h"
#include "map_decode.h"
#include "output.h"
#include "pinned.h"
#include "policy_spec.h"
#include "trace.h"

#define TRACE_EXIT_ALLOW 0
#define TRACE_EXIT_DENY 1
/* Anything that is not a verdict (a usage error, an unknown pod, no
 * datapath), so a script never mistakes a failure for "denied". */
#define TRACE_EXIT_NO_VERDICT 2

/* One end of the flow. */
struct trace_end {
	const char *arg;      /* as given */
	json_t *pod;          /* the agent's pod object (borrowed), or NULL */
	char ref[320];        /* "ns/name" of pod */
	bool given_addr;      /* arg was an address */
	struct pf_cidr addr;  /* the end's address (a host prefix) */
	int ifindex;          /* host veth of a local pod, else 0 */
};

/* The pinned programs and maps a trace runs on. */
struct trace_pins {
	struct pinned_map maps[PF_MAP__COUNT];
	int ct_rw[2]; /* pf_ct4 and pf_ct6 again, writable: the trace deletes its entries */
	int prog[2];
};

static void trace_pins_init(struct trace_pins *t)
{
	for (int i = 0; i < PF_MAP__COUNT; i++)
		t->maps[i].fd = -1;
	t->ct_rw[0] = t->ct_rw[1] = t->prog[0] = t->prog[1] = -1;
}

static int trace_pins_open(const char *root, struct trace_pins *t, struct pf_trace_maps *m)
{
	static const enum pf_map_id used[] = { PF_MAP_PODS,  PF_MAP_RULES, PF_MAP_HOSTS4,
					       PF_MAP_HOSTS6, PF_MAP_PORTS, PF_MAP_CT4,
					       PF_MAP_CT6,    PF_MAP_CONFIG };
	static const enum pf_map_id ct[2] = { PF_MAP_CT4, PF_MAP_CT6 };
	char path[512];
	struct bpf_prog_info info;
	int rc = pinned_require_complete(root);

	/* Read-only, checked against the ABI, then the conntrack maps once
	 * more to write. */
	for (size_t i = 0; i < sizeof(used) / sizeof(used[0]) && !rc; i++)
		rc = pinned_map_open(root, used[i], &t->maps[used[i]]);
	for (int i = 0; i < 2 && !rc; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, pf_map_names[ct[i]]);
		t->ct_rw[i] = bpf_obj_get(path);
		if (t->ct_rw[i] < 0)
			rc = cli_fail("open pinned map %s: %s", path, strerror(errno));
	}
	for (int d = 0; d < 2 && !rc; d++) {
		snprintf(path, sizeof(path), "%s/progs/%s", root, pf_prog_names[d]);
		rc = pinned_prog_open(path, &t->prog[d], &info);
	}
	if (rc)
		return rc;
	m->prog[PF_DIR_INGRESS] = t->prog[PF_DIR_INGRESS];
	m->prog[PF_DIR_EGRESS] = t->prog[PF_DIR_EGRESS];
	m->pods = t->maps[PF_MAP_PODS].fd;
	m->rules = t->maps[PF_MAP_RULES].fd;
	m->hosts4 = t->maps[PF_MAP_HOSTS4].fd;
	m->hosts6 = t->maps[PF_MAP_HOSTS6].fd;
	m->ports = t->maps[PF_MAP_PORTS].fd;
	m->ct4 = t->ct_rw[0];
	m->ct6 = t->ct_rw[1];
	m->config = t->maps[PF_MAP_CONFIG].fd;
	return 0;
}

static void trace_pins_close(struct trace_pins *t)
{
	for (int i = 0; i < PF_MAP__COUNT; i++)
		if (t->maps[i].fd >= 0)
			pinned_map_close(&t->maps[i]);
	for (int i = 0; i < 2; i++)
		if (t->ct_rw[i] >= 0)
			close(t->ct_rw[i]);
	for (int d = 0; d < 2; d++)
		if (t->prog[d] >= 0)
			close(t->prog[d]);
}

static int trace_parse_end(const char *what, const char *arg, struct trace_end *e)
{
	char err[128];

	memset(e, 0, sizeof(*e));
	e->arg = arg;
	if (!strchr(arg, '/') && !pf_addr_parse(arg, &e->addr, err, sizeof(err))) {
		e->given_addr = true;
		return 0;
	}
	if (cli_pod_ref_ok(arg))
		return 0;
	return cli_usage_error("trace %s \"%s\": expected NAMESPACE/POD or an IP address", what,
			       arg);
}

static bool trace_pod_is(json_t *pod, const char *ref)
{
	const char *ns = json_string_value(json_object_get(pod, "namespace"));
	const char *name = json_string_value(json_object_get(pod, "name"));
	size_t nl = ns ? strlen(ns) : 0;

	return ns && name && !strncmp(ref, ns, nl) && ref[nl] == '/' && !strcmp(ref + nl + 1, name);
}

/* The pod's address of family, parsed; false when it has none. */
static bool trace_pod_addr(json_t *pod, uint8_t family, struct pf_cidr *out)
{
	const char *text = json_string_value(
		json_object_get(pod, family == PF_FAMILY_V4 ? "ipv4" : "ipv6"));
	char err[128];

	return text && !pf_addr_parse(text, out, err, sizeof(err)) && out->family == family;
}

/* Finds the end's pod in the agent's list: by name, or by address. */
static int trace_find_pod(struct trace_end *e, json_t *pods)
{
	struct pf_cidr a;
	json_t *p;
	size_t i;

	json_array_foreach(pods, i, p) {
		const char *ns = json_string_value(json_object_get(p, "namespace"));
		const char *name = json_string_value(json_object_get(p, "name"));

		if (e->given_addr ? trace_pod_addr(p, e->addr.family, &a) &&
					    !memcmp(a.addr, e->addr.addr, 16)
				  : trace_pod_is(p, e->arg)) {
			e->pod = p;
			snprintf(e->ref, sizeof(e->ref), "%s/%s", ns ? ns : "?", name ? name : "?");
			return 0;
		}
	}
	if (e->given_addr)
		return 0; /* a peer outside the cluster */
	return cli_fail("no pod %s known to podfence-agent (see '" CLI_NAME " pods')", e->arg);
}

/* The family of the flow: the one of an address given, else --family, else
 * IPv4 when both pods have one, else IPv6 when both do. */
static int trace_family(const struct trace_end *e, const char *family_arg, uint8_t *family)
{
	uint8_t want = 0;
	struct pf_cidr a;

	if (family_arg)
		want = strcmp(family_arg, "ipv4") ? PF_FAMILY_V6 : PF_FAMILY_V4;
	for (int i = 0; i < 2; i++) {
		if (!e[i].given_addr)
			continue;
		if (want && want != e[i].addr.family)
			return cli_usage_error("%s is not an %s address, as %s", e[i].arg,
					       pf_family_name(want),
					       family_arg ? "--family says" : "the other end is");
		want = e[i].addr.family;
	}
	if (want) {
		*family = want;
		return 0;
	}
	if (trace_pod_addr(e[0].pod, PF_FAMILY_V4, &a) && trace_pod_addr(e[1].pod, PF_FAMILY_V4, &a))
		want = PF_FAMILY_V4;
	else if (trace_pod_addr(e[0].pod, PF_FAMILY_V6, &a) &&
		 trace_pod_addr(e[1].pod, PF_FAMILY_V6, &a))
		want = PF_FAMILY_V6;
	if (want) {
		*family = want;
		return 0;
	}
	return cli_fail("%s and %s have no address family in common", e[0].ref, e[1].ref);
}

/* The end's address in the flow's family, and its host veth if local. */
static int trace_resolve_end(struct trace_end *e, uint8_t family)
{
	json_t *ifindex;
	const char *veth;

	if (!e->pod)
		return 0;
	if (!e->given_addr && !trace_pod_addr(e->pod, family, &e->addr))
		return cli_fail("pod %s has no %s address", e->ref,
				family == PF_FAMILY_V4 ? "IPv4" : "IPv6");
	if (!json_is_true(json_object_get(e->pod, "local")))
		return 0;
	ifindex = json_object_get(e->pod, "ifindex");
	veth = json_string_value(json_object_get(e->pod, "host_veth"));
	if (json_is_integer(ifindex) && json_integer_value(ifindex) > 0 &&
	    json_integer_value(ifindex) <= INT32_MAX)
		e->ifindex = (int)json_integer_value(ifindex);
	else if (veth)
		e->ifindex = (int)if_nametoindex(veth);
	if (e->ifindex <= 0)
		return cli_fail("pod %s is local but its host veth %s is not an interface in this "
				"network namespace (run in the node's namespace: nsenter --net=...)",
				e->ref, veth ? veth : "(none given)");
	return 0;
}

static json_t *trace_end_json(const struct trace_end *e)
{
	char buf[64];

	json_t *end = json_pack("{s:s, s:s?, s:s, s:b}", "given", e->arg, "pod",
				e->pod ? e->ref : NULL, "address",
				pf_addr_format(e->addr.family, e->addr.addr, buf, sizeof(buf)),
				"local", e->ifindex > 0);

	json_object_set_new(end, "ifindex", e->ifindex > 0 ? json_integer(e->ifindex)
							   : json_null());
	return end;
}

/* The map the hop's entry was found in. */
static const char *trace_entry_map(const struct pf_trace_hop *h)
{
	if (!h->entry.hashed)
		return pf_map_names[PF_MAP_RULES];
	return pf_map_names[h->entry.prefix.family == PF_FAMILY_V4 ? PF_MAP_HOSTS4 : PF_MAP_HOSTS6];
}

static json_t *trace_entry_json(const struct pf_trace_hop *h)
{
	char buf[64];

	if (!h->matched)
		return json_null();
	return json_pack("{s:s, s:s, s:I, s:o*, s:b}", "map", trace_entry_map(h),
			 "cidr", pf_cidr_format(&h->entry.prefix, buf, sizeof(buf)), "rule_id",
			 (json_int_t)h->entry.rule_id, "ports", cli_portset_json(&h->entry.ports),
			 "ports_complete", h->entry.ports_complete);
}

static json_t *trace_hop_json(const struct pf_trace_hop *h, const struct trace_end *pod_end)
{
	char name[IF_NAMESIZE];

	return json_pack(
		"{s:s, s:s, s:s, s:I, s:s?, s:s?, s:s, s:I, s:s, s:b, s:s, s:o, s:o, s:s, s:o, s:b}",
		"program", pf_prog_names[h->dir], "hook",
		h->dir == PF_DIR_EGRESS ? "tc-ingress" : "tc-egress", "direction",
		pf_dir_name(h->dir), "ifindex", (json_int_t)h->ifindex, "ifname",
		cli_ifname((uint32_t)h->ifindex, name), "pod", pod_end->pod ? pod_end->ref : NULL,
		"verdict", pf_verdict_name(h->verdict), "tc_retval", (json_int_t)h->tc_retval,
		"reason", pf_reason_name(h->reason), "explained", h->explained, "mode",
		pf_mode_name(h->mode), "set_id", h->bound ? json_integer(h->set_id) : json_null(),
		"set_gen", h->has_set ? json_integer(h->gen) : json_null(), "isolation",
		pf_isolation_name(h->isolation), "rule", trace_entry_json(h), "ct_entry_removed",
		h->ct_removed);
}

static json_t *trace_doc(const struct pf_trace_flow *f, const struct trace_end *e,
			 const struct pf_trace_result *r)
{
	uint8_t proto = pf_trace_l4_proto(f);
	bool icmp = proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
	char p[16], src[64], dst[64];
	json_t *hops = json_array(), *flow;

	for (size_t i = 0; i < r->n_hops; i++)
		json_array_append_new(hops, trace_hop_json(&r->hops[i],
							   &e[r->hops[i].dir == PF_DIR_EGRESS ? 0 : 1]));
	flow = json_pack("{s:s, s:s, s:s, s:s}", "family", pf_family_name(f->family), "protocol",
			 pf_ip_proto_text(proto, p, sizeof(p)), "src",
			 pf_addr_format(f->family, f->src, src, sizeof(src)), "dst",
			 pf_addr_format(f->family, f->dst, dst, sizeof(dst)));
	json_object_set_new(flow, "sport", icmp ? json_null() : json_integer(r->sport));
	json_object_set_new(flow, "dport", icmp ? json_null() : json_integer(f->dport));
	if (icmp)
		json_object_set_new(flow, "echo_id", json_integer(r->sport));
	return json_pack("{s:s, s:o, s:o, s:o, s:o}", "verdict", pf_verdict_name(r->verdict),
			 "flow", flow, "from", trace_end_json(&e[0]), "to", trace_end_json(&e[1]),
			 "hops", hops);
}

static char *trace_entry_cell(json_t *rule)
{
	char *text = NULL;

	if (!json_is_object(rule))
		return strdup("-");
	if (asprintf(&text, "%s %s", json_string_value(json_object_get(rule, "map")),
		     json_string_value(json_object_get(rule, "cidr"))) < 0)
		return NULL;
	return text;
}

static char *trace_ports_cell(json_t *rule)
{
	json_t *ports = json_object_get(rule, "ports");

	if (!json_is_object(rule))
		return strdup("-");
	return json_array_size(ports) ? out_cell(ports) : strdup("none (except hole)");
}

static char *trace_iface_cell(json_t *hop)
{
	const char *name = json_string_value(json_object_get(hop, "ifname"));
	char *text = NULL;

	if (asprintf(&text, "%s (%" JSON_INTEGER_FORMAT ")", name ? name : "?",
		     json_integer_value(json_object_get(hop, "ifindex"))) < 0)
		return NULL;
	return text;
}

static void trace_print(json_t *doc)
{
	static const struct out_col cols[] = {
		{ "program", "PROGRAM", NULL },	    { "ifindex", "INTERFACE", NULL },
		{ "pod", "POD", NULL },		    { "direction", "POLICY", NULL },
		{ "verdict", "VERDICT", NULL },	    { "reason", "REASON", NULL },
		{ "set_id", "SET", NULL },	    { "isolation", "ISOLATION", NULL },
		{ "rule", "ENTRY", trace_entry_cell }, { "rule", "PORTS", trace_ports_cell },
		{ NULL, NULL, NULL },
	};
	json_t *flow = json_object_get(doc, "flow"), *hops = json_object_get(doc, "hops"), *h;
	json_t *rows = json_array();
	size_t i;

	printf("%s %s", json_string_value(json_object_get(flow, "protocol")),
	       json_string_value(json_object_get(flow, "src")));
	if (json_is_integer(json_object_get(flow, "sport")))
		printf(" port %" JSON_INTEGER_FORMAT " -> %s port %" JSON_INTEGER_FORMAT "\n",
		       json_integer_value(json_object_get(flow, "sport")),
		       json_string_value(json_object_get(flow, "dst")),
		       json_integer_value(json_object_get(flow, "dport")));
	else
		printf(" -> %s (echo id %" JSON_INTEGER_FORMAT ")\n",
		       json_string_value(json_object_get(flow, "dst")),
		       json_integer_value(json_object_get(flow, "echo_id")));
	/* The interface column shows "name (ifindex)". */
	json_array_foreach(hops, i, h) {
		json_t *row = json_deep_copy(h);
		char *iface = trace_iface_cell(h);

		json_object_set_new(row, "ifindex", json_string(iface ? iface : "?"));
		free(iface);
		json_array_append_new(rows, row);
	}
	out_table(NULL, rows, cols);
	json_decref(rows);
	json_array_foreach(hops, i, h)
		if (!json_is_true(json_object_get(h, "explained")))
			printf("note: the maps read now do not explain what %s decided (they changed "
			       "during the trace); the verdict is the program's\n",
			       json_string_value(json_object_get(h, "program")));
	printf("verdict: %s\n", json_string_value(json_object_get(doc, "verdict")));
}

static int trace_protocol(const char *arg, const char *port_arg, struct pf_trace_flow *f)
{
	char err[128];
	uint32_t port;

	if (!arg || !strcasecmp(arg, "ICMP")) {
		f->proto = arg ? IPPROTO_ICMP : IPPROTO_TCP;
	} else if (pf_proto_parse(arg, &f->proto, err, sizeof(err))) {
		return cli_usage_error("--protocol %s: expected TCP, UDP, SCTP or ICMP", arg);
	}
	if (f->proto == IPPROTO_ICMP) {
		if (port_arg)
			return cli_usage_error("--port: an ICMP echo has no port");
		return 0;
	}
	if (!port_arg)
		return cli_usage_error("trace %s needs --port N", pf_proto_name(f->proto));
	if (cli_parse_u32(port_arg, "--port", &port))
		return CLI_EXIT_USAGE;
	if (port < 1 || port > 65535)
		return cli_usage_error("--port %s: expected 1 to 65535", port_arg);
	f->dport = (uint16_t)port;
	return 0;
}

/* Everything up to running the trace: the flow from the command line and
 * the agent's pods. *pods keeps the reply the ends borrow from. */
static int trace_prepare(const struct cli_ctx *ctx, int argc, char **argv,
			 struct pf_trace_flow *f, struct trace_end *e, json_t **pods_doc)
{
	const char *port_arg = NULL, *proto_arg = NULL, *family_arg = NULL;
	struct cli_opt opts[] = {
		{ "--port", &port_arg }, { "--protocol", &proto_arg }, { "--family", &family_arg },
		{ NULL, NULL },
	};
	json_t *pods;
	int rc;

	if (argc < 3)
		return cli_usage_error("trace takes two arguments: FROM TO");
	rc = cli_parse_opts(argc - 3, argv + 3, opts);
	if (!rc)
		rc = trace_protocol(proto_arg, port_arg, f);
	if (!rc)
		rc = trace_parse_end("FROM", argv[1], &e[0]);
	if (!rc)
		rc = trace_parse_end("TO", argv[2], &e[1]);
	if (!rc && family_arg && strcmp(family_arg, "ipv4") && strcmp(family_arg, "ipv6"))
		rc = cli_usage_error("--family %s: expected ipv4 or ipv6", family_arg);
	if (!rc)
		rc = cli_agent_get(ctx, "/v1/pods", pods_doc);
	if (rc)
		return rc;
	pods = json_object_get(*pods_doc, "pods");
	if (!json_is_array(pods))
		return cli_fail("podfence-agent on %s: GET /v1/pods: the reply has no \"pods\" array",
				ctx->agent_socket);
	for (int i = 0; i < 2 && !rc; i++)
		rc = trace_find_pod(&e[i], pods);
	if (!rc)
		rc = trace_family(e, family_arg, &f->family);
	for (int i = 0; i < 2 && !rc; i++)
		rc = trace_resolve_end(&e[i], f->family);
	if (rc)
		return rc;
	if (!e[0].ifindex && !e[1].ifindex)
		return cli_fail("neither %s nor %s is a pod on this node: none of this node's "
				"programs sees the flow (trace it on the node of either pod)",
				argv[1], argv[2]);
	memcpy(f->src, e[0].addr.addr, 16);
	memcpy(f->dst, e[1].addr.addr, 16);
	f->src_ifindex = e[0].ifindex;
	f->dst_ifindex = e[1].ifindex;
	return 0;
}

int cmd_trace(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct pf_trace_flow f = { 0 };
	struct pf_trace_result r;
	struct pf_trace_maps m;
	struct trace_pins pins;
	struct trace_end e[2];
	json_t *pods_doc = NULL, *doc;
	char err[512];
	int rc, terr;

	trace_pins_init(&pins);
	rc = trace_prepare(ctx, argc, argv, &f, e, &pods_doc);
	if (!rc)
		rc = trace_pins_open(ctx->pin_root, &pins, &m);
	if (rc) {
		trace_pins_close(&pins);
		json_decref(pods_doc);
		return TRACE_EXIT_NO_VERDICT;
	}
	terr = pf_trace_run(&m, &f, &r, err, sizeof(err));
	trace_pins_close(&pins);
	if (terr) {
		json_decref(pods_doc);
		cli_fail("trace %s -> %s: %s", argv[1], argv[2], err);
		return TRACE_EXIT_NO_VERDICT;
	}
	doc = trace_doc(&f, e, &r);
	if (ctx->json)
		out_json(doc);
	else
		trace_print(doc);
	rc = r.verdict == PF_VERDICT_ALLOW ? TRACE_EXIT_ALLOW : TRACE_EXIT_DENY;
	json_decref(doc);
	json_decref(pods_doc);
	pf_trace_result_free(&r);
	return rc;
}
