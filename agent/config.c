// SPDX-License-Identifier: Apache-2.0
/* Flags (seed style: --enable-network-policy=true) and the one environment
 * variable the seed reads, checked once so the rest trusts them. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

enum agent_flag {
	FLAG_ENABLE_NP,
	FLAG_ENABLE_IPV6,
	FLAG_ENABLE_EVENTS,
	FLAG_LOG_FILE,
	FLAG_METRICS_BIND,
	FLAG_HEALTH_BIND,
	FLAG_CT_PERIOD,
	FLAG_MODE,
	FLAG_SOURCE,
	FLAG_KUBE_RESYNC,
	FLAG_NODE_NAME,
	FLAG_PIN_ROOT,
	FLAG_SOCKET,
	FLAG_STATE_DIR,
	FLAG_EVENT_LOG,
	FLAG_COUNT,
	FLAG_HELP = FLAG_COUNT,
};

struct agent_flag_info {
	const char *name;
	bool is_bool;      /* --flag alone means true; --flag=false */
	const char *arg;   /* what the value is, for --help */
	const char *env;   /* read when the flag is absent, or NULL */
	const char *def;   /* default, or NULL */
	const char *help;
};

static const struct agent_flag_info agent_flags[FLAG_COUNT] = {
	[FLAG_ENABLE_NP] = { "enable-network-policy", true, "BOOL", NULL, "false",
			     "enforce NetworkPolicy (false: enforce-pod succeeds at once, "
			     "nothing is attached)" },
	[FLAG_ENABLE_IPV6] = { "enable-ipv6", true, "BOOL", NULL, "false",
			       "use the IPv6 addresses the CNI reports for local pods" },
	[FLAG_ENABLE_EVENTS] = { "enable-policy-event-logs", true, "BOOL", NULL, "false",
				 "log every new flow's verdict as a JSON line" },
	[FLAG_LOG_FILE] = { "log-file", false, "PATH", NULL, NULL,
			    "JSON-lines log (default stderr)" },
	[FLAG_METRICS_BIND] = { "metrics-bind-addr", false, "ADDR:PORT", NULL, "127.0.0.1:8162",
				"ADDR:PORT of /metrics" },
	[FLAG_HEALTH_BIND] = { "health-probe-bind-addr", false, "ADDR:PORT", NULL, "127.0.0.1:8163",
			       "ADDR:PORT of /healthz and /readyz" },
	[FLAG_CT_PERIOD] = { "conntrack-cache-cleanup-period", false, "SECONDS", NULL, "300",
			     "seconds between sweeps of idle tracked flows (also their idle "
			     "limit)" },
	[FLAG_MODE] = { "network-policy-mode", false, "MODE", "NETWORK_POLICY_ENFORCING_MODE",
			"standard",
			"standard (open until a policy selects the pod) or strict (closed)" },
	[FLAG_SOURCE] = { "source", false, "dir:PATH|kube:[KUBECONFIG]", NULL,
			  "dir:/etc/podfence/manifests",
			  "where objects come from: dir:PATH (a directory of manifests, "
			  "NetworkPolicies resolved here) or kube: (the API server's "
			  "PolicyEndpoints and this node's Pods; in-cluster, or the "
			  "kubeconfig at KUBECONFIG)" },
	[FLAG_KUBE_RESYNC] = { "kube-resync-period", false, "SECONDS", NULL, "300",
			       "kube: a full relist of each watch this often (0: never)" },
	[FLAG_NODE_NAME] = { "node-name", false, "NAME", "MY_NODE_NAME", NULL,
			     "this node's name (default: the host name)" },
	[FLAG_PIN_ROOT] = { "pin-root", false, "DIR", NULL, PF_DEFAULT_PIN_ROOT,
			    "bpffs directory of the pinned maps and programs" },
	[FLAG_SOCKET] = { "socket", false, "PATH", NULL, "/run/podfence/agent.sock",
			  "root-only unix socket of the API" },
	[FLAG_STATE_DIR] = { "state-dir", false, "DIR", NULL, "/var/lib/podfence/agent",
			     "where state.json (local pods, policy sets) lives" },
	[FLAG_EVENT_LOG] = { "policy-event-log", false, "PATH", NULL, NULL,
			     "file of the policy event log (default: the log file)" },
};

static void agent_usage(void)
{
	printf("usage: podfence-agent [options]\n\n"
	       "Enforces NetworkPolicy on this node's pods with eBPF.\n\n");
	for (int f = 0; f < FLAG_COUNT; f++) {
		char name[64];

		snprintf(name, sizeof(name), agent_flags[f].is_bool ? "%s[=%s]" : "%s %s",
			 agent_flags[f].name, agent_flags[f].arg);
		printf("  --%-38s %s", name, agent_flags[f].help);
		if (agent_flags[f].env)
			printf(" [env %s]", agent_flags[f].env);
		if (agent_flags[f].def)
			printf(" (default %s)", agent_flags[f].def);
		printf("\n");
	}
	printf("  --%-38s %s\n", "help", "this text");
}

/* As Go's strconv.ParseBool, which the seed's flags use. */
static int agent_parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "1", "t", "T", "true", "TRUE", "True" };
	static const char *const no[] = { "0", "f", "F", "false", "FALSE", "False" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(v, yes[i]) || !strcmp(v, no[i])) {
			*out = !strcmp(v, yes[i]);
			return 0;
		}
	}
	return -EINVAL;
}

static int agent_bad(char *err, size_t err_len, const char *origin, const char *value,
		     const char *why)
{
	snprintf(err, err_len, "%s \"%s\": %s", origin, value, why);
	return -EINVAL;
}

/* --source and --kube-resync-period. */
static int agent_config_source(const char *const *value, char origin[][64],
			       struct agent_config *cfg, char *err, size_t err_len)
{
	const char *src = value[FLAG_SOURCE], *resync = value[FLAG_KUBE_RESYNC];
	unsigned long period;
	char *end;

	errno = 0;
	period = strtoul(resync, &end, 10);
	if (*end || errno || period > 86400 * 7 || *resync == '-')
		return agent_bad(err, err_len, origin[FLAG_KUBE_RESYNC], resync,
				 "must be a number of seconds from 0 (never) to 604800");
	cfg->kube_resync = (unsigned)period;
	if (!strncmp(src, "dir:", 4) && src[4] == '/') {
		cfg->source = AGENT_SOURCE_DIR;
		cfg->source_dir = src + 4;
		return 0;
	}
	/* kube: alone is the in-cluster configuration. */
	if (!strncmp(src, "kube:", 5) && (!src[5] || src[5] == '/')) {
		cfg->source = AGENT_SOURCE_KUBE;
		cfg->kube_config = src + 5;
		return 0;
	}
	return agent_bad(err, err_len, origin[FLAG_SOURCE], src,
			 "must be dir:/ABSOLUTE/PATH, kube: (in-cluster) or "
			 "kube:/ABSOLUTE/PATH/OF/KUBECONFIG");
}

/* Checks the merged values into cfg. origin[f] says where value[f] came from. */
static int agent_config_check(const char *const *value, char origin[][64],
			      struct agent_config *cfg, char *err, size_t err_len)
{
	bool *bools[] = { [FLAG_ENABLE_NP] = &cfg->enabled, [FLAG_ENABLE_IPV6] = &cfg->ipv6,
			  [FLAG_ENABLE_EVENTS] = &cfg->events };
	const char *mode = value[FLAG_MODE];
	char *end;
	unsigned long period;
	int rc;

	for (int f = FLAG_ENABLE_NP; f <= FLAG_ENABLE_EVENTS; f++)
		if (agent_parse_bool(value[f], bools[f]))
			return agent_bad(err, err_len, origin[f], value[f],
					 "must be true or false");
	for (int f = 0; f < FLAG_COUNT; f++)
		if (value[f] && !*value[f]) {
			snprintf(err, err_len, "%s is empty", origin[f]);
			return -EINVAL;
		}
	errno = 0;
	period = strtoul(value[FLAG_CT_PERIOD], &end, 10);
	if (*end || errno || !period || period > 86400 * 7 || *value[FLAG_CT_PERIOD] == '-')
		return agent_bad(err, err_len, origin[FLAG_CT_PERIOD], value[FLAG_CT_PERIOD],
				 "must be a number of seconds from 1 to 604800");
	cfg->ct_period = (unsigned)period;
	if (strcmp(mode, "standard") && strcmp(mode, "strict"))
		return agent_bad(err, err_len, origin[FLAG_MODE], mode,
				 "must be standard or strict");
	cfg->mode = !strcmp(mode, "strict") ? PF_MODE_STRICT : PF_MODE_STANDARD;
	rc = agent_config_source(value, origin, cfg, err, err_len);
	if (rc)
		return rc;
	for (int f = FLAG_PIN_ROOT; f <= FLAG_EVENT_LOG; f++)
		if (value[f] && *value[f] != '/')
			return agent_bad(err, err_len, origin[f], value[f],
					 "must be an absolute path");
	if (value[FLAG_NODE_NAME]) {
		if (strlen(value[FLAG_NODE_NAME]) >= sizeof(cfg->node_name))
			return agent_bad(err, err_len, origin[FLAG_NODE_NAME],
					 value[FLAG_NODE_NAME], "too long");
		snprintf(cfg->node_name, sizeof(cfg->node_name), "%s", value[FLAG_NODE_NAME]);
	} else if (gethostname(cfg->node_name, sizeof(cfg->node_name) - 1)) {
		snprintf(err, err_len, "--node-name not given and the host name is unreadable: %s",
			 strerror(errno));
		return -EINVAL;
	}
	cfg->log_file = value[FLAG_LOG_FILE];
	cfg->metrics_bind = value[FLAG_METRICS_BIND];
	cfg->health_bind = value[FLAG_HEALTH_BIND];
	cfg->pin_root = value[FLAG_PIN_ROOT];
	cfg->socket = value[FLAG_SOCKET];
	cfg->state_dir = value[FLAG_STATE_DIR];
	cfg->event_log = value[FLAG_EVENT_LOG] ? value[FLAG_EVENT_LOG] : value[FLAG_LOG_FILE];
	if ((size_t)snprintf(cfg->state_path, sizeof(cfg->state_path), "%s/state.json",
			     cfg->state_dir) >= sizeof(cfg->state_path) - 4 ||
	    (size_t)snprintf(cfg->lock_path, sizeof(cfg->lock_path), "%s/agent.lock",
			     cfg->state_dir) >= sizeof(cfg->lock_path) ||
	    (size_t)snprintf(cfg->source_state_dir, sizeof(cfg->source_state_dir), "%s/source",
			     cfg->state_dir) >= sizeof(cfg->source_state_dir) - NAME_MAX - 8)
		return agent_bad(err, err_len, origin[FLAG_STATE_DIR], cfg->state_dir,
				 "path too long");
	return 0;
}

int agent_config_parse(int argc, char **argv, struct agent_config *cfg, char *err,
		       size_t err_len)
{
	struct option opts[FLAG_COUNT + 2];
	const char *value[FLAG_COUNT] = { 0 };
	char origin[FLAG_COUNT][64];
	int c;

	memset(cfg, 0, sizeof(*cfg));
	for (int f = 0; f < FLAG_COUNT; f++)
		opts[f] = (struct option){ agent_flags[f].name,
					   agent_flags[f].is_bool ? optional_argument
								  : required_argument,
					   NULL, f };
	opts[FLAG_HELP] = (struct option){ "help", no_argument, NULL, FLAG_HELP };
	opts[FLAG_HELP + 1] = (struct option){ 0 };
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (c == FLAG_HELP) {
			agent_usage();
			return 1;
		}
		if (c >= 0 && c < FLAG_COUNT) {
			value[c] = optarg ? optarg : "true";
			snprintf(origin[c], sizeof(origin[c]), "--%s", agent_flags[c].name);
		} else if (c == ':') {
			snprintf(err, err_len, "%s needs a value", argv[optind - 1]);
			return -EINVAL;
		} else {
			snprintf(err, err_len, "unknown flag %s (see --help)", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		snprintf(err, err_len, "unexpected argument \"%s\" (see --help)", argv[optind]);
		return -EINVAL;
	}
	for (int f = 0; f < FLAG_COUNT; f++) {
		const char *env = agent_flags[f].env ? getenv(agent_flags[f].env) : NULL;

		if (value[f])
			continue;
		if (env) {
			value[f] = env;
			snprintf(origin[f], sizeof(origin[f]), "%s", agent_flags[f].env);
		} else {
			value[f] = agent_flags[f].def;
			snprintf(origin[f], sizeof(origin[f]), "default --%s", agent_flags[f].name);
		}
	}
	return agent_config_check(value, origin, cfg, err, err_len);
}
