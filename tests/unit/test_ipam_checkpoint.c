// SPDX-License-Identifier: Apache-2.0
/* The checkpoint: what is saved comes back exactly (addresses, pods, reuse
 * order), saves are atomic, and a file that cannot be trusted is refused
 * with an error that says why. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "podfence_abi.h"
#include "ipam_checkpoint.h"

static char dir[64], path[128], tmp_path[160];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pf-ckpt-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ipam.json", dir);
	snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	unlink(tmp_path);
	rmdir(tmp_path); /* one test makes it a directory */
	rmdir(dir);
	return 0;
}

static struct pf_ipam_pool *new_pool(const char *v4, const char *v6)
{
	struct pf_ipam_pool_opts o = { 0 };
	struct pf_ipam_source *s4 = NULL, *s6 = NULL;
	struct pf_ipam_pool *pool;
	struct pf_cidr c;
	char err[256];

	assert_int_equal(pf_cidr_parse(v4, &c, err, sizeof(err)), 0);
	assert_int_equal(pf_ipam_source_cidr_new(&c, &s4, err, sizeof(err)), 0);
	if (v6) {
		assert_int_equal(pf_cidr_parse(v6, &c, err, sizeof(err)), 0);
		assert_int_equal(pf_ipam_source_cidr_new(&c, &s6, err, sizeof(err)), 0);
	}
	assert_int_equal(pf_ipam_pool_new(&o, s4, s6, &pool), 0);
	return pool;
}

static const struct pf_ipam_assignment *assign(struct pf_ipam_pool *pool, const char *id,
					       const char *ifname)
{
	struct pf_ipam_request req = { .container_id = id, .ifname = ifname,
				       .netns = "/proc/42/ns/net", .pod_namespace = "ns-1",
				       .pod_name = id };
	const struct pf_ipam_assignment *a;
	bool existed;

	assert_int_equal(pf_ipam_pool_assign(pool, &req, &a, &existed), 0);
	return a;
}

static void save(struct pf_ipam_pool *pool)
{
	char err[512] = "";

	if (pf_ipam_checkpoint_save(path, pool, err, sizeof(err)))
		fail_msg("save failed: %s", err);
}

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Loads the file into a fresh pool and expects the error naming `want`. */
static void assert_refused(const char *v4, const char *want)
{
	struct pf_ipam_pool *pool = new_pool(v4, NULL);
	char err[512] = "";

	int rc = pf_ipam_checkpoint_load(path, pool, err, sizeof(err));

	/* Refused, and not mistaken for a first start. */
	assert_true(rc < 0 && rc != -ENOENT);
	if (!strstr(err, want) || !strstr(err, path))
		fail_msg("error \"%s\" does not name \"%s\" and the file", err, want);
	pf_ipam_pool_free(pool);
}

static void test_saved_assignments_come_back_exactly(void **state)
{
	struct pf_ipam_pool *pool = new_pool("10.20.0.0/24", "fd00:20::/120"), *back;
	const struct pf_ipam_assignment *a, *b;
	struct pf_ipam_assignment gone;
	char err[512];
	struct stat st;

	(void)state;
	assign(pool, "c1", "eth0");
	assign(pool, "c2", "eth0");
	assign(pool, "c2", "net1");
	assign(pool, "c3", "eth0");
	assert_int_equal(pf_ipam_pool_release(pool, "c2", "eth0", &gone), 0);
	pf_ipam_assignment_clear(&gone);
	save(pool);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(access(tmp_path, F_OK), -1);

	back = new_pool("10.20.0.0/24", "fd00:20::/120");
	assert_int_equal(pf_ipam_checkpoint_load(path, back, err, sizeof(err)), 0);
	assert_int_equal(pf_ipam_pool_count(back), 3);
	for (size_t i = 0; i < 3; i++) {
		a = pf_ipam_pool_at(pool, i);
		b = pf_ipam_pool_at(back, i);
		assert_string_equal(a->container_id, b->container_id);
		assert_string_equal(a->ifname, b->ifname);
		assert_string_equal(b->netns, "/proc/42/ns/net");
		assert_string_equal(b->pod_namespace, "ns-1");
		assert_string_equal(a->pod_name, b->pod_name);
		assert_true(b->has_v4 && b->has_v6);
		assert_memory_equal(a->v4, b->v4, 16);
		assert_memory_equal(a->v6, b->v6, 16);
		assert_int_equal(a->assigned_at, b->assigned_at);
	}
	/* Both continue the round robin in the same place: the address c2
	 * released is not the next one handed out. */
	a = assign(pool, "c4", "eth0");
	b = assign(back, "c4", "eth0");
	assert_memory_equal(a->v4, b->v4, 16);
	assert_memory_equal(a->v6, b->v6, 16);
	assert_int_equal(a->v4[3], 6);
	pf_ipam_pool_free(pool);
	pf_ipam_pool_free(back);
}

static void test_reload_never_hands_out_a_saved_address(void **state)
{
	struct pf_ipam_pool *pool = new_pool("10.21.0.0/29", NULL), *back; /* 5 addresses */
	const struct pf_ipam_assignment *a;
	struct pf_ipam_request req = { .container_id = "new", .ifname = "eth0" };
	bool existed;
	char err[512];

	(void)state;
	for (int i = 0; i < 4; i++) {
		char id[8];

		snprintf(id, sizeof(id), "c%d", i);
		assign(pool, id, "eth0");
	}
	save(pool);
	back = new_pool("10.21.0.0/29", NULL);
	assert_int_equal(pf_ipam_checkpoint_load(path, back, err, sizeof(err)), 0);
	pf_ipam_pool_fill_warm(back);
	a = assign(back, "c4", "eth0");
	assert_int_equal(a->v4[3], 6);
	assert_int_equal(pf_ipam_pool_assign(back, &req, &a, &existed), -ENOSPC);
	/* A retried add after the restart gets its saved address back. */
	req.container_id = "c1";
	assert_int_equal(pf_ipam_pool_assign(back, &req, &a, &existed), 0);
	assert_true(existed);
	assert_memory_equal(a->v4, pf_ipam_pool_find(pool, "c1", "eth0")->v4, 16);
	pf_ipam_pool_free(pool);
	pf_ipam_pool_free(back);
}

static void test_missing_file_is_a_first_start(void **state)
{
	struct pf_ipam_pool *pool = new_pool("10.22.0.0/24", NULL);
	char err[512];

	(void)state;
	assert_int_equal(pf_ipam_checkpoint_load(path, pool, err, sizeof(err)), -ENOENT);
	assert_int_equal(pf_ipam_pool_count(pool), 0);
	pf_ipam_pool_free(pool);
}

static void test_corrupt_files_are_refused_with_reasons(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "", "not valid JSON" },
		{ "{\"version\": 1, \"assignments\": [{\"container_id\": \"a\",", "not valid JSON" },
		{ "\x7f" "ELF garbage", "not valid JSON" },
		{ "[]", "top level is not an object" },
		{ "{\"assignments\": []}", "\"version\" is missing or not 1" },
		{ "{\"version\": 2, \"assignments\": []}", "\"version\" is missing or not 1" },
		{ "{\"version\": 1}", "\"assignments\" is missing" },
		{ "{\"version\": 1, \"assignments\": [], \"assignments\": []}", "not valid JSON" },
		{ "{\"version\": 1, \"assignments\": [{\"ifname\": \"eth0\", \"ipv4\": \"10.23.0.2\"}]}",
		  "assignments[0]: \"container_id\" is missing" },
		{ "{\"version\": 1, \"assignments\": [{\"container_id\": \"a\", \"ifname\": 5, "
		  "\"ipv4\": \"10.23.0.2\"}]}",
		  "\"ifname\" is missing or not a non-empty string" },
		{ "{\"version\": 1, \"assignments\": [{\"container_id\": \"a\", \"ifname\": \"eth0\"}]}",
		  "no \"ipv4\" or \"ipv6\" address" },
		{ "{\"version\": 1, \"assignments\": [{\"container_id\": \"a\", \"ifname\": \"eth0\", "
		  "\"ipv4\": \"fd00::1\"}]}",
		  "\"ipv4\": \"fd00::1\" is not an IPv4 address" },
		{ "{\"version\": 1, \"assignments\": [{\"container_id\": \"a\", \"ifname\": \"eth0\", "
		  "\"ipv4\": \"10.23.0.2\", \"assigned_at\": \"yesterday\"}]}",
		  "\"assigned_at\" is not an integer" },
		{ "{\"version\": 1, \"assignments\": [{\"container_id\": \"a\", \"ifname\": \"eth0\", "
		  "\"ipv4\": \"10.23.0.2\"}, {\"container_id\": \"b\", \"ifname\": \"eth0\", "
		  "\"ipv4\": \"10.23.0.2\"}]}",
		  "assignments[1]: address 10.23.0.2 is assigned twice" },
		{ "{\"version\": 1, \"assignments\": [{\"container_id\": \"a\", \"ifname\": \"eth0\", "
		  "\"ipv4\": \"10.23.0.2\"}, {\"container_id\": \"a\", \"ifname\": \"eth0\", "
		  "\"ipv4\": \"10.23.0.3\"}]}",
		  "container a interface eth0 is assigned twice" },
		{ "{\"version\": 1, \"assignments\": [{\"container_id\": \"a\", \"ifname\": \"eth0\", "
		  "\"ipv4\": \"10.99.0.2\"}]}",
		  "address 10.99.0.2 is not one pool 10.23.0.0/24 hands out" },
		{ "{\"version\": 1, \"pools\": [{\"family\": \"ipv4\", \"name\": \"10.23.0.0/24\", "
		  "\"next\": \"10.23.0.255\"}], \"assignments\": []}",
		  "pools[0]: \"next\" 10.23.0.255 is not an address of 10.23.0.0/24" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file(cases[i].text);
		assert_refused("10.23.0.0/24", cases[i].want);
	}
}

static void test_truncated_save_is_refused(void **state)
{
	struct pf_ipam_pool *pool = new_pool("10.24.0.0/24", NULL);
	struct stat st;

	(void)state;
	assign(pool, "c1", "eth0");
	assign(pool, "c2", "eth0");
	save(pool);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size / 2), 0);
	assert_refused("10.24.0.0/24", "not valid JSON");
	pf_ipam_pool_free(pool);
}

static void test_failed_save_keeps_the_previous_file(void **state)
{
	struct pf_ipam_pool *pool = new_pool("10.25.0.0/24", NULL), *back;
	char err[512] = "";

	(void)state;
	assign(pool, "c1", "eth0");
	save(pool);
	assign(pool, "c2", "eth0");
	assert_int_equal(mkdir(tmp_path, 0700), 0); /* the temporary file cannot be made */
	assert_int_equal(pf_ipam_checkpoint_save(path, pool, err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, path));
	assert_int_equal(rmdir(tmp_path), 0);
	back = new_pool("10.25.0.0/24", NULL);
	assert_int_equal(pf_ipam_checkpoint_load(path, back, err, sizeof(err)), 0);
	assert_int_equal(pf_ipam_pool_count(back), 1);
	pf_ipam_pool_free(back);

	/* A leftover temporary file (a crash mid-save) is ignored and removed. */
	int fd = open(tmp_path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{half", 5), 5);
	close(fd);
	back = new_pool("10.25.0.0/24", NULL);
	assert_int_equal(pf_ipam_checkpoint_load(path, back, err, sizeof(err)), 0);
	assert_int_equal(access(tmp_path, F_OK), -1);
	pf_ipam_pool_free(back);

	char missing[200];
	snprintf(missing, sizeof(missing), "%s/no-such-dir/ipam.json", dir);
	assert_int_equal(pf_ipam_checkpoint_save(missing, pool, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no-such-dir/ipam.json"));
	pf_ipam_pool_free(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_saved_assignments_come_back_exactly, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reload_never_hands_out_a_saved_address, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_is_a_first_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_files_are_refused_with_reasons, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_truncated_save_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_save_keeps_the_previous_file, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
