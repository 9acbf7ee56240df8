// SPDX-License-Identifier: Apache-2.0
/* Manifest files: YAML streams and JSON, Lists, scalar types, and errors that
 * say file, document and line. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "k8s_manifest.h"

static void parse_ok(const char *text, struct pf_manifest_list *l)
{
	char err[512] = "";
	int rc = pf_manifest_parse("m.yaml", text, strlen(text), l, err, sizeof(err));

	if (rc)
		fail_msg("parse failed: %s", err);
}

static void parse_fails(const char *text, const char *const *needles)
{
	struct pf_manifest_list l;
	char err[512] = "";

	assert_int_equal(pf_manifest_parse("bad.yaml", text, strlen(text), &l, err, sizeof(err)),
			 -EINVAL);
	for (; *needles; needles++)
		if (!strstr(err, *needles))
			fail_msg("error \"%s\" does not mention \"%s\"", err, *needles);
}

static void a_yaml_stream_gives_one_object_per_document_with_its_line(void **state)
{
	const char *text = "# leading comment\n"
			   "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n"
			   "---\n"
			   "---\n"
			   "# only a comment: an empty document\n"
			   "---\n"
			   "apiVersion: v1\n"
			   "kind: Pod\n"
			   "metadata: {name: a, namespace: x}\n";
	struct pf_manifest_list l;
	char where[128];

	(void)state;
	parse_ok(text, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(json_string_value(json_object_get(l.docs[0].obj, "kind")),
			    "Namespace");
	assert_int_equal(l.docs[0].doc, 1);
	assert_int_equal(l.docs[0].line, 2);
	assert_string_equal(json_string_value(json_object_get(l.docs[1].obj, "kind")), "Pod");
	assert_int_equal(l.docs[1].doc, 4);
	assert_int_equal(l.docs[1].line, 10);
	assert_string_equal(pf_manifest_doc_where(&l.docs[1], where, sizeof(where)),
			    "m.yaml document 4 (line 10)");
	pf_manifest_list_free(&l);
}

static void yaml_scalars_get_json_types_and_quotes_keep_strings(void **state)
{
	const char *text = "i: 80\nneg: -3\nhex: 0x1F\noct: 0o17\nf: 1.5\nt: true\nF: False\n"
			   "n: null\ntilde: ~\nempty:\nq: \"80\"\nsq: 'true'\nyes: yes\n"
			   "tagged: !!str 81\nnum_tagged: !!int \"82\"\nver: 1.2.3\n"
			   "80: key is text\nblock: |\n  two\n  lines\n";
	struct pf_manifest_list l;
	json_t *o;

	(void)state;
	parse_ok(text, &l);
	assert_int_equal(l.n, 1);
	o = l.docs[0].obj;
	assert_int_equal(json_integer_value(json_object_get(o, "i")), 80);
	assert_int_equal(json_integer_value(json_object_get(o, "neg")), -3);
	assert_int_equal(json_integer_value(json_object_get(o, "hex")), 31);
	assert_int_equal(json_integer_value(json_object_get(o, "oct")), 15);
	assert_true(json_is_real(json_object_get(o, "f")));
	assert_true(json_is_true(json_object_get(o, "t")));
	assert_true(json_is_false(json_object_get(o, "F")));
	assert_true(json_is_null(json_object_get(o, "n")));
	assert_true(json_is_null(json_object_get(o, "tilde")));
	assert_true(json_is_null(json_object_get(o, "empty")));
	assert_string_equal(json_string_value(json_object_get(o, "q")), "80");
	assert_string_equal(json_string_value(json_object_get(o, "sq")), "true");
	assert_string_equal(json_string_value(json_object_get(o, "yes")), "yes");
	assert_string_equal(json_string_value(json_object_get(o, "tagged")), "81");
	assert_int_equal(json_integer_value(json_object_get(o, "num_tagged")), 82);
	assert_string_equal(json_string_value(json_object_get(o, "ver")), "1.2.3");
	assert_string_equal(json_string_value(json_object_get(o, "80")), "key is text");
	assert_string_equal(json_string_value(json_object_get(o, "block")), "two\nlines\n");
	pf_manifest_list_free(&l);
}

static void anchors_and_aliases_are_expanded(void **state)
{
	const char *text = "base: &sel {matchLabels: {app: web}}\nport: &p 80\n"
			   "copy: *sel\nport2: *p\n";
	struct pf_manifest_list l;
	json_t *o;

	(void)state;
	parse_ok(text, &l);
	o = l.docs[0].obj;
	assert_true(json_equal(json_object_get(o, "base"), json_object_get(o, "copy")));
	assert_int_equal(json_integer_value(json_object_get(o, "port2")), 80);
	pf_manifest_list_free(&l);
}

static void a_list_is_expanded_with_each_items_line(void **state)
{
	const char *text = "apiVersion: v1\n"
			   "kind: List\n"
			   "items:\n"
			   "- apiVersion: v1\n"
			   "  kind: Namespace\n"
			   "  metadata: {name: x}\n"
			   "- apiVersion: v1\n"
			   "  kind: Namespace\n"
			   "  metadata: {name: y}\n";
	struct pf_manifest_list l;
	char where[128];

	(void)state;
	parse_ok(text, &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.docs[0].item, 0);
	assert_int_equal(l.docs[0].line, 4);
	assert_int_equal(l.docs[1].item, 1);
	assert_int_equal(l.docs[1].line, 7);
	assert_string_equal(pf_manifest_doc_where(&l.docs[1], where, sizeof(where)),
			    "m.yaml document 1 items[1] (line 7)");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(l.docs[1].obj, "metadata"), "name")), "y");
	pf_manifest_list_free(&l);
}

static void json_files_hold_one_or_more_objects_and_lists(void **state)
{
	const char *text = "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": "
			   "{\"name\": \"x\"}}\n\n"
			   "{\"apiVersion\": \"v1\", \"kind\": \"PodList\", \"items\": [\n"
			   "  {\"kind\": \"Pod\", \"metadata\": {\"name\": \"a\"}},\n"
			   "  {\"kind\": \"Pod\", \"metadata\": {\"name\": \"b\"}}]}\n";
	struct pf_manifest_list l;

	(void)state;
	parse_ok(text, &l);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.docs[0].doc, 1);
	assert_int_equal(l.docs[0].line, 1);
	assert_int_equal(l.docs[1].doc, 2);
	assert_int_equal(l.docs[1].item, 0);
	assert_int_equal(l.docs[1].line, 3);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(l.docs[2].obj, "metadata"), "name")), "b");
	pf_manifest_list_free(&l);
}

static void syntax_errors_name_file_document_and_line(void **state)
{
	(void)state;
	parse_fails("a: 1\n---\nb: 2\nc: [1, 2\n", (const char *const[]){
			    "bad.yaml", "document 2", "line", NULL });
	parse_fails("a: 1\n---\nb: 2\nb: 3\n", (const char *const[]){
			    "bad.yaml document 2 (line 4", "duplicate mapping key \"b\"", NULL });
	parse_fails("x: *nothing\n", (const char *const[]){
			    "document 1 (line 1", "alias *nothing", NULL });
	parse_fails("? [a, b]\n: 1\n", (const char *const[]){
			    "mapping keys must be scalars", NULL });
	parse_fails("v: .inf\n", (const char *const[]){ "\".inf\"", NULL });
	parse_fails("{\"a\": 1}\n{\"b\": 2,\n \"c\": }\n", (const char *const[]){
			    "bad.yaml document 2 (line 3", NULL });
	parse_fails("{\"a\": 1, \"a\": 2}", (const char *const[]){ "duplicate", NULL });
}

static void a_billion_laughs_document_is_rejected(void **state)
{
	char text[2048];
	size_t off = 0;

	(void)state;
	off += (size_t)snprintf(text + off, sizeof(text) - off, "l0: &l0 [x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 10; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
					"l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n",
					i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	parse_fails(text, (const char *const[]){ "size limit", NULL });
}

static void read_file_reports_a_missing_file(void **state)
{
	struct pf_manifest_list l;
	char err[256], path[] = "/tmp/pf-manifest-XXXXXX";
	int fd;

	(void)state;
	assert_int_equal(pf_manifest_read_file("/nonexistent/x.yaml", &l, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/x.yaml"));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "kind: Namespace\n", 16), 16);
	close(fd);
	assert_int_equal(pf_manifest_read_file(path, &l, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.docs[0].file, path);
	pf_manifest_list_free(&l);
}

/* The CRD podfence ships (the test runs from the repository root). */
static void the_policy_endpoint_crd_reads_as_one_object(void **state)
{
	struct pf_manifest_list l;
	char err[512] = "";
	json_t *spec, *v;

	(void)state;
	if (pf_manifest_read_file("deploy/crd-policyendpoints.yaml", &l, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(l.n, 1);
	assert_string_equal(json_string_value(json_object_get(l.docs[0].obj, "kind")),
			    "CustomResourceDefinition");
	spec = json_object_get(l.docs[0].obj, "spec");
	assert_string_equal(json_string_value(json_object_get(spec, "group")), "podfence.io");
	v = json_array_get(json_object_get(spec, "versions"), 0);
	assert_string_equal(json_string_value(json_object_get(v, "name")), "v1alpha1");
	assert_true(json_is_true(json_object_get(v, "served")));
	assert_non_null(json_object_get(json_object_get(json_object_get(v, "schema"),
							"openAPIV3Schema"), "properties"));
	pf_manifest_list_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_yaml_stream_gives_one_object_per_document_with_its_line),
		cmocka_unit_test(yaml_scalars_get_json_types_and_quotes_keep_strings),
		cmocka_unit_test(anchors_and_aliases_are_expanded),
		cmocka_unit_test(a_list_is_expanded_with_each_items_line),
		cmocka_unit_test(json_files_hold_one_or_more_objects_and_lists),
		cmocka_unit_test(syntax_errors_name_file_document_and_line),
		cmocka_unit_test(a_billion_laughs_document_is_rejected),
		cmocka_unit_test(read_file_reports_a_missing_file),
		cmocka_unit_test(the_policy_endpoint_crd_reads_as_one_object),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
