/* SPDX-License-Identifier: Apache-2.0 */
/* Files replaced atomically: a reader sees the old content or the new, never
 * a half-written file, even across a crash (temp file in the same directory,
 * fsync, rename, fsync of the directory). One writer per file at a time:
 * the temp file is "<path>.tmp". */
#ifndef PF_ATOMIC_FILE_H
#define PF_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Writes len bytes of data to path with the given mode. Returns 0 or -errno. */
int pf_atomic_write(const char *path, const void *data, size_t len, mode_t mode);

/* Copies the file at src to dst (same guarantees). Returns 0 or -errno. */
int pf_atomic_copy(const char *src, const char *dst, mode_t mode);

#endif
