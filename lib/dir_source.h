/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dir: source: a directory of Kubernetes manifests (*.yaml, *.yml,
 * *.json; several documents a file), watched with inotify, fed into a sink
 * (the agent puts them in its object cache).
 *
 * Every file's objects are tracked, so removing a document or a file
 * deletes exactly its objects. Only what changed reaches the sink: an object
 * whose JSON is the same as last time is not put again. A file that does not
 * parse keeps all its previous objects; a document whose kind or name cannot
 * be read keeps the previous objects of its file that are no longer in it
 * (the source cannot tell which of them the broken document was meant to
 * be). Validation is the sink's: a put it refuses is reported with where the
 * object came from, and the sink keeps the previous good version.
 *
 * Names starting with '.' and without a manifest suffix (editor swap and
 * backup files, vim's 4913 probe) are passed over; an event on a name
 * starting with ".." (a ConfigMap volume swapping its ..data link) rescans
 * the directory.
 */
#ifndef PF_DIR_SOURCE_H
#define PF_DIR_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "k8s_objects.h"

/* Objects are kept as compact JSON text (keys sorted), which is a tenth of
 * the size of a JSON tree: an agent holds thousands of them. */
struct pf_dir_object {
	enum pf_k8s_kind kind;
	char *ns;    /* NULL for a Namespace */
	char *name;
	json_t *obj; /* the document (or List item) as read; only while it is put */
	char *text;  /* obj as text, to tell whether it changed */
	char *good;  /* text of the version the sink last took (the one in force), or NULL */
	char *where; /* "DIR/file.yaml document 2 (line 14)" */
};

struct pf_dir_sink {
	/* An object appeared or changed. Returns 0, or -errno with err naming
	 * the object and the field (the source adds where it came from). */
	int (*put)(void *ctx, const struct pf_dir_object *o, char *err, size_t err_len);
	/* No file holds the object any more. */
	void (*del)(void *ctx, enum pf_k8s_kind kind, const char *ns, const char *name);
	/* A file, document or object that was not taken, with where. */
	void (*error)(void *ctx, const char *msg);
	/* The objects a file contributes (or their good versions) may have
	 * changed; NULL when nobody keeps track. */
	void (*file_changed)(void *ctx, const char *file);
	void *ctx;
};

struct pf_dir_source;

/* Opens the directory and starts watching it (nothing is read yet).
 * Returns 0 or -errno with err naming the directory. */
int pf_dir_source_open(const char *dir, struct pf_dir_source **out, char *err, size_t err_len);
void pf_dir_source_free(struct pf_dir_source *s);

/* The inotify descriptor (non-blocking) to poll for readability. */
int pf_dir_source_fd(const struct pf_dir_source *s);
const char *pf_dir_source_dir(const struct pf_dir_source *s);

/* True for the names the source reads: not hidden, ending .yaml/.yml/.json. */
bool pf_dir_source_is_manifest(const char *name);

/* Reads every manifest of the directory and forgets files that are gone:
 * the first load, and the recovery from an inotify queue overflow. */
int pf_dir_source_scan(struct pf_dir_source *s, const struct pf_dir_sink *sink);
/* Drains pending inotify events. Returns how many concern manifests (a
 * sync is due when > 0), or -errno. */
int pf_dir_source_read_events(struct pf_dir_source *s);
/* Reloads the files the events named (or rescans after an overflow). A
 * file that disappeared and came back within one burst (an editor's
 * rename-and-write) is simply reloaded. */
int pf_dir_source_sync(struct pf_dir_source *s, const struct pf_dir_sink *sink);

/* Installs a file's objects as a previous run left them in force (objs: a
 * JSON list of their good versions, taken as they are), putting each into the sink, without
 * reading the file. The next scan compares the file with them, so after a
 * restart a file that does not parse, or an object that does not validate,
 * keeps what was in force before, as it would have without the restart.
 * Returns 0, or -EINVAL when objs is not a list (reported). */
int pf_dir_source_seed(struct pf_dir_source *s, const char *file, json_t *objs,
		       const struct pf_dir_sink *sink);

/* The objects a file contributes (NULL when the source holds none). */
const struct pf_dir_object *pf_dir_source_file_objects(const struct pf_dir_source *s,
							const char *file, size_t *n);

#endif
