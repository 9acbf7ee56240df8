// SPDX-License-Identifier: Apache-2.0
/* podfence-ctl: inspect and drive the podfence eBPF datapath. This file
 * holds the global options, the usage text and the top-level dispatch. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "datapath.h"
#include "log.h"

static const char cli_usage_text[] =
	"usage: " CLI_NAME " [--pin-root DIR] [--agent-socket PATH] [-o table|json] COMMAND ...\n"
	"\n"
	"Inspect (read-only: nothing is loaded or changed):\n"
	"  ebpf progs                 pinned programs: id, name, type, tag, load time,\n"
	"                             run count, and the pod veths they are attached to\n"
	"  ebpf maps                  pinned maps: id, type, key/value size, max and\n"
	"                             current entries\n"
	"  ebpf dump-maps [MAP]       decoded contents of every map, or of MAP\n"
	"  ebpf loaded-ebpfdata       root, mode, events, and per pod veth: policy set,\n"
	"                             generation, isolation, attachment, rule count\n"
	"\n"
	"Drive:\n"
	"  datapath load [--mode standard|strict] [--events on|off] [--ct-size N]\n"
	"                             load and pin, or adopt what is pinned (then only\n"
	"                             the options given change the configuration)\n"
	"  datapath attach IF         attach to interface IF (name or ifindex, in the\n"
	"                             current network namespace: use nsenter --net=...)\n"
	"  datapath detach IF\n"
	"  datapath bind IF SET_ID    bind pod veth IF to policy set SET_ID\n"
	"  datapath unbind IF         unbind it and forget its tracked flows\n"
	"  datapath apply SET_ID FILE replace policy set SET_ID with the policy set JSON\n"
	"                             in FILE ('-' = stdin); a bad file changes nothing\n"
	"  datapath delete SET_ID\n"
	"  datapath sweep [--idle SECONDS]\n"
	"                             remove tracked flows idle longer (default 300)\n"
	"  datapath metrics           verdict counters by reason\n"
	"  datapath unload            remove every pin under DIR; this does NOT detach:\n"
	"                             programs stay attached until 'datapath detach'\n"
	"\n"
	"Ask podfence-agent (on --agent-socket):\n"
	"  pods                       pods it knows: local or not, address, host veth,\n"
	"                             policy set, isolation\n"
	"  policies                   NetworkPolicies and the pods each one selects\n"
	"  explain NS/POD             the policies selecting a pod, its isolation and\n"
	"                             its flattened rules\n"
	"\n"
	"Trace (a crafted first packet through the loaded programs on the pinned\n"
	"maps; the conntrack entry it makes is removed):\n"
	"  trace FROM TO [--port N] [--protocol TCP|UDP|SCTP|ICMP] [--family ipv4|ipv6]\n"
	"                             FROM, TO: NS/POD (found with the agent) or an\n"
	"                             IP address; TCP by default\n"
	"\n"
	"Health (a Kubernetes exec probe: exit 0 healthy, 1 not):\n"
	"  health ipamd [--socket PATH]\n"
	"                             podfence-ipamd (default /run/podfence/ipamd.sock)\n"
	"  health agent               podfence-agent on --agent-socket\n"
	"\n"
	"Options:\n"
	"  --pin-root DIR             bpffs root of the pins (default " PF_DEFAULT_PIN_ROOT ")\n"
	"  --agent-socket PATH        podfence-agent's socket (default\n"
	"                             " CLI_DEFAULT_AGENT_SOCKET ")\n"
	"  -o table|json              tables for people (default), one JSON document\n"
	"                             for scripts\n"
	"Exit status: 0 done, 1 failed, 2 bad command line; trace: 0 allowed,\n"
	"1 denied, 2 no verdict (bad command line, unknown pod, no datapath, ...).\n";

void cli_usage(FILE *out)
{
	fputs(cli_usage_text, out);
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;

	fputs(CLI_NAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_FAIL;
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(CLI_NAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n\n", stderr);
	cli_usage(stderr);
	return CLI_EXIT_USAGE;
}

int cli_dispatch(const struct cli_cmd *cmds, const char *group, const struct cli_ctx *ctx,
		 int argc, char **argv)
{
	if (argc < 1)
		return cli_usage_error("%s%smissing command", group, *group ? ": " : "");
	if (!strcmp(argv[0], "help")) {
		cli_usage(stdout);
		return 0;
	}
	for (const struct cli_cmd *c = cmds; c->name; c++)
		if (!strcmp(argv[0], c->name))
			return c->run(ctx, argc, argv);
	return cli_usage_error("%s%sunknown command \"%s\"", group, *group ? ": " : "",
			       argv[0]);
}

/* libbpf's own messages: warnings only, its progress chatter is noise here.
 * The netlink extack texts it relays ("Kernel error message: ...") come
 * with errors that lib/ either tolerates (a clsact qdisc that exists, a
 * filter already gone) or reports itself with more context. */
static int cli_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN || strstr(fmt, "Kernel error message"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Global options may stand anywhere ("ebpf dump-maps pf_rules -o json"):
 * they are taken out, and what is left is the command. -h or --help
 * anywhere prints the usage: *help is set and nothing runs. */
static int cli_global_opts(int argc, char **argv, struct cli_ctx *ctx, int *rest_argc,
			   bool *help)
{
	int n = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			*help = true;
		} else if (!strcmp(a, "--pin-root") || !strcmp(a, "--agent-socket") ||
			   !strcmp(a, "-o")) {
			if (i + 1 == argc)
				return cli_usage_error("%s needs a value", a);
			if (a[1] == 'o') {
				if (strcmp(argv[i + 1], "table") && strcmp(argv[i + 1], "json"))
					return cli_usage_error("-o %s: expected table or json",
							       argv[i + 1]);
				ctx->json = !strcmp(argv[i + 1], "json");
			} else if (!strcmp(a, "--pin-root")) {
				ctx->pin_root = argv[i + 1];
			} else {
				ctx->agent_socket = argv[i + 1];
			}
			i++;
		} else {
			argv[n++] = argv[i];
		}
	}
	*rest_argc = n;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct cli_cmd groups[] = {
		{ "ebpf", cmd_ebpf },
		{ "datapath", cmd_datapath },
		{ "pods", cmd_pods },
		{ "policies", cmd_policies },
		{ "explain", cmd_explain },
		{ "trace", cmd_trace },
		{ "health", cmd_health },
		{ NULL, NULL },
	};
	struct cli_ctx ctx = { .pin_root = PF_DEFAULT_PIN_ROOT,
			       .agent_socket = CLI_DEFAULT_AGENT_SOCKET };
	bool help = false;
	int n = 0, rc;

	pf_log_open(CLI_NAME, NULL, 0);
	pf_log_set_level(PF_LOG_WARN);
	libbpf_set_print(cli_libbpf_print);
	rc = cli_global_opts(argc, argv, &ctx, &n, &help);
	if (rc)
		return rc;
	if (help) {
		cli_usage(stdout);
		return 0;
	}
	rc = cli_dispatch(groups, "", &ctx, n, argv);
	if (fflush(stdout) || ferror(stdout))
		rc = cli_fail("write to standard output failed");
	return rc;
}
