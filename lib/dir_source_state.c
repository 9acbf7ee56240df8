// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "atomic_file.h"
#include "dir_source_state.h"

#define PF_DIR_STATE_VERSION 1
#define PF_DIR_STATE_SUFFIX ".json"

static int pf_dir_state_path(const char *state_dir, const char *file, char *path, size_t len)
{
	return (size_t)snprintf(path, len, "%s/%s" PF_DIR_STATE_SUFFIX, state_dir, file) >= len
		       ? -ENAMETOOLONG
		       : 0;
}

int pf_dir_state_save(const char *state_dir, const struct pf_dir_source *s, const char *file,
		      char *err, size_t err_len)
{
	const struct pf_dir_object *objs;
	json_t *list = json_array(), *root;
	char path[PATH_MAX], *text;
	size_t n;
	int rc;

	if (pf_dir_state_path(state_dir, file, path, sizeof(path))) {
		json_decref(list);
		snprintf(err, err_len, "save objects of %s: path too long", file);
		return -ENAMETOOLONG;
	}
	objs = pf_dir_source_file_objects(s, file, &n);
	for (size_t i = 0; list && i < n; i++)
		if (objs[i].good &&
		    json_array_append_new(list, json_loads(objs[i].good, 0, NULL))) {
			json_decref(list);
			list = NULL;
		}
	if (list && !json_array_size(list)) {
		json_decref(list);
		if (unlink(path) && errno != ENOENT) {
			rc = -errno;
			snprintf(err, err_len, "remove %s: %s", path, strerror(-rc));
			return rc;
		}
		return 0;
	}
	root = list ? json_pack("{s:i, s:s, s:o}", "version", PF_DIR_STATE_VERSION, "file", file,
				"objects", list)
		    : NULL;
	text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	if (!text) {
		snprintf(err, err_len, "save objects of %s: out of memory", file);
		return -ENOMEM;
	}
	rc = pf_atomic_write(path, text, strlen(text), 0600);
	if (rc)
		snprintf(err, err_len, "save %s: %s", path, strerror(-rc));
	free(text);
	return rc;
}

static void pf_dir_state_error(const struct pf_dir_sink *sink, const char *path,
			       const char *why)
{
	char msg[PATH_MAX + 256];

	snprintf(msg, sizeof(msg), "saved objects %s: %s; passed over", path, why);
	sink->error(sink->ctx, msg);
}

static void pf_dir_state_load_one(const char *path, struct pf_dir_source *s,
				  const struct pf_dir_sink *sink)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	const char *file = json_string_value(json_object_get(root, "file"));
	json_t *version = json_object_get(root, "version");

	if (!root)
		pf_dir_state_error(sink, path, jerr.text);
	else if (!json_is_integer(version) || json_integer_value(version) != PF_DIR_STATE_VERSION)
		pf_dir_state_error(sink, path, "\"version\" is not 1");
	else if (!file || strchr(file, '/') || !pf_dir_source_is_manifest(file))
		pf_dir_state_error(sink, path, "\"file\" is not a manifest's name");
	else
		pf_dir_source_seed(s, file, json_object_get(root, "objects"), sink);
	json_decref(root);
}

int pf_dir_state_load(const char *state_dir, struct pf_dir_source *s,
		      const struct pf_dir_sink *sink)
{
	DIR *d = opendir(state_dir);
	struct dirent *de;
	char path[PATH_MAX];

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name), sl = strlen(PF_DIR_STATE_SUFFIX);

		if (de->d_name[0] == '.' || len <= sl ||
		    strcmp(de->d_name + len - sl, PF_DIR_STATE_SUFFIX) ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", state_dir, de->d_name) >=
			    sizeof(path))
			continue;
		pf_dir_state_load_one(path, s, sink);
	}
	closedir(d);
	return 0;
}
