// SPDX-License-Identifier: Apache-2.0
#include <stdlib.h>
#include <string.h>

#include "growbuf.h"

bool pf_growbuf_add(struct pf_growbuf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->max) {
		b->too_big = true;
		return false;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return false;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

void pf_growbuf_clear(struct pf_growbuf *b)
{
	b->len = 0;
	b->too_big = false;
	if (b->data)
		b->data[0] = '\0';
}

void pf_growbuf_free(struct pf_growbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
