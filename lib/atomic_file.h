/* SPDX-License-Identifier: Apache-2.0 */
/* Replacing a small file so that a crash or power loss leaves either the old
 * content or the new, never a mix: a temporary file beside it, fsync, rename
 * over it, fsync of the directory. */
#ifndef PF_ATOMIC_FILE_H
#define PF_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Writes len bytes of data as path (created with mode). Returns 0 once the
 * new content is durable, or -errno with err saying what failed on what;
 * on failure the previous file is intact. */
int pf_atomic_write(const char *path, const void *data, size_t len, mode_t mode, char *err,
		    size_t err_len);

#endif
