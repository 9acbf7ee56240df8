// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"

static int pf_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The rename is only durable once the directory entry is on disk too. */
static int pf_fsync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}

int pf_atomic_write(const char *path, const void *data, size_t len, mode_t mode, char *err,
		    size_t err_len)
{
	char tmp[PATH_MAX];
	int fd, rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, err_len, "path %s is too long", path);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, err_len, "create %s: %s", tmp, strerror(-rc));
		return rc;
	}
	rc = pf_write_all(fd, data, len);
	if (rc)
		snprintf(err, err_len, "write %s: %s", tmp, strerror(-rc));
	else if (fsync(fd) && (rc = -errno))
		snprintf(err, err_len, "fsync %s: %s", tmp, strerror(-rc));
	if (close(fd) && !rc && (rc = -errno))
		snprintf(err, err_len, "close %s: %s", tmp, strerror(-rc));
	if (!rc && rename(tmp, path) && (rc = -errno))
		snprintf(err, err_len, "rename %s to %s: %s", tmp, path, strerror(-rc));
	if (rc) {
		unlink(tmp);
		return rc;
	}
	rc = pf_fsync_dir_of(path);
	if (rc)
		snprintf(err, err_len, "fsync the directory of %s: %s", path, strerror(-rc));
	return rc;
}
