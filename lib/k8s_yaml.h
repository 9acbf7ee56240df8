/* SPDX-License-Identifier: Apache-2.0 */
/* YAML stream to JSON values, one per document, for k8s_manifest.c. */
#ifndef PF_K8S_YAML_H
#define PF_K8S_YAML_H

#include <stddef.h>
#include <jansson.h>

struct pf_yaml_doc {
	json_t *value;        /* the document's content (never null) */
	unsigned doc;         /* 1-based index in the stream, empty documents counted */
	unsigned line;        /* 1-based line where the document's content starts */
	unsigned *item_lines; /* start line of each element of a top-level "items" list */
	size_t n_items;
};

/* Converts every document of text. On error, err holds
 * "<name> document N (line L, column C): what" and the documents converted
 * so far are freed. */
int pf_yaml_to_json(const char *name, const char *text, size_t len, struct pf_yaml_doc **docs,
		    size_t *n_docs, char *err, size_t err_len);
void pf_yaml_docs_free(struct pf_yaml_doc *docs, size_t n);

#endif
