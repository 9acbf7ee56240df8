// SPDX-License-Identifier: Apache-2.0
/* Settings from flags, the environment, a JSON config file and defaults,
 * checked once so the rest of the daemon trusts them. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "podfence_abi.h"
#include "ipamd.h"

const struct ipamd_key_info ipamd_keys[IPAMD_KEY_COUNT] = {
	[IPAMD_POD_CIDR] = { "pod-cidr", NULL, NULL,
			     "the node's IPv4 pod CIDR, e.g. 10.244.1.0/24 (required)" },
	[IPAMD_POD_CIDR6] = { "pod-cidr6", NULL, NULL,
			      "the node's IPv6 pod CIDR (pods get both families)" },
	[IPAMD_STATE_DIR] = { "state-dir", NULL, "/var/lib/podfence",
			      "where the checkpoint ipam.json lives" },
	[IPAMD_SOCKET] = { "socket", NULL, "/run/podfence/ipamd.sock",
			   "the root-only unix socket of the API" },
	[IPAMD_INTROSPECTION_BIND] = { "introspection-bind", NULL, "127.0.0.1:61679",
				       "ADDR:PORT of the read-only introspection API" },
	[IPAMD_METRICS_BIND] = { "metrics-bind", NULL, "127.0.0.1:61678",
				 "ADDR:PORT of /metrics" },
	[IPAMD_NETWORK_POLICY_MODE] = { "network-policy-mode", "NETWORK_POLICY_ENFORCING_MODE",
					"standard",
					"standard or strict, told to the CNI plugin" },
	[IPAMD_LOG_FILE] = { "log-file", NULL, NULL, "JSON-lines log file (default stderr)" },
	[IPAMD_WARM_IP_TARGET] = { "warm-ip-target", "WARM_IP_TARGET", "0",
				   "unassigned addresses kept reserved" },
	[IPAMD_MINIMUM_IP_TARGET] = { "minimum-ip-target", "MINIMUM_IP_TARGET", "0",
				      "addresses reserved in all, assigned or not" },
};

enum { IPAMD_OPT_CONFIG = IPAMD_KEY_COUNT, IPAMD_OPT_HELP };

static void ipamd_usage(void)
{
	printf("usage: podfence-ipamd --pod-cidr CIDR [options]\n\n"
	       "Owns the node's pod addresses and serves AddNetwork/DelNetwork.\n\n");
	for (int k = 0; k < IPAMD_KEY_COUNT; k++) {
		printf("  --%-22s %s", ipamd_keys[k].name, ipamd_keys[k].help);
		if (ipamd_keys[k].env)
			printf(" [env %s]", ipamd_keys[k].env);
		if (ipamd_keys[k].def)
			printf(" (default %s)", ipamd_keys[k].def);
		printf("\n");
	}
	printf("  --%-22s %s\n  --%-22s %s\n", "config FILE",
	       "JSON object with the flags' names as keys", "help", "this text");
}

/* Reads the config file's keys into cfg->owned; flags set later win. */
static int ipamd_config_file(struct ipamd_config *cfg, char *err, size_t err_len)
{
	json_error_t jerr;
	const char *key;
	json_t *root, *v;
	int rc = 0;

	root = json_load_file(cfg->config_file, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, err_len, "--config %s: %s (line %d)", cfg->config_file, jerr.text,
			 jerr.line);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		snprintf(err, err_len, "--config %s: the top level must be a JSON object",
			 cfg->config_file);
		json_decref(root);
		return -EINVAL;
	}
	json_object_foreach(root, key, v) {
		int k = 0;

		while (k < IPAMD_KEY_COUNT && strcmp(ipamd_keys[k].name, key))
			k++;
		if (k == IPAMD_KEY_COUNT) {
			snprintf(err, err_len, "--config %s: unknown key \"%s\"", cfg->config_file,
				 key);
			rc = -EINVAL;
			break;
		}
		if (json_is_string(v))
			cfg->owned[k] = strdup(json_string_value(v));
		else if (json_is_integer(v) && json_integer_value(v) >= 0) {
			if (asprintf(&cfg->owned[k], "%lld", (long long)json_integer_value(v)) < 0)
				cfg->owned[k] = NULL;
		} else {
			snprintf(err, err_len,
				 "--config %s: \"%s\" must be a string (or a count)",
				 cfg->config_file, key);
			rc = -EINVAL;
			break;
		}
		if (!cfg->owned[k]) {
			snprintf(err, err_len, "--config %s: out of memory", cfg->config_file);
			rc = -ENOMEM;
			break;
		}
	}
	json_decref(root);
	return rc;
}

static int ipamd_parse_count(struct ipamd_config *cfg, int k, unsigned *out, char *err,
			     size_t err_len)
{
	const char *v = cfg->value[k];
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (!*v || *end || errno || n > 65535 || *v == '-') {
		snprintf(err, err_len, "%s \"%s\": not a count of addresses (0 to 65535)",
			 cfg->origin[k], v);
		return -EINVAL;
	}
	*out = (unsigned)n;
	return 0;
}

static int ipamd_parse_cidr(struct ipamd_config *cfg, int k, uint8_t family,
			    struct pf_cidr *out, char *err, size_t err_len)
{
	char why[160];

	if (pf_cidr_parse(cfg->value[k], out, why, sizeof(why))) {
		snprintf(err, err_len, "%s: %s", cfg->origin[k], why);
		return -EINVAL;
	}
	if (out->family != family) {
		snprintf(err, err_len, "%s \"%s\": not an %s CIDR", cfg->origin[k],
			 cfg->value[k], family == PF_FAMILY_V4 ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	return 0;
}

/* Checks the merged values and derives the typed ones. */
static int ipamd_config_check(struct ipamd_config *cfg, char *err, size_t err_len)
{
	const char *mode = cfg->value[IPAMD_NETWORK_POLICY_MODE];
	const char *dir = cfg->value[IPAMD_STATE_DIR];

	if (!cfg->value[IPAMD_POD_CIDR]) {
		snprintf(err, err_len, "--pod-cidr is required (as a flag or in --config)");
		return -EINVAL;
	}
	if (ipamd_parse_cidr(cfg, IPAMD_POD_CIDR, PF_FAMILY_V4, &cfg->cidr4, err, err_len))
		return -EINVAL;
	cfg->has_cidr6 = cfg->value[IPAMD_POD_CIDR6] != NULL;
	if (cfg->has_cidr6 &&
	    ipamd_parse_cidr(cfg, IPAMD_POD_CIDR6, PF_FAMILY_V6, &cfg->cidr6, err, err_len))
		return -EINVAL;
	if (strcmp(mode, "standard") && strcmp(mode, "strict")) {
		snprintf(err, err_len, "%s \"%s\": must be standard or strict",
			 cfg->origin[IPAMD_NETWORK_POLICY_MODE], mode);
		return -EINVAL;
	}
	cfg->strict = !strcmp(mode, "strict");
	if (ipamd_parse_count(cfg, IPAMD_WARM_IP_TARGET, &cfg->warm_ip_target, err, err_len) ||
	    ipamd_parse_count(cfg, IPAMD_MINIMUM_IP_TARGET, &cfg->minimum_ip_target, err,
			      err_len))
		return -EINVAL;
	for (int k = 0; k < IPAMD_KEY_COUNT; k++) {
		if (cfg->value[k] && !*cfg->value[k]) {
			snprintf(err, err_len, "%s is empty", cfg->origin[k]);
			return -EINVAL;
		}
	}
	if (*dir != '/' || *cfg->value[IPAMD_SOCKET] != '/') {
		snprintf(err, err_len, "%s must be an absolute path",
			 *dir != '/' ? cfg->origin[IPAMD_STATE_DIR] : cfg->origin[IPAMD_SOCKET]);
		return -EINVAL;
	}
	if ((size_t)snprintf(cfg->checkpoint_path, sizeof(cfg->checkpoint_path), "%s/ipam.json",
			     dir) >= sizeof(cfg->checkpoint_path) - 4 ||
	    (size_t)snprintf(cfg->lock_path, sizeof(cfg->lock_path), "%s/ipam.lock", dir) >=
		    sizeof(cfg->lock_path)) {
		snprintf(err, err_len, "%s: path too long", cfg->origin[IPAMD_STATE_DIR]);
		return -EINVAL;
	}
	return 0;
}

int ipamd_config_parse(int argc, char **argv, struct ipamd_config *cfg, char *err,
		       size_t err_len)
{
	struct option opts[IPAMD_KEY_COUNT + 3];
	const char *flags[IPAMD_KEY_COUNT] = { 0 };
	int c, rc;

	memset(cfg, 0, sizeof(*cfg));
	for (int k = 0; k < IPAMD_KEY_COUNT; k++)
		opts[k] = (struct option){ ipamd_keys[k].name, required_argument, NULL, k };
	opts[IPAMD_OPT_CONFIG] = (struct option){ "config", required_argument, NULL,
						  IPAMD_OPT_CONFIG };
	opts[IPAMD_OPT_HELP] = (struct option){ "help", no_argument, NULL, IPAMD_OPT_HELP };
	opts[IPAMD_OPT_HELP + 1] = (struct option){ 0 };

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (c == IPAMD_OPT_HELP) {
			ipamd_usage();
			return 1;
		}
		if (c == IPAMD_OPT_CONFIG) {
			cfg->config_file = optarg;
		} else if (c >= 0 && c < IPAMD_KEY_COUNT) {
			flags[c] = optarg;
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
	if (cfg->config_file && (rc = ipamd_config_file(cfg, err, err_len)))
		return rc;
	for (int k = 0; k < IPAMD_KEY_COUNT; k++) {
		const char *env = ipamd_keys[k].env ? getenv(ipamd_keys[k].env) : NULL;
		char *origin = cfg->origin[k];
		size_t olen = sizeof(cfg->origin[k]);

		if (flags[k]) {
			cfg->value[k] = flags[k];
			snprintf(origin, olen, "--%s", ipamd_keys[k].name);
		} else if (env) {
			cfg->value[k] = env;
			snprintf(origin, olen, "%s", ipamd_keys[k].env);
		} else if (cfg->owned[k]) {
			cfg->value[k] = cfg->owned[k];
			snprintf(origin, olen, "%s in %s", ipamd_keys[k].name, cfg->config_file);
		} else {
			cfg->value[k] = ipamd_keys[k].def;
			snprintf(origin, olen, "default %s", ipamd_keys[k].name);
		}
	}
	return ipamd_config_check(cfg, err, err_len);
}

void ipamd_config_free(struct ipamd_config *cfg)
{
	for (int k = 0; k < IPAMD_KEY_COUNT; k++)
		free(cfg->owned[k]);
	memset(cfg->owned, 0, sizeof(cfg->owned));
}
