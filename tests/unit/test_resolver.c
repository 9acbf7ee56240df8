// SPDX-License-Identifier: Apache-2.0
/* The resolver, one NetworkPolicy rule at a time, on small models: which
 * pods a policy selects, isolation and policyTypes defaults, peers (selectors
 * alone, together, empty, absent; ipBlock with except), ports (all, ranges,
 * named ports on ingress and egress), and the PolicyEndpoint and policy set
 * key built from them. Verdicts go through pf_policy_compile and
 * pf_compiled_allows, as the datapath decides. */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "k8s_manifest.h"
#include "policy_compile.h"
#include "policy_endpoint.h"
#include "policy_spec_key.h"
#include "resolver.h"

struct model {
	struct pf_k8s_cache c;
	char text[16384];
	size_t len;
};

static void add(struct model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct model *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	m->len += (size_t)vsnprintf(m->text + m->len, sizeof(m->text) - m->len, fmt, ap);
	va_end(ap);
	assert_true(m->len < sizeof(m->text));
}

static void ns(struct model *m, const char *name, const char *labels)
{
	add(m, "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: %s, labels: %s}\n", name,
	    labels);
}

/* ports: a flow list of container ports, e.g. [{name: http, containerPort: 80}] */
static void pod(struct model *m, const char *nsname, const char *labels, const char *ip,
		const char *ports)
{
	char ns_part[64];
	const char *slash = strchr(nsname, '/');

	snprintf(ns_part, sizeof(ns_part), "%.*s", (int)(slash - nsname), nsname);
	add(m, "---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: %s, name: %s, labels: %s}\n"
	    "spec: {containers: [{name: c, ports: %s}]}\n", ns_part, slash + 1, labels,
	    ports ? ports : "[]");
	if (ip)
		add(m, "status: {podIP: '%s'}\n", ip);
}

/* A NetworkPolicy in namespace nsname; spec is the YAML under spec:, indented. */
static void policy(struct model *m, const char *nsname, const char *name, const char *spec)
{
	add(m, "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	    "metadata: {namespace: %s, name: %s}\nspec:\n%s", nsname, name, spec);
}

static void load(struct model *m)
{
	struct pf_manifest_list l;
	char err[1024] = "";

	pf_k8s_cache_init(&m->c);
	if (pf_manifest_parse("model.yaml", m->text, m->len, &l, err, sizeof(err)))
		fail_msg("%s", err);
	for (size_t i = 0; i < l.n; i++)
		if (pf_k8s_cache_apply(&m->c, l.docs[i].obj, NULL, err, sizeof(err)))
			fail_msg("%s", err);
	pf_manifest_list_free(&l);
}

static struct model *model_new(void)
{
	struct model *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	return m;
}

static void model_free(struct model *m)
{
	pf_k8s_cache_free(&m->c);
	free(m);
}

/* The policy set of pod "ns/name", from the PolicyEndpoints of the cache. */
static void spec_of(struct model *m, const char *ref, struct pf_policy_spec *spec)
{
	struct pf_policy_endpoint **pes;
	char err[512] = "", ns_part[64];
	const char *slash = strchr(ref, '/');
	size_t n;

	snprintf(ns_part, sizeof(ns_part), "%.*s", (int)(slash - ref), ref);
	if (pf_policy_endpoints_build(&m->c, &pes, &n, err, sizeof(err)))
		fail_msg("%s", err);
	if (pf_resolve_pod_spec((const struct pf_policy_endpoint *const *)pes, n, ns_part,
				slash + 1, true, spec, err, sizeof(err)))
		fail_msg("%s", err);
	pf_policy_endpoints_free(pes, n);
}

/* The datapath's verdict for a new flow to (ingress) or from (egress) the pod. */
static bool allows(const struct pf_policy_spec *spec, enum pf_dir d, const char *peer,
		   uint8_t proto, uint16_t port)
{
	struct pf_compiled comp;
	struct pf_cidr addr;
	char err[128];
	bool ok;

	if (spec->dir[d].isolation != PF_ISO_ISOLATED)
		return true;
	assert_int_equal(pf_addr_parse(peer, &addr, err, sizeof(err)), 0);
	assert_int_equal(pf_policy_compile(spec, &comp), 0);
	ok = pf_compiled_allows(&comp, d, addr.family, addr.addr, proto, port, true);
	pf_compiled_free(&comp);
	return ok;
}

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define SCTP IPPROTO_SCTP
#define IN PF_DIR_INGRESS
#define OUT PF_DIR_EGRESS

/* Namespaces x and y (labels team=red, team=blue), pods x/a, x/b, y/a, y/b
 * with labels app=<name>, at 10.0.<ns>.<pod>. */
static struct model *two_namespaces(void)
{
	struct model *m = model_new();

	ns(m, "x", "{team: red}");
	ns(m, "y", "{team: blue}");
	pod(m, "x/a", "{app: a}", "10.0.0.1", NULL);
	pod(m, "x/b", "{app: b}", "10.0.0.2", NULL);
	pod(m, "y/a", "{app: a}", "10.0.1.1", NULL);
	pod(m, "y/b", "{app: b}", "10.0.1.2", NULL);
	return m;
}

static void a_policy_selects_pods_of_its_own_namespace_only(void **state)
{
	struct model *m = two_namespaces();
	struct pf_policy_spec xa, ya, xb;

	(void)state;
	policy(m, "x", "deny-a", "  podSelector: {matchLabels: {app: a}}\n");
	load(m);
	spec_of(m, "x/a", &xa);
	spec_of(m, "y/a", &ya);
	spec_of(m, "x/b", &xb);
	assert_int_equal(xa.dir[IN].isolation, PF_ISO_ISOLATED);
	assert_int_equal(xa.dir[IN].n_rules, 0); /* Ingress with no rules: deny all */
	assert_false(allows(&xa, IN, "10.0.0.2", TCP, 80));
	assert_int_equal(xa.dir[OUT].isolation, PF_ISO_OPEN);
	assert_int_equal(ya.dir[IN].isolation, PF_ISO_OPEN); /* same labels, other namespace */
	assert_int_equal(xb.dir[IN].isolation, PF_ISO_OPEN);
	pf_policy_spec_free(&xa);
	pf_policy_spec_free(&ya);
	pf_policy_spec_free(&xb);
	model_free(m);
}

static void an_unknown_pod_is_left_to_the_mode(void **state)
{
	struct model *m = two_namespaces();
	struct pf_policy_endpoint **pes;
	struct pf_policy_spec s;
	char err[256];
	size_t n;

	(void)state;
	load(m);
	assert_int_equal(pf_policy_endpoints_build(&m->c, &pes, &n, err, sizeof(err)), 0);
	assert_int_equal(pf_resolve_pod_spec((const struct pf_policy_endpoint *const *)pes, n, "x",
					     "new", false, &s, err, sizeof(err)), 0);
	assert_int_equal(s.dir[IN].isolation, PF_ISO_UNKNOWN);
	assert_int_equal(s.dir[OUT].isolation, PF_ISO_UNKNOWN);
	pf_policy_spec_free(&s);
	pf_policy_endpoints_free(pes, n);
	model_free(m);
}

static void policy_types_decide_isolation(void **state)
{
	struct model *m = two_namespaces();
	struct pf_policy_spec xa, xb, ya;

	(void)state;
	/* An egress section alone: Ingress (always) and Egress (rules exist). */
	policy(m, "x", "egress-a", "  podSelector: {matchLabels: {app: a}}\n"
	       "  egress: [{to: [{podSelector: {}}]}]\n");
	/* Explicit policyTypes win: Egress only, the ingress rules do nothing. */
	policy(m, "x", "egress-b", "  podSelector: {matchLabels: {app: b}}\n"
	       "  policyTypes: [Egress]\n  ingress: [{}]\n");
	/* egress: [] adds no Egress type. */
	policy(m, "y", "empty-egress", "  podSelector: {}\n  egress: []\n  ingress: [{}]\n");
	load(m);
	spec_of(m, "x/a", &xa);
	spec_of(m, "x/b", &xb);
	spec_of(m, "y/a", &ya);
	assert_int_equal(xa.dir[IN].isolation, PF_ISO_ISOLATED);
	assert_int_equal(xa.dir[OUT].isolation, PF_ISO_ISOLATED);
	assert_true(allows(&xa, OUT, "10.0.0.2", TCP, 80));
	assert_false(allows(&xa, OUT, "10.0.1.2", TCP, 80));
	assert_false(allows(&xa, IN, "10.0.0.2", TCP, 80));
	assert_int_equal(xb.dir[IN].isolation, PF_ISO_OPEN);
	assert_int_equal(xb.dir[OUT].isolation, PF_ISO_ISOLATED);
	assert_false(allows(&xb, OUT, "10.0.0.1", TCP, 80));
	assert_int_equal(ya.dir[IN].isolation, PF_ISO_ISOLATED);
	assert_int_equal(ya.dir[OUT].isolation, PF_ISO_OPEN);
	assert_true(allows(&ya, IN, "192.0.2.1", UDP, 9)); /* ingress: [{}] allows all */
	pf_policy_spec_free(&xa);
	pf_policy_spec_free(&xb);
	pf_policy_spec_free(&ya);
	model_free(m);
}

static void rules_of_several_policies_add_up(void **state)
{
	struct model *m = two_namespaces();
	struct pf_policy_spec s;

	(void)state;
	policy(m, "x", "from-b-80", "  podSelector: {matchLabels: {app: a}}\n"
	       "  ingress: [{from: [{podSelector: {matchLabels: {app: b}}}], ports: [{port: 80}]}]\n");
	policy(m, "x", "from-y-81", "  podSelector: {}\n"
	       "  ingress: [{from: [{namespaceSelector: {matchLabels: {team: blue}}}], "
	       "ports: [{port: 81}]}]\n");
	load(m);
	spec_of(m, "x/a", &s);
	assert_true(allows(&s, IN, "10.0.0.2", TCP, 80));
	assert_false(allows(&s, IN, "10.0.0.2", TCP, 81));
	assert_true(allows(&s, IN, "10.0.1.1", TCP, 81));
	assert_false(allows(&s, IN, "10.0.1.1", TCP, 80));
	pf_policy_spec_free(&s);
	model_free(m);
}

/* from: one peer with both selectors (AND) against two peers (OR). */
static void both_selectors_in_one_peer_and_but_two_peers_or(void **state)
{
	struct model *m = two_namespaces();
	struct pf_policy_spec xa, xb;

	(void)state;
	policy(m, "x", "and", "  podSelector: {matchLabels: {app: a}}\n"
	       "  ingress: [{from: [{namespaceSelector: {matchLabels: {team: blue}}, "
	       "podSelector: {matchLabels: {app: b}}}]}]\n");
	policy(m, "x", "or", "  podSelector: {matchLabels: {app: b}}\n"
	       "  ingress: [{from: [{namespaceSelector: {matchLabels: {team: blue}}}, "
	       "{podSelector: {matchLabels: {app: a}}}]}]\n");
	load(m);
	spec_of(m, "x/a", &xa);
	spec_of(m, "x/b", &xb);
	assert_true(allows(&xa, IN, "10.0.1.2", TCP, 80));  /* y/b: blue and app=b */
	assert_false(allows(&xa, IN, "10.0.1.1", TCP, 80)); /* y/a: blue, not app=b */
	assert_false(allows(&xa, IN, "10.0.0.2", TCP, 80)); /* x/b: app=b, not blue */
	assert_true(allows(&xb, IN, "10.0.1.1", TCP, 80));  /* y/a: blue */
	assert_true(allows(&xb, IN, "10.0.1.2", TCP, 80));  /* y/b: blue */
	assert_true(allows(&xb, IN, "10.0.0.1", TCP, 80));  /* x/a: app=a in x */
	assert_false(allows(&xb, IN, "10.0.0.2", TCP, 80)); /* x/b itself: neither */
	pf_policy_spec_free(&xa);
	pf_policy_spec_free(&xb);
	model_free(m);
}

static void empty_selectors_match_all_within_their_scope(void **state)
{
	struct model *m = two_namespaces();
	struct pf_policy_spec xa, xb;

	(void)state;
	/* podSelector {} alone: every pod of the policy's namespace. */
	policy(m, "x", "same-ns", "  podSelector: {matchLabels: {app: a}}\n"
	       "  ingress: [{from: [{podSelector: {}}]}]\n");
	/* namespaceSelector {} alone: every pod of every namespace. */
	policy(m, "x", "all-ns", "  podSelector: {matchLabels: {app: b}}\n"
	       "  ingress: [{from: [{namespaceSelector: {}}]}]\n");
	load(m);
	spec_of(m, "x/a", &xa);
	spec_of(m, "x/b", &xb);
	assert_true(allows(&xa, IN, "10.0.0.2", TCP, 80));
	assert_false(allows(&xa, IN, "10.0.1.2", TCP, 80));
	assert_false(allows(&xa, IN, "192.0.2.1", TCP, 80)); /* pods only, not the world */
	assert_true(allows(&xb, IN, "10.0.1.2", TCP, 80));
	assert_true(allows(&xb, IN, "10.0.0.1", TCP, 80));
	assert_false(allows(&xb, IN, "192.0.2.1", TCP, 80));
	pf_policy_spec_free(&xa);
	pf_policy_spec_free(&xb);
	model_free(m);
}

static void absent_or_empty_from_means_every_address(void **state)
{
	struct model *m = two_namespaces();
	struct pf_policy_spec xa, xb;

	(void)state;
	policy(m, "x", "absent", "  podSelector: {matchLabels: {app: a}}\n"
	       "  ingress: [{ports: [{port: 80}]}]\n");
	policy(m, "x", "empty", "  podSelector: {matchLabels: {app: b}}\n"
	       "  policyTypes: [Egress]\n  egress: [{to: []}]\n");
	load(m);
	spec_of(m, "x/a", &xa);
	spec_of(m, "x/b", &xb);
	assert_true(allows(&xa, IN, "192.0.2.1", TCP, 80));
	assert_true(allows(&xa, IN, "2001:db8::1", TCP, 80));
	assert_false(allows(&xa, IN, "192.0.2.1", TCP, 81));
	assert_true(allows(&xb, OUT, "198.51.100.7", SCTP, 9));
	assert_true(allows(&xb, OUT, "2001:db8::7", UDP, 53));
	pf_policy_spec_free(&xa);
	pf_policy_spec_free(&xb);
	model_free(m);
}

static void ip_blocks_with_except_in_both_families(void **state)
{
	struct model *m = two_namespaces();
	struct pf_policy_spec s;

	(void)state;
	policy(m, "x", "blocks", "  podSelector: {matchLabels: {app: a}}\n  policyTypes: [Egress]\n"
	       "  egress:\n  - to:\n    - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24]}\n"
	       "    - ipBlock: {cidr: 'fd00::/64', except: ['fd00::/112']}\n");
	load(m);
	spec_of(m, "x/a", &s);
	assert_true(allows(&s, OUT, "10.0.0.2", TCP, 443));
	assert_false(allows(&s, OUT, "10.0.1.2", TCP, 443)); /* in the hole */
	assert_false(allows(&s, OUT, "10.1.0.1", TCP, 443));
	assert_true(allows(&s, OUT, "fd00::1:0", TCP, 443));
	assert_false(allows(&s, OUT, "fd00::5", TCP, 443));
	assert_false(allows(&s, OUT, "fd01::1", TCP, 443));
	pf_policy_spec_free(&s);
	model_free(m);
}

static void ports_all_by_protocol_and_ranges(void **state)
{
	struct model *m = two_namespaces();
	struct pf_policy_spec xa, xb;

	(void)state;
	policy(m, "x", "ranges", "  podSelector: {matchLabels: {app: a}}\n"
	       "  ingress: [{ports: [{protocol: UDP}, {protocol: TCP, port: 8000, endPort: 8100}]}]\n");
	policy(m, "x", "every-port", "  podSelector: {matchLabels: {app: b}}\n"
	       "  ingress: [{from: [{podSelector: {}}]}]\n");
	load(m);
	spec_of(m, "x/a", &xa);
	spec_of(m, "x/b", &xb);
	assert_true(allows(&xa, IN, "10.0.0.2", UDP, 5353));
	assert_true(allows(&xa, IN, "10.0.0.2", TCP, 8000));
	assert_true(allows(&xa, IN, "10.0.0.2", TCP, 8100));
	assert_false(allows(&xa, IN, "10.0.0.2", TCP, 8101));
	assert_false(allows(&xa, IN, "10.0.0.2", SCTP, 8050));
	assert_true(allows(&xb, IN, "10.0.0.1", SCTP, 7));
	assert_true(allows(&xb, IN, "10.0.0.1", IPPROTO_ICMP, 0)); /* no ports: every protocol */
	pf_policy_spec_free(&xa);
	pf_policy_spec_free(&xb);
	model_free(m);
}

/* Named ingress ports resolve against each target pod: two pods of one
 * policy get different numbers, a pod without the name gets nothing. */
static void named_ingress_ports_resolve_per_target(void **state)
{
	struct model *m = model_new();
	struct pf_policy_spec s1, s2, s3;

	(void)state;
	ns(m, "x", "{}");
	pod(m, "x/web-1", "{app: web}", "10.0.0.1", "[{name: http, containerPort: 8080}]");
	pod(m, "x/web-2", "{app: web}", "10.0.0.2", "[{name: http, containerPort: 9090}]");
	pod(m, "x/web-3", "{app: web}", "10.0.0.3",
	    "[{name: http, containerPort: 80, protocol: UDP}]");
	policy(m, "x", "http", "  podSelector: {matchLabels: {app: web}}\n"
	       "  ingress: [{ports: [{port: http}]}]\n");
	load(m);
	spec_of(m, "x/web-1", &s1);
	spec_of(m, "x/web-2", &s2);
	spec_of(m, "x/web-3", &s3);
	assert_true(allows(&s1, IN, "192.0.2.1", TCP, 8080));
	assert_false(allows(&s1, IN, "192.0.2.1", TCP, 9090));
	assert_true(allows(&s2, IN, "192.0.2.1", TCP, 9090));
	assert_false(allows(&s2, IN, "192.0.2.1", TCP, 8080));
	/* TCP "http" against a UDP port of that name: the rule adds nothing,
	 * and it must not turn into "every port". */
	assert_int_equal(s3.dir[IN].isolation, PF_ISO_ISOLATED);
	assert_int_equal(s3.dir[IN].n_rules, 0);
	assert_false(allows(&s3, IN, "192.0.2.1", UDP, 80));
	assert_false(allows(&s3, IN, "192.0.2.1", TCP, 80));
	assert_true(pf_policy_spec_key(&s1) != pf_policy_spec_key(&s2));
	pf_policy_spec_free(&s1);
	pf_policy_spec_free(&s2);
	pf_policy_spec_free(&s3);
	model_free(m);
}

/* Named egress ports resolve against each peer pod, so each peer address
 * gets its own numbers; through an ipBlock, the pods inside it. */
static void named_egress_ports_resolve_per_peer(void **state)
{
	struct model *m = model_new();
	struct pf_policy_spec s, t;

	(void)state;
	ns(m, "x", "{}");
	pod(m, "x/client", "{app: client}", "10.0.0.1", NULL);
	pod(m, "x/api-1", "{app: api}", "10.0.0.2", "[{name: api, containerPort: 8080}]");
	pod(m, "x/api-2", "{app: api}", "10.0.0.3", "[{name: api, containerPort: 9090}]");
	pod(m, "x/api-3", "{app: api}", "10.0.0.4", NULL);
	pod(m, "x/pending", "{app: api}", NULL, "[{name: api, containerPort: 7070}]");
	pod(m, "x/outside", "{app: other}", "10.0.9.1", "[{name: api, containerPort: 8080}]");
	policy(m, "x", "to-api", "  podSelector: {matchLabels: {app: client}}\n"
	       "  policyTypes: [Egress]\n"
	       "  egress: [{to: [{podSelector: {matchLabels: {app: api}}}], "
	       "ports: [{port: api}, {port: 53, protocol: UDP}]}]\n");
	policy(m, "x", "via-block", "  podSelector: {matchLabels: {app: other}}\n"
	       "  policyTypes: [Egress]\n"
	       "  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/24, except: [10.0.0.3/32]}}], "
	       "ports: [{port: api}]}]\n");
	load(m);
	spec_of(m, "x/client", &s);
	assert_true(allows(&s, OUT, "10.0.0.2", TCP, 8080));
	assert_false(allows(&s, OUT, "10.0.0.2", TCP, 9090));
	assert_true(allows(&s, OUT, "10.0.0.3", TCP, 9090));
	assert_false(allows(&s, OUT, "10.0.0.3", TCP, 8080));
	assert_false(allows(&s, OUT, "10.0.0.4", TCP, 8080)); /* no port named api */
	assert_true(allows(&s, OUT, "10.0.0.4", UDP, 53));    /* numbered ports still apply */
	assert_false(allows(&s, OUT, "10.0.9.1", TCP, 8080)); /* not a peer */
	assert_false(allows(&s, OUT, "10.0.0.2", TCP, 7070)); /* a pod without an address */
	spec_of(m, "x/outside", &t);
	assert_true(allows(&t, OUT, "10.0.0.2", TCP, 8080));
	assert_false(allows(&t, OUT, "10.0.0.3", TCP, 9090)); /* excepted */
	assert_false(allows(&t, OUT, "10.0.0.5", TCP, 8080)); /* no pod there */
	pf_policy_spec_free(&s);
	pf_policy_spec_free(&t);
	model_free(m);
}

static void pods_are_peers_by_every_address_they_have(void **state)
{
	struct model *m = model_new();
	struct pf_policy_spec s;

	(void)state;
	ns(m, "x", "{}");
	pod(m, "x/server", "{app: server}", "10.0.0.1", NULL);
	add(m, "---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: x, name: dual, labels: "
	    "{app: client}}\nstatus: {podIP: 10.0.0.2, podIPs: [{ip: 10.0.0.2}, {ip: 'fd00::2'}]}\n");
	add(m, "---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: x, name: host, labels: "
	    "{app: client}}\nspec: {hostNetwork: true}\nstatus: {podIP: 192.168.1.1}\n");
	add(m, "---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: x, name: done, labels: "
	    "{app: client}}\nstatus: {phase: Succeeded, podIP: 10.0.0.9}\n");
	policy(m, "x", "clients", "  podSelector: {matchLabels: {app: server}}\n"
	       "  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]\n");
	load(m);
	spec_of(m, "x/server", &s);
	assert_true(allows(&s, IN, "10.0.0.2", TCP, 80));
	assert_true(allows(&s, IN, "fd00::2", TCP, 80));
	assert_false(allows(&s, IN, "192.168.1.1", TCP, 80)); /* host network: the node's */
	assert_false(allows(&s, IN, "10.0.0.9", TCP, 80));    /* finished: address reusable */
	pf_policy_spec_free(&s);
	model_free(m);
}

static void a_namespace_without_its_object_has_its_name_label(void **state)
{
	struct model *m = model_new();
	struct pf_policy_spec s;

	(void)state;
	pod(m, "x/a", "{app: a}", "10.0.0.1", NULL);
	pod(m, "y/b", "{app: b}", "10.0.1.2", NULL);
	policy(m, "x", "from-y", "  podSelector: {}\n  ingress: [{from: [{namespaceSelector: "
	       "{matchLabels: {kubernetes.io/metadata.name: y}}}]}]\n");
	load(m);
	spec_of(m, "x/a", &s);
	assert_true(allows(&s, IN, "10.0.1.2", TCP, 80));
	pf_policy_spec_free(&s);
	model_free(m);
}

static void policy_endpoints_round_trip_and_carry_named_ports(void **state)
{
	struct model *m = model_new();
	struct pf_policy_endpoint **pes, back;
	const struct pf_pe_endpoint *ep;
	char err[512] = "", *a, *b;
	json_t *j, *j2;
	size_t n;

	(void)state;
	ns(m, "x", "{}");
	pod(m, "x/web", "{app: web}", "10.0.0.1", "[{name: http, containerPort: 8080}, "
	    "{name: unused, containerPort: 1}]");
	pod(m, "x/db", "{app: db}", "10.0.0.2", NULL);
	policy(m, "x", "web", "  podSelector: {matchLabels: {app: web}}\n"
	       "  ingress: [{from: [{podSelector: {matchLabels: {app: db}}}, {ipBlock: {cidr: "
	       "192.0.2.0/24, except: [192.0.2.128/25]}}], ports: [{port: http}, {port: 5000, "
	       "endPort: 5010, protocol: UDP}]}]\n  egress: [{}]\n");
	load(m);
	assert_int_equal(pf_policy_endpoints_build(&m->c, &pes, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(pes[0]->policy_name, "web");
	assert_int_equal(pes[0]->n_endpoints, 1);
	ep = pf_policy_endpoint_find(pes[0], "x", "web");
	assert_non_null(ep);
	assert_null(pf_policy_endpoint_find(pes[0], "x", "db"));
	assert_int_equal(ep->n_named_ports, 1); /* only the names the rules use */
	assert_string_equal(ep->named_ports[0].name, "http");
	assert_int_equal(ep->named_ports[0].port, 8080);
	assert_int_equal(pes[0]->n_rules[PF_DIR_INGRESS], 2);
	assert_int_equal(pes[0]->n_rules[PF_DIR_EGRESS], 2); /* 0.0.0.0/0 and ::/0 */
	j = pf_policy_endpoint_to_json(pes[0]);
	assert_int_equal(pf_policy_endpoint_from_json(j, &back, err, sizeof(err)), 0);
	j2 = pf_policy_endpoint_to_json(&back);
	a = json_dumps(j, JSON_SORT_KEYS);
	b = json_dumps(j2, JSON_SORT_KEYS);
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "\"name\": \"http\""));
	assert_non_null(strstr(a, "\"podIsolation\": [\"Ingress\", \"Egress\"]"));
	free(a);
	free(b);
	json_decref(j);
	json_decref(j2);
	pf_policy_endpoint_free(&back);
	pf_policy_endpoints_free(pes, n);
	model_free(m);
}

/* An agent in kube mode: PolicyEndpoints and Pods in its cache, no
 * NetworkPolicy at all. */
static void a_pod_spec_comes_from_policy_endpoints_in_the_cache(void **state)
{
	struct model *m = model_new(), *agent = model_new();
	struct pf_policy_endpoint **pes;
	struct pf_policy_spec want, got, other;
	char err[512] = "";
	size_t n;

	(void)state;
	ns(m, "x", "{}");
	pod(m, "x/web", "{app: web}", "10.0.0.1", "[{name: http, containerPort: 8080}]");
	pod(m, "x/db", "{app: db}", "10.0.0.2", NULL);
	policy(m, "x", "web", "  podSelector: {matchLabels: {app: web}}\n"
	       "  ingress: [{from: [{podSelector: {matchLabels: {app: db}}}], ports: [{port: http}]}]\n");
	load(m);
	spec_of(m, "x/web", &want);
	pod(agent, "x/web", "{app: web}", "10.0.0.1", NULL);
	load(agent);
	assert_int_equal(pf_policy_endpoints_build(&m->c, &pes, &n, err, sizeof(err)), 0);
	for (size_t i = 0; i < n; i++) {
		json_t *j = pf_policy_endpoint_to_json(pes[i]);

		if (pf_k8s_cache_apply(&agent->c, j, NULL, err, sizeof(err)))
			fail_msg("%s", err);
		json_decref(j);
	}
	assert_int_equal(pf_resolve_pod_spec_from_cache(&agent->c, "x", "web", &got, err,
							sizeof(err)), 0);
	assert_true(pf_policy_spec_equal(&want, &got));
	assert_true(allows(&got, IN, "10.0.0.2", TCP, 8080));
	assert_false(allows(&got, IN, "10.0.0.2", TCP, 80));
	/* A pod the agent has no Pod object for: left to the mode. */
	assert_int_equal(pf_resolve_pod_spec_from_cache(&agent->c, "x", "db", &other, err,
							sizeof(err)), 0);
	assert_int_equal(other.dir[IN].isolation, PF_ISO_UNKNOWN);
	pf_policy_spec_free(&want);
	pf_policy_spec_free(&got);
	pf_policy_spec_free(&other);
	pf_policy_endpoints_free(pes, n);
	model_free(m);
	model_free(agent);
}

static void pods_with_the_same_rules_share_a_key(void **state)
{
	struct model *m = two_namespaces();
	struct pf_policy_spec xa, xb, ya, again;

	(void)state;
	policy(m, "x", "p1", "  podSelector: {}\n  ingress: [{ports: [{port: 81}, {port: 80}]}]\n");
	policy(m, "x", "p2", "  podSelector: {matchLabels: {app: a}}\n"
	       "  ingress: [{ports: [{port: 80}]}]\n"); /* adds nothing new for x/a */
	load(m);
	spec_of(m, "x/a", &xa);
	spec_of(m, "x/b", &xb);
	spec_of(m, "y/a", &ya);
	spec_of(m, "x/a", &again);
	assert_true(pf_policy_spec_equal(&xa, &again));
	assert_true(pf_policy_spec_key(&xa) == pf_policy_spec_key(&again));
	/* The same union of ports, one rule per peer after merging. */
	assert_int_equal(xa.dir[IN].n_rules, 2); /* 0.0.0.0/0 and ::/0 */
	assert_int_equal(xa.dir[IN].rules[0].n_ports, 2);
	assert_true(pf_policy_spec_equal(&xa, &xb));
	assert_true(pf_policy_spec_key(&xa) == pf_policy_spec_key(&xb));
	assert_false(pf_policy_spec_equal(&xa, &ya));
	assert_true(pf_policy_spec_key(&xa) != pf_policy_spec_key(&ya));
	pf_policy_spec_free(&xa);
	pf_policy_spec_free(&xb);
	pf_policy_spec_free(&ya);
	pf_policy_spec_free(&again);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_policy_selects_pods_of_its_own_namespace_only),
		cmocka_unit_test(an_unknown_pod_is_left_to_the_mode),
		cmocka_unit_test(policy_types_decide_isolation),
		cmocka_unit_test(rules_of_several_policies_add_up),
		cmocka_unit_test(both_selectors_in_one_peer_and_but_two_peers_or),
		cmocka_unit_test(empty_selectors_match_all_within_their_scope),
		cmocka_unit_test(absent_or_empty_from_means_every_address),
		cmocka_unit_test(ip_blocks_with_except_in_both_families),
		cmocka_unit_test(ports_all_by_protocol_and_ranges),
		cmocka_unit_test(named_ingress_ports_resolve_per_target),
		cmocka_unit_test(named_egress_ports_resolve_per_peer),
		cmocka_unit_test(pods_are_peers_by_every_address_they_have),
		cmocka_unit_test(a_namespace_without_its_object_has_its_name_label),
		cmocka_unit_test(policy_endpoints_round_trip_and_carry_named_ports),
		cmocka_unit_test(a_pod_spec_comes_from_policy_endpoints_in_the_cache),
		cmocka_unit_test(pods_with_the_same_rules_share_a_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
