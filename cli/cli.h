/* SPDX-License-Identifier: Apache-2.0 */
/* What every podfence-ctl command shares: the global options, the dispatch
 * table, and the one way errors are reported and turned into exit codes. */
#ifndef PF_CLI_H
#define PF_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#define CLI_NAME "podfence-ctl"
#define CLI_DEFAULT_AGENT_SOCKET "/run/podfence/agent.sock"
#define CLI_EXIT_FAIL 1  /* the command could not do its job */
#define CLI_EXIT_USAGE 2 /* the command line itself is wrong */

struct cli_ctx {
	const char *pin_root;
	const char *agent_socket; /* --agent-socket */
	bool json; /* -o json */
};

/* argv[0] is the command's own name; its arguments follow. */
typedef int (*cli_cmd_fn)(const struct cli_ctx *ctx, int argc, char **argv);

struct cli_cmd {
	const char *name; /* matched exactly */
	cli_cmd_fn run;
};

/* Runs the command named argv[0] from cmds (terminated by a NULL name);
 * "help" prints the usage. group ("ebpf", "datapath", "" at the top)
 * prefixes error messages. */
int cli_dispatch(const struct cli_cmd *cmds, const char *group, const struct cli_ctx *ctx,
		 int argc, char **argv);

void cli_usage(FILE *out);
/* "podfence-ctl: <message>" on stderr; returns CLI_EXIT_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The message, then the usage, on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Command-line values. Each returns 0, or prints a usage error and returns
 * CLI_EXIT_USAGE. what names the argument in the message. */
int cli_parse_u32(const char *text, const char *what, uint32_t *out);
/* "--name VALUE" options after a command's positional arguments: each
 * opts[i].value is set when given; anything else is a usage error. */
struct cli_opt {
	const char *name;
	const char **value;
};
int cli_parse_opts(int argc, char **argv, struct cli_opt *opts);

/* IF as an interface name or an ifindex, in the current network namespace.
 * must_exist false lets a bare ifindex through when no such interface is
 * here (cleaning up after a veth that is gone). Returns 0 or CLI_EXIT_*. */
int cli_ifindex(const char *arg, bool must_exist, int *ifindex);
/* The name of ifindex here, or NULL. buf holds IF_NAMESIZE bytes. */
const char *cli_ifname(uint32_t ifindex, char *buf);

/* Adopts the datapath pinned under ctx->pin_root, keeping its pinned mode
 * and events settings. Refuses (CLI_EXIT_FAIL) when nothing or only part of
 * it is pinned, so no command but "datapath load" ever loads one. */
struct pf_datapath;
int cli_datapath_adopt(const struct cli_ctx *ctx, struct pf_datapath **dp);

/* GET url_path from podfence-agent on ctx->agent_socket: *doc is the reply
 * object (caller frees). A socket that cannot be reached, a non-2xx status
 * (with the agent's {"error"} text) or a reply that is not a JSON object is
 * reported: CLI_EXIT_FAIL. */
int cli_agent_get(const struct cli_ctx *ctx, const char *url_path, json_t **doc);
/* True when arg is NS/NAME: a DNS-1123 label, '/', a DNS-1123 subdomain. */
bool cli_pod_ref_ok(const char *arg);
/* What a port set allows, in the words of ebpf dump-maps ("tcp 80",
 * "udp all", "all"); an empty array allows nothing. NULL: out of memory. */
struct pf_portset;
json_t *cli_portset_json(const struct pf_portset *ps);

/* The command groups. */
int cmd_ebpf(const struct cli_ctx *ctx, int argc, char **argv);
int cmd_datapath(const struct cli_ctx *ctx, int argc, char **argv);
/* Questions to podfence-agent (cmd_agent.c) and flow traces (cmd_trace.c). */
int cmd_pods(const struct cli_ctx *ctx, int argc, char **argv);
int cmd_policies(const struct cli_ctx *ctx, int argc, char **argv);
int cmd_explain(const struct cli_ctx *ctx, int argc, char **argv);
int cmd_trace(const struct cli_ctx *ctx, int argc, char **argv);
/* Daemon health over their sockets (cmd_health.c). */
int cmd_health(const struct cli_ctx *ctx, int argc, char **argv);

/* Commands that live in their own files. */
int cmd_ebpf_dump_maps(const struct cli_ctx *ctx, int argc, char **argv);
int cmd_ebpf_loaded(const struct cli_ctx *ctx, int argc, char **argv);
int cmd_datapath_apply(const struct cli_ctx *ctx, int argc, char **argv);
int cmd_datapath_delete(const struct cli_ctx *ctx, int argc, char **argv);

#endif
