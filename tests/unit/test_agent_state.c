// SPDX-License-Identifier: Apache-2.0
/* The agent's state file: local pods and set keys come back exactly (with
 * reference counts), a missing file is a first start, a file that cannot
 * be trusted is refused with the reason, and enforce-pod requests are read
 * with errors that name the field. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent_state.h"

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pf-agent-state-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
	return 0;
}

static void pod(struct pf_local_pod *p, const char *json)
{
	json_t *j = json_loads(json, 0, NULL);
	char err[256] = "";

	assert_non_null(j);
	if (pf_local_pod_from_json(j, "", p, err, sizeof(err)))
		fail_msg("%s", err);
	json_decref(j);
}

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void pods_and_sets_come_back_exactly(void **state)
{
	struct pf_local_pod p[3], *loaded;
	const struct pf_local_pod *ptrs[3] = { &p[0], &p[1], &p[2] };
	struct pf_set_table t, back;
	char err[512] = "";
	size_t n;

	(void)state;
	pod(&p[0], "{\"namespace\":\"x\",\"name\":\"a\",\"container_id\":\"c1\",\"ifname\":\"eth0\","
		   "\"host_veth\":\"pfa\",\"ifindex\":7,\"ipv4\":\"10.0.0.1\",\"ipv6\":\"fd00::1\","
		   "\"policy_set\":3}");
	pod(&p[1], "{\"namespace\":\"x\",\"name\":\"b\",\"container_id\":\"c2\","
		   "\"host_veth\":\"pfb\",\"ifindex\":8,\"ipv4\":\"10.0.0.2\",\"policy_set\":3}");
	pod(&p[2], "{\"namespace\":\"y\",\"name\":\"c\",\"container_id\":\"c3\","
		   "\"host_veth\":\"pfc\",\"ifindex\":9,\"ipv6\":\"fd00::3\"}");
	pf_set_table_init(&t);
	assert_int_equal(pf_set_table_restore(&t, 3, 0xfedcba9876543210ull, true, 4, 10, 12), 0);
	assert_int_equal(pf_set_table_restore(&t, 4, 1, false, 0, 0, 0), 0);
	if (pf_agent_state_save(path, ptrs, 3, &t, err, sizeof(err)))
		fail_msg("%s", err);
	pf_set_table_init(&back);
	if (pf_agent_state_load(path, &loaded, &n, &back, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(n, 3);
	assert_string_equal(loaded[0].ns, "x");
	assert_string_equal(loaded[0].name, "a");
	assert_string_equal(loaded[0].container_id, "c1");
	assert_string_equal(loaded[0].host_veth, "pfa");
	assert_string_equal(loaded[1].ifname, "eth0"); /* the default */
	assert_int_equal(loaded[0].ifindex, 7);
	assert_int_equal(loaded[0].n_ips, 2);
	assert_memory_equal(&loaded[0].ips[1], &p[0].ips[1], sizeof(p[0].ips[1]));
	assert_int_equal(loaded[0].set_id, 3);
	assert_int_equal(loaded[2].set_id, 0);
	assert_non_null(pf_local_pod_ip(&loaded[2], 6));
	assert_null(pf_local_pod_ip(&loaded[2], 4));
	/* Set 4's contents were unknown: not written, so not restored. */
	assert_int_equal(back.n, 1);
	assert_int_equal(back.e[0].id, 3);
	assert_int_equal(back.e[0].key, 0xfedcba9876543210ull);
	assert_true(back.e[0].key_known);
	assert_int_equal(back.e[0].gen, 12);
	assert_int_equal(back.e[0].n_rules, 4);
	assert_int_equal(back.e[0].n_hosts, 10);
	assert_int_equal(back.e[0].refs, 2);
	for (size_t i = 0; i < 3; i++) {
		pf_local_pod_free(&p[i]);
		pf_local_pod_free(&loaded[i]);
	}
	free(loaded);
	pf_set_table_free(&t);
	pf_set_table_free(&back);
}

static void a_pod_on_a_set_without_key_keeps_its_set_id(void **state)
{
	struct pf_local_pod *loaded;
	struct pf_set_table back;
	char err[512] = "";
	size_t n;

	(void)state;
	write_file("{\"version\":1,\"sets\":[],\"pods\":[{\"namespace\":\"x\",\"name\":\"a\","
		   "\"container_id\":\"c\",\"host_veth\":\"pfa\",\"ifindex\":3,\"policy_set\":6}]}");
	pf_set_table_init(&back);
	if (pf_agent_state_load(path, &loaded, &n, &back, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(back.n, 1);
	assert_int_equal(back.e[0].id, 6);
	assert_false(back.e[0].key_known);
	assert_int_equal(back.e[0].refs, 1);
	pf_local_pod_free(&loaded[0]);
	free(loaded);
	pf_set_table_free(&back);
}

static void a_missing_file_is_a_first_start(void **state)
{
	struct pf_local_pod *loaded;
	struct pf_set_table back;
	char err[256] = "";
	size_t n;

	(void)state;
	pf_set_table_init(&back);
	assert_int_equal(pf_agent_state_load(path, &loaded, &n, &back, err, sizeof(err)), -ENOENT);
	assert_int_equal(n, 0);
}

static void untrustworthy_files_are_refused_with_reasons(void **state)
{
	static const struct {
		const char *text, *why;
	} cases[] = {
		{ "{\"version\":1,\"pods\":[],\"sets\":[]", "state" },
		{ "{\"version\":2,\"pods\":[],\"sets\":[]}", "\"version\" must be 1" },
		{ "{\"version\":1,\"pods\":{},\"sets\":[]}", "must be lists" },
		{ "{\"version\":1,\"pods\":[],\"sets\":[{\"id\":0,\"key\":\"0000000000000001\","
		  "\"gen\":1,\"rules\":0,\"hosts\":0}]}", "sets[0].id" },
		{ "{\"version\":1,\"pods\":[],\"sets\":[{\"id\":1,\"key\":\"xyz\",\"gen\":1,"
		  "\"rules\":0,\"hosts\":0}]}", "sets[0].key" },
		{ "{\"version\":1,\"pods\":[],\"sets\":[{\"id\":1,\"key\":\"0000000000000001\","
		  "\"gen\":1,\"rules\":0,\"hosts\":0},{\"id\":1,\"key\":\"0000000000000002\","
		  "\"gen\":1,\"rules\":0,\"hosts\":0}]}", "appears twice" },
		{ "{\"version\":1,\"sets\":[],\"pods\":[{\"namespace\":\"x\",\"name\":\"a\","
		  "\"container_id\":\"c\",\"host_veth\":\"pfa\",\"ipv4\":\"fd00::1\"}]}",
		  "pods[0]: \"ipv4\"" },
		{ "{\"version\":1,\"sets\":[],\"pods\":[{\"namespace\":\"x\",\"name\":\"a\","
		  "\"container_id\":\"c\",\"host_veth\":\"pfa\"},{\"namespace\":\"x\",\"name\":\"a\","
		  "\"container_id\":\"d\",\"host_veth\":\"pfb\"}]}", "pods[1] x/a appears twice" },
		{ "{\"version\":1,\"sets\":[],\"pods\":[{\"namespace\":\"x\",\"name\":\"a\","
		  "\"container_id\":\"c\"}]}", "pods[0]: \"host_veth\" is required" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pf_local_pod *loaded;
		struct pf_set_table back;
		char err[512] = "";
		size_t n;

		write_file(cases[i].text);
		pf_set_table_init(&back);
		assert_int_equal(pf_agent_state_load(path, &loaded, &n, &back, err, sizeof(err)),
				 -EINVAL);
		if (!strstr(err, cases[i].why))
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err, cases[i].why);
		assert_int_equal(n, 0);
		assert_int_equal(back.n, 0);
	}
}

static void enforce_requests_are_read_with_errors_naming_the_field(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "{\"pod_name\":\"a\",\"container_id\":\"c\",\"host_veth\":\"v\"}",
		  "\"pod_namespace\" is required" },
		{ "{\"pod_namespace\":\"X_\",\"pod_name\":\"a\",\"container_id\":\"c\","
		  "\"host_veth\":\"v\"}", "\"pod_namespace\" \"X_\" is not a valid DNS-1123 label" },
		{ "{\"pod_namespace\":\"x\",\"pod_name\":\"a\",\"container_id\":\"c/d\","
		  "\"host_veth\":\"v\"}", "\"container_id\" \"c/d\" is invalid" },
		{ "{\"pod_namespace\":\"x\",\"pod_name\":\"a\",\"container_id\":\"c\","
		  "\"host_veth\":\"0123456789abcdef\"}", "\"host_veth\"" },
		{ "{\"pod_namespace\":\"x\",\"pod_name\":\"a\",\"container_id\":\"c\","
		  "\"host_veth\":\"v\",\"ipv6\":\"10.0.0.1\"}", "\"ipv6\" \"10.0.0.1\" is not an IPv6" },
		{ "{\"pod_namespace\":\"x\",\"pod_name\":\"a\",\"container_id\":\"c\","
		  "\"host_veth\":\"v\",\"ipv4\":7}", "\"ipv4\" must be a non-empty string" },
	};
	struct pf_local_pod p;
	char err[512];
	json_t *j;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = json_loads(bad[i].text, 0, NULL);
		assert_non_null(j);
		err[0] = 0;
		assert_int_equal(pf_local_pod_from_request(j, &p, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].why))
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err, bad[i].why);
		json_decref(j);
	}
	j = json_loads("{\"pod_namespace\":\"x\",\"pod_name\":\"a\",\"container_id\":\"c\","
		       "\"ifname\":\"eth1\",\"host_veth\":\"pf0\",\"ipv4\":\"10.0.0.9\"}", 0, NULL);
	assert_int_equal(pf_local_pod_from_request(j, &p, err, sizeof(err)), 0);
	assert_string_equal(p.ifname, "eth1");
	assert_string_equal(p.host_veth, "pf0");
	assert_int_equal(p.n_ips, 1);
	assert_int_equal(p.set_id, 0);
	pf_local_pod_free(&p);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(pods_and_sets_come_back_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(a_pod_on_a_set_without_key_keeps_its_set_id, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_missing_file_is_a_first_start, setup, teardown),
		cmocka_unit_test_setup_teardown(untrustworthy_files_are_refused_with_reasons, setup,
						teardown),
		cmocka_unit_test(enforce_requests_are_read_with_errors_naming_the_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
