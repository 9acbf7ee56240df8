/* SPDX-License-Identifier: Apache-2.0 */
/* Logging for every podfence program: one line per message, to stderr or to
 * a file, plain text or JSON lines. Errors say what was attempted, on what,
 * and why it failed: pf_err("attach %s: %s", ifname, strerror(-err)). */
#ifndef PF_LOG_H
#define PF_LOG_H

#include <stdio.h>

enum pf_log_level { PF_LOG_DEBUG, PF_LOG_INFO, PF_LOG_WARN, PF_LOG_ERROR };

/* Where messages go: NULL path means stderr. json selects JSON lines.
 * Returns 0 or -errno (the file could not be opened). */
int pf_log_open(const char *program, const char *path, int json);
void pf_log_set_level(enum pf_log_level level);
void pf_log_close(void);

void pf_log(enum pf_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pf_debug(...) pf_log(PF_LOG_DEBUG, __VA_ARGS__)
#define pf_info(...) pf_log(PF_LOG_INFO, __VA_ARGS__)
#define pf_warn(...) pf_log(PF_LOG_WARN, __VA_ARGS__)
#define pf_err(...) pf_log(PF_LOG_ERROR, __VA_ARGS__)

#endif
