// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom_text.h"

enum pf_prom_kind { PF_PROM_COUNTER, PF_PROM_GAUGE, PF_PROM_HISTOGRAM };

static const char *const pf_prom_kind_names[] = { "counter", "gauge", "histogram" };

/* One label value's numbers. A histogram keeps per-bucket (not cumulative)
 * counts; the last bucket is +Inf. */
struct pf_prom_series {
	struct pf_prom_series *next;
	char *label_value; /* NULL for a metric without a label */
	double value;      /* counter, gauge; the sum for a histogram */
	uint64_t count;
	uint64_t *buckets;
};

struct pf_prom_metric {
	struct pf_prom_metric *next;
	struct pf_prom *reg;
	enum pf_prom_kind kind;
	char *name, *help, *label;
	double *bounds;
	size_t n_bounds;
	struct pf_prom_series *series, **series_tail;
};

struct pf_prom {
	pthread_mutex_t lock;
	struct pf_prom_metric *metrics, **tail;
};

struct pf_prom *pf_prom_new(void)
{
	struct pf_prom *reg = calloc(1, sizeof(*reg));

	if (!reg)
		return NULL;
	pthread_mutex_init(&reg->lock, NULL);
	reg->tail = &reg->metrics;
	return reg;
}

static void pf_prom_series_free(struct pf_prom_series *s)
{
	free(s->label_value);
	free(s->buckets);
	free(s);
}

static void pf_prom_metric_free(struct pf_prom_metric *m)
{
	while (m->series) {
		struct pf_prom_series *next = m->series->next;

		pf_prom_series_free(m->series);
		m->series = next;
	}
	free(m->name);
	free(m->help);
	free(m->label);
	free(m->bounds);
	free(m);
}

void pf_prom_free(struct pf_prom *reg)
{
	if (!reg)
		return;
	while (reg->metrics) {
		struct pf_prom_metric *next = reg->metrics->next;

		pf_prom_metric_free(reg->metrics);
		reg->metrics = next;
	}
	pthread_mutex_destroy(&reg->lock);
	free(reg);
}

/* Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*; label names the same without ':'. */
static bool pf_prom_name_ok(const char *name, bool colon)
{
	if (!name || !*name || (*name >= '0' && *name <= '9'))
		return false;
	for (const char *p = name; *p; p++) {
		bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || *p == '_';

		if (!alnum && !(colon && *p == ':'))
			return false;
	}
	return true;
}

static struct pf_prom_series *pf_prom_series_new(struct pf_prom_metric *m,
						 const char *label_value)
{
	struct pf_prom_series *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if ((label_value && !(s->label_value = strdup(label_value))) ||
	    (m->kind == PF_PROM_HISTOGRAM &&
	     !(s->buckets = calloc(m->n_bounds + 1, sizeof(*s->buckets))))) {
		pf_prom_series_free(s);
		return NULL;
	}
	*m->series_tail = s;
	m->series_tail = &s->next;
	return s;
}

static struct pf_prom_metric *pf_prom_register(struct pf_prom *reg, enum pf_prom_kind kind,
					       const char *name, const char *help,
					       const char *label, const double *bounds,
					       size_t n_bounds)
{
	struct pf_prom_metric *m;

	if (!pf_prom_name_ok(name, true) || (label && !pf_prom_name_ok(label, false)) ||
	    (label && kind == PF_PROM_HISTOGRAM && !strcmp(label, "le")))
		return NULL;
	for (size_t i = 1; i < n_bounds; i++)
		if (!(bounds[i] > bounds[i - 1]))
			return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->reg = reg;
	m->kind = kind;
	m->series_tail = &m->series;
	m->n_bounds = n_bounds;
	if (!(m->name = strdup(name)) || !(m->help = strdup(help ? help : "")) ||
	    (label && !(m->label = strdup(label))) ||
	    (n_bounds && !(m->bounds = malloc(n_bounds * sizeof(*bounds)))) ||
	    (!label && !pf_prom_series_new(m, NULL))) {
		pf_prom_metric_free(m);
		return NULL;
	}
	if (n_bounds)
		memcpy(m->bounds, bounds, n_bounds * sizeof(*bounds));

	pthread_mutex_lock(&reg->lock);
	for (struct pf_prom_metric *o = reg->metrics; o; o = o->next) {
		if (!strcmp(o->name, name)) {
			pthread_mutex_unlock(&reg->lock);
			pf_prom_metric_free(m);
			return NULL;
		}
	}
	*reg->tail = m;
	reg->tail = &m->next;
	pthread_mutex_unlock(&reg->lock);
	return m;
}

struct pf_prom_metric *pf_prom_counter(struct pf_prom *reg, const char *name, const char *help,
				       const char *label)
{
	return pf_prom_register(reg, PF_PROM_COUNTER, name, help, label, NULL, 0);
}

struct pf_prom_metric *pf_prom_gauge(struct pf_prom *reg, const char *name, const char *help,
				     const char *label)
{
	return pf_prom_register(reg, PF_PROM_GAUGE, name, help, label, NULL, 0);
}

struct pf_prom_metric *pf_prom_histogram(struct pf_prom *reg, const char *name,
					 const char *help, const char *label,
					 const double *bounds, size_t n_bounds)
{
	return pf_prom_register(reg, PF_PROM_HISTOGRAM, name, help, label, bounds, n_bounds);
}

/* Finds or makes the series of label_value; the registry lock is held. */
static int pf_prom_series_get(struct pf_prom_metric *m, const char *label_value,
			      struct pf_prom_series **out)
{
	if (!m->label != !label_value)
		return -EINVAL;
	for (struct pf_prom_series *s = m->series; s; s = s->next) {
		if (!label_value || !strcmp(s->label_value, label_value)) {
			*out = s;
			return 0;
		}
	}
	*out = pf_prom_series_new(m, label_value);
	return *out ? 0 : -ENOMEM;
}

enum pf_prom_op { PF_PROM_OP_ADD, PF_PROM_OP_SET, PF_PROM_OP_OBSERVE };

static int pf_prom_update(struct pf_prom_metric *m, const char *label_value, double v,
			  enum pf_prom_op op)
{
	struct pf_prom_series *s;
	bool ok;
	int err;

	switch (op) {
	case PF_PROM_OP_ADD:
		ok = m->kind == PF_PROM_GAUGE || (m->kind == PF_PROM_COUNTER && v >= 0);
		break;
	case PF_PROM_OP_SET:
		ok = m->kind == PF_PROM_GAUGE;
		break;
	default:
		ok = m->kind == PF_PROM_HISTOGRAM;
		break;
	}
	if (!ok)
		return -EINVAL;
	pthread_mutex_lock(&m->reg->lock);
	err = pf_prom_series_get(m, label_value, &s);
	if (!err) {
		if (op == PF_PROM_OP_SET) {
			s->value = v;
		} else {
			s->value += v;
		}
		if (op == PF_PROM_OP_OBSERVE) {
			size_t b = 0;

			while (b < m->n_bounds && v > m->bounds[b])
				b++;
			s->buckets[b]++;
			s->count++;
		}
	}
	pthread_mutex_unlock(&m->reg->lock);
	return err;
}

int pf_prom_add(struct pf_prom_metric *m, const char *label_value, double v)
{
	return pf_prom_update(m, label_value, v, PF_PROM_OP_ADD);
}

int pf_prom_set(struct pf_prom_metric *m, const char *label_value, double v)
{
	return pf_prom_update(m, label_value, v, PF_PROM_OP_SET);
}

int pf_prom_observe(struct pf_prom_metric *m, const char *label_value, double v)
{
	return pf_prom_update(m, label_value, v, PF_PROM_OP_OBSERVE);
}

/* Whole numbers (counts, most gauges) print as integers; anything else as
 * the shortest text that reads back as the same double. */
static void pf_prom_put_number(FILE *f, double v)
{
	char buf[40];

	if (isnan(v)) {
		fputs("NaN", f);
		return;
	}
	if (isinf(v)) {
		fputs(v > 0 ? "+Inf" : "-Inf", f);
		return;
	}
	if ((v < 0 ? -v : v) < 9007199254740992.0 /* 2^53 */ && v == (double)(long long)v) {
		fprintf(f, "%lld", (long long)v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, f);
}

/* esc_quote: label values escape '"' too; HELP text only '\' and newline. */
static void pf_prom_put_escaped(FILE *f, const char *s, bool esc_quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '"' && esc_quote)
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

/* name{label="value",le="bound"}; either part may be absent. */
static void pf_prom_put_series_name(FILE *f, const struct pf_prom_metric *m, const char *suffix,
				    const struct pf_prom_series *s, const double *le)
{
	fprintf(f, "%s%s", m->name, suffix);
	if (!s->label_value && !le)
		return;
	fputc('{', f);
	if (s->label_value) {
		fprintf(f, "%s=\"", m->label);
		pf_prom_put_escaped(f, s->label_value, true);
		fputc('"', f);
		if (le)
			fputc(',', f);
	}
	if (le) {
		fputs("le=\"", f);
		pf_prom_put_number(f, *le);
		fputc('"', f);
	}
	fputc('}', f);
}

static void pf_prom_put_histogram(FILE *f, const struct pf_prom_metric *m,
				  const struct pf_prom_series *s)
{
	uint64_t cumulative = 0;

	for (size_t b = 0; b <= m->n_bounds; b++) {
		double le = b < m->n_bounds ? m->bounds[b] : INFINITY;

		cumulative += s->buckets[b];
		pf_prom_put_series_name(f, m, "_bucket", s, &le);
		fprintf(f, " %llu\n", (unsigned long long)cumulative);
	}
	pf_prom_put_series_name(f, m, "_sum", s, NULL);
	fputc(' ', f);
	pf_prom_put_number(f, s->value);
	fputc('\n', f);
	pf_prom_put_series_name(f, m, "_count", s, NULL);
	fprintf(f, " %llu\n", (unsigned long long)s->count);
}

char *pf_prom_render(struct pf_prom *reg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	pthread_mutex_lock(&reg->lock);
	for (const struct pf_prom_metric *m = reg->metrics; m; m = m->next) {
		fprintf(f, "# HELP %s ", m->name);
		pf_prom_put_escaped(f, m->help, false);
		fprintf(f, "\n# TYPE %s %s\n", m->name, pf_prom_kind_names[m->kind]);
		for (const struct pf_prom_series *s = m->series; s; s = s->next) {
			if (m->kind == PF_PROM_HISTOGRAM) {
				pf_prom_put_histogram(f, m, s);
				continue;
			}
			pf_prom_put_series_name(f, m, "", s, NULL);
			fputc(' ', f);
			pf_prom_put_number(f, s->value);
			fputc('\n', f);
		}
	}
	pthread_mutex_unlock(&reg->lock);
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}
