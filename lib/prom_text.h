/* SPDX-License-Identifier: Apache-2.0 */
/* A small Prometheus registry: counters, gauges and fixed-bucket histograms,
 * each with at most one label, rendered in the text exposition format
 * (version 0.0.4) with # HELP and # TYPE lines. Every call is thread-safe. */
#ifndef PF_PROM_TEXT_H
#define PF_PROM_TEXT_H

#include <stddef.h>

#define PF_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct pf_prom;
struct pf_prom_metric;

struct pf_prom *pf_prom_new(void);
/* Frees the registry and every metric it made. */
void pf_prom_free(struct pf_prom *reg);

/* Registers a metric; label is the name of its one label, or NULL. Metrics
 * render in registration order. NULL when a name is not a valid Prometheus
 * name, is already taken, or memory ran out. */
struct pf_prom_metric *pf_prom_counter(struct pf_prom *reg, const char *name, const char *help,
				       const char *label);
struct pf_prom_metric *pf_prom_gauge(struct pf_prom *reg, const char *name, const char *help,
				     const char *label);
/* bounds: the buckets' upper bounds, strictly increasing; +Inf is implied. */
struct pf_prom_metric *pf_prom_histogram(struct pf_prom *reg, const char *name,
					 const char *help, const char *label,
					 const double *bounds, size_t n_bounds);

/* label_value must be given exactly when the metric has a label; a series
 * per value appears on first use (add 0 to show a series at 0). Return 0,
 * -EINVAL on misuse (wrong kind, a counter going down, label mismatch) or
 * -ENOMEM. */
int pf_prom_add(struct pf_prom_metric *m, const char *label_value, double v); /* counter, gauge */
int pf_prom_set(struct pf_prom_metric *m, const char *label_value, double v); /* gauge */
int pf_prom_observe(struct pf_prom_metric *m, const char *label_value, double v); /* histogram */

/* The whole registry as exposition text (malloc'd), NULL if out of memory. */
char *pf_prom_render(struct pf_prom *reg);

#endif
