// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_manifest.h"
#include "k8s_yaml.h"

static int pf_manifest_add(struct pf_manifest_list *l, json_t *obj, unsigned doc, int item,
			   unsigned line)
{
	struct pf_manifest_doc *d = realloc(l->docs, (l->n + 1) * sizeof(*d));

	if (!d)
		return -ENOMEM;
	l->docs = d;
	d[l->n++] = (struct pf_manifest_doc){ json_incref(obj), l->file, doc, item, line };
	return 0;
}

/* A List (kind "List", or "PodList" and the like as `kubectl get -o yaml`
 * writes them) stands for its items. */
static bool pf_is_list(json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	size_t n = kind ? strlen(kind) : 0;

	return n >= 4 && !strcmp(kind + n - 4, "List") &&
	       json_is_array(json_object_get(obj, "items"));
}

/* Adds a document, or a List's items. item_lines (may be NULL) gives each
 * item's line; without it every item gets the document's line. */
static int pf_manifest_add_doc(struct pf_manifest_list *l, json_t *obj, unsigned doc,
			       unsigned line, const unsigned *item_lines, size_t n_lines)
{
	json_t *item;
	size_t i;

	if (!pf_is_list(obj))
		return pf_manifest_add(l, obj, doc, -1, line);
	json_array_foreach(json_object_get(obj, "items"), i, item) {
		int e = pf_manifest_add(l, item, doc, (int)i, i < n_lines ? item_lines[i] : line);

		if (e)
			return e;
	}
	return 0;
}

static int pf_manifest_yaml(const char *text, size_t len, struct pf_manifest_list *l,
			    char *err, size_t err_len)
{
	struct pf_yaml_doc *docs;
	size_t n;
	int rc = pf_yaml_to_json(l->file, text, len, &docs, &n, err, err_len);

	for (size_t i = 0; !rc && i < n; i++) {
		/* Documents are numbered as they appear, empty ones included. */
		rc = pf_manifest_add_doc(l, docs[i].value, docs[i].doc, docs[i].line,
					 docs[i].item_lines, docs[i].n_items);
		if (rc)
			snprintf(err, err_len, "%s: out of memory", l->file);
	}
	pf_yaml_docs_free(docs, n);
	return rc;
}

static unsigned pf_count_lines(const char *s, size_t len)
{
	unsigned n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	return n;
}

/* One or more JSON values one after another, as `kubectl` accepts them. */
static int pf_manifest_json(const char *text, size_t len, struct pf_manifest_list *l,
			    char *err, size_t err_len)
{
	size_t off = 0;
	unsigned doc = 0;

	for (;;) {
		json_error_t jerr;
		unsigned line;
		json_t *v;
		int rc;

		while (off < len && strchr(" \t\r\n", text[off]))
			off++;
		if (off == len)
			return 0;
		doc++;
		line = pf_count_lines(text, off) + 1;
		v = json_loadb(text + off, len - off, JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES,
			       &jerr);
		if (!v) {
			snprintf(err, err_len, "%s document %u (line %u, column %d): %s", l->file, doc,
				 line + (unsigned)(jerr.line > 0 ? jerr.line - 1 : 0), jerr.column,
				 jerr.text);
			return -EINVAL;
		}
		rc = json_is_null(v) ? 0 : pf_manifest_add_doc(l, v, doc, line, NULL, 0);
		json_decref(v);
		if (rc) {
			snprintf(err, err_len, "%s: out of memory", l->file);
			return rc;
		}
		/* With JSON_DISABLE_EOF_CHECK, position is the bytes read. */
		off += (size_t)jerr.position;
	}
}

int pf_manifest_parse(const char *name, const char *text, size_t len,
		      struct pf_manifest_list *out, char *err, size_t err_len)
{
	size_t i = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->file = strdup(name);
	if (!out->file) {
		snprintf(err, err_len, "%s: out of memory", name);
		return -ENOMEM;
	}
	while (i < len && strchr(" \t\r\n", text[i]))
		i++;
	if (i < len && (text[i] == '{' || text[i] == '['))
		rc = pf_manifest_json(text, len, out, err, err_len);
	else
		rc = pf_manifest_yaml(text, len, out, err, err_len);
	if (rc)
		pf_manifest_list_free(out);
	return rc;
}

int pf_manifest_read_file(const char *path, struct pf_manifest_list *out, char *err,
			  size_t err_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len;
	long size;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!f) {
		rc = -errno;
		snprintf(err, err_len, "open %s: %s", path, strerror(-rc));
		return rc;
	}
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		rc = -errno;
		snprintf(err, err_len, "read %s: %s", path, strerror(-rc));
		fclose(f);
		return rc;
	}
	len = (size_t)size;
	buf = malloc(len + 1);
	if (!buf || fread(buf, 1, len, f) != len) {
		rc = buf ? -EIO : -ENOMEM;
		snprintf(err, err_len, "read %s: %s", path, strerror(-rc));
		free(buf);
		fclose(f);
		return rc;
	}
	fclose(f);
	buf[len] = 0;
	rc = pf_manifest_parse(path, buf, len, out, err, err_len);
	free(buf);
	return rc;
}

void pf_manifest_list_free(struct pf_manifest_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		json_decref(l->docs[i].obj);
	free(l->docs);
	free(l->file);
	memset(l, 0, sizeof(*l));
}

const char *pf_manifest_doc_where(const struct pf_manifest_doc *d, char *buf, size_t len)
{
	if (d->item >= 0)
		snprintf(buf, len, "%s document %u items[%d] (line %u)", d->file, d->doc, d->item,
			 d->line);
	else
		snprintf(buf, len, "%s document %u (line %u)", d->file, d->doc, d->line);
	return buf;
}
