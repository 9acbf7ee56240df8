// SPDX-License-Identifier: Apache-2.0
/*
 * podfence-cni: the CNI plugin (the seed's routed-eni-cni-plugin). The
 * runtime runs it with CNI_* variables and the network configuration on
 * stdin; it prints a result or an error object on stdout (CNI SPEC.md,
 * section 2) and exits 0 or 1. Every call but VERSION leaves one JSON line
 * in the plugin log.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "call_log.h"
#include "cni.h"
#include "log.h"

/* Network configurations are small; a prevResult adds little. */
#define STDIN_MAX (1u << 20)

extern char **environ;

static const struct {
	enum pf_cni_cmd cmd;
	int (*run)(struct pf_cni_call *c);
} commands[] = {
	{ PF_CNI_CMD_ADD, cmd_add },     { PF_CNI_CMD_DEL, cmd_del },
	{ PF_CNI_CMD_CHECK, cmd_check }, { PF_CNI_CMD_GC, cmd_gc },
	{ PF_CNI_CMD_STATUS, cmd_status },
};

static int read_stdin(char **out, size_t *len, struct pf_cni_error *e)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return pf_cni_fail(e, PF_CNI_ERR_IO, "out of memory reading stdin");
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *p = cap < STDIN_MAX ? realloc(buf, cap * 2) : NULL;

			if (!p) {
				free(buf);
				return pf_cni_fail(e, PF_CNI_ERR_IO,
						   "network configuration on stdin is larger than %u bytes",
						   STDIN_MAX);
			}
			buf = p;
			cap *= 2;
		}
		r = read(STDIN_FILENO, buf + n, cap - n);
		if (r == 0)
			break;
		if (r < 0) {
			free(buf);
			return pf_cni_fail(e, PF_CNI_ERR_IO, "read network configuration from stdin: %m");
		}
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	return 0;
}

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int run(struct pf_cni_call *c)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].cmd == c->env.cmd)
			return commands[i].run(c);
	return pf_cni_fail(&c->err, PF_CNI_ERR_ENV, "CNI_COMMAND %s has no handler",
			   pf_cni_command_name(c->env.cmd));
}

int main(void)
{
	struct pf_cni_call c = { 0 };
	struct timespec t0;
	const char *version;
	char *input = NULL, *text;
	size_t len = 0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	c.log = json_object();
	rc = read_stdin(&input, &len, &c.err);
	/* Errors before the configuration is read speak the version it asks
	 * for, when this plugin knows it. */
	version = pf_cni_request_version(input ? input : "", len);
	if (!rc)
		rc = pf_cni_env_parse(environ, &c.env, &c.err);
	if (!rc && c.env.cmd == PF_CNI_CMD_VERSION) {
		c.output = pf_cni_version_render(version);
		rc = c.output ? 0 : pf_cni_fail(&c.err, PF_CNI_ERR_IO, "out of memory");
	} else {
		char log_path[PF_CNI_PATH_MAX];
		int level;
		bool to_file = pf_cni_request_log(input, len, log_path, sizeof(log_path), &level);

		call_log_open(to_file ? log_path : NULL, level);
		if (!rc)
			rc = pf_cni_netconf_parse(input, len, c.env.cmd, &c.conf, &c.err);
		if (!rc) {
			version = c.conf.cni_version;
			rc = run(&c);
		}
		call_log_write(&c, getenv("CNI_COMMAND"), elapsed_ms(&t0));
		call_log_close();
	}

	if (rc) {
		text = pf_cni_error_render(&c.err, version);
		printf("%s\n", text ? text : "{\"code\":5,\"msg\":\"out of memory\"}");
		free(text);
	} else if (c.output) {
		printf("%s\n", c.output);
	}
	fflush(stdout);
	free(c.output);
	free(input);
	pf_cni_netconf_free(&c.conf);
	json_decref(c.log);
	return rc ? 1 : 0;
}
