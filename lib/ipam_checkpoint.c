// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "podfence_abi.h"
#include "atomic_file.h"
#include "ipam_checkpoint.h"

#define PF_CHECKPOINT_VERSION 1

static const uint8_t pf_families[2] = { PF_FAMILY_V4, PF_FAMILY_V6 };

static const char *pf_family_key(uint8_t family)
{
	return family == PF_FAMILY_V4 ? "ipv4" : "ipv6";
}

static json_t *pf_addr_json(uint8_t family, const uint8_t *addr)
{
	char text[64];

	return json_string(pf_addr_format(family, addr, text, sizeof(text)));
}

static json_t *pf_checkpoint_render(struct pf_ipam_pool *pool)
{
	json_t *root = json_object(), *pools = json_array(), *list = json_array();
	int bad = !root || !pools || !list;

	for (int i = 0; i < 2 && !bad; i++) {
		struct pf_ipam_source *src = pf_ipam_pool_source(pool, pf_families[i]);
		uint8_t next[16];

		if (!src)
			continue;
		src->ops->cursor(src->priv, next);
		bad |= json_array_append_new(
			pools, json_pack("{s:s, s:s, s:s, s:o}", "family",
					 pf_family_key(src->family), "kind", src->kind, "name",
					 src->name, "next", pf_addr_json(src->family, next)));
	}
	for (size_t i = 0; i < pf_ipam_pool_count(pool) && !bad; i++) {
		const struct pf_ipam_assignment *a = pf_ipam_pool_at(pool, i);
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "container_id",
				      a->container_id, "ifname", a->ifname, "netns", a->netns,
				      "pod_namespace", a->pod_namespace, "pod_name", a->pod_name,
				      "assigned_at", (json_int_t)a->assigned_at);

		if (o && a->has_v4)
			bad |= json_object_set_new(o, "ipv4", pf_addr_json(PF_FAMILY_V4, a->v4));
		if (o && a->has_v6)
			bad |= json_object_set_new(o, "ipv6", pf_addr_json(PF_FAMILY_V6, a->v6));
		bad |= json_array_append_new(list, o);
	}
	if (!bad)
		bad = json_object_set_new(root, "version", json_integer(PF_CHECKPOINT_VERSION)) ||
		      json_object_set(root, "pools", pools) ||
		      json_object_set(root, "assignments", list);
	json_decref(pools);
	json_decref(list);
	if (bad) {
		json_decref(root);
		return NULL;
	}
	return root;
}

int pf_ipam_checkpoint_save(const char *path, struct pf_ipam_pool *pool, char *err,
			    size_t err_len)
{
	json_t *root = pf_checkpoint_render(pool);
	char *text = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
	int rc;

	json_decref(root);
	if (!text) {
		snprintf(err, err_len, "checkpoint %s: out of memory rendering JSON", path);
		return -ENOMEM;
	}
	/* Written, fsynced and renamed into place, directory fsynced: on disk
	 * before the add is answered. */
	rc = pf_atomic_write(path, text, strlen(text), 0600);
	free(text);
	if (rc)
		snprintf(err, err_len, "save checkpoint %s: %s", path, strerror(-rc));
	return rc;
}

/* An optional string member: NULL when absent; -EINVAL when not a string. */
static int pf_opt_string(json_t *o, const char *key, const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return -EINVAL;
	*out = json_string_value(v);
	return 0;
}

static int pf_opt_addr(json_t *o, const char *key, uint8_t family, bool *has, uint8_t *addr,
		       char *err, size_t err_len)
{
	const char *text;
	struct pf_cidr c;
	char why[128];

	*has = false;
	if (pf_opt_string(o, key, &text)) {
		snprintf(err, err_len, "\"%s\" is not a string", key);
		return -EINVAL;
	}
	if (!text)
		return 0;
	if (pf_addr_parse(text, &c, why, sizeof(why)) || c.family != family) {
		snprintf(err, err_len, "\"%s\": \"%s\" is not an %s address", key, text,
			 family == PF_FAMILY_V4 ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	memcpy(addr, c.addr, 16);
	*has = true;
	return 0;
}

/* Fills a (borrowing the JSON's strings) from one saved assignment. */
static int pf_parse_assignment(json_t *o, struct pf_ipam_assignment *a, char *err,
			       size_t err_len)
{
	static const char *const optional[] = { "netns", "pod_namespace", "pod_name" };
	const char *strs[3];
	json_t *at;

	memset(a, 0, sizeof(*a));
	if (!json_is_object(o)) {
		snprintf(err, err_len, "not an object");
		return -EINVAL;
	}
	if (pf_opt_string(o, "container_id", (const char **)&a->container_id) ||
	    !a->container_id || !*a->container_id) {
		snprintf(err, err_len, "\"container_id\" is missing or not a non-empty string");
		return -EINVAL;
	}
	if (pf_opt_string(o, "ifname", (const char **)&a->ifname) || !a->ifname ||
	    !*a->ifname) {
		snprintf(err, err_len, "\"ifname\" is missing or not a non-empty string");
		return -EINVAL;
	}
	for (int i = 0; i < 3; i++) {
		if (pf_opt_string(o, optional[i], &strs[i])) {
			snprintf(err, err_len, "\"%s\" is not a string", optional[i]);
			return -EINVAL;
		}
	}
	a->netns = (char *)strs[0];
	a->pod_namespace = (char *)strs[1];
	a->pod_name = (char *)strs[2];
	if (pf_opt_addr(o, "ipv4", PF_FAMILY_V4, &a->has_v4, a->v4, err, err_len) ||
	    pf_opt_addr(o, "ipv6", PF_FAMILY_V6, &a->has_v6, a->v6, err, err_len))
		return -EINVAL;
	if (!a->has_v4 && !a->has_v6) {
		snprintf(err, err_len, "no \"ipv4\" or \"ipv6\" address");
		return -EINVAL;
	}
	at = json_object_get(o, "assigned_at");
	if (at && !json_is_integer(at)) {
		snprintf(err, err_len, "\"assigned_at\" is not an integer");
		return -EINVAL;
	}
	a->assigned_at = at ? (int64_t)json_integer_value(at) : 0;
	return 0;
}

/* Puts each source's cursor where the saved one was, when the saved pool is
 * the same prefix (a changed pod CIDR starts its round robin afresh). */
static int pf_restore_cursors(json_t *pools, struct pf_ipam_pool *pool, char *err,
			      size_t err_len)
{
	size_t i;
	json_t *p;

	if (!pools)
		return 0;
	if (!json_is_array(pools)) {
		snprintf(err, err_len, "\"pools\" is not an array");
		return -EINVAL;
	}
	json_array_foreach(pools, i, p) {
		const char *family = NULL, *name = NULL, *next = NULL;
		struct pf_ipam_source *src;
		struct pf_cidr c;
		char why[128];

		if (!json_is_object(p) || pf_opt_string(p, "family", &family) ||
		    pf_opt_string(p, "name", &name) || pf_opt_string(p, "next", &next) ||
		    !family || !name || !next) {
			snprintf(err, err_len,
				 "pools[%zu]: \"family\", \"name\" and \"next\" must be strings", i);
			return -EINVAL;
		}
		src = pf_ipam_pool_source(pool, !strcmp(family, "ipv6") ? PF_FAMILY_V6
									  : PF_FAMILY_V4);
		if (!src || strcmp(src->name, name) || strcmp(family, pf_family_key(src->family)))
			continue;
		if (pf_addr_parse(next, &c, why, sizeof(why)) ||
		    src->ops->seek(src->priv, c.addr)) {
			snprintf(err, err_len, "pools[%zu]: \"next\" %s is not an address of %s", i,
				 next, name);
			return -EINVAL;
		}
	}
	return 0;
}

static int pf_checkpoint_apply(json_t *root, struct pf_ipam_pool *pool, char *err,
			       size_t err_len)
{
	json_t *version, *list, *o;
	char why[384];
	size_t i;
	int rc;

	if (!json_is_object(root)) {
		snprintf(err, err_len, "the top level is not an object");
		return -EINVAL;
	}
	version = json_object_get(root, "version");
	if (!json_is_integer(version) || json_integer_value(version) != PF_CHECKPOINT_VERSION) {
		snprintf(err, err_len, "\"version\" is missing or not %d", PF_CHECKPOINT_VERSION);
		return -EINVAL;
	}
	list = json_object_get(root, "assignments");
	if (!json_is_array(list)) {
		snprintf(err, err_len, "\"assignments\" is missing or not an array");
		return -EINVAL;
	}
	rc = pf_restore_cursors(json_object_get(root, "pools"), pool, err, err_len);
	if (rc)
		return rc;
	json_array_foreach(list, i, o) {
		struct pf_ipam_assignment a;

		rc = pf_parse_assignment(o, &a, why, sizeof(why));
		if (!rc)
			rc = pf_ipam_pool_restore(pool, &a, why, sizeof(why));
		if (rc) {
			snprintf(err, err_len, "assignments[%zu]: %s", i, why);
			return rc;
		}
	}
	return 0;
}

int pf_ipam_checkpoint_load(const char *path, struct pf_ipam_pool *pool, char *err,
			    size_t err_len)
{
	char tmp[PATH_MAX], why[512];
	json_error_t jerr;
	json_t *root;
	FILE *f;
	int rc;

	/* A temporary file is what a crash during a save leaves; the save it
	 * belonged to never completed, so path still holds the truth. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) < sizeof(tmp))
		unlink(tmp);
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		snprintf(err, err_len, "open checkpoint %s: %s", path, strerror(-rc));
		return rc;
	}
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (!root) {
		snprintf(err, err_len,
			 "checkpoint %s is corrupt: not valid JSON (line %d, column %d: %s)", path,
			 jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	rc = pf_checkpoint_apply(root, pool, why, sizeof(why));
	json_decref(root);
	if (rc)
		snprintf(err, err_len, "checkpoint %s cannot be trusted: %s", path, why);
	return rc;
}
