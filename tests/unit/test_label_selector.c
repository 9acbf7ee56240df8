// SPDX-License-Identifier: Apache-2.0
/* Label selectors: every operator, the empty selector, and validation errors
 * that name the field. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "label_selector.h"

static void labels(struct pf_labels *l, const char *json)
{
	char err[256] = "";
	json_t *j = json_loads(json, 0, NULL);

	assert_non_null(j);
	if (pf_labels_from_json(j, "metadata.labels", l, err, sizeof(err)))
		fail_msg("labels: %s", err);
	json_decref(j);
}

static int selector(struct pf_label_selector *s, const char *json, char *err, size_t len)
{
	json_t *j = json_loads(json, 0, NULL);
	int rc;

	assert_non_null(j);
	rc = pf_label_selector_from_json(j, "spec.podSelector", s, err, len);
	json_decref(j);
	return rc;
}

static bool matches(const char *sel, const char *lbl)
{
	struct pf_label_selector s;
	struct pf_labels l;
	char err[256] = "";
	bool m;

	if (selector(&s, sel, err, sizeof(err)))
		fail_msg("selector %s: %s", sel, err);
	labels(&l, lbl);
	m = pf_label_selector_matches(&s, &l);
	pf_label_selector_free(&s);
	pf_labels_free(&l);
	return m;
}

static void the_empty_selector_matches_everything(void **state)
{
	(void)state;
	assert_true(matches("{}", "{}"));
	assert_true(matches("{}", "{\"pod\":\"a\"}"));
	assert_true(matches("{\"matchLabels\":{}, \"matchExpressions\":[]}", "{\"x\":\"y\"}"));
}

static void match_labels_needs_every_pair(void **state)
{
	(void)state;
	assert_true(matches("{\"matchLabels\":{\"pod\":\"a\"}}", "{\"pod\":\"a\",\"x\":\"1\"}"));
	assert_false(matches("{\"matchLabels\":{\"pod\":\"a\"}}", "{\"pod\":\"b\"}"));
	assert_false(matches("{\"matchLabels\":{\"pod\":\"a\",\"x\":\"1\"}}", "{\"pod\":\"a\"}"));
	assert_false(matches("{\"matchLabels\":{\"pod\":\"a\"}}", "{}"));
}

static void expressions_in_notin_exists_doesnotexist(void **state)
{
	const char *in = "{\"matchExpressions\":[{\"key\":\"pod\",\"operator\":\"In\","
			 "\"values\":[\"a\",\"b\"]}]}";
	const char *notin = "{\"matchExpressions\":[{\"key\":\"pod\",\"operator\":\"NotIn\","
			    "\"values\":[\"a\"]}]}";
	const char *exists = "{\"matchExpressions\":[{\"key\":\"pod\",\"operator\":\"Exists\"}]}";
	const char *dne = "{\"matchExpressions\":[{\"key\":\"pod\",\"operator\":"
			  "\"DoesNotExist\"}]}";

	(void)state;
	assert_true(matches(in, "{\"pod\":\"b\"}"));
	assert_false(matches(in, "{\"pod\":\"c\"}"));
	assert_false(matches(in, "{}"));
	assert_true(matches(notin, "{\"pod\":\"b\"}"));
	assert_false(matches(notin, "{\"pod\":\"a\"}"));
	assert_true(matches(notin, "{}")); /* an absent key is "not in" */
	assert_true(matches(exists, "{\"pod\":\"\"}"));
	assert_false(matches(exists, "{\"other\":\"a\"}"));
	assert_true(matches(dne, "{\"other\":\"a\"}"));
	assert_false(matches(dne, "{\"pod\":\"a\"}"));
}

static void labels_and_expressions_are_anded(void **state)
{
	const char *sel = "{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":"
			  "\"tier\",\"operator\":\"NotIn\",\"values\":[\"db\"]}]}";

	(void)state;
	assert_true(matches(sel, "{\"app\":\"web\",\"tier\":\"fe\"}"));
	assert_false(matches(sel, "{\"app\":\"web\",\"tier\":\"db\"}"));
	assert_false(matches(sel, "{\"app\":\"api\",\"tier\":\"fe\"}"));
}

static void bad_selectors_name_the_field(void **state)
{
	static const struct {
		const char *json, *names;
	} bad[] = {
		{ "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Has\"}]}",
		  "spec.podSelector.matchExpressions[0].operator \"Has\" is not In" },
		{ "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}",
		  "spec.podSelector.matchExpressions[0].values must be non-empty" },
		{ "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}",
		  "values must be empty when operator is Exists" },
		{ "{\"matchExpressions\":[{\"operator\":\"Exists\"}]}",
		  "matchExpressions[0].key is missing" },
		{ "{\"matchLabels\":{\"a\":1}}", "spec.podSelector.matchLabels.a must be a string" },
		{ "{\"matchLabels\":{\"-bad\":\"x\"}}", "label key \"-bad\"" },
		{ "{\"matchLabels\":{\"a\":\"white space\"}}", "label value \"white space\"" },
		{ "{\"matchExpressions\":[{\"key\":\"Bad_Prefix/x\",\"operator\":\"Exists\"}]}",
		  "prefix must be a DNS subdomain" },
		{ "[]", "spec.podSelector must be an object" },
	};
	struct pf_label_selector s;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(selector(&s, bad[i].json, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].names))
			fail_msg("%s: error \"%s\" lacks \"%s\"", bad[i].json, err, bad[i].names);
	}
}

static void label_keys_with_prefixes_are_accepted(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(pf_label_key_check("kubernetes.io/metadata.name", err, sizeof(err)), 0);
	assert_int_equal(pf_label_key_check("app.kubernetes.io/name", err, sizeof(err)), 0);
	assert_int_equal(pf_label_key_check("a", err, sizeof(err)), 0);
	assert_int_equal(pf_label_key_check("/x", err, sizeof(err)), -EINVAL);
	assert_int_equal(pf_label_key_check("x/", err, sizeof(err)), -EINVAL);
	assert_int_equal(pf_label_value_check("", err, sizeof(err)), 0);
}

static void a_selector_writes_back_the_form_it_was_read_in(void **state)
{
	const char *text = "{\"matchLabels\":{\"pod\":\"a\"},\"matchExpressions\":[{\"key\":"
			   "\"ns\",\"operator\":\"In\",\"values\":[\"x\",\"y\"]}]}";
	struct pf_label_selector s;
	json_t *in = json_loads(text, 0, NULL), *out;
	char err[256];

	(void)state;
	assert_int_equal(selector(&s, text, err, sizeof(err)), 0);
	out = pf_label_selector_to_json(&s);
	assert_true(json_equal(in, out));
	json_decref(in);
	json_decref(out);
	pf_label_selector_free(&s);
}

static void labels_set_replaces_and_keeps_order(void **state)
{
	struct pf_labels l;

	(void)state;
	labels(&l, "{\"pod\":\"b\"}");
	assert_int_equal(pf_labels_set(&l, "pod2", "updated"), 0);
	assert_int_equal(pf_labels_set(&l, "pod", "c"), 0);
	assert_int_equal(pf_labels_set(&l, "a", "1"), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.keys[0], "a");
	assert_string_equal(pf_labels_get(&l, "pod"), "c");
	assert_string_equal(pf_labels_get(&l, "pod2"), "updated");
	assert_null(pf_labels_get(&l, "nope"));
	pf_labels_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_empty_selector_matches_everything),
		cmocka_unit_test(match_labels_needs_every_pair),
		cmocka_unit_test(expressions_in_notin_exists_doesnotexist),
		cmocka_unit_test(labels_and_expressions_are_anded),
		cmocka_unit_test(bad_selectors_name_the_field),
		cmocka_unit_test(label_keys_with_prefixes_are_accepted),
		cmocka_unit_test(a_selector_writes_back_the_form_it_was_read_in),
		cmocka_unit_test(labels_set_replaces_and_keeps_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
