// SPDX-License-Identifier: Apache-2.0
/* podfence-ipamd: settings, state, the three servers, and a clean exit on
 * SIGTERM or SIGINT. Exit status: 0 after a clean shutdown, 1 when the
 * daemon cannot start, 2 for bad flags or configuration. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipam_checkpoint.h"
#include "dirs.h"
#include "log.h"
#include "ipamd.h"

/* One daemon per state directory: a second one would hand out the same
 * addresses. The lock goes away with the process, even on kill -9. */
static int ipamd_lock_state(const struct ipamd_config *cfg)
{
	int fd = open(cfg->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		pf_err("open lock file %s: %s", cfg->lock_path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		pf_err("lock %s: %s", cfg->lock_path,
		       errno == EWOULDBLOCK ? "another podfence-ipamd uses this --state-dir"
					    : strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int ipamd_source(const struct pf_cidr *cidr, struct pf_ipam_source **out)
{
	char err[256];

	if (!cidr)
		return 0;
	if (pf_ipam_source_cidr_new(cidr, out, err, sizeof(err))) {
		pf_err("%s", err);
		return -1;
	}
	return 0;
}

/* Builds the pool and restores the checkpoint into it; then saves once, so
 * a state directory that cannot be written stops the start, not an add. */
static int ipamd_open_pool(struct ipamd *d)
{
	const struct ipamd_config *cfg = &d->cfg;
	struct pf_ipam_pool_opts opts = { cfg->warm_ip_target, cfg->minimum_ip_target };
	struct pf_ipam_source *v4 = NULL, *v6 = NULL;
	char err[1024];
	int rc;

	if (ipamd_source(&cfg->cidr4, &v4) ||
	    ipamd_source(cfg->has_cidr6 ? &cfg->cidr6 : NULL, &v6) ||
	    pf_ipam_pool_new(&opts, v4, v6, &d->pool)) {
		pf_ipam_source_free(v4);
		pf_ipam_source_free(v6);
		return -1;
	}
	rc = pf_ipam_checkpoint_load(cfg->checkpoint_path, d->pool, err, sizeof(err));
	if (rc == -ENOENT) {
		pf_info("no checkpoint at %s: starting with no assignments",
			cfg->checkpoint_path);
	} else if (rc) {
		pf_err("%s; refusing to start (fix or move the file aside once no pod uses "
		       "these addresses)",
		       err);
		return -1;
	} else {
		pf_info("restored %zu assignments from %s", pf_ipam_pool_count(d->pool),
			cfg->checkpoint_path);
	}
	pf_ipam_pool_fill_warm(d->pool);
	if (pf_ipam_checkpoint_save(cfg->checkpoint_path, d->pool, err, sizeof(err))) {
		pf_err("%s", err);
		return -1;
	}
	return 0;
}

static struct pf_http_server *ipamd_serve(struct ipamd *d, enum ipamd_key k,
					  pf_http_handler h)
{
	const char *where = d->cfg.value[k];
	struct pf_http_server *srv;
	int err;

	srv = k == IPAMD_SOCKET ? pf_http_serve_unix(where, h, d, &err)
				: pf_http_serve_tcp(where, h, d, &err);
	if (!srv)
		pf_err("serve on %s %s: %s", d->cfg.origin[k], where,
		       err == -EINVAL ? "not ADDR:PORT" : strerror(-err));
	return srv;
}

static int ipamd_run(struct ipamd *d)
{
	struct pf_http_server *sock = NULL, *intro = NULL, *metrics = NULL;
	char sock_dir[PATH_MAX];
	sigset_t stop;
	int sig = 0, rc;

	snprintf(sock_dir, sizeof(sock_dir), "%s", d->cfg.value[IPAMD_SOCKET]);
	rc = pf_mkdirs(dirname(sock_dir), 0755);
	if (rc) {
		pf_err("create the directory of %s: %s", d->cfg.value[IPAMD_SOCKET],
		       strerror(-rc));
		return 1;
	}
	/* Blocked before any server thread starts, so only sigwait sees them. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!(intro = ipamd_serve(d, IPAMD_INTROSPECTION_BIND, ipamd_introspect_handle)) ||
	    !(metrics = ipamd_serve(d, IPAMD_METRICS_BIND, ipamd_metrics_handle)) ||
	    !(sock = ipamd_serve(d, IPAMD_SOCKET, ipamd_rpc_handle))) {
		rc = 1;
	} else {
		pf_info("serving %s; introspection %s; metrics %s; mode %s",
			d->cfg.value[IPAMD_SOCKET], d->cfg.value[IPAMD_INTROSPECTION_BIND],
			d->cfg.value[IPAMD_METRICS_BIND], d->cfg.strict ? "strict" : "standard");
		while (sigwait(&stop, &sig))
			;
		pf_info("signal %s: shutting down", strsignal(sig));
		rc = 0;
	}
	pf_http_stop(sock);
	pf_http_stop(intro);
	pf_http_stop(metrics);
	return rc;
}

int main(int argc, char **argv)
{
	struct ipamd d = { .lock = PTHREAD_MUTEX_INITIALIZER };
	char err[512];
	int rc, lock_fd;

	rc = ipamd_config_parse(argc, argv, &d.cfg, err, sizeof(err));
	if (rc) {
		if (rc < 0)
			fprintf(stderr, "podfence-ipamd: %s\n", err);
		ipamd_config_free(&d.cfg);
		return rc < 0 ? 2 : 0;
	}
	rc = pf_log_open("podfence-ipamd", d.cfg.value[IPAMD_LOG_FILE], 1);
	if (rc) {
		fprintf(stderr, "podfence-ipamd: %s %s: %s\n", d.cfg.origin[IPAMD_LOG_FILE],
			d.cfg.value[IPAMD_LOG_FILE], strerror(-rc));
		ipamd_config_free(&d.cfg);
		return 1;
	}
	d.started = time(NULL);
	rc = pf_mkdirs(d.cfg.value[IPAMD_STATE_DIR], 0700);
	if (rc)
		pf_err("create %s %s: %s", d.cfg.origin[IPAMD_STATE_DIR],
		       d.cfg.value[IPAMD_STATE_DIR], strerror(-rc));
	lock_fd = rc ? -1 : ipamd_lock_state(&d.cfg);
	rc = 1;
	if (lock_fd >= 0 && ipamd_metrics_init(&d.metrics))
		pf_err("set up metrics: out of memory");
	else if (lock_fd >= 0 && !ipamd_open_pool(&d))
		rc = ipamd_run(&d);
	pf_ipam_pool_free(d.pool);
	ipamd_metrics_free(&d.metrics);
	if (lock_fd >= 0)
		close(lock_fd);
	pf_info("exit %d", rc);
	pf_log_close();
	ipamd_config_free(&d.cfg);
	return rc;
}
