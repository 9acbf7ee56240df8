// SPDX-License-Identifier: Apache-2.0
/* The dir: source: every manifest of a directory becomes objects, each file's
 * objects are tracked (a removed document or file deletes exactly its
 * objects), only changes reach the sink, and a file or object that is bad
 * is reported with where it came from while the previous good version
 * stays. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "dir_source.h"
#include "dir_source_state.h"
#include "k8s_objects.h"

static char dir[64];

/* A sink that applies to a cache and counts what it was told. */
struct recorder {
	struct pf_k8s_cache cache;
	int puts, dels, errors;
	char last_error[2048];
	char all_errors[8192];
};

static int rec_put(void *ctx, const struct pf_dir_object *o, char *err, size_t len)
{
	struct recorder *r = ctx;

	r->puts++;
	return pf_k8s_cache_apply(&r->cache, o->obj, NULL, err, len);
}

static void rec_del(void *ctx, enum pf_k8s_kind kind, const char *ns, const char *name)
{
	struct recorder *r = ctx;

	r->dels++;
	assert_int_equal(pf_k8s_cache_delete(&r->cache, kind, ns, name), 0);
}

static void rec_error(void *ctx, const char *msg)
{
	struct recorder *r = ctx;

	r->errors++;
	snprintf(r->last_error, sizeof(r->last_error), "%s", msg);
	strncat(r->all_errors, msg, sizeof(r->all_errors) - strlen(r->all_errors) - 2);
	strcat(r->all_errors, "\n");
}

static struct recorder rec;
static int files_changed;

static void rec_file_changed(void *ctx, const char *file)
{
	(void)ctx, (void)file;
	files_changed++;
}

static const struct pf_dir_sink sink = { .put = rec_put, .del = rec_del, .error = rec_error,
					 .file_changed = rec_file_changed, .ctx = &rec };
static struct pf_dir_source *src;

static int setup(void **state)
{
	char err[256];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pf-dirsrc-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	memset(&rec, 0, sizeof(rec));
	pf_k8s_cache_init(&rec.cache);
	if (pf_dir_source_open(dir, &src, err, sizeof(err)))
		fail_msg("%s", err);
	return 0;
}

static int teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[320];

	(void)state;
	pf_dir_source_free(src);
	pf_k8s_cache_free(&rec.cache);
	while (d && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	}
	if (d)
		closedir(d);
	assert_int_equal(rmdir(dir), 0);
	return 0;
}

static void put_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void rm_file(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(unlink(path), 0);
}

static void sync_events(void)
{
	assert_true(pf_dir_source_read_events(src) > 0);
	assert_int_equal(pf_dir_source_sync(src, &sink), 0);
}

static size_t count(enum pf_k8s_kind k)
{
	return pf_k8s_cache_count(&rec.cache, k);
}

#define POD(ns, name, app) \
	"apiVersion: v1\nkind: Pod\nmetadata: {namespace: " ns ", name: " name \
	", labels: {app: " app "}}\n"
#define NP(ns, name, port) \
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {namespace: " ns \
	", name: " name "}\nspec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: " port "}]\n"

static void every_manifest_file_is_read_and_others_are_passed_over(void **state)
{
	(void)state;
	put_file("a.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n"
		 POD("x", "a", "web"));
	put_file("b.json", "{\"apiVersion\": \"networking.k8s.io/v1\", \"kind\": \"NetworkPolicy\","
		 " \"metadata\": {\"namespace\": \"x\", \"name\": \"np\"}, \"spec\": {}}");
	put_file("c.yml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n");
	put_file("notes.txt", POD("x", "ignored", "a"));
	put_file(".a.yaml.swp", POD("x", "swap", "a"));
	put_file("d.yaml~", POD("x", "backup", "a"));
	assert_int_equal(pf_dir_source_scan(src, &sink), 0);
	assert_int_equal(rec.errors, 0);
	assert_int_equal(count(PF_K8S_NAMESPACE), 1);
	assert_int_equal(count(PF_K8S_POD), 1);
	assert_int_equal(count(PF_K8S_NETWORK_POLICY), 1);
	assert_non_null(pf_k8s_cache_get(&rec.cache, PF_K8S_POD, "x", "a"));
	assert_false(pf_dir_source_is_manifest("4913"));
	assert_false(pf_dir_source_is_manifest(".yaml"));
	assert_true(pf_dir_source_is_manifest("x.yml"));
}

static void removing_a_document_deletes_only_its_object(void **state)
{
	size_t n;

	(void)state;
	put_file("pods.yaml", POD("x", "a", "web") "---\n" POD("x", "b", "db"));
	assert_int_equal(pf_dir_source_scan(src, &sink), 0);
	assert_int_equal(count(PF_K8S_POD), 2);
	rec.puts = 0;
	put_file("pods.yaml", POD("x", "a", "web"));
	sync_events();
	assert_int_equal(rec.puts, 0); /* a did not change: not put again */
	assert_int_equal(rec.dels, 1);
	assert_non_null(pf_k8s_cache_get(&rec.cache, PF_K8S_POD, "x", "a"));
	assert_null(pf_k8s_cache_get(&rec.cache, PF_K8S_POD, "x", "b"));
	assert_non_null(pf_dir_source_file_objects(src, "pods.yaml", &n));
	assert_int_equal(n, 1);
}

static void a_changed_object_is_put_again(void **state)
{
	const struct pf_k8s_pod *p;

	(void)state;
	put_file("pods.yaml", POD("x", "a", "web") "---\n" POD("x", "b", "db"));
	assert_int_equal(pf_dir_source_scan(src, &sink), 0);
	rec.puts = 0;
	put_file("pods.yaml", POD("x", "a", "api") "---\n" POD("x", "b", "db"));
	sync_events();
	assert_int_equal(rec.puts, 1);
	p = pf_k8s_cache_get(&rec.cache, PF_K8S_POD, "x", "a");
	assert_string_equal(pf_labels_get(&p->labels, "app"), "api");
}

static void removing_a_file_deletes_its_objects(void **state)
{
	(void)state;
	put_file("a.yaml", POD("x", "a", "web"));
	put_file("b.yaml", POD("x", "b", "web") "---\n" NP("x", "np", "80"));
	assert_int_equal(pf_dir_source_scan(src, &sink), 0);
	rm_file("b.yaml");
	sync_events();
	assert_int_equal(rec.dels, 2);
	assert_int_equal(count(PF_K8S_POD), 1);
	assert_int_equal(count(PF_K8S_NETWORK_POLICY), 0);
}

static void a_file_that_does_not_parse_keeps_its_objects(void **state)
{
	(void)state;
	put_file("a.yaml", POD("x", "a", "web") "---\n" NP("x", "np", "80"));
	assert_int_equal(pf_dir_source_scan(src, &sink), 0);
	put_file("a.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: [unclosed\n");
	sync_events();
	assert_int_equal(rec.errors, 1);
	assert_non_null(strstr(rec.last_error, "a.yaml"));
	assert_non_null(strstr(rec.last_error, "line"));
	assert_int_equal(rec.dels, 0);
	assert_int_equal(count(PF_K8S_POD), 1);
	assert_int_equal(count(PF_K8S_NETWORK_POLICY), 1);
}

static void an_invalid_object_is_reported_and_its_good_version_stays(void **state)
{
	const struct pf_k8s_netpol *np;

	(void)state;
	put_file("np.yaml", POD("x", "a", "web") "---\n" NP("x", "np", "80"));
	assert_int_equal(pf_dir_source_scan(src, &sink), 0);
	put_file("np.yaml", POD("x", "a", "web") "---\n" NP("x", "np", "70000"));
	sync_events();
	assert_int_equal(rec.errors, 1);
	/* Where (file, document, line), the object, and the field. */
	assert_non_null(strstr(rec.last_error, "np.yaml document 2 (line 5)"));
	assert_non_null(strstr(rec.last_error, "NetworkPolicy x/np"));
	assert_non_null(strstr(rec.last_error, "spec.ingress[0].ports[0].port"));
	np = pf_k8s_cache_get(&rec.cache, PF_K8S_NETWORK_POLICY, "x", "np");
	assert_non_null(np);
	assert_int_equal(np->rules[PF_DIR_INGRESS][0].ports[0].port, 80);
	/* Fixed again: it is put. */
	put_file("np.yaml", POD("x", "a", "web") "---\n" NP("x", "np", "81"));
	sync_events();
	np = pf_k8s_cache_get(&rec.cache, PF_K8S_NETWORK_POLICY, "x", "np");
	assert_int_equal(np->rules[PF_DIR_INGRESS][0].ports[0].port, 81);
}

static void a_document_without_a_name_keeps_the_files_old_objects(void **state)
{
	(void)state;
	put_file("a.yaml", POD("x", "a", "web") "---\n" POD("x", "b", "web"));
	assert_int_equal(pf_dir_source_scan(src, &sink), 0);
	/* b's name was lost: the source cannot tell it is b, so b stays. */
	put_file("a.yaml", POD("x", "a", "web") "---\napiVersion: v1\nkind: Pod\nmetadata: {}\n");
	sync_events();
	assert_int_equal(rec.errors, 1);
	assert_non_null(strstr(rec.last_error, "metadata.name"));
	assert_int_equal(rec.dels, 0);
	assert_non_null(pf_k8s_cache_get(&rec.cache, PF_K8S_POD, "x", "b"));
	/* Once the file is whole again, b's removal is seen. */
	put_file("a.yaml", POD("x", "a", "web"));
	sync_events();
	assert_null(pf_k8s_cache_get(&rec.cache, PF_K8S_POD, "x", "b"));
}

static void an_object_in_two_files_survives_removal_from_one(void **state)
{
	const struct pf_k8s_pod *p;

	(void)state;
	put_file("a.yaml", POD("x", "a", "one"));
	put_file("b.yaml", POD("x", "a", "two"));
	assert_int_equal(pf_dir_source_scan(src, &sink), 0);
	rm_file("b.yaml");
	sync_events();
	assert_int_equal(rec.dels, 0);
	p = pf_k8s_cache_get(&rec.cache, PF_K8S_POD, "x", "a");
	assert_non_null(p);
	assert_string_equal(pf_labels_get(&p->labels, "app"), "one");
}

static void an_editors_rename_and_rewrite_deletes_nothing(void **state)
{
	char from[256], to[256];

	(void)state;
	put_file("a.yaml", POD("x", "a", "web") "---\n" POD("x", "b", "web"));
	assert_int_equal(pf_dir_source_scan(src, &sink), 0);
	rec.puts = 0;
	/* vim: the file goes to a backup name, then a new one is written. */
	snprintf(from, sizeof(from), "%s/a.yaml", dir);
	snprintf(to, sizeof(to), "%s/a.yaml~", dir);
	assert_int_equal(rename(from, to), 0);
	put_file("a.yaml", POD("x", "a", "web") "---\n" POD("x", "b", "api"));
	sync_events();
	assert_int_equal(rec.dels, 0);
	assert_int_equal(rec.puts, 1);
	assert_int_equal(count(PF_K8S_POD), 2);
}

static void a_file_moved_in_is_read(void **state)
{
	char from[256], to[256];

	(void)state;
	assert_int_equal(pf_dir_source_scan(src, &sink), 0);
	put_file(".tmp-write", NP("y", "np", "80"));
	assert_int_equal(pf_dir_source_read_events(src), 0); /* not a manifest name */
	snprintf(from, sizeof(from), "%s/.tmp-write", dir);
	snprintf(to, sizeof(to), "%s/np.yaml", dir);
	assert_int_equal(rename(from, to), 0);
	sync_events();
	assert_non_null(pf_k8s_cache_get(&rec.cache, PF_K8S_NETWORK_POLICY, "y", "np"));
}

/* What was in force survives a restart: saved, loaded into a fresh source
 * and cache, then the directory compared with it. */
static void a_restart_starts_from_what_was_in_force(void **state)
{
	char sdir[96], err[512] = "";
	struct pf_dir_source *src2;
	struct recorder rec2;
	struct pf_dir_sink sink2 = sink;
	const struct pf_k8s_netpol *np;

	(void)state;
	snprintf(sdir, sizeof(sdir), "%s/.state", dir);
	assert_int_equal(mkdir(sdir, 0700), 0);
	put_file("np.yaml", NP("x", "np", "80") "---\n" NP("x", "never-good", "0"));
	put_file("gone.yaml", POD("x", "g", "web"));
	assert_int_equal(pf_dir_source_scan(src, &sink), 0);
	put_file("np.yaml", NP("x", "np", "70000") "---\n" NP("x", "never-good", "0"));
	files_changed = 0;
	sync_events();
	assert_true(files_changed >= 1);
	assert_int_equal(pf_dir_state_save(sdir, src, "np.yaml", err, sizeof(err)), 0);
	assert_int_equal(pf_dir_state_save(sdir, src, "gone.yaml", err, sizeof(err)), 0);
	rm_file("gone.yaml");

	memset(&rec2, 0, sizeof(rec2));
	pf_k8s_cache_init(&rec2.cache);
	sink2.ctx = &rec2;
	if (pf_dir_source_open(dir, &src2, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(pf_dir_state_load(sdir, src2, &sink2), 0);
	assert_int_equal(rec2.errors, 0);
	/* Only the good version was saved: never-good is not in force. */
	assert_int_equal(pf_k8s_cache_count(&rec2.cache, PF_K8S_NETWORK_POLICY), 1);
	assert_non_null(pf_k8s_cache_get(&rec2.cache, PF_K8S_POD, "x", "g"));
	assert_int_equal(pf_dir_source_scan(src2, &sink2), 0);
	/* The bad version is refused again; the good one stays in force. */
	assert_int_equal(rec2.errors, 2);
	if (!strstr(rec2.all_errors, "NetworkPolicy x/np: spec.ingress[0].ports[0].port"
					       " 70000 is outside 1-65535; the "
					       "previous version stays in force"))
		fail_msg("errors: %s", rec2.all_errors);
	assert_non_null(strstr(rec2.all_errors, "x/never-good"));
	assert_non_null(strstr(rec2.all_errors, "no version of it is in force"));
	np = pf_k8s_cache_get(&rec2.cache, PF_K8S_NETWORK_POLICY, "x", "np");
	assert_non_null(np);
	assert_int_equal(np->rules[PF_DIR_INGRESS][0].ports[0].port, 80);
	/* A file removed while no agent ran is gone with its objects. */
	assert_null(pf_k8s_cache_get(&rec2.cache, PF_K8S_POD, "x", "g"));
	/* Saving a file the source no longer holds removes its saved copy. */
	assert_int_equal(pf_dir_state_save(sdir, src2, "gone.yaml", err, sizeof(err)), 0);
	snprintf(err, sizeof(err), "%s/gone.yaml.json", sdir);
	assert_int_equal(access(err, F_OK), -1);
	pf_dir_source_free(src2);
	pf_k8s_cache_free(&rec2.cache);
	snprintf(err, sizeof(err), "%s/np.yaml.json", sdir);
	assert_int_equal(unlink(err), 0);
	assert_int_equal(rmdir(sdir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(every_manifest_file_is_read_and_others_are_passed_over,
						setup, teardown),
		cmocka_unit_test_setup_teardown(removing_a_document_deletes_only_its_object, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_changed_object_is_put_again, setup, teardown),
		cmocka_unit_test_setup_teardown(removing_a_file_deletes_its_objects, setup, teardown),
		cmocka_unit_test_setup_teardown(a_file_that_does_not_parse_keeps_its_objects, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			an_invalid_object_is_reported_and_its_good_version_stays, setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_document_without_a_name_keeps_the_files_old_objects, setup, teardown),
		cmocka_unit_test_setup_teardown(an_object_in_two_files_survives_removal_from_one,
						setup, teardown),
		cmocka_unit_test_setup_teardown(an_editors_rename_and_rewrite_deletes_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_file_moved_in_is_read, setup, teardown),
		cmocka_unit_test_setup_teardown(a_restart_starts_from_what_was_in_force, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
