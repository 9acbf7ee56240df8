// SPDX-License-Identifier: Apache-2.0
/* Turning command-line words into values, with usage errors that name the
 * argument at fault. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_parse_u32(const char *text, const char *what, uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (!*text || *end || errno || text[0] == '-' || v > UINT32_MAX)
		return cli_usage_error("%s \"%s\" is not a number from 0 to %u", what, text,
				       UINT32_MAX);
	*out = (uint32_t)v;
	return 0;
}

int cli_parse_opts(int argc, char **argv, struct cli_opt *opts)
{
	for (int i = 0; i < argc; i++) {
		struct cli_opt *o;

		for (o = opts; o->name && strcmp(o->name, argv[i]); o++)
			;
		if (!o->name)
			return cli_usage_error("unexpected argument \"%s\"", argv[i]);
		if (i + 1 == argc)
			return cli_usage_error("%s needs a value", argv[i]);
		*o->value = argv[++i];
	}
	return 0;
}

int cli_ifindex(const char *arg, bool must_exist, int *ifindex)
{
	char name[IF_NAMESIZE];
	uint32_t n;

	if (arg[0] >= '0' && arg[0] <= '9') {
		if (cli_parse_u32(arg, "ifindex", &n))
			return CLI_EXIT_USAGE;
		if (!n || n > INT32_MAX)
			return cli_usage_error("ifindex %s is out of range", arg);
		if (must_exist && !cli_ifname(n, name))
			return cli_fail("no interface with ifindex %u in this network namespace "
					"(enter the node's namespace with nsenter --net=...)", n);
		*ifindex = (int)n;
		return 0;
	}
	n = if_nametoindex(arg);
	if (!n)
		return cli_fail("interface %s: %s in this network namespace (enter the node's "
				"namespace with nsenter --net=...)", arg, strerror(errno));
	*ifindex = (int)n;
	return 0;
}

const char *cli_ifname(uint32_t ifindex, char *buf)
{
	return if_indextoname(ifindex, buf);
}
