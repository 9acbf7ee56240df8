/* SPDX-License-Identifier: Apache-2.0 */
/* A growable, NUL-terminated byte buffer with a size cap: HTTP replies
 * (http_client.c, kube_client.c), a watch stream's partial events, files
 * read whole. */
#ifndef PF_GROWBUF_H
#define PF_GROWBUF_H

#include <stdbool.h>
#include <stddef.h>

struct pf_growbuf {
	char *data;    /* NULL until the first add */
	size_t len, cap;
	size_t max;    /* len + 1 may not exceed it */
	bool too_big;  /* an add went over max */
};

/* Appends n bytes (n may be 0: data then exists). Returns false when out of
 * memory or over max (too_big tells which). */
bool pf_growbuf_add(struct pf_growbuf *b, const char *p, size_t n);
/* Empties b, keeping its memory and max. */
void pf_growbuf_clear(struct pf_growbuf *b);
void pf_growbuf_free(struct pf_growbuf *b);

#endif
