// SPDX-License-Identifier: Apache-2.0
/* health ipamd | agent: a daemon's health over its socket, for people and as
 * a Kubernetes exec probe (exit 0 healthy, 1 not). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "http_client.h"
#include "output.h"

#define CLI_DEFAULT_IPAMD_SOCKET "/run/podfence/ipamd.sock"
/* A probe has its own timeout; answer well inside the usual 1 s default. */
#define CLI_HEALTH_TIMEOUT_MS 900

static int health_check(const struct cli_ctx *ctx, const char *daemon, const char *socket)
{
	char errmsg[512] = "", *reply = NULL;
	json_error_t jerr;
	json_t *doc;
	long status = 0;
	int err;

	err = pf_http_unix_request(socket, "GET", "/v1/health", NULL, CLI_HEALTH_TIMEOUT_MS,
				   &status, &reply, errmsg, sizeof(errmsg));
	if (err)
		return cli_fail("%s on %s: not answering: %s", daemon, socket,
				errmsg[0] ? errmsg : strerror(-err));
	doc = json_loads(reply, 0, &jerr);
	free(reply);
	if (status != 200 || strcmp(json_string_value(json_object_get(doc, "status")) ?: "", "ok")) {
		const char *why = json_string_value(json_object_get(doc, "error"));

		json_decref(doc);
		return cli_fail("%s on %s: unhealthy (HTTP %ld%s%s)", daemon, socket, status,
				why ? ": " : "", why ? why : "");
	}
	if (ctx->json)
		out_json(doc);
	else
		printf("%s on %s: healthy\n", daemon, socket);
	json_decref(doc);
	return 0;
}

static int health_ipamd(const struct cli_ctx *ctx, int argc, char **argv)
{
	const char *socket = CLI_DEFAULT_IPAMD_SOCKET;
	struct cli_opt opts[] = { { "--socket", &socket }, { NULL, NULL } };
	int rc = cli_parse_opts(argc - 1, argv + 1, opts);

	return rc ? rc : health_check(ctx, "podfence-ipamd", socket);
}

static int health_agent(const struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc > 1)
		return cli_usage_error("health agent: unexpected argument \"%s\" (the socket is "
				       "--agent-socket PATH)", argv[1]);
	return health_check(ctx, "podfence-agent", ctx->agent_socket);
}

int cmd_health(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "ipamd", health_ipamd },
		{ "agent", health_agent },
		{ NULL, NULL },
	};

	return cli_dispatch(cmds, "health", ctx, argc - 1, argv + 1);
}
