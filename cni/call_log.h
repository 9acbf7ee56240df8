/* SPDX-License-Identifier: Apache-2.0 */
/* The plugin log: one JSON line per call (command, container, pod, result,
 * duration and what the command added), appended to the configured file. A
 * log that cannot be opened never fails a CNI call: lines go to stderr. */
#ifndef PF_CNI_CALL_LOG_H
#define PF_CNI_CALL_LOG_H

#include "cni.h"

/* Opens path for the call line and for pf_log's debug lines; NULL: stderr. */
void call_log_open(const char *path, int level);
/* command is CNI_COMMAND as given (NULL when unset). */
void call_log_write(const struct pf_cni_call *c, const char *command, double duration_ms);
void call_log_close(void);

#endif
