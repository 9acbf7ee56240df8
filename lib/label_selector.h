/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes labels and label selectors (metav1.LabelSelector): parsing with
 * the API server's validation, and matching. matchLabels entries are kept as
 * In expressions with one value, so one matcher serves both forms. */
#ifndef PF_LABEL_SELECTOR_H
#define PF_LABEL_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* A label set, sorted by key, keys unique. */
struct pf_labels {
	char **keys;
	char **values;
	size_t n;
};

enum pf_sel_op {
	PF_SEL_IN,
	PF_SEL_NOT_IN,
	PF_SEL_EXISTS,
	PF_SEL_DOES_NOT_EXIST,
};

struct pf_sel_expr {
	char *key;
	enum pf_sel_op op;
	char **values;
	size_t n_values;
	bool from_match_labels; /* written back under matchLabels */
};

/* No expressions: matches every label set (the empty selector {}). An absent
 * selector is a NULL pointer; what it means is up to the caller. */
struct pf_label_selector {
	struct pf_sel_expr *exprs;
	size_t n;
};

/* Checks a label key (optional DNS subdomain prefix and '/', then a name of
 * at most 63 characters) and a label value (empty, or at most 63 characters
 * of [A-Za-z0-9-_.] starting and ending alphanumeric). On failure err says
 * why, without naming the field. */
int pf_label_key_check(const char *key, char *err, size_t err_len);
int pf_label_value_check(const char *value, char *err, size_t err_len);

/* Reads metadata.labels (NULL: no labels). path names the field in errors,
 * e.g. "metadata.labels". */
int pf_labels_from_json(json_t *j, const char *path, struct pf_labels *out, char *err,
			size_t err_len);
/* Sets key to value, replacing an existing value. */
int pf_labels_set(struct pf_labels *l, const char *key, const char *value);
const char *pf_labels_get(const struct pf_labels *l, const char *key);
int pf_labels_copy(struct pf_labels *dst, const struct pf_labels *src);
json_t *pf_labels_to_json(const struct pf_labels *l);
void pf_labels_free(struct pf_labels *l);

/* Reads a LabelSelector object. Errors name the field under path, e.g.
 * "spec.podSelector.matchExpressions[0].operator \"Has\" is not ...". */
int pf_label_selector_from_json(json_t *j, const char *path, struct pf_label_selector *out,
				char *err, size_t err_len);
bool pf_label_selector_matches(const struct pf_label_selector *s, const struct pf_labels *l);
/* True for the empty selector {}, which matches everything. */
static inline bool pf_label_selector_is_empty(const struct pf_label_selector *s)
{
	return s->n == 0;
}
/* Writes the selector back in the form it was read (matchLabels and
 * matchExpressions). */
json_t *pf_label_selector_to_json(const struct pf_label_selector *s);
int pf_label_selector_copy(struct pf_label_selector *dst, const struct pf_label_selector *src);
void pf_label_selector_free(struct pf_label_selector *s);

#endif
