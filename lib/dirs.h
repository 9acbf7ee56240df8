/* SPDX-License-Identifier: Apache-2.0 */
/* Directories the daemons keep their state and sockets in. */
#ifndef PF_DIRS_H
#define PF_DIRS_H

#include <sys/types.h>

/* mkdir -p: creates path and its missing parents with mode (existing ones
 * are left as they are). Returns 0 or -errno. */
int pf_mkdirs(const char *path, mode_t mode);

#endif
