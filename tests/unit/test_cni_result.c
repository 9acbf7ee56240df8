// SPDX-License-Identifier: Apache-2.0
/* CNI output, byte for byte per spec version, and prevResult read back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "cni_result.h"

static const struct pf_cni_result dual_stack = {
	.ifaces = {
		{ .name = "pfc440f455693", .mac = "aa:bb:cc:00:00:01", .mtu = 1500 },
		{ .name = "eth0", .mac = "aa:bb:cc:00:00:02", .sandbox = "/var/run/netns/p1",
		  .mtu = 1500 },
	},
	.n_ifaces = 2,
	.ips = {
		{ .address = "10.244.1.5/32", .gateway = "169.254.1.1", .iface = 1 },
		{ .address = "fd00::5/128", .gateway = "fe80::1", .iface = 1 },
	},
	.n_ips = 2,
	.routes = { { .dst = "0.0.0.0/0", .gw = "169.254.1.1" }, { .dst = "::/0", .gw = "fe80::1" } },
	.n_routes = 2,
};

#define IFACES_0X "\"interfaces\":[{\"name\":\"pfc440f455693\",\"mac\":\"aa:bb:cc:00:00:01\"}," \
	"{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:00:00:02\",\"sandbox\":\"/var/run/netns/p1\"}]"
#define IPS_0X "\"ips\":[{\"version\":\"4\",\"interface\":1,\"address\":\"10.244.1.5/32\"," \
	"\"gateway\":\"169.254.1.1\"},{\"version\":\"6\",\"interface\":1,\"address\":\"fd00::5/128\"," \
	"\"gateway\":\"fe80::1\"}]"
#define IPS_1X "\"ips\":[{\"interface\":1,\"address\":\"10.244.1.5/32\",\"gateway\":\"169.254.1.1\"}," \
	"{\"interface\":1,\"address\":\"fd00::5/128\",\"gateway\":\"fe80::1\"}]"
#define ROUTES "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"169.254.1.1\"}," \
	"{\"dst\":\"::/0\",\"gw\":\"fe80::1\"}],\"dns\":{}"

static void render_is(const char *version, const char *want)
{
	char *got = pf_cni_result_render(&dual_stack, version);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void add_result_0_3_and_0_4_carry_ip_version(void **state)
{
	(void)state;
	render_is("0.3.0", "{\"cniVersion\":\"0.3.0\"," IFACES_0X "," IPS_0X "," ROUTES "}");
	render_is("0.3.1", "{\"cniVersion\":\"0.3.1\"," IFACES_0X "," IPS_0X "," ROUTES "}");
	render_is("0.4.0", "{\"cniVersion\":\"0.4.0\"," IFACES_0X "," IPS_0X "," ROUTES "}");
}

static void add_result_1_0_drops_ip_version(void **state)
{
	(void)state;
	render_is("1.0.0", "{\"cniVersion\":\"1.0.0\"," IFACES_0X "," IPS_1X "," ROUTES "}");
}

static void add_result_1_1_adds_interface_mtu(void **state)
{
	(void)state;
	render_is("1.1.0",
		  "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"pfc440f455693\","
		  "\"mac\":\"aa:bb:cc:00:00:01\",\"mtu\":1500},{\"name\":\"eth0\","
		  "\"mac\":\"aa:bb:cc:00:00:02\",\"mtu\":1500,\"sandbox\":\"/var/run/netns/p1\"}],"
		  IPS_1X "," ROUTES "}");
}

static void ipv4_only_result_omits_empty_fields(void **state)
{
	struct pf_cni_result r = {
		.ifaces = { { .name = "eth0", .sandbox = "/proc/1/ns/net" } },
		.n_ifaces = 1,
		.ips = { { .address = "10.0.0.2/32", .iface = -1 } },
		.n_ips = 1,
		.routes = { { .dst = "10.0.0.0/8" } },
		.n_routes = 1,
	};
	char *got = pf_cni_result_render(&r, "0.4.0");

	(void)state;
	assert_string_equal(got, "{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"eth0\","
				 "\"sandbox\":\"/proc/1/ns/net\"}],\"ips\":[{\"version\":\"4\","
				 "\"address\":\"10.0.0.2/32\"}],\"routes\":[{\"dst\":\"10.0.0.0/8\"}],"
				 "\"dns\":{}}");
	free(got);
}

static void error_has_code_msg_and_details_only_when_set(void **state)
{
	struct pf_cni_error e = { 0 };
	char *got;

	(void)state;
	pf_cni_fail(&e, PF_CNI_ERR_CONFIG, "network configuration: \"mtu\" must be an integer");
	got = pf_cni_error_render(&e, "1.0.0");
	assert_string_equal(got, "{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"network "
				 "configuration: \\\"mtu\\\" must be an integer\"}");
	free(got);
	pf_cni_details(&e, "got \"%s\"", "abc");
	got = pf_cni_error_render(&e, "0.3.1");
	assert_string_equal(got, "{\"cniVersion\":\"0.3.1\",\"code\":7,\"msg\":\"network "
				 "configuration: \\\"mtu\\\" must be an integer\","
				 "\"details\":\"got \\\"abc\\\"\"}");
	free(got);
	pf_cni_fail(&e, PF_CNI_ERR_NOT_AVAILABLE, "ipamd is not healthy");
	assert_string_equal(e.details, "");
	got = pf_cni_error_render(&e, "1.1.0");
	assert_string_equal(got, "{\"cniVersion\":\"1.1.0\",\"code\":50,\"msg\":\"ipamd is not healthy\"}");
	free(got);
}

static void version_reply_lists_every_supported_version(void **state)
{
	char *got = pf_cni_version_render("1.1.0");

	(void)state;
	assert_string_equal(got, "{\"cniVersion\":\"1.1.0\",\"supportedVersions\":"
				 "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}");
	free(got);
	got = pf_cni_version_render("0.4.0");
	assert_non_null(strstr(got, "{\"cniVersion\":\"0.4.0\","));
	free(got);
}

static void prev_result_of_every_version_reads_back(void **state)
{
	(void)state;
	for (int v = 0; v < PF_CNI_N_VERSIONS; v++) {
		char *text = pf_cni_result_render(&dual_stack, pf_cni_versions[v]);
		json_t *prev = json_loads(text, 0, NULL);
		struct pf_cni_result r;
		struct pf_cni_error e = { 0 };
		bool has_mtu = pf_cni_version_at_least(pf_cni_versions[v], "1.1.0");

		assert_non_null(prev);
		assert_int_equal(pf_cni_result_parse(prev, &r, &e), 0);
		assert_int_equal(r.n_ifaces, 2);
		assert_int_equal(r.n_ips, 2);
		assert_int_equal(r.n_routes, 2);
		for (size_t i = 0; i < 2; i++) {
			assert_string_equal(r.ifaces[i].name, dual_stack.ifaces[i].name);
			assert_string_equal(r.ifaces[i].mac, dual_stack.ifaces[i].mac);
			assert_string_equal(r.ifaces[i].sandbox, dual_stack.ifaces[i].sandbox);
			assert_int_equal(r.ifaces[i].mtu, has_mtu ? 1500 : 0);
			assert_string_equal(r.ips[i].address, dual_stack.ips[i].address);
			assert_string_equal(r.ips[i].gateway, dual_stack.ips[i].gateway);
			assert_int_equal(r.ips[i].iface, 1);
			assert_string_equal(r.routes[i].dst, dual_stack.routes[i].dst);
			assert_string_equal(r.routes[i].gw, dual_stack.routes[i].gw);
		}
		json_decref(prev);
		free(text);
	}
}

static void prev_result_errors_name_the_field(void **state)
{
	static const struct {
		const char *json, *needle;
	} cases[] = {
		{ "{\"interfaces\":{}}", "\"interfaces\" must be an array" },
		{ "{\"ips\":[{\"gateway\":\"1.2.3.4\"}]}", "ips[0].address" },
		{ "{\"ips\":[{\"address\":\"10.0.0.1/32\",\"interface\":0}]}",
		  "ips[0].interface is not an index" },
		{ "{\"interfaces\":[{\"name\":\"a\"}],\"ips\":[{\"address\":\"10.0.0.1/32\","
		  "\"interface\":-1}]}", "ips[0].interface" },
		{ "{\"routes\":[{\"gw\":\"1.2.3.4\"}]}", "routes[0].dst" },
		{ "{\"interfaces\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"}]}",
		  "\"interfaces\" has 3 entries" },
		{ "{\"interfaces\":[{\"name\":\"a-name-longer-than-15\"}]}", "interfaces[0].name" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *prev = json_loads(cases[i].json, 0, NULL);
		struct pf_cni_error e = { 0 };
		struct pf_cni_result r;

		assert_non_null(prev);
		assert_int_equal(pf_cni_result_parse(prev, &r, &e), -1);
		assert_int_equal(e.code, 7);
		if (!strstr(e.msg, cases[i].needle))
			fail_msg("%s: \"%s\" does not mention %s", cases[i].json, e.msg,
				 cases[i].needle);
		json_decref(prev);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(add_result_0_3_and_0_4_carry_ip_version),
		cmocka_unit_test(add_result_1_0_drops_ip_version),
		cmocka_unit_test(add_result_1_1_adds_interface_mtu),
		cmocka_unit_test(ipv4_only_result_omits_empty_fields),
		cmocka_unit_test(error_has_code_msg_and_details_only_when_set),
		cmocka_unit_test(version_reply_lists_every_supported_version),
		cmocka_unit_test(prev_result_of_every_version_reads_back),
		cmocka_unit_test(prev_result_errors_name_the_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
