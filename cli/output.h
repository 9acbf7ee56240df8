/* SPDX-License-Identifier: Apache-2.0 */
/* The one writer of podfence-ctl's standard output. Every command builds
 * its result as JSON; -o json prints that document, and tables for people
 * are rendered from the same objects, so the two can never disagree. */
#ifndef PF_CLI_OUTPUT_H
#define PF_CLI_OUTPUT_H

#include <jansson.h>

#include "cli.h"

/* One column of a table: the object key it shows and its header. format,
 * when set, renders the value (a malloc'd string); otherwise strings show
 * as they are, numbers in decimal, true/false as yes/no, null or a missing
 * key as "-", and arrays as their elements joined by ", ". */
struct out_col {
	const char *key;
	const char *header;
	char *(*format)(json_t *value);
};

/* Prints doc as one indented JSON document. */
void out_json(json_t *doc);
/* Prints rows (an array of objects) as aligned columns under a header row;
 * title, when set, goes on a line of its own first. */
void out_table(const char *title, json_t *rows, const struct out_col *cols);
/* Prints the fields of one object as "header: value" lines. */
void out_fields(json_t *obj, const struct out_col *cols);
/* The result of an action: its JSON object, or the sentence for people. */
void out_result(const struct cli_ctx *ctx, json_t *obj, const char *text);

/* A value as the generic rendering above (a malloc'd string). */
char *out_cell(json_t *value);

#endif
