// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "agent_state.h"
#include "atomic_file.h"

#define PF_AGENT_STATE_VERSION 1

static json_t *pf_sets_json(const struct pf_set_table *t)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < t->n; i++) {
		const struct pf_set_entry *e = &t->e[i];
		char key[17];

		/* A set whose contents are not known is not written: the next
		 * start rewrites it before sharing it. */
		if (!e->key_known)
			continue;
		snprintf(key, sizeof(key), "%016" PRIx64, e->key);
		if (json_array_append_new(a, json_pack("{s:I, s:s, s:I, s:I, s:I}", "id",
						       (json_int_t)e->id, "key", key, "gen",
						       (json_int_t)e->gen, "rules",
						       (json_int_t)e->n_rules, "hosts",
						       (json_int_t)e->n_hosts))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

int pf_agent_state_save(const char *path, const struct pf_local_pod *const *pods, size_t n,
			const struct pf_set_table *sets, char *err, size_t err_len)
{
	json_t *list = json_array(), *root;
	char *text;
	int rc;

	for (size_t i = 0; list && i < n; i++)
		if (json_array_append_new(list, pf_local_pod_to_json(pods[i]))) {
			json_decref(list);
			list = NULL;
		}
	root = list ? json_pack("{s:i, s:o, s:o}", "version", PF_AGENT_STATE_VERSION, "pods",
				list, "sets", pf_sets_json(sets))
		    : NULL;
	text = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
	json_decref(root);
	if (!text) {
		snprintf(err, err_len, "render state %s: out of memory", path);
		return -ENOMEM;
	}
	rc = pf_atomic_write(path, text, strlen(text), 0600);
	if (rc)
		snprintf(err, err_len, "save %s: %s", path, strerror(-rc));
	free(text);
	return rc;
}

static int pf_state_set(json_t *j, size_t i, struct pf_set_table *sets, char *err,
			size_t err_len)
{
	const char *key = json_string_value(json_object_get(j, "key"));
	json_t *id = json_object_get(j, "id"), *gen = json_object_get(j, "gen");
	json_t *rules = json_object_get(j, "rules"), *hosts = json_object_get(j, "hosts");
	uint64_t k;
	char *end;
	int rc;

	if (!json_is_integer(id) || json_integer_value(id) < 1 ||
	    json_integer_value(id) > PF_SET_ID_MAX) {
		snprintf(err, err_len, "sets[%zu].id must be an integer from 1 to %d", i,
			 PF_SET_ID_MAX);
		return -EINVAL;
	}
	errno = 0;
	k = key ? strtoull(key, &end, 16) : 0;
	if (!key || strlen(key) != 16 || *end || errno) {
		snprintf(err, err_len, "sets[%zu].key must be 16 hex digits", i);
		return -EINVAL;
	}
	if (!json_is_integer(gen) || json_integer_value(gen) < 0 ||
	    json_integer_value(gen) > UINT32_MAX || !json_is_integer(rules) ||
	    json_integer_value(rules) < 0 || !json_is_integer(hosts) ||
	    json_integer_value(hosts) < 0) {
		snprintf(err, err_len, "sets[%zu]: gen, rules and hosts must be counts", i);
		return -EINVAL;
	}
	rc = pf_set_table_restore(sets, (uint32_t)json_integer_value(id), k, true,
				  (size_t)json_integer_value(rules),
				  (size_t)json_integer_value(hosts),
				  (uint32_t)json_integer_value(gen));
	if (rc == -EEXIST) {
		snprintf(err, err_len, "sets[%zu].id %lld appears twice", i,
			 (long long)json_integer_value(id));
		rc = -EINVAL;
	} else if (rc) {
		snprintf(err, err_len, "sets[%zu]: out of memory", i);
	}
	return rc;
}

static int pf_state_pods(json_t *list, struct pf_local_pod **pods, size_t *n, char *err,
			 size_t err_len)
{
	size_t count = json_array_size(list);
	struct pf_local_pod *p = calloc(count + 1, sizeof(*p));
	int rc = 0;

	if (!p) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < count && !rc; i++) {
		char path[32];

		snprintf(path, sizeof(path), "pods[%zu]", i);
		rc = pf_local_pod_from_json(json_array_get(list, i), path, &p[i], err, err_len);
		for (size_t k = 0; !rc && k < i; k++)
			if (!strcmp(p[k].ns, p[i].ns) && !strcmp(p[k].name, p[i].name)) {
				snprintf(err, err_len, "pods[%zu] %s/%s appears twice", i, p[i].ns,
					 p[i].name);
				pf_local_pod_free(&p[i]);
				rc = -EINVAL;
			}
		if (!rc)
			*n = i + 1;
	}
	*pods = p;
	return rc;
}

int pf_agent_state_load(const char *path, struct pf_local_pod **pods, size_t *n,
			struct pf_set_table *sets, char *err, size_t err_len)
{
	json_error_t jerr;
	json_t *root, *list, *set_list;
	char inner[768] = "";
	int rc = 0;

	*pods = NULL;
	*n = 0;
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		FILE *f = fopen(path, "r");

		if (!f && errno == ENOENT)
			return -ENOENT;
		if (f)
			fclose(f);
		snprintf(err, err_len, "state %s: %s (line %d)", path, jerr.text, jerr.line);
		return -EINVAL;
	}
	list = json_object_get(root, "pods");
	set_list = json_object_get(root, "sets");
	if (!json_is_integer(json_object_get(root, "version")) ||
	    json_integer_value(json_object_get(root, "version")) != PF_AGENT_STATE_VERSION) {
		snprintf(inner, sizeof(inner), "\"version\" must be %d", PF_AGENT_STATE_VERSION);
		rc = -EINVAL;
	} else if (!json_is_array(list) || !json_is_array(set_list)) {
		snprintf(inner, sizeof(inner), "\"pods\" and \"sets\" must be lists");
		rc = -EINVAL;
	}
	for (size_t i = 0; !rc && i < json_array_size(set_list); i++)
		rc = pf_state_set(json_array_get(set_list, i), i, sets, inner, sizeof(inner));
	if (!rc)
		rc = pf_state_pods(list, pods, n, inner, sizeof(inner));
	/* A pod bound to a set the file has no key for (it was being changed):
	 * the set is kept under its id with its contents unknown, so it is
	 * rewritten in place rather than left behind. */
	for (size_t i = 0; !rc && i < *n; i++) {
		uint32_t id = (*pods)[i].set_id;

		if (id && !pf_set_table_get(sets, id) &&
		    pf_set_table_restore(sets, id, 0, false, 0, 0, 0)) {
			snprintf(inner, sizeof(inner), "out of memory");
			rc = -ENOMEM;
		}
		pf_set_table_move(sets, 0, id);
	}
	json_decref(root);
	if (rc) {
		for (size_t i = 0; i < *n; i++)
			pf_local_pod_free(&(*pods)[i]);
		free(*pods);
		*pods = NULL;
		*n = 0;
		pf_set_table_free(sets);
		snprintf(err, err_len, "state %s: %s", path, inner);
	}
	return rc;
}
