// SPDX-License-Identifier: Apache-2.0
/* One resolution pass: source directory -> cache -> PolicyEndpoint files. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "controller.h"
#include "dir_source.h"
#include "k8s_manifest.h"
#include "k8s_objects.h"
#include "log.h"
#include "policy_endpoint.h"

#define PE_PREFIX "pe-"

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every manifest file, in name order, into the cache. A file or object that
 * does not parse or validate is named in the log and left out. */
static void load_source(const char *dir, struct pf_k8s_cache *cache)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, by_name);

	if (n < 0) {
		pf_err("read --source %s: %s", dir, strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		struct pf_manifest_list list = { 0 };
		char path[PATH_MAX], err[512], where[256];

		if (!pf_dir_source_is_manifest(names[i]->d_name))
			goto next;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (pf_manifest_read_file(path, &list, err, sizeof(err))) {
			pf_err("%s", err);
			goto next;
		}
		for (size_t d = 0; d < list.n; d++) {
			enum pf_k8s_kind kind;

			if (pf_k8s_cache_apply(cache, list.docs[d].obj, &kind, err, sizeof(err)))
				pf_err("%s: %s",
				       pf_manifest_doc_where(&list.docs[d], where, sizeof(where)), err);
		}
		pf_manifest_list_free(&list);
next:
		free(names[i]);
	}
	free(names);
}

static void pe_file(const struct pf_policy_endpoint *pe, char *buf, size_t len)
{
	snprintf(buf, len, PE_PREFIX "%s--%s.json", pe->ns, pe->name);
}

/* Removes PolicyEndpoint files no current PolicyEndpoint wrote. */
static void remove_stale(const char *out, struct pf_policy_endpoint **pes, size_t n)
{
	DIR *d = opendir(out);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char name[NAME_MAX + 1], path[PATH_MAX];
		bool live = false;

		if (strncmp(e->d_name, PE_PREFIX, strlen(PE_PREFIX)) ||
		    !strstr(e->d_name, ".json") || strstr(e->d_name, ".tmp"))
			continue;
		for (size_t i = 0; i < n && !live; i++) {
			pe_file(pes[i], name, sizeof(name));
			live = !strcmp(name, e->d_name);
		}
		if (live)
			continue;
		snprintf(path, sizeof(path), "%s/%s", out, e->d_name);
		if (unlink(path))
			pf_err("remove stale %s: %s", path, strerror(errno));
		else
			pf_info("removed %s: its NetworkPolicy is gone", path);
	}
	closedir(d);
}

int controller_sync(const struct controller_config *cfg)
{
	struct pf_policy_endpoint **pes = NULL;
	struct pf_k8s_cache cache;
	char err[512];
	size_t n = 0;
	int rc;

	pf_k8s_cache_init(&cache);
	load_source(cfg->source_dir, &cache);
	rc = pf_policy_endpoints_build(&cache, &pes, &n, err, sizeof(err));
	if (rc) {
		pf_err("resolve: %s", err);
		pf_k8s_cache_free(&cache);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *j = pf_policy_endpoint_to_json(pes[i]);
		char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
		char name[NAME_MAX + 1], path[PATH_MAX];
		int werr;

		json_decref(j);
		pe_file(pes[i], name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s", cfg->output_dir, name);
		werr = text ? pf_atomic_write(path, text, strlen(text), 0644) : -ENOMEM;
		free(text);
		if (werr) {
			pf_err("write %s: %s", path, strerror(-werr));
			rc = werr;
		}
	}
	remove_stale(cfg->output_dir, pes, n);
	pf_info("%zu PolicyEndpoint(s) in %s", n, cfg->output_dir);
	pf_policy_endpoints_free(pes, n);
	pf_k8s_cache_free(&cache);
	return rc;
}
