// SPDX-License-Identifier: Apache-2.0
/*
 * YAML to JSON through libyaml's event parser (the document loader tags every
 * untagged scalar as a string, so it cannot tell "80" from 80). Scalars are
 * resolved with the YAML 1.2 core schema. Aliases are expanded by copy, with
 * a cap on the total so a "billion laughs" document is rejected, not
 * followed; an anchor is known only once its node is complete, so an alias
 * can never refer to a node that contains it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "k8s_yaml.h"

#define PF_YAML_MAX_DEPTH 100
#define PF_YAML_MAX_NODES (1u << 20) /* values built, alias copies included */

struct pf_yframe {
	json_t *node;     /* borrowed: the parent (or the document) holds it */
	char *key;        /* mappings: the key waiting for its value */
	char *anchor;
	size_t start_nodes;
	bool is_items;    /* the "items" list of the document's top mapping */
};

struct pf_yanchor {
	char *name;
	json_t *value;
	size_t nodes;
};

struct pf_yconv {
	const char *name;
	char *err;
	size_t err_len;
	unsigned doc;
	struct pf_yframe stack[PF_YAML_MAX_DEPTH];
	size_t depth;
	struct pf_yanchor *anchors;
	size_t n_anchors;
	size_t nodes;
	struct pf_yaml_doc cur;
};

static int pf_yfail(struct pf_yconv *c, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int pf_yfail(struct pf_yconv *c, const yaml_mark_t *m, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->err_len, "%s document %u (line %zu, column %zu): %s", c->name,
		 c->doc, m->line + 1, m->column + 1, what);
	return -EINVAL;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool pf_is_core_float(const char *s)
{
	size_t digits = 0;

	if (*s == '-' || *s == '+')
		s++;
	while (isdigit((unsigned char)*s))
		s++, digits++;
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char)*s))
			s++, digits++;
	}
	if (!digits)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return !*s;
}

static bool pf_is_int(const char *s, int base)
{
	if (base == 10 && (*s == '-' || *s == '+'))
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (base == 16 ? !isxdigit((unsigned char)*s) :
		    base == 8 ? (*s < '0' || *s > '7') : !isdigit((unsigned char)*s))
			return false;
	return true;
}

static json_t *pf_yaml_int(const char *s, bool *bad)
{
	int base = 10;
	long long v;
	char *end;

	if (!strncmp(s, "0x", 2) || !strncmp(s, "0o", 2)) {
		base = s[1] == 'x' ? 16 : 8;
		s += 2;
	}
	if (!pf_is_int(s, base))
		return NULL;
	errno = 0;
	v = strtoll(s, &end, base);
	if (errno == ERANGE) {
		if (base != 10) {
			*bad = true;
			return NULL;
		}
		return json_real(strtod(s, NULL));
	}
	return json_integer(v);
}

/* Resolves a plain untagged scalar (YAML 1.2 core schema). */
static json_t *pf_yaml_plain(const char *s, size_t len, bool *bad)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	static const char *const trues[] = { "true", "True", "TRUE" };
	static const char *const falses[] = { "false", "False", "FALSE" };
	json_t *v;

	for (size_t i = 0; i < 5; i++)
		if (!strcmp(s, nulls[i]))
			return json_null();
	for (size_t i = 0; i < 3; i++) {
		if (!strcmp(s, trues[i]))
			return json_true();
		if (!strcmp(s, falses[i]))
			return json_false();
	}
	if ((v = pf_yaml_int(s, bad)) || *bad)
		return v;
	if (pf_is_core_float(s))
		return json_real(strtod(s, NULL));
	const char *unsigned_s = s + (*s == '-' || *s == '+');

	if (!strcmp(unsigned_s, ".inf") || !strcmp(unsigned_s, ".Inf") ||
	    !strcmp(unsigned_s, ".INF") || !strcmp(s, ".nan") || !strcmp(s, ".NaN") ||
	    !strcmp(s, ".NAN")) {
		*bad = true; /* JSON has no infinity or NaN */
		return NULL;
	}
	return json_stringn(s, len);
}

static json_t *pf_yaml_scalar(struct pf_yconv *c, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value, *tag;
	size_t len = ev->data.scalar.length;
	bool bad = false;
	json_t *v;

	tag = (const char *)ev->data.scalar.tag;
	if (!tag) {
		v = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? pf_yaml_plain(s, len, &bad)
								    : json_stringn(s, len);
	} else if (!strcmp(tag, YAML_NULL_TAG) || !strcmp(tag, YAML_BOOL_TAG) ||
		   !strcmp(tag, YAML_INT_TAG) || !strcmp(tag, YAML_FLOAT_TAG)) {
		v = pf_yaml_plain(s, len, &bad);
		/* The tag must agree with what the text is. */
		if (v && !((!strcmp(tag, YAML_NULL_TAG) && json_is_null(v)) ||
			   (!strcmp(tag, YAML_BOOL_TAG) && json_is_boolean(v)) ||
			   (!strcmp(tag, YAML_INT_TAG) && json_is_integer(v)) ||
			   (!strcmp(tag, YAML_FLOAT_TAG) && json_is_number(v)))) {
			json_decref(v);
			v = NULL;
			bad = true;
		}
	} else {
		v = json_stringn(s, len); /* !!str and application tags */
	}
	if (!v) {
		pf_yfail(c, &ev->start_mark, bad ? "scalar \"%s\" cannot be represented as "
			 "JSON of its type" : "scalar \"%s\" is not valid UTF-8", s);
		return NULL;
	}
	c->nodes++;
	return v;
}

static int pf_yanchor_add(struct pf_yconv *c, const char *name, json_t *v, size_t nodes)
{
	struct pf_yanchor *a = realloc(c->anchors, (c->n_anchors + 1) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	c->anchors = a;
	a = &c->anchors[c->n_anchors];
	a->name = strdup(name);
	if (!a->name)
		return -ENOMEM;
	a->value = json_incref(v);
	a->nodes = nodes;
	c->n_anchors++;
	return 0;
}

static json_t *pf_yalias(struct pf_yconv *c, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;

	/* The latest definition of a name wins (anchors may be redefined). */
	for (size_t i = c->n_anchors; i-- > 0;) {
		if (strcmp(c->anchors[i].name, name))
			continue;
		c->nodes += c->anchors[i].nodes;
		if (c->nodes > PF_YAML_MAX_NODES) {
			pf_yfail(c, &ev->start_mark, "alias *%s expands past the size limit", name);
			return NULL;
		}
		return json_deep_copy(c->anchors[i].value);
	}
	pf_yfail(c, &ev->start_mark, "alias *%s names no anchor defined before it", name);
	return NULL;
}

/* Places v (a new reference, consumed) into the enclosing node. */
static int pf_yplace(struct pf_yconv *c, json_t *v, const yaml_event_t *ev)
{
	struct pf_yframe *f = c->depth ? &c->stack[c->depth - 1] : NULL;
	int rc = 0;

	if (!f) {
		c->cur.value = v;
		c->cur.line = (unsigned)ev->start_mark.line + 1;
		return 0;
	}
	if (f->is_items) {
		unsigned *l = realloc(c->cur.item_lines, (c->cur.n_items + 1) * sizeof(*l));

		if (!l) {
			json_decref(v);
			return -ENOMEM;
		}
		c->cur.item_lines = l;
		l[c->cur.n_items++] = (unsigned)ev->start_mark.line + 1;
	}
	if (json_is_array(f->node))
		return json_array_append_new(f->node, v) ? -ENOMEM : 0;
	if (!f->key) {
		if (!json_is_string(v)) {
			json_decref(v);
			return pf_yfail(c, &ev->start_mark, "mapping keys must be scalars");
		}
		if (json_object_get(f->node, json_string_value(v)))
			rc = pf_yfail(c, &ev->start_mark, "duplicate mapping key \"%s\"",
				      json_string_value(v));
		else if (!(f->key = strdup(json_string_value(v))))
			rc = -ENOMEM;
		json_decref(v);
		return rc;
	}
	rc = json_object_set_new(f->node, f->key, v) ? -ENOMEM : 0;
	free(f->key);
	f->key = NULL;
	return rc;
}

static json_t *pf_ykey_scalar(struct pf_yconv *c, const yaml_event_t *ev)
{
	/* A key is the scalar's text whatever it resolves to: 80: x is "80". */
	json_t *k = json_stringn((const char *)ev->data.scalar.value, ev->data.scalar.length);

	if (!k)
		pf_yfail(c, &ev->start_mark, "key \"%s\" is not valid UTF-8",
			 (const char *)ev->data.scalar.value);
	return k;
}

static bool pf_yexpects_key(const struct pf_yconv *c)
{
	const struct pf_yframe *f = c->depth ? &c->stack[c->depth - 1] : NULL;

	return f && json_is_object(f->node) && !f->key;
}

static int pf_ypush(struct pf_yconv *c, const yaml_event_t *ev, bool is_map)
{
	const char *anchor = (const char *)(is_map ? ev->data.mapping_start.anchor
						   : ev->data.sequence_start.anchor);
	json_t *node = is_map ? json_object() : json_array();
	struct pf_yframe *f;
	int rc;

	if (!node)
		return -ENOMEM;
	if (pf_yexpects_key(c)) {
		json_decref(node);
		return pf_yfail(c, &ev->start_mark, "mapping keys must be scalars");
	}
	if (c->depth == PF_YAML_MAX_DEPTH) {
		json_decref(node);
		return pf_yfail(c, &ev->start_mark, "nesting deeper than %d levels", PF_YAML_MAX_DEPTH);
	}
	bool is_items = !is_map && c->depth == 1 && json_is_object(c->stack[0].node) &&
			c->stack[0].key && !strcmp(c->stack[0].key, "items");
	rc = pf_yplace(c, json_incref(node), ev);
	f = &c->stack[c->depth];
	memset(f, 0, sizeof(*f));
	f->node = node;
	json_decref(node); /* the parent (or cur.value) holds it now */
	if (rc)
		return rc;
	c->depth++;
	c->nodes++;
	f->start_nodes = c->nodes;
	f->is_items = is_items;
	if (anchor && !(f->anchor = strdup(anchor)))
		return -ENOMEM;
	return 0;
}

static int pf_ypop(struct pf_yconv *c)
{
	struct pf_yframe *f = &c->stack[--c->depth];
	int rc = 0;

	if (f->anchor)
		rc = pf_yanchor_add(c, f->anchor, f->node, c->nodes - f->start_nodes + 1);
	free(f->anchor);
	free(f->key);
	return rc;
}

static int pf_yevent(struct pf_yconv *c, const yaml_event_t *ev)
{
	json_t *v;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		v = pf_yexpects_key(c) ? pf_ykey_scalar(c, ev) : pf_yaml_scalar(c, ev);
		if (!v)
			return -EINVAL;
		if (ev->data.scalar.anchor &&
		    pf_yanchor_add(c, (const char *)ev->data.scalar.anchor, v, 1)) {
			json_decref(v);
			return -ENOMEM;
		}
		return pf_yplace(c, v, ev);
	case YAML_ALIAS_EVENT:
		if (!(v = pf_yalias(c, ev)))
			return -EINVAL;
		return pf_yplace(c, v, ev);
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		if (c->nodes > PF_YAML_MAX_NODES)
			return pf_yfail(c, &ev->start_mark, "document larger than %u values",
					PF_YAML_MAX_NODES);
		return pf_ypush(c, ev, ev->type == YAML_MAPPING_START_EVENT);
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		return pf_ypop(c);
	default:
		return 0;
	}
}

static void pf_yconv_reset_doc(struct pf_yconv *c)
{
	while (c->depth)
		pf_ypop(c);
	for (size_t i = 0; i < c->n_anchors; i++) {
		free(c->anchors[i].name);
		json_decref(c->anchors[i].value);
	}
	free(c->anchors);
	c->anchors = NULL;
	c->n_anchors = 0;
	c->nodes = 0;
}

static int pf_ydoc_push(struct pf_yaml_doc **docs, size_t *n, struct pf_yaml_doc *d)
{
	struct pf_yaml_doc *nd = realloc(*docs, (*n + 1) * sizeof(*nd));

	if (!nd)
		return -ENOMEM;
	*docs = nd;
	nd[(*n)++] = *d;
	memset(d, 0, sizeof(*d));
	return 0;
}

int pf_yaml_to_json(const char *name, const char *text, size_t len, struct pf_yaml_doc **docs,
		    size_t *n_docs, char *err, size_t err_len)
{
	struct pf_yconv c = { .name = name, .err = err, .err_len = err_len };
	yaml_parser_t parser;
	yaml_event_t ev;
	bool done = false;
	int rc = 0;

	*docs = NULL;
	*n_docs = 0;
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, err_len, "%s: cannot set up the YAML parser", name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && !rc) {
		if (!yaml_parser_parse(&parser, &ev)) {
			snprintf(err, err_len, "%s document %u (line %zu, column %zu): %s%s%s", name,
				 c.doc ? c.doc : 1, parser.problem_mark.line + 1,
				 parser.problem_mark.column + 1,
				 parser.problem ? parser.problem : "invalid YAML",
				 parser.context ? " " : "", parser.context ? parser.context : "");
			rc = -EINVAL;
			break;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT)
			c.doc++;
		rc = pf_yevent(&c, &ev);
		if (!rc && ev.type == YAML_DOCUMENT_END_EVENT) {
			pf_yconv_reset_doc(&c);
			c.cur.doc = c.doc;
			if (c.cur.value && !json_is_null(c.cur.value))
				rc = pf_ydoc_push(docs, n_docs, &c.cur);
			json_decref(c.cur.value);
			free(c.cur.item_lines);
			memset(&c.cur, 0, sizeof(c.cur));
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	pf_yconv_reset_doc(&c);
	json_decref(c.cur.value);
	free(c.cur.item_lines);
	yaml_parser_delete(&parser);
	if (rc) {
		if (rc == -ENOMEM)
			snprintf(err, err_len, "%s document %u: out of memory", name, c.doc);
		pf_yaml_docs_free(*docs, *n_docs);
		*docs = NULL;
		*n_docs = 0;
	}
	return rc;
}

void pf_yaml_docs_free(struct pf_yaml_doc *docs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_decref(docs[i].value);
		free(docs[i].item_lines);
	}
	free(docs);
}
