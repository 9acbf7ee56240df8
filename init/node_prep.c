// SPDX-License-Identifier: Apache-2.0
/* The node settings pod networking needs. sysctls under /proc/sys/net belong
 * to the network namespace podfence-init runs in (the node's). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "init.h"
#include "log.h"

static int pf_sysctl_set(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0) {
		err = -errno;
		pf_err("sysctl %s: cannot open: %s", path, strerror(errno));
		return err;
	}
	if (write(fd, value, strlen(value)) < 0) {
		err = -errno;
		pf_err("sysctl %s = %s: %s", path, value, strerror(errno));
	} else {
		pf_info("sysctl %s = %s", path, value);
	}
	close(fd);
	return err;
}

/* Pods reach each other and the world through the node: it must route. */
static int pf_set_sysctls(bool ipv6)
{
	int err = pf_sysctl_set("/proc/sys/net/ipv4/ip_forward", "1");

	if (!err && ipv6)
		err = pf_sysctl_set("/proc/sys/net/ipv6/conf/all/forwarding", "1");
	return err;
}

static int pf_mount_bpffs(const char *path)
{
	struct statfs st;

	if (!statfs(path, &st) && st.f_type == BPF_FS_MAGIC) {
		pf_info("bpffs already mounted at %s", path);
		return 0;
	}
	if (mkdir(path, 0700) && errno != EEXIST) {
		pf_err("bpffs: cannot create %s: %s", path, strerror(errno));
		return -errno;
	}
	if (mount("bpf", path, "bpf", 0, "mode=0700")) {
		int err = -errno;

		pf_err("bpffs: cannot mount at %s: %s", path, strerror(errno));
		return err;
	}
	pf_info("mounted bpffs at %s", path);
	return 0;
}

static int pf_make_dir(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) && errno != EEXIST) {
		int err = -errno;

		pf_err("cannot create %s: %s", path, strerror(errno));
		return err;
	}
	if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
		pf_err("%s exists and is not a directory", path);
		return -ENOTDIR;
	}
	/* An existing directory may have been made with looser permissions. */
	if (chmod(path, mode)) {
		int err = -errno;

		pf_err("cannot set mode %o on %s: %s", (unsigned)mode, path, strerror(errno));
		return err;
	}
	return 0;
}

int pf_init_prepare_node(const struct pf_init_opts *o)
{
	int err;

	err = pf_set_sysctls(o->ipv6);
	if (!err)
		err = pf_mount_bpffs(o->bpffs);
	/* The run directory holds the root-only RPC sockets. */
	if (!err)
		err = pf_make_dir(o->run_dir, 0700);
	if (!err)
		err = pf_make_dir(o->log_dir, 0755);
	return err;
}
