// SPDX-License-Identifier: Apache-2.0
/* The PolicyEndpoint objects each policy wants, kept between passes; see
 * pe_wanted.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pe_wanted.h"
#include "resolver.h"

#define PF_KEY_MAX 600 /* "ns/name": at most 63 + 1 + 253 */

int pf_pe_wanted_init(struct pf_pe_wanted *w, size_t max_bytes)
{
	w->max_bytes = max_bytes;
	w->by_policy = json_object();
	return w->by_policy ? 0 : -ENOMEM;
}

void pf_pe_wanted_free(struct pf_pe_wanted *w)
{
	json_decref(w->by_policy);
	w->by_policy = NULL;
}

void pf_pe_wanted_pass_free(struct pf_pe_wanted_pass *p)
{
	json_decref(p->wanted);
	json_decref(p->keep);
	json_decref(p->errors);
	json_decref(p->touched);
	memset(p, 0, sizeof(*p));
}

static bool pf_same_uid(json_t *entry, const char *uid)
{
	const char *was = json_string_value(json_object_get(entry, "uid"));

	return uid ? was && !strcmp(was, uid) : !was;
}

/* np resolved and published into a new entry; NULL when out of memory. A
 * policy that cannot be published gets an entry with its error, unless
 * memory ran out (then it is resolved again next time). */
static json_t *pf_entry_resolve(const struct pf_pe_wanted *w, const struct pf_k8s_cache *c,
				const struct pf_k8s_netpol *np, const char *uid, char *err,
				size_t err_len)
{
	json_t *objects = json_object(), *entry = NULL;
	struct pf_policy_endpoint pe;
	int rc = objects ? 0 : -ENOMEM;

	if (!rc && !(rc = pf_resolve_netpol(c, np, &pe, err, err_len))) {
		rc = pf_pe_publish(&pe, uid, w->max_bytes, objects, err, err_len);
		pf_policy_endpoint_free(&pe);
	}
	if (rc != -ENOMEM)
		entry = rc ? json_pack("{s:s?, s:s}", "uid", uid, "error", err)
			   : json_pack("{s:s?, s:O}", "uid", uid, "objects", objects);
	json_decref(objects);
	return entry;
}

/* The entry's objects into the pass, unless a name is taken already (err
 * says by which policy). 0, -EEXIST or -ENOMEM. */
static int pf_entry_merge(json_t *entry, const char *pkey, json_t *wanted, char *err,
			  size_t err_len)
{
	json_t *objects = json_object_get(entry, "objects"), *obj, *other, *ref;
	const char *key;

	json_object_foreach(objects, key, obj) {
		if (!(other = json_object_get(wanted, key)))
			continue;
		ref = json_object_get(json_object_get(other, "spec"), "policyRef");
		snprintf(err, err_len, "PolicyEndpoint %s of policy %s is already the name of one "
			 "of policy %s/%s", key, pkey,
			 json_string_value(json_object_get(ref, "namespace")) ?: "?",
			 json_string_value(json_object_get(ref, "name")) ?: "?");
		return -EEXIST;
	}
	json_object_foreach(objects, key, obj)
		if (json_object_set(wanted, key, obj))
			return -ENOMEM;
	return 0;
}

/* One policy of the cache into the pass: its entry, made again when
 * something reached it. */
static int pf_wanted_policy(struct pf_pe_wanted *w, const struct pf_k8s_cache *c,
			    const struct pf_cache_changes *ch, json_t *uids, const char *pkey,
			    const struct pf_k8s_netpol *np, struct pf_pe_wanted_pass *out)
{
	const char *uid = json_string_value(json_object_get(uids, pkey));
	json_t *entry = json_object_get(w->by_policy, pkey);
	char err[512];
	int rc;

	if (!entry || !pf_same_uid(entry, uid) || pf_cache_changes_reach(ch, c, np, pkey)) {
		out->resolved++;
		if (json_object_set_new(out->touched, pkey, json_true()))
			return -ENOMEM;
		entry = pf_entry_resolve(w, c, np, uid, err, sizeof(err));
		if (!entry) {
			json_object_del(w->by_policy, pkey);
			snprintf(err, sizeof(err), "out of memory (tried again next pass)");
			goto unpublished;
		}
		if (json_object_set_new(w->by_policy, pkey, entry))
			return -ENOMEM;
	}
	if (json_object_get(entry, "error")) {
		snprintf(err, sizeof(err), "%s", json_string_value(json_object_get(entry, "error")));
		goto unpublished;
	}
	rc = pf_entry_merge(entry, pkey, out->wanted, err, sizeof(err));
	if (rc != -EEXIST)
		return rc;
unpublished:
	if (json_object_set_new(out->keep, pkey, json_true()) ||
	    json_object_set_new(out->errors, pkey, json_string(err)))
		return -ENOMEM;
	return 0;
}

static bool pf_policy_in_cache(const struct pf_k8s_cache *c, const char *key)
{
	const char *slash = strchr(key, '/');
	char ns[PF_KEY_MAX];

	if (!slash)
		return false;
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - key), key);
	return pf_k8s_cache_get(c, PF_K8S_NETWORK_POLICY, ns, slash + 1) != NULL;
}

int pf_pe_wanted_update(struct pf_pe_wanted *w, const struct pf_k8s_cache *c,
			struct pf_cache_changes *ch, json_t *uids, struct pf_pe_wanted_pass *out)
{
	const struct pf_k8s_table *t = &c->t[PF_K8S_NETWORK_POLICY];
	const char *key;
	json_t *v;
	void *tmp;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->wanted = json_object();
	out->keep = json_object();
	out->errors = json_object();
	out->touched = json_object();
	if (!out->wanted || !out->keep || !out->errors || !out->touched)
		rc = -ENOMEM;
	for (size_t i = 0; !rc && i < t->n; i++)
		rc = pf_wanted_policy(w, c, ch, uids, t->e[i].key, t->e[i].obj, out);
	/* Policies gone: their objects are no longer wanted. */
	json_object_foreach_safe(w->by_policy, tmp, key, v) {
		if (rc)
			break;
		if (pf_policy_in_cache(c, key))
			continue;
		json_object_del(w->by_policy, key);
		rc = json_object_set_new(out->touched, key, json_true()) ? -ENOMEM : 0;
	}
	if (rc) {
		pf_pe_wanted_pass_free(out);
		return rc;
	}
	pf_cache_changes_reset(ch);
	return 0;
}

/* Whether obj's spec.policyRef names a policy of set. */
static bool pf_ref_in(json_t *obj, json_t *set)
{
	json_t *ref = json_object_get(json_object_get(obj, "spec"), "policyRef");
	const char *ns = json_string_value(json_object_get(ref, "namespace"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	char key[PF_KEY_MAX];

	if (!ns || !name)
		return false;
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	return json_object_get(set, key) != NULL;
}

/* The objects of from whose policy is touched, into a new object (shared,
 * not copied); NULL when out of memory. */
static json_t *pf_of_touched(json_t *from, json_t *touched)
{
	json_t *out = json_object(), *obj;
	const char *key;

	json_object_foreach(from, key, obj) {
		if (!out)
			break;
		if (pf_ref_in(obj, touched) && json_object_set(out, key, obj)) {
			json_decref(out);
			out = NULL;
		}
	}
	return out;
}

int pf_pe_wanted_plan(const struct pf_pe_wanted_pass *p, json_t *observed, bool full,
		      struct pf_pe_plan *out)
{
	json_t *wanted, *seen;
	int rc;

	if (full)
		return pf_pe_diff(p->wanted, observed, p->keep, out);
	wanted = pf_of_touched(p->wanted, p->touched);
	seen = pf_of_touched(observed, p->touched);
	rc = wanted && seen ? pf_pe_diff(wanted, seen, p->keep, out) : -ENOMEM;
	json_decref(wanted);
	json_decref(seen);
	return rc;
}
