/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a file of Kubernetes manifests, YAML (several documents separated
 * by ---) or JSON (one or more objects), into JSON objects that remember
 * where they came from, so every later error can say
 * "file.yaml document 2 (line 14): ...". A List (kind: List, or any *List
 * with items) is expanded into its items. */
#ifndef PF_K8S_MANIFEST_H
#define PF_K8S_MANIFEST_H

#include <stddef.h>
#include <jansson.h>

struct pf_manifest_doc {
	json_t *obj;       /* owned; the document (or List item) as JSON */
	const char *file;  /* the list's copy of the file name */
	unsigned doc;      /* 1-based document index within the file */
	int item;          /* index in the List's items, or -1 */
	unsigned line;     /* 1-based line where the document (or item) starts */
};

struct pf_manifest_list {
	char *file;
	struct pf_manifest_doc *docs;
	size_t n;
};

/*
 * Parses text as YAML or JSON (JSON when its first non-blank character is
 * '{' or '['). name is used in errors. YAML scalars follow the YAML 1.2 core
 * schema as Kubernetes reads them: plain 80 is an integer, plain true/false
 * booleans, plain null/~/empty null, plain 1.5 a number; quoted scalars stay
 * strings; explicit tags (!!str, !!int, ...) win. Empty documents are
 * skipped. Returns 0, or -EINVAL with err naming the file, document and line.
 */
int pf_manifest_parse(const char *name, const char *text, size_t len,
		      struct pf_manifest_list *out, char *err, size_t err_len);
/* Reads and parses a file; -errno when it cannot be read. */
int pf_manifest_read_file(const char *path, struct pf_manifest_list *out, char *err,
			  size_t err_len);
void pf_manifest_list_free(struct pf_manifest_list *l);

/* "file.yaml document 2 (line 14)" or "file.yaml document 1 items[3] (line 20)". */
const char *pf_manifest_doc_where(const struct pf_manifest_doc *d, char *buf, size_t len);

#endif
