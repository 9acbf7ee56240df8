// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_names.h"
#include "label_selector.h"

int pf_label_key_check(const char *key, char *err, size_t err_len)
{
	const char *slash = strchr(key, '/');
	const char *name = slash ? slash + 1 : key;

	if (slash && !pf_k8s_dns_subdomain_ok(key, (size_t)(slash - key))) {
		snprintf(err, err_len, "label key \"%s\": prefix must be a DNS subdomain "
			 "(lower case alphanumerics, '-', '.')", key);
		return -EINVAL;
	}
	if (!pf_k8s_label_name_ok(name, strlen(name))) {
		snprintf(err, err_len, "label key \"%s\": name must be 1-63 characters of "
			 "[A-Za-z0-9-_.], starting and ending alphanumeric", key);
		return -EINVAL;
	}
	return 0;
}

int pf_label_value_check(const char *value, char *err, size_t err_len)
{
	if (*value && !pf_k8s_label_name_ok(value, strlen(value))) {
		snprintf(err, err_len, "label value \"%s\" must be empty or 1-63 characters of "
			 "[A-Za-z0-9-_.], starting and ending alphanumeric", value);
		return -EINVAL;
	}
	return 0;
}

static size_t pf_labels_find(const struct pf_labels *l, const char *key, bool *found)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(l->keys[mid], key);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

const char *pf_labels_get(const struct pf_labels *l, const char *key)
{
	bool found;
	size_t i = pf_labels_find(l, key, &found);

	return found ? l->values[i] : NULL;
}

int pf_labels_set(struct pf_labels *l, const char *key, const char *value)
{
	bool found;
	size_t i = pf_labels_find(l, key, &found);
	char *v = strdup(value), *k = NULL, **nk, **nv;

	if (!v)
		return -ENOMEM;
	if (found) {
		free(l->values[i]);
		l->values[i] = v;
		return 0;
	}
	k = strdup(key);
	nk = realloc(l->keys, (l->n + 1) * sizeof(*nk));
	if (nk)
		l->keys = nk;
	nv = realloc(l->values, (l->n + 1) * sizeof(*nv));
	if (nv)
		l->values = nv;
	if (!k || !nk || !nv) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	memmove(&l->keys[i + 1], &l->keys[i], (l->n - i) * sizeof(*nk));
	memmove(&l->values[i + 1], &l->values[i], (l->n - i) * sizeof(*nv));
	l->keys[i] = k;
	l->values[i] = v;
	l->n++;
	return 0;
}

int pf_labels_copy(struct pf_labels *dst, const struct pf_labels *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->n; i++) {
		int e = pf_labels_set(dst, src->keys[i], src->values[i]);

		if (e) {
			pf_labels_free(dst);
			return e;
		}
	}
	return 0;
}

int pf_labels_from_json(json_t *j, const char *path, struct pf_labels *out, char *err,
			size_t err_len)
{
	const char *key;
	char why[320];
	json_t *v;
	int e = 0;

	memset(out, 0, sizeof(*out));
	if (!j || json_is_null(j))
		return 0;
	if (!json_is_object(j)) {
		snprintf(err, err_len, "%s must be a map of strings", path);
		return -EINVAL;
	}
	json_object_foreach(j, key, v) {
		if (!json_is_string(v)) {
			snprintf(err, err_len, "%s.%s must be a string", path, key);
			e = -EINVAL;
		} else if (pf_label_key_check(key, why, sizeof(why)) ||
			   pf_label_value_check(json_string_value(v), why, sizeof(why))) {
			snprintf(err, err_len, "%s: %s", path, why);
			e = -EINVAL;
		} else if ((e = pf_labels_set(out, key, json_string_value(v)))) {
			snprintf(err, err_len, "%s: out of memory", path);
		}
		if (e)
			break;
	}
	if (e)
		pf_labels_free(out);
	return e;
}

json_t *pf_labels_to_json(const struct pf_labels *l)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < l->n; i++)
		json_object_set_new(o, l->keys[i], json_string(l->values[i]));
	return o;
}

void pf_labels_free(struct pf_labels *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->keys[i]);
		free(l->values[i]);
	}
	free(l->keys);
	free(l->values);
	memset(l, 0, sizeof(*l));
}

static const char *const pf_sel_op_names[] = {
	[PF_SEL_IN] = "In",
	[PF_SEL_NOT_IN] = "NotIn",
	[PF_SEL_EXISTS] = "Exists",
	[PF_SEL_DOES_NOT_EXIST] = "DoesNotExist",
};

static int pf_sel_add(struct pf_label_selector *s, struct pf_sel_expr *x)
{
	struct pf_sel_expr *n = realloc(s->exprs, (s->n + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	s->exprs = n;
	s->exprs[s->n++] = *x;
	return 0;
}

static void pf_sel_expr_free(struct pf_sel_expr *x)
{
	for (size_t i = 0; i < x->n_values; i++)
		free(x->values[i]);
	free(x->values);
	free(x->key);
}

static int pf_sel_match_labels(json_t *ml, const char *path, struct pf_label_selector *s,
			       char *err, size_t err_len)
{
	const char *key;
	char why[320];
	json_t *v;

	if (!ml || json_is_null(ml))
		return 0;
	if (!json_is_object(ml)) {
		snprintf(err, err_len, "%s.matchLabels must be a map of strings", path);
		return -EINVAL;
	}
	json_object_foreach(ml, key, v) {
		struct pf_sel_expr x = { .op = PF_SEL_IN, .from_match_labels = true };

		if (!json_is_string(v)) {
			snprintf(err, err_len, "%s.matchLabels.%s must be a string", path, key);
			return -EINVAL;
		}
		if (pf_label_key_check(key, why, sizeof(why)) ||
		    pf_label_value_check(json_string_value(v), why, sizeof(why))) {
			snprintf(err, err_len, "%s.matchLabels: %s", path, why);
			return -EINVAL;
		}
		x.key = strdup(key);
		x.values = calloc(1, sizeof(*x.values));
		if (x.values)
			x.values[x.n_values++] = strdup(json_string_value(v));
		if (!x.key || !x.values || !x.values[0] || pf_sel_add(s, &x)) {
			pf_sel_expr_free(&x);
			snprintf(err, err_len, "%s.matchLabels: out of memory", path);
			return -ENOMEM;
		}
	}
	return 0;
}

static int pf_sel_expr_from_json(json_t *j, const char *path, struct pf_sel_expr *x,
				 char *err, size_t err_len)
{
	json_t *key = json_object_get(j, "key"), *op = json_object_get(j, "operator");
	json_t *values = json_object_get(j, "values"), *v;
	char why[320];
	size_t i;
	int o;

	if (!json_is_object(j)) {
		snprintf(err, err_len, "%s must be an object", path);
		return -EINVAL;
	}
	if (!json_is_string(key)) {
		snprintf(err, err_len, "%s.key is missing or not a string", path);
		return -EINVAL;
	}
	if (pf_label_key_check(json_string_value(key), why, sizeof(why))) {
		snprintf(err, err_len, "%s.key: %s", path, why);
		return -EINVAL;
	}
	for (o = 0; o < 4; o++)
		if (json_is_string(op) && !strcmp(json_string_value(op), pf_sel_op_names[o]))
			break;
	if (o == 4) {
		snprintf(err, err_len, "%s.operator %s%s%s is not In, NotIn, Exists or DoesNotExist",
			 path, json_is_string(op) ? "\"" : "",
			 json_is_string(op) ? json_string_value(op) : "(missing)",
			 json_is_string(op) ? "\"" : "");
		return -EINVAL;
	}
	x->op = (enum pf_sel_op)o;
	if (values && !json_is_null(values) && !json_is_array(values)) {
		snprintf(err, err_len, "%s.values must be a list of strings", path);
		return -EINVAL;
	}
	/* metav1 validation: In/NotIn need values, Exists/DoesNotExist take none. */
	if ((x->op == PF_SEL_IN || x->op == PF_SEL_NOT_IN) && !json_array_size(values)) {
		snprintf(err, err_len, "%s.values must be non-empty when operator is %s", path,
			 pf_sel_op_names[o]);
		return -EINVAL;
	}
	if ((x->op == PF_SEL_EXISTS || x->op == PF_SEL_DOES_NOT_EXIST) &&
	    json_array_size(values)) {
		snprintf(err, err_len, "%s.values must be empty when operator is %s", path,
			 pf_sel_op_names[o]);
		return -EINVAL;
	}
	x->key = strdup(json_string_value(key));
	x->values = calloc(json_array_size(values) + 1, sizeof(*x->values));
	if (!x->key || !x->values) {
		snprintf(err, err_len, "%s: out of memory", path);
		return -ENOMEM;
	}
	json_array_foreach(values, i, v) {
		if (!json_is_string(v)) {
			snprintf(err, err_len, "%s.values[%zu] must be a string", path, i);
			return -EINVAL;
		}
		if (pf_label_value_check(json_string_value(v), why, sizeof(why))) {
			snprintf(err, err_len, "%s.values[%zu]: %s", path, i, why);
			return -EINVAL;
		}
		x->values[x->n_values] = strdup(json_string_value(v));
		if (!x->values[x->n_values++]) {
			snprintf(err, err_len, "%s: out of memory", path);
			return -ENOMEM;
		}
	}
	return 0;
}

int pf_label_selector_from_json(json_t *j, const char *path, struct pf_label_selector *out,
				char *err, size_t err_len)
{
	json_t *exprs, *e;
	char sub[512];
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j)) {
		snprintf(err, err_len, "%s must be an object", path);
		return -EINVAL;
	}
	rc = pf_sel_match_labels(json_object_get(j, "matchLabels"), path, out, err, err_len);
	exprs = json_object_get(j, "matchExpressions");
	if (!rc && exprs && !json_is_null(exprs) && !json_is_array(exprs)) {
		snprintf(err, err_len, "%s.matchExpressions must be a list", path);
		rc = -EINVAL;
	}
	json_array_foreach(exprs, i, e) {
		struct pf_sel_expr x = { 0 };

		if (rc)
			break;
		snprintf(sub, sizeof(sub), "%s.matchExpressions[%zu]", path, i);
		rc = pf_sel_expr_from_json(e, sub, &x, err, err_len);
		if (!rc && pf_sel_add(out, &x)) {
			snprintf(err, err_len, "%s: out of memory", sub);
			rc = -ENOMEM;
		}
		if (rc)
			pf_sel_expr_free(&x);
	}
	if (rc)
		pf_label_selector_free(out);
	return rc;
}

static bool pf_sel_expr_matches(const struct pf_sel_expr *x, const struct pf_labels *l)
{
	const char *v = pf_labels_get(l, x->key);
	bool in = false;

	switch (x->op) {
	case PF_SEL_EXISTS:
		return v != NULL;
	case PF_SEL_DOES_NOT_EXIST:
		return v == NULL;
	case PF_SEL_IN:
	case PF_SEL_NOT_IN:
		for (size_t i = 0; v && i < x->n_values && !in; i++)
			in = !strcmp(v, x->values[i]);
		/* NotIn also matches when the key is absent (labels.Selector). */
		return x->op == PF_SEL_IN ? in : !in;
	}
	return false;
}

bool pf_label_selector_matches(const struct pf_label_selector *s, const struct pf_labels *l)
{
	for (size_t i = 0; i < s->n; i++)
		if (!pf_sel_expr_matches(&s->exprs[i], l))
			return false;
	return true;
}

json_t *pf_label_selector_to_json(const struct pf_label_selector *s)
{
	json_t *o = json_object(), *ml = json_object(), *exprs = json_array();

	for (size_t i = 0; i < s->n; i++) {
		const struct pf_sel_expr *x = &s->exprs[i];
		json_t *vals, *e;

		if (x->from_match_labels) {
			json_object_set_new(ml, x->key, json_string(x->values[0]));
			continue;
		}
		e = json_pack("{s:s, s:s}", "key", x->key, "operator", pf_sel_op_names[x->op]);
		if (x->n_values) {
			vals = json_array();
			for (size_t v = 0; v < x->n_values; v++)
				json_array_append_new(vals, json_string(x->values[v]));
			json_object_set_new(e, "values", vals);
		}
		json_array_append_new(exprs, e);
	}
	if (json_object_size(ml))
		json_object_set_new(o, "matchLabels", ml);
	else
		json_decref(ml);
	if (json_array_size(exprs))
		json_object_set_new(o, "matchExpressions", exprs);
	else
		json_decref(exprs);
	return o;
}

int pf_label_selector_copy(struct pf_label_selector *dst, const struct pf_label_selector *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->n; i++) {
		const struct pf_sel_expr *x = &src->exprs[i];
		struct pf_sel_expr y = { .key = strdup(x->key), .op = x->op,
					 .from_match_labels = x->from_match_labels };
		bool ok = y.key && (y.values = calloc(x->n_values + 1, sizeof(*y.values)));

		for (size_t v = 0; ok && v < x->n_values; v++)
			ok = (y.values[y.n_values++] = strdup(x->values[v])) != NULL;
		if (!ok || pf_sel_add(dst, &y)) {
			pf_sel_expr_free(&y);
			pf_label_selector_free(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

void pf_label_selector_free(struct pf_label_selector *s)
{
	for (size_t i = 0; i < s->n; i++)
		pf_sel_expr_free(&s->exprs[i]);
	free(s->exprs);
	memset(s, 0, sizeof(*s));
}
