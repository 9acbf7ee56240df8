// SPDX-License-Identifier: Apache-2.0
/* The Prometheus text registry: exact exposition text for each metric kind,
 * labels and escaping, number formatting, misuse rejected, and concurrent
 * updates all counted. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "prom_text.h"

static void assert_renders(struct pf_prom *reg, const char *want)
{
	char *got = pf_prom_render(reg);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_counter_and_gauge_without_label(void **state)
{
	struct pf_prom *reg = pf_prom_new();
	struct pf_prom_metric *c = pf_prom_counter(reg, "pf_adds_total", "Adds served.", NULL);
	struct pf_prom_metric *g = pf_prom_gauge(reg, "pf_free", "Free addresses.", NULL);

	(void)state;
	assert_non_null(c);
	assert_non_null(g);
	assert_renders(reg, "# HELP pf_adds_total Adds served.\n"
			    "# TYPE pf_adds_total counter\n"
			    "pf_adds_total 0\n"
			    "# HELP pf_free Free addresses.\n"
			    "# TYPE pf_free gauge\n"
			    "pf_free 0\n");
	assert_int_equal(pf_prom_add(c, NULL, 1), 0);
	assert_int_equal(pf_prom_add(c, NULL, 2), 0);
	assert_int_equal(pf_prom_set(g, NULL, 253), 0);
	assert_int_equal(pf_prom_add(g, NULL, -3), 0);
	assert_renders(reg, "# HELP pf_adds_total Adds served.\n"
			    "# TYPE pf_adds_total counter\n"
			    "pf_adds_total 3\n"
			    "# HELP pf_free Free addresses.\n"
			    "# TYPE pf_free gauge\n"
			    "pf_free 250\n");
	pf_prom_free(reg);
}

static void test_labelled_series_appear_in_first_use_order(void **state)
{
	struct pf_prom *reg = pf_prom_new();
	struct pf_prom_metric *c = pf_prom_counter(reg, "pf_requests_total", "Requests.", "result");

	(void)state;
	assert_renders(reg, "# HELP pf_requests_total Requests.\n"
			    "# TYPE pf_requests_total counter\n");
	assert_int_equal(pf_prom_add(c, "ok", 1), 0);
	assert_int_equal(pf_prom_add(c, "exhausted", 0), 0);
	assert_int_equal(pf_prom_add(c, "ok", 1), 0);
	assert_renders(reg, "# HELP pf_requests_total Requests.\n"
			    "# TYPE pf_requests_total counter\n"
			    "pf_requests_total{result=\"ok\"} 2\n"
			    "pf_requests_total{result=\"exhausted\"} 0\n");
	pf_prom_free(reg);
}

static void test_histogram_buckets_are_cumulative_with_sum_and_count(void **state)
{
	static const double bounds[] = { 0.001, 0.01, 0.1 };
	struct pf_prom *reg = pf_prom_new();
	struct pf_prom_metric *h =
		pf_prom_histogram(reg, "pf_add_seconds", "Add latency.", NULL, bounds, 3);
	struct pf_prom_metric *hl =
		pf_prom_histogram(reg, "pf_op_seconds", "Op latency.", "op", bounds, 2);

	(void)state;
	assert_non_null(h);
	assert_non_null(hl);
	assert_int_equal(pf_prom_observe(h, NULL, 0.0005), 0);
	assert_int_equal(pf_prom_observe(h, NULL, 0.01), 0); /* le is inclusive */
	assert_int_equal(pf_prom_observe(h, NULL, 2.5), 0);
	assert_int_equal(pf_prom_observe(hl, "del", 0.002), 0);
	assert_renders(reg, "# HELP pf_add_seconds Add latency.\n"
			    "# TYPE pf_add_seconds histogram\n"
			    "pf_add_seconds_bucket{le=\"0.001\"} 1\n"
			    "pf_add_seconds_bucket{le=\"0.01\"} 2\n"
			    "pf_add_seconds_bucket{le=\"0.1\"} 2\n"
			    "pf_add_seconds_bucket{le=\"+Inf\"} 3\n"
			    "pf_add_seconds_sum 2.5105\n"
			    "pf_add_seconds_count 3\n"
			    "# HELP pf_op_seconds Op latency.\n"
			    "# TYPE pf_op_seconds histogram\n"
			    "pf_op_seconds_bucket{op=\"del\",le=\"0.001\"} 0\n"
			    "pf_op_seconds_bucket{op=\"del\",le=\"0.01\"} 1\n"
			    "pf_op_seconds_bucket{op=\"del\",le=\"+Inf\"} 1\n"
			    "pf_op_seconds_sum{op=\"del\"} 0.002\n"
			    "pf_op_seconds_count{op=\"del\"} 1\n");
	pf_prom_free(reg);
}

static void test_help_and_label_values_are_escaped(void **state)
{
	struct pf_prom *reg = pf_prom_new();
	struct pf_prom_metric *g =
		pf_prom_gauge(reg, "pf_x", "Back\\slash and\nnewline \"kept\".", "k");

	(void)state;
	assert_int_equal(pf_prom_set(g, "a\"b\\c\nd", 1), 0);
	assert_renders(reg, "# HELP pf_x Back\\\\slash and\\nnewline \"kept\".\n"
			    "# TYPE pf_x gauge\n"
			    "pf_x{k=\"a\\\"b\\\\c\\nd\"} 1\n");
	pf_prom_free(reg);
}

static void test_numbers_print_shortest_round_trip(void **state)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 0, "0" },	     { 42, "42" },	     { 0.1, "0.1" },
		{ -1.5, "-1.5" },    { 1e6, "1000000" },	     { 123456789, "123456789" },
		{ 1.0 / 3, "0.3333333333333333" }, { 1e300, "1e+300" },
		{ 5e-6, "5e-06" },    { -0.0, "0" },	     { INFINITY, "+Inf" },
		{ -INFINITY, "-Inf" }, { NAN, "NaN" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pf_prom *reg = pf_prom_new();
		struct pf_prom_metric *g = pf_prom_gauge(reg, "pf_n", "N.", NULL);
		char want[128];

		assert_int_equal(pf_prom_set(g, NULL, cases[i].v), 0);
		snprintf(want, sizeof(want), "# HELP pf_n N.\n# TYPE pf_n gauge\npf_n %s\n",
			 cases[i].text);
		assert_renders(reg, want);
		pf_prom_free(reg);
	}
}

static void test_misuse_is_rejected(void **state)
{
	static const double bad_bounds[] = { 0.1, 0.1 };
	struct pf_prom *reg = pf_prom_new();
	struct pf_prom_metric *c = pf_prom_counter(reg, "pf_c_total", "C.", NULL);
	struct pf_prom_metric *l = pf_prom_gauge(reg, "pf_l", "L.", "family");
	struct pf_prom_metric *h = pf_prom_histogram(reg, "pf_h", "H.", NULL, bad_bounds, 1);

	(void)state;
	assert_null(pf_prom_counter(reg, "pf_c_total", "again", NULL));
	assert_null(pf_prom_counter(reg, "1bad", "digit first", NULL));
	assert_null(pf_prom_counter(reg, "bad-name", "dash", NULL));
	assert_null(pf_prom_gauge(reg, "pf_ok", "label with colon", "a:b"));
	assert_null(pf_prom_histogram(reg, "pf_h2", "equal bounds", NULL, bad_bounds, 2));
	assert_null(pf_prom_histogram(reg, "pf_h3", "le label", "le", bad_bounds, 1));
	assert_int_equal(pf_prom_add(c, NULL, -1), -EINVAL);
	assert_int_equal(pf_prom_set(c, NULL, 5), -EINVAL);
	assert_int_equal(pf_prom_observe(c, NULL, 5), -EINVAL);
	assert_int_equal(pf_prom_add(c, "x", 1), -EINVAL);
	assert_int_equal(pf_prom_set(l, NULL, 1), -EINVAL);
	assert_int_equal(pf_prom_add(h, NULL, 1), -EINVAL);
	assert_renders(reg, "# HELP pf_c_total C.\n# TYPE pf_c_total counter\npf_c_total 0\n"
			    "# HELP pf_l L.\n# TYPE pf_l gauge\n"
			    "# HELP pf_h H.\n# TYPE pf_h histogram\n"
			    "pf_h_bucket{le=\"0.1\"} 0\npf_h_bucket{le=\"+Inf\"} 0\n"
			    "pf_h_sum 0\npf_h_count 0\n");
	pf_prom_free(reg);
}

struct hammer {
	struct pf_prom_metric *c, *h;
};

static void *hammer_run(void *arg)
{
	struct hammer *w = arg;

	for (int i = 0; i < 10000; i++) {
		pf_prom_add(w->c, i % 2 ? "odd" : "even", 1);
		pf_prom_observe(w->h, NULL, 1);
	}
	return NULL;
}

static void test_concurrent_updates_are_all_counted(void **state)
{
	static const double bounds[] = { 0.5 };
	struct pf_prom *reg = pf_prom_new();
	struct hammer w = {
		pf_prom_counter(reg, "pf_c_total", "C.", "parity"),
		pf_prom_histogram(reg, "pf_h", "H.", NULL, bounds, 1),
	};
	pthread_t t[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer_run, &w), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_renders(reg, "# HELP pf_c_total C.\n# TYPE pf_c_total counter\n"
			    "pf_c_total{parity=\"even\"} 20000\n"
			    "pf_c_total{parity=\"odd\"} 20000\n"
			    "# HELP pf_h H.\n# TYPE pf_h histogram\n"
			    "pf_h_bucket{le=\"0.5\"} 0\npf_h_bucket{le=\"+Inf\"} 40000\n"
			    "pf_h_sum 40000\npf_h_count 40000\n");
	pf_prom_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_and_gauge_without_label),
		cmocka_unit_test(test_labelled_series_appear_in_first_use_order),
		cmocka_unit_test(test_histogram_buckets_are_cumulative_with_sum_and_count),
		cmocka_unit_test(test_help_and_label_values_are_escaped),
		cmocka_unit_test(test_numbers_print_shortest_round_trip),
		cmocka_unit_test(test_misuse_is_rejected),
		cmocka_unit_test(test_concurrent_updates_are_all_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
