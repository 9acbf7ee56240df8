// SPDX-License-Identifier: Apache-2.0
/* Policy set JSON: what is accepted, and errors that name the field. */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "policy_spec.h"

static int parse(const char *text, struct pf_policy_spec *spec, char *err, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr);
	int rc;

	assert_non_null(root);
	rc = pf_policy_spec_from_json(root, spec, err, len);
	json_decref(root);
	return rc;
}

static void a_full_policy_round_trips(void **state)
{
	const char *text = "{\"ingress\":{\"isolated\":true,\"rules\":[{\"cidr\":\"10.0.0.0/8\","
			   "\"except\":[\"10.1.0.0/16\"],\"ports\":[{\"protocol\":\"tcp\","
			   "\"port\":80,\"endPort\":90},{\"protocol\":\"SCTP\"}]}]},"
			   "\"egress\":{\"isolated\":false}}";
	struct pf_policy_spec spec, again;
	char err[256] = "";
	char *dumped;
	json_t *j;

	(void)state;
	assert_int_equal(parse(text, &spec, err, sizeof(err)), 0);
	assert_int_equal(spec.dir[PF_DIR_INGRESS].isolation, PF_ISO_ISOLATED);
	assert_int_equal(spec.dir[PF_DIR_EGRESS].isolation, PF_ISO_OPEN);
	assert_int_equal(spec.dir[PF_DIR_INGRESS].n_rules, 1);
	const struct pf_peer_rule *r = &spec.dir[PF_DIR_INGRESS].rules[0];
	assert_int_equal(r->cidr.len, 8);
	assert_int_equal(r->n_except, 1);
	assert_int_equal(r->n_ports, 2);
	assert_int_equal(r->ports[0].proto, IPPROTO_TCP);
	assert_int_equal(r->ports[0].port, 80);
	assert_int_equal(r->ports[0].end_port, 90);
	assert_int_equal(r->ports[1].proto, IPPROTO_SCTP);
	assert_int_equal(r->ports[1].port, 0);

	j = pf_policy_spec_to_json(&spec);
	dumped = json_dumps(j, JSON_COMPACT);
	assert_int_equal(parse(dumped, &again, err, sizeof(err)), 0);
	assert_int_equal(again.dir[PF_DIR_INGRESS].rules[0].ports[0].end_port, 90);
	assert_int_equal(again.dir[PF_DIR_EGRESS].isolation, PF_ISO_OPEN);
	free(dumped);
	json_decref(j);
	pf_policy_spec_free(&again);
	pf_policy_spec_free(&spec);
}

static void an_absent_direction_is_left_to_the_mode(void **state)
{
	struct pf_policy_spec spec;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"egress\":{\"isolated\":true,\"rules\":[]}}", &spec, err,
			       sizeof(err)), 0);
	assert_int_equal(spec.dir[PF_DIR_INGRESS].isolation, PF_ISO_UNKNOWN);
	assert_int_equal(spec.dir[PF_DIR_EGRESS].isolation, PF_ISO_ISOLATED);
	assert_int_equal(spec.dir[PF_DIR_EGRESS].n_rules, 0);
	pf_policy_spec_free(&spec);
}

struct bad_case {
	const char *json;
	const char *names; /* must appear in the error */
};

static void bad_input_names_the_field_and_value(void **state)
{
	static const struct bad_case cases[] = {
		{ "{\"ingress\":{\"isolated\":true,\"rules\":[{\"cidr\":\"10.0.0.300/8\"}]}}",
		  "ingress.rules[0].cidr" },
		{ "{\"ingress\":{\"isolated\":true,\"rules\":[{\"cidr\":\"10.0.0.300/8\"}]}}",
		  "10.0.0.300/8" },
		{ "{\"ingress\":{\"isolated\":true,\"rules\":[{\"cidr\":\"10.0.0.0/8\",\"ports\":"
		  "[{\"protocol\":\"TCP\",\"port\":90,\"endPort\":80}]}]}}", "90-80" },
		{ "{\"egress\":{\"isolated\":true,\"rules\":[{\"cidr\":\"10.0.0.0/8\",\"ports\":"
		  "[{\"protocol\":\"FOO\",\"port\":80}]}]}}", "FOO" },
		{ "{\"egress\":{\"isolated\":true,\"rules\":[{\"cidr\":\"10.0.0.0/8\",\"ports\":"
		  "[{\"protocol\":\"FOO\",\"port\":80}]}]}}", "egress.rules[0].ports[0]" },
		{ "{\"ingress\":{\"isolated\":true,\"rules\":[{\"cidr\":\"10.0.0.0/8\",\"ports\":"
		  "[{\"protocol\":\"TCP\",\"port\":70000}]}]}}", "70000" },
		{ "{\"ingress\":{\"isolated\":true,\"rules\":[{\"cidr\":\"10.0.0.0/8\",\"ports\":"
		  "[{\"protocol\":\"TCP\",\"port\":\"http\"}]}]}}", "port" },
		{ "{\"ingress\":{\"isolated\":true,\"rules\":[{\"cidr\":\"10.0.0.0/16\","
		  "\"except\":[\"10.1.0.0/24\"]}]}}", "10.1.0.0/24" },
		{ "{\"ingress\":{\"isolated\":\"yes\"}}", "ingress.isolated" },
		{ "{\"ingress\":{\"isolated\":true,\"rules\":{}}}", "ingress.rules" },
		{ "{\"ingress\":{\"isolated\":true,\"rules\":[{}]}}", "ingress.rules[0].cidr" },
	};
	struct pf_policy_spec spec;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = 0;
		assert_int_equal(parse(cases[i].json, &spec, err, sizeof(err)), -EINVAL);
		if (!strstr(err, cases[i].names))
			fail_msg("case %zu: error \"%s\" does not name \"%s\"", i, err,
				 cases[i].names);
	}
}

static void protocol_names(void **state)
{
	uint8_t p;
	char err[128];

	(void)state;
	assert_int_equal(pf_proto_parse("udp", &p, err, sizeof(err)), 0);
	assert_int_equal(p, IPPROTO_UDP);
	assert_string_equal(pf_proto_name(IPPROTO_SCTP), "SCTP");
	assert_int_not_equal(pf_proto_parse("ICMP", &p, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "ICMP"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_full_policy_round_trips),
		cmocka_unit_test(an_absent_direction_is_left_to_the_mode),
		cmocka_unit_test(bad_input_names_the_field_and_value),
		cmocka_unit_test(protocol_names),
	};

	return cmocka_run_group_tests_name("policy_spec", tests, NULL, NULL);
}
