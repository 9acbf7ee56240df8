// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"

static int pf_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The rename is only durable once the directory entry is on disk. */
static int pf_fsync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd, err = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

/* Opens the temp file beside path ("<path>.tmp"; one writer per file, so a
 * fixed name: a crash leaves at most one, which the next write reuses). */
static int pf_open_temp(const char *path, mode_t mode, char *tmp, size_t tmp_len)
{
	int fd;

	if ((size_t)snprintf(tmp, tmp_len, "%s.tmp", path) >= tmp_len)
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	/* open() applies the umask; the caller's mode is what it asked for. */
	if (fchmod(fd, mode)) {
		int err = -errno;

		close(fd);
		unlink(tmp);
		return err;
	}
	return fd;
}

static int pf_finish_temp(int fd, const char *tmp, const char *path, int err)
{
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	return pf_fsync_dir_of(path);
}

int pf_atomic_write(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd = pf_open_temp(path, mode, tmp, sizeof(tmp));

	if (fd < 0)
		return fd;
	return pf_finish_temp(fd, tmp, path, pf_write_all(fd, data, len));
}

int pf_atomic_copy(const char *src, const char *dst, mode_t mode)
{
	char tmp[PATH_MAX], buf[65536];
	int in, out, err = 0;
	ssize_t n;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = pf_open_temp(dst, mode, tmp, sizeof(tmp));
	if (out < 0) {
		close(in);
		return out;
	}
	while (!err && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0)
			err = errno == EINTR ? 0 : -errno;
		else
			err = pf_write_all(out, buf, (size_t)n);
	}
	close(in);
	return pf_finish_temp(out, tmp, dst, err);
}
