// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

void out_json(json_t *doc)
{
	json_dumpf(doc, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
}

char *out_cell(json_t *v)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	size_t i;
	json_t *e;

	if (!f)
		return NULL;
	switch (json_typeof(v)) {
	case JSON_STRING:
		fputs(json_string_value(v), f);
		break;
	case JSON_INTEGER:
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		fprintf(f, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("yes", f);
		break;
	case JSON_FALSE:
		fputs("no", f);
		break;
	case JSON_ARRAY:
		json_array_foreach(v, i, e) {
			char *s = out_cell(e);

			fprintf(f, "%s%s", i ? ", " : "", s ? s : "?");
			free(s);
		}
		if (!json_array_size(v))
			fputs("-", f);
		break;
	case JSON_OBJECT:
		json_dumpf(v, f, JSON_COMPACT);
		break;
	default: /* null */
		fputs("-", f);
		break;
	}
	fclose(f);
	return text;
}

static char *out_col_cell(json_t *obj, const struct out_col *c)
{
	json_t *v = json_object_get(obj, c->key);

	if (!v)
		return strdup("-");
	return c->format ? c->format(v) : out_cell(v);
}

void out_table(const char *title, json_t *rows, const struct out_col *cols)
{
	size_t ncols = 0, nrows = json_array_size(rows), *width;
	char **cells;

	if (title)
		printf("%s\n", title);
	while (cols[ncols].key)
		ncols++;
	width = calloc(ncols, sizeof(*width));
	cells = calloc(nrows * ncols + 1, sizeof(*cells));
	if (!width || !cells) {
		fputs("(out of memory)\n", stdout);
		free(width);
		free(cells);
		return;
	}
	for (size_t c = 0; c < ncols; c++)
		width[c] = strlen(cols[c].header);
	for (size_t r = 0; r < nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			char *s = out_col_cell(json_array_get(rows, r), &cols[c]);

			cells[r * ncols + c] = s;
			if (s && strlen(s) > width[c])
				width[c] = strlen(s);
		}
	}
	for (size_t c = 0; c < ncols; c++)
		printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0, cols[c].header,
		       c + 1 < ncols ? "  " : "\n");
	for (size_t r = 0; r < nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			const char *s = cells[r * ncols + c];

			printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0, s ? s : "?",
			       c + 1 < ncols ? "  " : "\n");
		}
	}
	for (size_t i = 0; i < nrows * ncols; i++)
		free(cells[i]);
	free(cells);
	free(width);
}

void out_fields(json_t *obj, const struct out_col *cols)
{
	size_t width = 0;

	for (const struct out_col *c = cols; c->key; c++)
		if (strlen(c->header) > width)
			width = strlen(c->header);
	for (const struct out_col *c = cols; c->key; c++) {
		char *s = out_col_cell(obj, c);

		printf("%s:%*s %s\n", c->header, (int)(width - strlen(c->header)), "", s ? s : "?");
		free(s);
	}
}

void out_result(const struct cli_ctx *ctx, json_t *obj, const char *text)
{
	if (ctx->json)
		out_json(obj);
	else
		printf("%s\n", text);
}
