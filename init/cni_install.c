// SPDX-License-Identifier: Apache-2.0
/* Installing the plugin and its conflist, each replaced atomically so a
 * kubelet or runtime reading the directories never sees half a file. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomic_file.h"
#include "http_client.h"
#include "init.h"
#include "log.h"

#define PF_CONFLIST_NAME "10-podfence.conflist"
#define PF_PLUGIN_NAME "podfence-cni"

int pf_init_wait_ipamd(const char *socket, unsigned timeout_s)
{
	struct timespec start, now, pause = { 0, 200 * 1000 * 1000 };
	char why[256] = "";
	long status = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	pf_info("waiting for podfence-ipamd on %s (up to %u s)", socket, timeout_s);
	for (;;) {
		char *reply = NULL;
		int err = pf_http_unix_request(socket, "GET", "/v1/health", NULL, 2000, &status,
					       &reply, why, sizeof(why));

		free(reply);
		if (!err && status == 200) {
			pf_info("podfence-ipamd is healthy");
			return 0;
		}
		if (!err)
			snprintf(why, sizeof(why), "health check answered HTTP %ld", status);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= (time_t)timeout_s) {
			pf_err("podfence-ipamd not healthy after %u s on %s: %s", timeout_s,
			       socket, why);
			return -ETIMEDOUT;
		}
		nanosleep(&pause, NULL);
	}
}

int pf_init_install_cni(const struct pf_init_opts *o)
{
	char path[PATH_MAX], *conflist;
	int err;

	snprintf(path, sizeof(path), "%s/%s", o->cni_bin_dir, PF_PLUGIN_NAME);
	err = pf_atomic_copy(o->plugin_src, path, 0755);
	if (err) {
		pf_err("install %s as %s: %s", o->plugin_src, path, strerror(-err));
		return err;
	}
	pf_info("installed %s", path);

	conflist = pf_conflist_render(&o->conflist);
	if (!conflist) {
		pf_err("render %s: out of memory", PF_CONFLIST_NAME);
		return -ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/%s", o->cni_conf_dir, PF_CONFLIST_NAME);
	err = pf_atomic_write(path, conflist, strlen(conflist), 0644);
	free(conflist);
	if (err) {
		pf_err("write %s: %s", path, strerror(-err));
		return err;
	}
	pf_info("installed %s", path);
	return 0;
}
