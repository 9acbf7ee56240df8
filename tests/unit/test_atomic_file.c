// SPDX-License-Identifier: Apache-2.0
/* Atomic file replacement and the conflist podfence-init writes with it. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "atomic_file.h"
#include "cni_conflist.h"

static char dir[] = "/tmp/pf-atomic-XXXXXX";

static int make_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	(void)state;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	return rmdir(dir);
}

static size_t entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void write_replaces_whole_file_and_leaves_no_temp(void **state)
{
	char path[512];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/conf", dir);
	assert_int_equal(pf_atomic_write(path, "first version, long", 19, 0644), 0);
	assert_int_equal(pf_atomic_write(path, "second", 6, 0600), 0);
	assert_string_equal(slurp(path), "second");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(entries(), 1);
}

static void copy_keeps_bytes_and_sets_mode(void **state)
{
	char src[512], dst[512];
	struct stat st;

	(void)state;
	snprintf(src, sizeof(src), "%s/src", dir);
	snprintf(dst, sizeof(dst), "%s/dst", dir);
	assert_int_equal(pf_atomic_write(src, "#!/bin/true\n", 12, 0644), 0);
	assert_int_equal(pf_atomic_copy(src, dst, 0755), 0);
	assert_string_equal(slurp(dst), "#!/bin/true\n");
	assert_int_equal(stat(dst, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
}

static void failures_are_reported_and_change_nothing(void **state)
{
	char path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/missing-dir/conf", dir);
	assert_int_equal(pf_atomic_write(path, "x", 1, 0644), -ENOENT);
	snprintf(path, sizeof(path), "%s/dst2", dir);
	assert_int_equal(pf_atomic_copy("/nonexistent/podfence-cni", path, 0755), -ENOENT);
	assert_int_equal(access(path, F_OK), -1);
}

static void conflist_names_the_plugin_and_its_daemons(void **state)
{
	struct pf_conflist_opts o = { .cni_version = "1.0.0", .network_name = "podfence",
				      .ipamd_socket = "/run/x/ipamd.sock",
				      .agent_socket = "/run/x/agent.sock",
				      .log_file = "/var/log/x/plugin.log", .mtu = 9001 };
	char *text = pf_conflist_render(&o);
	json_error_t jerr;
	json_t *root, *plugin;

	(void)state;
	assert_non_null(text);
	root = json_loads(text, 0, &jerr);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "cniVersion")), "1.0.0");
	assert_string_equal(json_string_value(json_object_get(root, "name")), "podfence");
	assert_int_equal(json_array_size(json_object_get(root, "plugins")), 1);
	plugin = json_array_get(json_object_get(root, "plugins"), 0);
	assert_string_equal(json_string_value(json_object_get(plugin, "type")), "podfence-cni");
	assert_string_equal(json_string_value(json_object_get(plugin, "ipamdSocket")),
			    "/run/x/ipamd.sock");
	assert_string_equal(json_string_value(json_object_get(plugin, "agentSocket")),
			    "/run/x/agent.sock");
	assert_int_equal(json_integer_value(json_object_get(plugin, "mtu")), 9001);
	json_decref(root);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(write_replaces_whole_file_and_leaves_no_temp),
		cmocka_unit_test(copy_keeps_bytes_and_sets_mode),
		cmocka_unit_test(failures_are_reported_and_change_nothing),
		cmocka_unit_test(conflist_names_the_plugin_and_its_daemons),
	};

	return cmocka_run_group_tests_name("atomic_file", tests, make_dir, remove_dir);
}
