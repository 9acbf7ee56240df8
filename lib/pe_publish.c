// SPDX-License-Identifier: Apache-2.0
/* The PolicyEndpoint objects a policy wants on the API server, and the
 * writes that get them there. See pe_publish.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pe_chunks.h"
#include "pe_publish.h"

static json_t *pf_meta(json_t *obj)
{
	return json_object_get(obj, "metadata");
}

static const char *pf_meta_str(json_t *obj, const char *field)
{
	return json_string_value(json_object_get(pf_meta(obj), field));
}

int pf_pe_key(json_t *obj, char *buf, size_t len)
{
	const char *ns = pf_meta_str(obj, "namespace"), *name = pf_meta_str(obj, "name");
	int n;

	if (!ns || !name)
		return -EINVAL;
	n = snprintf(buf, len, "%s/%s", ns, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* "namespace/name" of spec.policyRef, or "" when it has none. */
static void pf_policy_ref_key(json_t *obj, char *buf, size_t len)
{
	json_t *ref = json_object_get(json_object_get(obj, "spec"), "policyRef");
	const char *ns = json_string_value(json_object_get(ref, "namespace"));
	const char *name = json_string_value(json_object_get(ref, "name"));

	snprintf(buf, len, "%s/%s", ns ? ns : "", name ? name : "");
	if (!ns || !name)
		buf[0] = 0;
}

bool pf_pe_is_ours(json_t *obj)
{
	return json_object_get(json_object_get(pf_meta(obj), "labels"), PF_PE_POLICY_LABEL) != NULL;
}

/* json_equal, with two absent values equal. */
static bool pf_json_same(json_t *a, json_t *b)
{
	return (!a && !b) || json_equal(a, b);
}

bool pf_pe_same(json_t *wanted, json_t *observed)
{
	static const char *const meta_fields[] = { "labels", "ownerReferences" };

	if (!pf_json_same(json_object_get(wanted, "spec"), json_object_get(observed, "spec")))
		return false;
	for (size_t i = 0; i < sizeof(meta_fields) / sizeof(meta_fields[0]); i++)
		if (!pf_json_same(json_object_get(pf_meta(wanted), meta_fields[i]),
				  json_object_get(pf_meta(observed), meta_fields[i])))
			return false;
	return true;
}

static json_t *pf_pe_object(const struct pf_policy_endpoint *pe, const char *uid)
{
	json_t *obj = pf_policy_endpoint_to_json(pe), *meta = pf_meta(obj);
	char label[PF_K8S_LABEL_VALUE_MAX + 1];
	json_t *labels, *owners = NULL;

	if (!meta)
		goto fail;
	pf_k8s_name_fit(pe->policy_name, PF_K8S_LABEL_VALUE_MAX, label);
	labels = json_pack("{s:s}", PF_PE_POLICY_LABEL, label);
	if (json_object_set_new(meta, "labels", labels))
		goto fail;
	if (!uid)
		return obj;
	/* As the API server's garbage collector wants them: one controller
	 * owner; blockOwnerDeletion so a foreground delete of the policy waits
	 * for its PolicyEndpoints. */
	owners = json_pack("[{s:s, s:s, s:s, s:s, s:b, s:b}]", "apiVersion",
			   "networking.k8s.io/v1", "kind", "NetworkPolicy", "name", pe->policy_name,
			   "uid", uid, "controller", 1, "blockOwnerDeletion", 1);
	if (!json_object_set_new(meta, "ownerReferences", owners))
		return obj;
fail:
	json_decref(obj);
	return NULL;
}

int pf_pe_publish(const struct pf_policy_endpoint *pe, const char *uid, size_t max_bytes,
		  json_t *wanted, char *err, size_t err_len)
{
	json_t *obj = pf_pe_object(pe, uid), *chunks = json_array(), *c;
	char key[PF_K8S_NAME_MAX * 2 + 2], other[PF_K8S_NAME_MAX * 2 + 2];
	size_t i;
	int rc;

	rc = obj && chunks ? pf_pe_split(obj, max_bytes, chunks, err, err_len) : -ENOMEM;
	json_array_foreach(chunks, i, c) {
		if (rc)
			break;
		rc = pf_pe_key(c, key, sizeof(key));
		if (!rc && json_object_get(wanted, key)) {
			/* Only a policy name cut to fit (pf_k8s_name_fit) can get here. */
			pf_policy_ref_key(json_object_get(wanted, key), other, sizeof(other));
			snprintf(err, err_len, "PolicyEndpoint %s of policy %s/%s is already the name "
				 "of one of policy %s", key, pe->policy_ns, pe->policy_name, other);
			rc = -EEXIST;
		}
	}
	json_array_foreach(chunks, i, c) {
		if (rc)
			break;
		if (pf_pe_key(c, key, sizeof(key)) || json_object_set(wanted, key, c))
			rc = -ENOMEM;
	}
	if (rc == -ENOMEM)
		snprintf(err, err_len, "PolicyEndpoints of policy %s/%s: out of memory",
			 pe->policy_ns, pe->policy_name);
	json_decref(chunks);
	json_decref(obj);
	return rc;
}

const char *pf_pe_op_name(enum pf_pe_op op)
{
	static const char *const names[] = { "create", "replace", "delete" };

	return names[op];
}

static int pf_str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of a JSON object, sorted; NULL when out of memory. */
static const char **pf_sorted_keys(json_t *o)
{
	const char **keys = calloc(json_object_size(o) + 1, sizeof(*keys)), *k;
	size_t n = 0;
	json_t *v;

	if (!keys)
		return NULL;
	json_object_foreach(o, k, v)
		keys[n++] = k;
	qsort(keys, n, sizeof(*keys), pf_str_cmp);
	return keys;
}

/* A replace sends wanted with the resourceVersion it replaces; wanted's
 * own metadata is left alone. */
static json_t *pf_replace_body(json_t *wanted, const char *rv)
{
	json_t *body = json_copy(wanted), *meta = json_copy(pf_meta(wanted));

	if (!body || !meta ||
	    json_object_set_new(meta, "resourceVersion", json_string(rv ? rv : "")) ||
	    json_object_set(body, "metadata", meta)) {
		json_decref(body);
		body = NULL;
	}
	json_decref(meta);
	return body;
}

/* An action on the object named like obj; rv_of (NULL for a create) is the
 * observed object whose resourceVersion it acts on. */
static int pf_plan_add(struct pf_pe_plan *p, enum pf_pe_op op, json_t *obj, json_t *rv_of,
		       json_t *body)
{
	struct pf_pe_action *a = &p->a[p->n++];
	const char *rv = rv_of ? pf_meta_str(rv_of, "resourceVersion") : NULL;

	*a = (struct pf_pe_action){ .op = op, .body = body };
	a->ns = strdup(pf_meta_str(obj, "namespace") ?: "");
	a->name = strdup(pf_meta_str(obj, "name") ?: "");
	a->resource_version = strdup(rv ? rv : "");
	if (!a->ns || !a->name || !a->resource_version || (op != PF_PE_DELETE && !body))
		return -ENOMEM;
	return 0;
}

int pf_pe_diff(json_t *wanted, json_t *observed, json_t *keep, struct pf_pe_plan *out)
{
	const char **want = pf_sorted_keys(wanted), **have = pf_sorted_keys(observed);
	char ref[PF_K8S_NAME_MAX * 2 + 2];
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->a = calloc(json_object_size(wanted) + json_object_size(observed) + 1,
			sizeof(*out->a));
	if (!want || !have || !out->a)
		rc = -ENOMEM;
	for (int pass = PF_PE_CREATE; !rc && pass <= PF_PE_REPLACE; pass++) {
		for (size_t i = 0; !rc && want[i]; i++) {
			json_t *w = json_object_get(wanted, want[i]);
			json_t *o = json_object_get(observed, want[i]);

			if (pass == PF_PE_CREATE && !o)
				rc = pf_plan_add(out, PF_PE_CREATE, w, NULL, json_incref(w));
			else if (pass == PF_PE_REPLACE && o && !pf_pe_same(w, o))
				rc = pf_plan_add(out, PF_PE_REPLACE, w, o,
						 pf_replace_body(w, pf_meta_str(o, "resourceVersion")));
		}
	}
	for (size_t i = 0; !rc && have[i]; i++) {
		json_t *o = json_object_get(observed, have[i]);

		if (json_object_get(wanted, have[i]) || !pf_pe_is_ours(o))
			continue;
		pf_policy_ref_key(o, ref, sizeof(ref));
		if (!json_object_get(keep, ref))
			rc = pf_plan_add(out, PF_PE_DELETE, o, o, NULL);
	}
	free(want);
	free(have);
	if (rc)
		pf_pe_plan_free(out);
	return rc;
}

void pf_pe_plan_free(struct pf_pe_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->a[i].ns);
		free(p->a[i].name);
		free(p->a[i].resource_version);
		json_decref(p->a[i].body);
	}
	free(p->a);
	memset(p, 0, sizeof(*p));
}
