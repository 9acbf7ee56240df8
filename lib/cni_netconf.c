// SPDX-License-Identifier: Apache-2.0
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni_netconf.h"
#include "log.h"

const char *const pf_cni_versions[PF_CNI_N_VERSIONS] = {
	"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0",
};

static const char *const pf_cni_cmd_names[] = {
	[PF_CNI_CMD_ADD] = "ADD",         [PF_CNI_CMD_DEL] = "DEL",
	[PF_CNI_CMD_CHECK] = "CHECK",     [PF_CNI_CMD_VERSION] = "VERSION",
	[PF_CNI_CMD_GC] = "GC",           [PF_CNI_CMD_STATUS] = "STATUS",
};
#define PF_CNI_N_CMDS (sizeof(pf_cni_cmd_names) / sizeof(pf_cni_cmd_names[0]))

/* The first spec version that has each command (CHECK came with 0.4.0, GC
 * and STATUS with 1.1.0). */
static const char *const pf_cni_cmd_since[] = {
	[PF_CNI_CMD_ADD] = "0.3.0",   [PF_CNI_CMD_DEL] = "0.3.0",
	[PF_CNI_CMD_CHECK] = "0.4.0", [PF_CNI_CMD_VERSION] = "0.3.0",
	[PF_CNI_CMD_GC] = "1.1.0",    [PF_CNI_CMD_STATUS] = "1.1.0",
};

int pf_cni_version_index(const char *v)
{
	for (int i = 0; i < PF_CNI_N_VERSIONS; i++)
		if (!strcmp(v, pf_cni_versions[i]))
			return i;
	return -1;
}

bool pf_cni_version_at_least(const char *v, const char *min)
{
	return pf_cni_version_index(v) >= pf_cni_version_index(min);
}

const char *pf_cni_command_name(enum pf_cni_cmd cmd)
{
	return (size_t)cmd < PF_CNI_N_CMDS ? pf_cni_cmd_names[cmd] : "?";
}

/* ---- environment ---- */

static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

static int env_copy(const char *name, const char *value, char *out, size_t len,
		    struct pf_cni_error *e)
{
	if (strlen(value) >= len)
		return pf_cni_fail(e, PF_CNI_ERR_ENV, "%s is longer than %zu characters", name,
				   len - 1);
	strcpy(out, value);
	return 0;
}

/* SPEC.md: "Must start with an alphanumeric character, optionally followed
 * by any combination of one or more alphanumeric characters, underscore
 * (_), dot (.) or hyphen (-)." */
static bool valid_container_id(const char *id)
{
	if (!isalnum((unsigned char)id[0]))
		return false;
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			return false;
	return true;
}

/* SPEC.md: the interface name "must not be empty, must not be "." or "..",
 * must be less than 16 characters and must not contain / or : or any
 * whitespace characters." */
static int check_ifname(const char *name, struct pf_cni_error *e)
{
	if (strlen(name) >= IFNAMSIZ)
		return pf_cni_fail(e, PF_CNI_ERR_ENV,
				   "CNI_IFNAME \"%s\" is longer than %d characters", name,
				   IFNAMSIZ - 1);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return pf_cni_fail(e, PF_CNI_ERR_ENV, "CNI_IFNAME \"%s\" is not a valid name",
				   name);
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p))
			return pf_cni_fail(e, PF_CNI_ERR_ENV,
					   "CNI_IFNAME \"%s\" contains '/', ':' or whitespace",
					   name);
	return 0;
}

/* CNI_ARGS: "K=V;K=V". Keys other than the pod identity are ignored, as
 * kubelet and other runtimes add their own (K8S_POD_INFRA_CONTAINER_ID,
 * K8S_POD_UID, IgnoreUnknown). */
static int parse_cni_args(const char *args, struct pf_cni_env *env, struct pf_cni_error *e)
{
	const char *p = args;

	while (*p) {
		const char *end = strchrnul(p, ';'), *eq = memchr(p, '=', (size_t)(end - p));
		size_t klen, vlen;
		char *dst = NULL;

		if (end == p) { /* an empty pair, as in a trailing ';' */
			p = end + (*end == ';');
			continue;
		}
		if (!eq || eq == p)
			return pf_cni_fail(e, PF_CNI_ERR_ENV,
					   "CNI_ARGS: \"%.*s\" is not a KEY=VALUE pair",
					   (int)(end - p), p);
		klen = (size_t)(eq - p);
		vlen = (size_t)(end - eq - 1);
		if (klen == strlen("K8S_POD_NAMESPACE") && !strncmp(p, "K8S_POD_NAMESPACE", klen))
			dst = env->pod_namespace;
		else if (klen == strlen("K8S_POD_NAME") && !strncmp(p, "K8S_POD_NAME", klen))
			dst = env->pod_name;
		if (dst) {
			if (vlen == 0)
				return pf_cni_fail(e, PF_CNI_ERR_ENV, "CNI_ARGS: %.*s is empty",
						   (int)klen, p);
			if (vlen >= PF_CNI_K8S_NAME_MAX)
				return pf_cni_fail(e, PF_CNI_ERR_ENV,
						   "CNI_ARGS: %.*s is longer than %d characters",
						   (int)klen, p, PF_CNI_K8S_NAME_MAX - 1);
			memcpy(dst, eq + 1, vlen);
			dst[vlen] = '\0';
		}
		p = end + (*end == ';');
	}
	return 0;
}

static int env_parse(char *const *envp, struct pf_cni_env *env, struct pf_cni_error *e)
{
	const char *cmd = env_get(envp, "CNI_COMMAND"), *v;
	bool needs_attachment, needs_netns;
	size_t i;

	if (!cmd || !*cmd)
		return pf_cni_fail(e, PF_CNI_ERR_ENV, "CNI_COMMAND is not set");
	for (i = 0; i < PF_CNI_N_CMDS; i++)
		if (!strcmp(cmd, pf_cni_cmd_names[i]))
			break;
	if (i == PF_CNI_N_CMDS)
		return pf_cni_fail(e, PF_CNI_ERR_ENV,
				   "CNI_COMMAND \"%s\" is not one of ADD, DEL, CHECK, VERSION, GC, STATUS",
				   cmd);
	env->cmd = (enum pf_cni_cmd)i;
	needs_attachment = env->cmd == PF_CNI_CMD_ADD || env->cmd == PF_CNI_CMD_DEL ||
			   env->cmd == PF_CNI_CMD_CHECK;
	needs_netns = env->cmd == PF_CNI_CMD_ADD || env->cmd == PF_CNI_CMD_CHECK;
	if (!needs_attachment)
		return 0;

	v = env_get(envp, "CNI_CONTAINERID");
	if (!v || !*v)
		return pf_cni_fail(e, PF_CNI_ERR_ENV, "CNI_CONTAINERID is not set (required for %s)",
				   cmd);
	if (env_copy("CNI_CONTAINERID", v, env->container_id, sizeof(env->container_id), e))
		return -1;
	if (!valid_container_id(v))
		return pf_cni_fail(e, PF_CNI_ERR_ENV,
				   "CNI_CONTAINERID \"%s\" must start with a letter or digit and hold only letters, digits, '_', '.' and '-'",
				   v);

	v = env_get(envp, "CNI_IFNAME");
	if (!v || !*v)
		return pf_cni_fail(e, PF_CNI_ERR_ENV, "CNI_IFNAME is not set (required for %s)",
				   cmd);
	if (check_ifname(v, e))
		return -1;
	strcpy(env->ifname, v);

	v = env_get(envp, "CNI_NETNS");
	if (v && *v) {
		if (env_copy("CNI_NETNS", v, env->netns, sizeof(env->netns), e))
			return -1;
		if (v[0] != '/')
			return pf_cni_fail(e, PF_CNI_ERR_ENV,
					   "CNI_NETNS \"%s\" is not an absolute path", v);
	} else if (needs_netns) {
		return pf_cni_fail(e, PF_CNI_ERR_ENV, "CNI_NETNS is not set (required for %s)",
				   cmd);
	}

	v = env_get(envp, "CNI_ARGS");
	if (v && parse_cni_args(v, env, e))
		return -1;
	if (!env->pod_namespace[0])
		strcpy(env->pod_namespace, "default");
	if (!env->pod_name[0])
		strcpy(env->pod_name, env->container_id);
	return 0;
}

int pf_cni_env_parse(char *const *envp, struct pf_cni_env *env, struct pf_cni_error *e)
{
	memset(env, 0, sizeof(*env));
	if (env_parse(envp, env, e)) {
		memset(env, 0, sizeof(*env)); /* no half-read attachment */
		return -1;
	}
	return 0;
}

/* ---- network configuration ---- */

/* Copies a string field. Returns 1 when absent (and not required). */
static int conf_string(json_t *root, const char *key, bool required, char *out, size_t len,
		       struct pf_cni_error *e)
{
	json_t *v = json_object_get(root, key);

	if (!v) {
		if (required)
			return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
					   "network configuration: \"%s\" is required", key);
		return 1;
	}
	if (!json_is_string(v))
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
				   "network configuration: \"%s\" must be a string", key);
	if (json_string_length(v) == 0)
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
				   "network configuration: \"%s\" must not be empty", key);
	if (json_string_length(v) >= len)
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
				   "network configuration: \"%s\" is longer than %zu characters",
				   key, len - 1);
	strcpy(out, json_string_value(v));
	return 0;
}

/* An absolute path field with a default. */
static int conf_path(json_t *root, const char *key, const char *dflt, char *out, size_t len,
		     struct pf_cni_error *e)
{
	int rc = conf_string(root, key, false, out, len, e);

	if (rc < 0)
		return rc;
	if (rc == 1) {
		snprintf(out, len, "%s", dflt);
		return 0;
	}
	if (out[0] != '/')
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
				   "network configuration: \"%s\" (\"%s\") must be an absolute path",
				   key, out);
	return 0;
}

/* SPEC.md: a network name "must start with an alphanumeric character,
 * optionally followed by any combination of one or more alphanumeric
 * characters, underscore, dot (.) or hyphen (-)". */
static int check_network_name(const char *name, struct pf_cni_error *e)
{
	if (!valid_container_id(name)) /* the same character rule */
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
				   "network configuration: \"name\" (\"%s\") must start with a letter or digit and hold only letters, digits, '_', '.' and '-'",
				   name);
	return 0;
}

static int parse_version(json_t *root, enum pf_cni_cmd cmd, struct pf_cni_netconf *conf,
			 struct pf_cni_error *e)
{
	json_t *v = json_object_get(root, "cniVersion");
	const char *s;

	if (!v)
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
				   "network configuration: \"cniVersion\" is required");
	if (!json_is_string(v))
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
				   "network configuration: \"cniVersion\" must be a string");
	s = json_string_value(v);
	if (pf_cni_version_index(s) < 0) {
		pf_cni_fail(e, PF_CNI_ERR_VERSION, "cniVersion \"%.32s\" is not supported", s);
		pf_cni_details(e, "supported versions: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0");
		return -1;
	}
	if (!pf_cni_version_at_least(s, pf_cni_cmd_since[cmd]))
		return pf_cni_fail(e, PF_CNI_ERR_VERSION,
				   "cniVersion %s does not have the %s command (it needs %s or later)",
				   s, pf_cni_command_name(cmd), pf_cni_cmd_since[cmd]);
	strcpy(conf->cni_version, s);
	return 0;
}

static int parse_veth_prefix(json_t *root, struct pf_cni_netconf *conf, struct pf_cni_error *e)
{
	char buf[64];
	int rc = conf_string(root, "vethPrefix", false, buf, sizeof(buf), e);

	if (rc < 0)
		return rc;
	if (rc == 1) {
		strcpy(conf->veth_prefix, PF_CNI_DEFAULT_VETH_PREFIX);
		return 0;
	}
	if (strlen(buf) > PF_CNI_VETH_PREFIX_MAX)
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
				   "network configuration: \"vethPrefix\" (\"%s\") is longer than %d characters (11 hash characters follow it in a 15-character name)",
				   buf, PF_CNI_VETH_PREFIX_MAX);
	for (const char *p = buf; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
					   "network configuration: \"vethPrefix\" (\"%s\") may hold only letters, digits, '-' and '_'",
					   buf);
	strcpy(conf->veth_prefix, buf);
	return 0;
}

static int parse_mtu(json_t *root, struct pf_cni_netconf *conf, struct pf_cni_error *e)
{
	json_t *v = json_object_get(root, "mtu");

	conf->mtu = PF_CNI_DEFAULT_MTU;
	if (!v)
		return 0;
	/* 68: the IPv4 minimum; IPv6 needs 1280, checked by the kernel when an
	 * IPv6 address is added. */
	if (!json_is_integer(v) || json_integer_value(v) < 68 || json_integer_value(v) > 65535)
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
				   "network configuration: \"mtu\" must be an integer from 68 to 65535");
	conf->mtu = (int)json_integer_value(v);
	return 0;
}

/* The pf_log_level of a name, or -1. */
static int log_level_index(const char *name)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };

	for (int i = 0; i < 4; i++)
		if (!strcasecmp(name, names[i]))
			return i;
	return -1;
}

static int parse_log_level(json_t *root, struct pf_cni_netconf *conf, struct pf_cni_error *e)
{
	char buf[16];
	int rc = conf_string(root, "logLevel", false, buf, sizeof(buf), e);

	conf->log_level = PF_LOG_INFO;
	if (rc)
		return rc < 0 ? rc : 0;
	conf->log_level = log_level_index(buf);
	if (conf->log_level >= 0)
		return 0;
	return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
			   "network configuration: \"logLevel\" (\"%s\") is not one of debug, info, warn, error",
			   buf);
}

static int parse_attachment(json_t *item, size_t i, const char *key, struct pf_cni_attachment *a,
			    struct pf_cni_error *e)
{
	json_t *id = json_object_get(item, "containerID");
	json_t *ifname = json_object_get(item, "ifname");

	if (!json_is_object(item) || !json_is_string(id) || !json_is_string(ifname))
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
				   "network configuration: \"%s\"[%zu] must be an object with string \"containerID\" and \"ifname\"",
				   key, i);
	if (json_string_length(id) >= sizeof(a->container_id) ||
	    json_string_length(ifname) >= sizeof(a->ifname))
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
				   "network configuration: \"%s\"[%zu] has a containerID or ifname that is too long",
				   key, i);
	strcpy(a->container_id, json_string_value(id));
	strcpy(a->ifname, json_string_value(ifname));
	return 0;
}

/* SPEC.md (GC): the attachments still in use are in
 * "cni.dev/valid-attachments"; libcni also sends them as
 * "cni.dev/attachments", the name an earlier draft of the spec used. An
 * absent list is an error, not "nothing is valid": releasing every address
 * on a malformed request would cut every pod off. */
static int parse_valid_attachments(json_t *root, struct pf_cni_netconf *conf,
				   struct pf_cni_error *e)
{
	const char *key = "cni.dev/valid-attachments";
	json_t *list = json_object_get(root, key);

	if (!list) {
		key = "cni.dev/attachments";
		list = json_object_get(root, key);
	}
	if (!list)
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
				   "network configuration: \"cni.dev/valid-attachments\" is required for GC");
	if (!json_is_array(list))
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
				   "network configuration: \"%s\" must be an array", key);
	conf->n_valid = json_array_size(list);
	conf->valid = calloc(conf->n_valid ? conf->n_valid : 1, sizeof(*conf->valid));
	if (!conf->valid)
		return pf_cni_fail(e, PF_CNI_ERR_IO, "out of memory reading \"%s\"", key);
	for (size_t i = 0; i < conf->n_valid; i++)
		if (parse_attachment(json_array_get(list, i), i, key, &conf->valid[i], e))
			return -1;
	return 0;
}

static int parse_fields(json_t *root, enum pf_cni_cmd cmd, struct pf_cni_netconf *conf,
			struct pf_cni_error *e)
{
	json_t *prev;

	if (parse_version(root, cmd, conf, e) ||
	    conf_string(root, "name", true, conf->name, sizeof(conf->name), e) ||
	    check_network_name(conf->name, e) ||
	    conf_string(root, "type", true, conf->type, sizeof(conf->type), e) ||
	    conf_path(root, "ipamdSocket", PF_CNI_DEFAULT_IPAMD_SOCKET, conf->ipamd_socket,
		      sizeof(conf->ipamd_socket), e) ||
	    conf_path(root, "agentSocket", PF_CNI_DEFAULT_AGENT_SOCKET, conf->agent_socket,
		      sizeof(conf->agent_socket), e) ||
	    parse_veth_prefix(root, conf, e) || parse_mtu(root, conf, e) ||
	    conf_path(root, "logFile", PF_CNI_DEFAULT_LOG_FILE, conf->log_file,
		      sizeof(conf->log_file), e) ||
	    parse_log_level(root, conf, e))
		return -1;

	prev = json_object_get(root, "prevResult");
	if (prev && !json_is_null(prev)) {
		if (!json_is_object(prev))
			return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
					   "network configuration: \"prevResult\" must be an object");
		conf->prev_result = json_incref(prev);
	}
	if (cmd == PF_CNI_CMD_CHECK && !conf->prev_result)
		return pf_cni_fail(e, PF_CNI_ERR_CONFIG,
				   "network configuration: \"prevResult\" is required for CHECK");
	if (cmd == PF_CNI_CMD_GC)
		return parse_valid_attachments(root, conf, e);
	return 0;
}

int pf_cni_netconf_parse(const char *text, size_t len, enum pf_cni_cmd cmd,
			 struct pf_cni_netconf *conf, struct pf_cni_error *e)
{
	json_error_t jerr;
	json_t *root;
	int rc;

	memset(conf, 0, sizeof(*conf));
	if (len == 0)
		return pf_cni_fail(e, PF_CNI_ERR_DECODE,
				   "network configuration on stdin is empty");
	root = json_loadb(text, len, 0, &jerr);
	if (!root) {
		pf_cni_fail(e, PF_CNI_ERR_DECODE, "network configuration is not valid JSON");
		pf_cni_details(e, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return pf_cni_fail(e, PF_CNI_ERR_DECODE,
				   "network configuration is not a JSON object");
	}
	rc = parse_fields(root, cmd, conf, e);
	json_decref(root);
	if (rc)
		pf_cni_netconf_free(conf);
	return rc;
}

void pf_cni_netconf_free(struct pf_cni_netconf *conf)
{
	json_decref(conf->prev_result);
	conf->prev_result = NULL;
	free(conf->valid);
	conf->valid = NULL;
	conf->n_valid = 0;
}

bool pf_cni_request_log(const char *text, size_t len, char *path, size_t path_len, int *level)
{
	json_t *root = len ? json_loadb(text, len, 0, NULL) : NULL;
	const char *file = json_string_value(json_object_get(root, "logFile"));
	const char *name = json_string_value(json_object_get(root, "logLevel"));
	bool ok = json_is_object(root);

	if (!file || file[0] != '/' || strlen(file) >= path_len)
		file = PF_CNI_DEFAULT_LOG_FILE;
	snprintf(path, path_len, "%s", file);
	*level = name && log_level_index(name) >= 0 ? log_level_index(name) : PF_LOG_INFO;
	json_decref(root);
	return ok;
}

const char *pf_cni_request_version(const char *text, size_t len)
{
	json_t *root = len ? json_loadb(text, len, 0, NULL) : NULL;
	const char *v = json_string_value(json_object_get(root, "cniVersion"));
	int i = v ? pf_cni_version_index(v) : -1;

	json_decref(root);
	return i >= 0 ? pf_cni_versions[i] : PF_CNI_LATEST_VERSION;
}
