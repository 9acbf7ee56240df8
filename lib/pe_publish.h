/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PolicyEndpoints as the controller keeps them on the API server: the
 * objects one resolved policy wants (label, owner reference to the
 * NetworkPolicy, split to a size limit by pe_chunks.h), and the plan that
 * turns what the API holds into what is wanted (create, replace, delete).
 * Pure: the controller does the requests. See docs/kube.md.
 */
#ifndef PF_PE_PUBLISH_H
#define PF_PE_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "policy_endpoint.h"

/* Every PolicyEndpoint the controller writes carries this label, set to
 * the policy's name (cut with a hash when over 63 characters): the
 * controller only ever deletes PolicyEndpoints that carry it. */
#define PF_PE_POLICY_LABEL "podfence.io/policy"

/*
 * Adds the PolicyEndpoint objects of the resolved policy pe to wanted
 * (a JSON object: "namespace/name" -> object): pf_policy_endpoint_to_json
 * with metadata.labels {PF_PE_POLICY_LABEL: policy} and, when uid is not
 * NULL, metadata.ownerReferences naming the NetworkPolicy (controller,
 * blockOwnerDeletion) so the API server deletes them with it; split by
 * pf_pe_split when one object would exceed max_bytes. Returns 0, -E2BIG
 * (pf_pe_split), -EEXIST when a name is already in wanted (err names both
 * policies; nothing added), or -ENOMEM.
 */
int pf_pe_publish(const struct pf_policy_endpoint *pe, const char *uid, size_t max_bytes,
		  json_t *wanted, char *err, size_t err_len);

/* "namespace/name" of an object; -EINVAL when either is missing,
 * -ENAMETOOLONG when buf is too small. */
int pf_pe_key(json_t *obj, char *buf, size_t len);

/* A PolicyEndpoint the controller wrote (it carries PF_PE_POLICY_LABEL). */
bool pf_pe_is_ours(json_t *obj);

/* observed already is wanted: equal spec, labels and ownerReferences (the
 * server's own metadata is not compared). */
bool pf_pe_same(json_t *wanted, json_t *observed);

enum pf_pe_op { PF_PE_CREATE, PF_PE_REPLACE, PF_PE_DELETE };

struct pf_pe_action {
	enum pf_pe_op op;
	char *ns, *name;
	char *resource_version; /* replace: the observed one (a stale one gets 409) */
	json_t *body;           /* create, replace: the object to send (owned) */
};

struct pf_pe_plan {
	struct pf_pe_action *a;
	size_t n;
};

/*
 * The writes that make observed (what the API holds: "namespace/name" ->
 * object) equal wanted: creates, then replaces, then deletes, each in key
 * order (new chunks exist before old ones go, so an agent never sees a pod
 * lose a rule that a new layout still grants). Only observed objects that
 * are ours (pf_pe_is_ours) are deleted, and none whose spec.policyRef
 * ("namespace/name") is a key of keep (policies that could not be
 * published this time keep what they had). Returns 0 or -ENOMEM.
 */
int pf_pe_diff(json_t *wanted, json_t *observed, json_t *keep, struct pf_pe_plan *out);
void pf_pe_plan_free(struct pf_pe_plan *p);
const char *pf_pe_op_name(enum pf_pe_op op);

#endif
