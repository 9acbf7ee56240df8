// SPDX-License-Identifier: Apache-2.0
/* Reading PolicyEndpoints (what an agent in kube mode trusts): each field is
 * checked and an error names the object and the field. Writing them and
 * reading them back is in test_resolver.c, on resolved policies. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "policy_endpoint.h"

static void bad_policy_endpoints_name_the_field(void **state)
{
	static const struct {
		const char *spec, *error;
	} bad[] = {
		{ "{\"policyRef\":{\"name\":\"p\",\"namespace\":\"x\"},\"egress\":[{\"cidr\":"
		  "\"0.0.0.0/0\",\"ports\":[{\"protocol\":\"TCP\",\"name\":\"http\"}]}]}",
		  "PolicyEndpoint x/p: spec.egress[0].ports[0].name \"http\": egress named ports" },
		{ "{\"policyRef\":{\"name\":\"p\",\"namespace\":\"x\"},\"ingress\":[{\"cidr\":"
		  "\"10.0.0.0/8\",\"except\":[\"11.0.0.0/8\"]}]}",
		  "spec.ingress[0].except[0] 11.0.0.0/8 is not strictly inside cidr 10.0.0.0/8" },
		{ "{\"policyRef\":{\"name\":\"p\",\"namespace\":\"x\"},\"podSelectorEndpoints\":"
		  "[{\"name\":\"a\",\"namespace\":\"x\",\"podIP\":\"nope\"}]}",
		  "spec.podSelectorEndpoints[0].podIP: invalid address \"nope\"" },
		{ "{\"policyRef\":{\"name\":\"p\",\"namespace\":\"x\"},\"podIsolation\":[\"Both\"]}",
		  "spec.podIsolation[0] is not Ingress or Egress" },
		{ "{}", "spec.policyRef needs name and namespace" },
	};
	char text[1024], err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pf_policy_endpoint pe;
		json_t *o;

		snprintf(text, sizeof(text), "{\"apiVersion\":\"podfence.io/v1alpha1\",\"kind\":"
			 "\"PolicyEndpoint\",\"metadata\":{\"name\":\"p\",\"namespace\":\"x\"},"
			 "\"spec\":%s}", bad[i].spec);
		o = json_loads(text, 0, NULL);
		assert_non_null(o);
		err[0] = 0;
		assert_int_equal(pf_policy_endpoint_from_json(o, &pe, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].error))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].error);
		json_decref(o);
	}
}

static void a_minimal_policy_endpoint_reads(void **state)
{
	const char *text = "{\"apiVersion\":\"podfence.io/v1alpha1\",\"kind\":\"PolicyEndpoint\","
			   "\"metadata\":{\"name\":\"p\",\"namespace\":\"x\"},\"spec\":{"
			   "\"policyRef\":{\"name\":\"p\",\"namespace\":\"x\"},"
			   "\"podSelectorEndpoints\":[{\"name\":\"b\",\"namespace\":\"x\"},"
			   "{\"name\":\"a\",\"namespace\":\"x\",\"podIP\":\"10.0.0.1\"}],"
			   "\"podIsolation\":[\"Egress\"],"
			   "\"egress\":[{\"cidr\":\"10.0.0.0/8\",\"ports\":[{\"protocol\":\"UDP\"}]}]}}";
	struct pf_policy_endpoint pe;
	json_t *o = json_loads(text, 0, NULL);
	char err[512] = "";

	(void)state;
	assert_non_null(o);
	if (pf_policy_endpoint_from_json(o, &pe, err, sizeof(err)))
		fail_msg("%s", err);
	assert_false(pe.isolation[PF_DIR_INGRESS]);
	assert_true(pe.isolation[PF_DIR_EGRESS]);
	assert_true(pf_label_selector_is_empty(&pe.pod_sel));
	assert_int_equal(pe.n_endpoints, 2);
	assert_string_equal(pe.endpoints[0].name, "a"); /* sorted for lookups */
	assert_non_null(pf_policy_endpoint_find(&pe, "x", "b"));
	assert_null(pf_policy_endpoint_find(&pe, "y", "b"));
	assert_int_equal(pe.n_rules[PF_DIR_EGRESS], 1);
	assert_int_equal(pe.rules[PF_DIR_EGRESS][0].ports[0].port, 0);
	pf_policy_endpoint_free(&pe);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_policy_endpoints_name_the_field),
		cmocka_unit_test(a_minimal_policy_endpoint_reads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
