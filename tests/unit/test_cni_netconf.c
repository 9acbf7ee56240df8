// SPDX-License-Identifier: Apache-2.0
/* CNI input parsing: the CNI_* environment and the network configuration.
 * Every rejection carries the spec's code and names what was wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "cni_netconf.h"
#include "log.h"

#define BASE "{\"cniVersion\":\"1.0.0\",\"name\":\"podfence\",\"type\":\"podfence-cni\"}"

/* ---- environment ---- */

static void env_fails(char *const *envp, int code, const char *needle)
{
	static const struct pf_cni_env zero;
	struct pf_cni_error e = { 0 };
	struct pf_cni_env env;

	assert_int_equal(pf_cni_env_parse(envp, &env, &e), -1);
	assert_memory_equal(&env, &zero, sizeof(env));
	assert_int_equal(e.code, code);
	if (!strstr(e.msg, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", e.msg, needle);
}

static void env_add_reads_every_variable(void **state)
{
	char *envp[] = { "PATH=/bin", "CNI_COMMAND=ADD", "CNI_CONTAINERID=abc123",
			 "CNI_NETNS=/var/run/netns/p1", "CNI_IFNAME=eth0",
			 "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=x;K8S_POD_NAME=a;K8S_POD_INFRA_CONTAINER_ID=abc123",
			 "CNI_PATH=/opt/cni/bin", NULL };
	struct pf_cni_error e = { 0 };
	struct pf_cni_env env;

	(void)state;
	assert_int_equal(pf_cni_env_parse(envp, &env, &e), 0);
	assert_int_equal(env.cmd, PF_CNI_CMD_ADD);
	assert_string_equal(env.container_id, "abc123");
	assert_string_equal(env.netns, "/var/run/netns/p1");
	assert_string_equal(env.ifname, "eth0");
	assert_string_equal(env.pod_namespace, "x");
	assert_string_equal(env.pod_name, "a");
}

static void env_without_pod_identity_falls_back_to_default_and_container_id(void **state)
{
	char *envp[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c1", "CNI_NETNS=/run/netns/p",
			 "CNI_IFNAME=eth0", "CNI_ARGS=IgnoreUnknown=1;", NULL };
	struct pf_cni_error e = { 0 };
	struct pf_cni_env env;

	(void)state;
	assert_int_equal(pf_cni_env_parse(envp, &env, &e), 0);
	assert_string_equal(env.pod_namespace, "default");
	assert_string_equal(env.pod_name, "c1");
}

static void env_command_missing_or_unknown(void **state)
{
	char *none[] = { "CNI_CONTAINERID=c1", NULL };
	char *empty[] = { "CNI_COMMAND=", NULL };
	char *bad[] = { "CNI_COMMAND=add", NULL };

	(void)state;
	env_fails(none, 4, "CNI_COMMAND");
	env_fails(empty, 4, "CNI_COMMAND");
	env_fails(bad, 4, "CNI_COMMAND \"add\"");
}

static void env_add_requires_container_netns_and_ifname(void **state)
{
	char *no_id[] = { "CNI_COMMAND=ADD", "CNI_NETNS=/n", "CNI_IFNAME=eth0", NULL };
	char *no_netns[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_IFNAME=eth0", NULL };
	char *empty_netns[] = { "CNI_COMMAND=CHECK", "CNI_CONTAINERID=c", "CNI_NETNS=",
				"CNI_IFNAME=eth0", NULL };
	char *no_if[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/n", NULL };

	(void)state;
	env_fails(no_id, 4, "CNI_CONTAINERID is not set");
	env_fails(no_netns, 4, "CNI_NETNS is not set");
	env_fails(empty_netns, 4, "CNI_NETNS is not set");
	env_fails(no_if, 4, "CNI_IFNAME is not set");
}

static void env_del_accepts_an_empty_netns(void **state)
{
	char *envp[] = { "CNI_COMMAND=DEL", "CNI_CONTAINERID=c1", "CNI_NETNS=",
			 "CNI_IFNAME=eth0", NULL };
	struct pf_cni_error e = { 0 };
	struct pf_cni_env env;

	(void)state;
	assert_int_equal(pf_cni_env_parse(envp, &env, &e), 0);
	assert_int_equal(env.cmd, PF_CNI_CMD_DEL);
	assert_string_equal(env.netns, "");
}

static void env_version_gc_status_need_only_the_command(void **state)
{
	static const char *const cmds[] = { "VERSION", "GC", "STATUS" };
	static const enum pf_cni_cmd want[] = { PF_CNI_CMD_VERSION, PF_CNI_CMD_GC,
						PF_CNI_CMD_STATUS };
	struct pf_cni_error e = { 0 };
	struct pf_cni_env env;
	char var[32];

	(void)state;
	for (int i = 0; i < 3; i++) {
		char *envp[] = { var, NULL };

		snprintf(var, sizeof(var), "CNI_COMMAND=%s", cmds[i]);
		assert_int_equal(pf_cni_env_parse(envp, &env, &e), 0);
		assert_int_equal(env.cmd, want[i]);
	}
}

static void env_ifname_longer_than_15_is_named(void **state)
{
	char *envp[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/n",
			 "CNI_IFNAME=eth0123456789abc", NULL };
	char *ok15[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/n",
			 "CNI_IFNAME=eth0123456789ab", NULL };
	struct pf_cni_error e = { 0 };
	struct pf_cni_env env;

	(void)state;
	env_fails(envp, 4, "CNI_IFNAME \"eth0123456789abc\" is longer than 15 characters");
	assert_int_equal(pf_cni_env_parse(ok15, &env, &e), 0);
}

static void env_ifname_with_slash_colon_space_or_dots_is_refused(void **state)
{
	static const char *const bad[] = { "CNI_IFNAME=a/b", "CNI_IFNAME=a:b", "CNI_IFNAME=a b",
					   "CNI_IFNAME=.", "CNI_IFNAME=.." };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *envp[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/n",
				 (char *)bad[i], NULL };

		env_fails(envp, 4, "CNI_IFNAME");
	}
}

static void env_container_id_must_follow_the_spec(void **state)
{
	char *dash[] = { "CNI_COMMAND=DEL", "CNI_CONTAINERID=-abc", "CNI_IFNAME=eth0", NULL };
	char *slash[] = { "CNI_COMMAND=DEL", "CNI_CONTAINERID=a/b", "CNI_IFNAME=eth0", NULL };
	char long_id[300] = "CNI_CONTAINERID=";
	char *too_long[] = { "CNI_COMMAND=DEL", long_id, "CNI_IFNAME=eth0", NULL };

	(void)state;
	memset(long_id + strlen(long_id), 'a', 201);
	env_fails(dash, 4, "CNI_CONTAINERID \"-abc\"");
	env_fails(slash, 4, "CNI_CONTAINERID \"a/b\"");
	env_fails(too_long, 4, "CNI_CONTAINERID is longer than 200");
}

static void env_netns_must_be_absolute(void **state)
{
	char *envp[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=proc/1/ns/net",
			 "CNI_IFNAME=eth0", NULL };

	(void)state;
	env_fails(envp, 4, "CNI_NETNS \"proc/1/ns/net\" is not an absolute path");
}

static void env_bad_cni_args_are_named(void **state)
{
	char *no_eq[] = { "CNI_COMMAND=DEL", "CNI_CONTAINERID=c", "CNI_IFNAME=eth0",
			  "CNI_ARGS=K8S_POD_NAMESPACE=x;K8S_POD_NAME", NULL };
	char *no_key[] = { "CNI_COMMAND=DEL", "CNI_CONTAINERID=c", "CNI_IFNAME=eth0",
			   "CNI_ARGS==x", NULL };
	char *empty_name[] = { "CNI_COMMAND=DEL", "CNI_CONTAINERID=c", "CNI_IFNAME=eth0",
			       "CNI_ARGS=K8S_POD_NAMESPACE=x;K8S_POD_NAME=", NULL };
	char long_ns[400] = "CNI_ARGS=K8S_POD_NAMESPACE=";
	char *too_long[] = { "CNI_COMMAND=DEL", "CNI_CONTAINERID=c", "CNI_IFNAME=eth0",
			     long_ns, NULL };

	(void)state;
	memset(long_ns + strlen(long_ns), 'n', 254);
	env_fails(no_eq, 4, "CNI_ARGS: \"K8S_POD_NAME\" is not a KEY=VALUE pair");
	env_fails(no_key, 4, "CNI_ARGS: \"=x\"");
	env_fails(empty_name, 4, "CNI_ARGS: K8S_POD_NAME is empty");
	env_fails(too_long, 4, "CNI_ARGS: K8S_POD_NAMESPACE is longer than 253");
}

/* ---- network configuration ---- */

static int parse_text(const char *text, enum pf_cni_cmd cmd, struct pf_cni_netconf *conf,
		      struct pf_cni_error *e)
{
	memset(e, 0, sizeof(*e));
	return pf_cni_netconf_parse(text, strlen(text), cmd, conf, e);
}

/* BASE with key set to the JSON value (NULL: key removed). */
static char *base_with(const char *key, const char *value)
{
	json_t *root = json_loads(BASE, 0, NULL);
	char *text;

	assert_non_null(root);
	if (value)
		assert_int_equal(json_object_set_new(root, key,
						     json_loads(value, JSON_DECODE_ANY, NULL)), 0);
	else
		json_object_del(root, key);
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}

static void conf_fails(const char *key, const char *value, enum pf_cni_cmd cmd, int code,
		       const char *needle)
{
	struct pf_cni_netconf conf;
	struct pf_cni_error e;
	char *text = base_with(key, value);

	if (parse_text(text, cmd, &conf, &e) != -1)
		fail_msg("%s accepted", text);
	if (e.code != code || !strstr(e.msg, needle))
		fail_msg("%s: got code %d \"%s\", want code %d mentioning \"%s\"", text, e.code,
			 e.msg, code, needle);
	free(text);
}

static void conf_minimal_gets_the_defaults(void **state)
{
	struct pf_cni_netconf conf;
	struct pf_cni_error e;

	(void)state;
	assert_int_equal(parse_text(BASE, PF_CNI_CMD_ADD, &conf, &e), 0);
	assert_string_equal(conf.cni_version, "1.0.0");
	assert_string_equal(conf.name, "podfence");
	assert_string_equal(conf.type, "podfence-cni");
	assert_string_equal(conf.ipamd_socket, "/run/podfence/ipamd.sock");
	assert_string_equal(conf.agent_socket, "/run/podfence/agent.sock");
	assert_string_equal(conf.veth_prefix, "pf");
	assert_int_equal(conf.mtu, 1500);
	assert_string_equal(conf.log_file, "/var/log/podfence/plugin.log");
	assert_int_equal(conf.log_level, PF_LOG_INFO);
	assert_null(conf.prev_result);
	pf_cni_netconf_free(&conf);
}

static void conf_reads_every_podfence_key(void **state)
{
	const char *text = "{\"cniVersion\":\"0.4.0\",\"name\":\"pf-net\",\"type\":\"podfence-cni\","
			   "\"ipamdSocket\":\"/tmp/i.sock\",\"agentSocket\":\"/tmp/a.sock\","
			   "\"vethPrefix\":\"eni\",\"mtu\":9001,\"logFile\":\"/tmp/p.log\","
			   "\"logLevel\":\"debug\",\"runtimeConfig\":{\"x\":1},\"args\":{},"
			   "\"prevResult\":{\"cniVersion\":\"0.4.0\",\"ips\":[]}}";
	struct pf_cni_netconf conf;
	struct pf_cni_error e;

	(void)state;
	assert_int_equal(parse_text(text, PF_CNI_CMD_DEL, &conf, &e), 0);
	assert_string_equal(conf.cni_version, "0.4.0");
	assert_string_equal(conf.ipamd_socket, "/tmp/i.sock");
	assert_string_equal(conf.agent_socket, "/tmp/a.sock");
	assert_string_equal(conf.veth_prefix, "eni");
	assert_int_equal(conf.mtu, 9001);
	assert_string_equal(conf.log_file, "/tmp/p.log");
	assert_int_equal(conf.log_level, PF_LOG_DEBUG);
	assert_non_null(conf.prev_result);
	assert_true(json_is_array(json_object_get(conf.prev_result, "ips")));
	pf_cni_netconf_free(&conf);
}

static void conf_every_required_field_missing_is_named(void **state)
{
	(void)state;
	conf_fails("cniVersion", NULL, PF_CNI_CMD_ADD, 7, "\"cniVersion\" is required");
	conf_fails("name", NULL, PF_CNI_CMD_ADD, 7, "\"name\" is required");
	conf_fails("type", NULL, PF_CNI_CMD_ADD, 7, "\"type\" is required");
	conf_fails("name", "\"\"", PF_CNI_CMD_DEL, 7, "\"name\" must not be empty");
}

static void conf_wrong_types_are_named(void **state)
{
	static const struct {
		const char *key, *value;
	} cases[] = {
		{ "cniVersion", "100" },   { "cniVersion", "null" },  { "name", "1" },
		{ "name", "[\"a\"]" },     { "type", "true" },        { "ipamdSocket", "5" },
		{ "agentSocket", "{}" },   { "vethPrefix", "12" },    { "mtu", "\"1500\"" },
		{ "mtu", "1500.5" },       { "logFile", "false" },    { "logLevel", "3" },
		{ "prevResult", "\"x\"" }, { "prevResult", "[]" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char needle[64];

		snprintf(needle, sizeof(needle), "\"%s\"", cases[i].key);
		conf_fails(cases[i].key, cases[i].value, PF_CNI_CMD_ADD, 7, needle);
	}
}

static void conf_bad_values_are_named(void **state)
{
	(void)state;
	conf_fails("name", "\"-net\"", PF_CNI_CMD_ADD, 7, "\"name\" (\"-net\")");
	conf_fails("ipamdSocket", "\"run/ipamd.sock\"", PF_CNI_CMD_ADD, 7,
		   "\"ipamdSocket\" (\"run/ipamd.sock\") must be an absolute path");
	conf_fails("agentSocket",
		   "\"/run/podfence/a-very-long-directory-name-that-goes-on/and-on-and-on/and-on-until-it-no-longer-fits-in-sun-path.sock\"",
		   PF_CNI_CMD_ADD, 7, "\"agentSocket\" is longer than 107");
	conf_fails("vethPrefix", "\"abcde\"", PF_CNI_CMD_ADD, 7,
		   "\"vethPrefix\" (\"abcde\") is longer than 4");
	conf_fails("vethPrefix", "\"p/f\"", PF_CNI_CMD_ADD, 7, "\"vethPrefix\" (\"p/f\")");
	conf_fails("mtu", "67", PF_CNI_CMD_ADD, 7, "\"mtu\" must be an integer from 68 to 65535");
	conf_fails("mtu", "65536", PF_CNI_CMD_ADD, 7, "\"mtu\"");
	conf_fails("logLevel", "\"verbose\"", PF_CNI_CMD_ADD, 7, "\"logLevel\" (\"verbose\")");
	conf_fails("logFile", "\"plugin.log\"", PF_CNI_CMD_ADD, 7, "\"logFile\" (\"plugin.log\")");
}

static void conf_unknown_cni_version_is_code_1(void **state)
{
	(void)state;
	conf_fails("cniVersion", "\"0.2.0\"", PF_CNI_CMD_ADD, 1, "cniVersion \"0.2.0\" is not supported");
	conf_fails("cniVersion", "\"2.0.0\"", PF_CNI_CMD_DEL, 1, "cniVersion \"2.0.0\"");
	conf_fails("cniVersion", "\"1.0\"", PF_CNI_CMD_ADD, 1, "cniVersion \"1.0\"");
	conf_fails("cniVersion", "\"\"", PF_CNI_CMD_ADD, 1, "cniVersion \"\"");
}

static void conf_every_supported_version_parses(void **state)
{
	(void)state;
	for (int i = 0; i < PF_CNI_N_VERSIONS; i++) {
		struct pf_cni_netconf conf;
		struct pf_cni_error e;
		char value[16], *text;

		snprintf(value, sizeof(value), "\"%s\"", pf_cni_versions[i]);
		text = base_with("cniVersion", value);
		assert_int_equal(parse_text(text, PF_CNI_CMD_ADD, &conf, &e), 0);
		assert_string_equal(conf.cni_version, pf_cni_versions[i]);
		pf_cni_netconf_free(&conf);
		free(text);
	}
}

static void conf_command_newer_than_the_version_is_code_1(void **state)
{
	(void)state;
	conf_fails("cniVersion", "\"0.3.1\"", PF_CNI_CMD_CHECK, 1,
		   "cniVersion 0.3.1 does not have the CHECK command");
	conf_fails("cniVersion", "\"1.0.0\"", PF_CNI_CMD_GC, 1,
		   "cniVersion 1.0.0 does not have the GC command");
	conf_fails("cniVersion", "\"0.4.0\"", PF_CNI_CMD_STATUS, 1,
		   "cniVersion 0.4.0 does not have the STATUS command");
}

static void conf_check_requires_prev_result(void **state)
{
	(void)state;
	conf_fails("prevResult", NULL, PF_CNI_CMD_CHECK, 7, "\"prevResult\" is required for CHECK");
}

static void conf_malformed_json_is_code_6(void **state)
{
	static const char *const bad[] = { "", "{", "{\"cniVersion\":}", "[1,2]", "\"x\"",
					   "{\"name\":\"a\"} trailing" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pf_cni_netconf conf;
		struct pf_cni_error e;

		assert_int_equal(parse_text(bad[i], PF_CNI_CMD_ADD, &conf, &e), -1);
		if (e.code != 6)
			fail_msg("\"%s\": code %d (%s), want 6", bad[i], e.code, e.msg);
		assert_non_null(strstr(e.msg, "network configuration"));
	}
}

static void conf_gc_reads_valid_attachments(void **state)
{
	const char *text = "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"t\","
			   "\"cni.dev/valid-attachments\":[{\"containerID\":\"c1\",\"ifname\":\"eth0\"},"
			   "{\"containerID\":\"c2\",\"ifname\":\"net1\"}]}";
	const char *legacy = "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"t\","
			     "\"cni.dev/attachments\":[]}";
	struct pf_cni_netconf conf;
	struct pf_cni_error e;

	(void)state;
	assert_int_equal(parse_text(text, PF_CNI_CMD_GC, &conf, &e), 0);
	assert_int_equal(conf.n_valid, 2);
	assert_string_equal(conf.valid[1].container_id, "c2");
	assert_string_equal(conf.valid[1].ifname, "net1");
	pf_cni_netconf_free(&conf);
	assert_int_equal(parse_text(legacy, PF_CNI_CMD_GC, &conf, &e), 0);
	assert_int_equal(conf.n_valid, 0);
	pf_cni_netconf_free(&conf);
}

static void conf_gc_bad_attachments_are_named(void **state)
{
	const char *missing = "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"t\"}";
	const char *not_array = "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"t\","
				"\"cni.dev/valid-attachments\":{}}";
	const char *bad_item = "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"t\","
			       "\"cni.dev/valid-attachments\":[{\"containerID\":\"c\",\"ifname\":\"eth0\"},"
			       "{\"containerID\":7,\"ifname\":\"eth0\"}]}";
	struct pf_cni_netconf conf;
	struct pf_cni_error e;

	(void)state;
	assert_int_equal(parse_text(missing, PF_CNI_CMD_GC, &conf, &e), -1);
	assert_int_equal(e.code, 7);
	assert_non_null(strstr(e.msg, "\"cni.dev/valid-attachments\" is required for GC"));
	assert_int_equal(parse_text(not_array, PF_CNI_CMD_GC, &conf, &e), -1);
	assert_non_null(strstr(e.msg, "\"cni.dev/valid-attachments\" must be an array"));
	assert_int_equal(parse_text(bad_item, PF_CNI_CMD_GC, &conf, &e), -1);
	assert_int_equal(e.code, 7);
	assert_non_null(strstr(e.msg, "\"cni.dev/valid-attachments\"[1]"));
}

static void request_version_echoes_a_supported_version_only(void **state)
{
	const char *v031 = "{\"cniVersion\":\"0.3.1\"}", *v999 = "{\"cniVersion\":\"9.9.9\"}";

	(void)state;
	assert_string_equal(pf_cni_request_version(v031, strlen(v031)), "0.3.1");
	assert_string_equal(pf_cni_request_version(v999, strlen(v999)), "1.1.0");
	assert_string_equal(pf_cni_request_version("garbage", 7), "1.1.0");
	assert_string_equal(pf_cni_request_version("", 0), "1.1.0");
}

static void request_log_reads_file_and_level_leniently(void **state)
{
	const char *bad_mtu = "{\"cniVersion\":\"9\",\"mtu\":\"x\",\"logFile\":\"/tmp/p.log\","
			      "\"logLevel\":\"DEBUG\"}";
	const char *relative = "{\"logFile\":\"p.log\",\"logLevel\":\"loud\"}";
	char path[PF_CNI_PATH_MAX];
	int level;

	(void)state;
	assert_true(pf_cni_request_log(bad_mtu, strlen(bad_mtu), path, sizeof(path), &level));
	assert_string_equal(path, "/tmp/p.log");
	assert_int_equal(level, PF_LOG_DEBUG);
	assert_true(pf_cni_request_log(relative, strlen(relative), path, sizeof(path), &level));
	assert_string_equal(path, PF_CNI_DEFAULT_LOG_FILE);
	assert_int_equal(level, PF_LOG_INFO);
	assert_false(pf_cni_request_log("{\"logFile\":", 12, path, sizeof(path), &level));
	assert_false(pf_cni_request_log("[]", 2, path, sizeof(path), &level));
	assert_false(pf_cni_request_log("", 0, path, sizeof(path), &level));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(env_add_reads_every_variable),
		cmocka_unit_test(env_without_pod_identity_falls_back_to_default_and_container_id),
		cmocka_unit_test(env_command_missing_or_unknown),
		cmocka_unit_test(env_add_requires_container_netns_and_ifname),
		cmocka_unit_test(env_del_accepts_an_empty_netns),
		cmocka_unit_test(env_version_gc_status_need_only_the_command),
		cmocka_unit_test(env_ifname_longer_than_15_is_named),
		cmocka_unit_test(env_ifname_with_slash_colon_space_or_dots_is_refused),
		cmocka_unit_test(env_container_id_must_follow_the_spec),
		cmocka_unit_test(env_netns_must_be_absolute),
		cmocka_unit_test(env_bad_cni_args_are_named),
		cmocka_unit_test(conf_minimal_gets_the_defaults),
		cmocka_unit_test(conf_reads_every_podfence_key),
		cmocka_unit_test(conf_every_required_field_missing_is_named),
		cmocka_unit_test(conf_wrong_types_are_named),
		cmocka_unit_test(conf_bad_values_are_named),
		cmocka_unit_test(conf_unknown_cni_version_is_code_1),
		cmocka_unit_test(conf_every_supported_version_parses),
		cmocka_unit_test(conf_command_newer_than_the_version_is_code_1),
		cmocka_unit_test(conf_check_requires_prev_result),
		cmocka_unit_test(conf_malformed_json_is_code_6),
		cmocka_unit_test(conf_gc_reads_valid_attachments),
		cmocka_unit_test(conf_gc_bad_attachments_are_named),
		cmocka_unit_test(request_version_echoes_a_supported_version_only),
		cmocka_unit_test(request_log_reads_file_and_level_leniently),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
