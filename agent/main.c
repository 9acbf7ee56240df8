// SPDX-License-Identifier: Apache-2.0
/* podfence-agent: settings, the datapath (loaded or adopted), the state of
 * the last run, the source, the first reconcile, then the servers and the
 * main loop. On SIGTERM the sockets close and the datapath stays: programs
 * stay attached and maps pinned, so pods stay enforced while no agent runs.
 * Exit status: 0 after a clean shutdown, 1 when the agent cannot start, 2
 * for bad flags. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dirs.h"
#include "log.h"
#include "agent.h"

double agent_elapsed(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* libbpf's own messages (the kernel's extack on an existing clsact qdisc,
 * say) are detail: every failure is reported by the call that failed. */
static int agent_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)level;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	pf_debug("libbpf: %s", msg);
	return 0;
}

/* One agent per state directory; the lock goes with the process, even on
 * kill -9, so a restart takes it at once. */
static int agent_lock_state(const struct agent_config *cfg)
{
	int rc = pf_mkdirs(cfg->state_dir, 0700), fd;

	if (rc) {
		pf_err("create --state-dir %s: %s", cfg->state_dir, strerror(-rc));
		return -1;
	}
	fd = open(cfg->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		pf_err("open lock file %s: %s", cfg->lock_path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		pf_err("lock %s: %s", cfg->lock_path,
		       errno == EWOULDBLOCK ? "another podfence-agent uses this --state-dir"
					    : strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int agent_prog_ids(struct agent *a)
{
	for (int d = 0; d < 2; d++) {
		struct bpf_prog_info info = { 0 };
		uint32_t len = sizeof(info);

		if (bpf_obj_get_info_by_fd(pf_datapath_prog_fd(a->dp, (enum pf_dir)d), &info, &len)) {
			pf_err("read the id of program %s: %s", pf_prog_names[d], strerror(errno));
			return -1;
		}
		a->prog_id[d] = info.id;
	}
	return 0;
}

/* The datapath, the last run's state, then the source (which, with dir:,
 * reconciles a first time). */
static int agent_start_enforcing(struct agent *a)
{
	struct pf_datapath_opts opts = { .pin_root = a->cfg.pin_root, .mode = a->cfg.mode,
					 .events = a->cfg.events };

	if (pf_datapath_open(&opts, &a->dp, &a->adopted) || agent_prog_ids(a) ||
	    agent_restore(a))
		return -1;
	return a->source->open(a);
}

static struct pf_http_server *agent_serve(struct agent *a, const char *what, const char *where,
					  bool unix_socket, pf_http_handler h)
{
	struct pf_http_server *srv;
	char dir[PATH_MAX];
	int err;

	if (unix_socket) {
		snprintf(dir, sizeof(dir), "%s", where);
		err = pf_mkdirs(dirname(dir), 0755);
		if (err) {
			pf_err("create the directory of --socket %s: %s", where, strerror(-err));
			return NULL;
		}
	}
	srv = unix_socket ? pf_http_serve_unix(where, h, a, &err)
			  : pf_http_serve_tcp(where, h, a, &err);
	if (!srv)
		pf_err("serve %s on %s: %s", what, where,
		       err == -EINVAL ? "not ADDR:PORT" : strerror(-err));
	return srv;
}

static int agent_run(struct agent *a)
{
	struct pf_http_server *sock = NULL, *metrics = NULL, *health = NULL;
	struct agent_events *events = NULL;
	struct agent_sweeper *sweeper = NULL;
	int rc = 1;

	if (a->cfg.enabled &&
	    (agent_start_enforcing(a) || agent_sweeper_start(a, &sweeper) ||
	     (a->cfg.events && agent_events_start(a, &events))))
		goto out;
	if (!(health = agent_serve(a, "health probes", a->cfg.health_bind, false,
				   agent_health_handle)) ||
	    !(metrics = agent_serve(a, "metrics", a->cfg.metrics_bind, false,
				    agent_metrics_handle)) ||
	    !(sock = agent_serve(a, "the API", a->cfg.socket, true, agent_rpc_handle)))
		goto out;
	pf_info("serving %s; metrics %s; health %s; network policy %s, mode %s, node %s",
		a->cfg.socket, a->cfg.metrics_bind, a->cfg.health_bind,
		a->cfg.enabled ? "enforced" : "disabled",
		a->cfg.mode == PF_MODE_STRICT ? "strict" : "standard", a->cfg.node_name);
	rc = agent_loop_run(a);
out:
	pf_http_stop(sock);
	pf_http_stop(metrics);
	pf_http_stop(health);
	a->stopping = true;
	agent_events_stop(events);
	agent_sweeper_stop(sweeper);
	return rc;
}

static void agent_free(struct agent *a)
{
	/* First: the kube source's watch threads use the rest. */
	a->source->close(a);
	for (size_t i = 0; i < a->n_pods; i++)
		agent_pod_free(a->pods[i]);
	free(a->pods);
	agent_endpoints_free(&a->pes);
	pf_cache_changes_reset(&a->changes);
	agent_names_free(a);
	pf_set_table_free(&a->sets);
	pf_k8s_cache_free(&a->cache);
	json_decref(a->source_pods);
	/* Closes descriptors only: pins, attachments and maps stay. */
	pf_datapath_close(a->dp);
	agent_metrics_free(&a->m);
	if (a->kick_fd >= 0)
		close(a->kick_fd);
	pthread_cond_destroy(&a->reconciled);
	pthread_mutex_destroy(&a->lock);
}

static int agent_init(struct agent *a)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&a->reconciled, &attr);
	pthread_condattr_destroy(&attr);
	pf_k8s_cache_init(&a->cache);
	pf_set_table_init(&a->sets);
	a->source = a->cfg.source == AGENT_SOURCE_KUBE ? &agent_source_kube : &agent_source_dir;
	a->source_pods = json_object();
	a->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (a->kick_fd < 0 || !a->source_pods ||
	    agent_metrics_init(&a->m, a->cfg.source == AGENT_SOURCE_KUBE)) {
		pf_err("set up the agent: %s", a->kick_fd < 0 ? strerror(errno) : "out of memory");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct agent a = { .kick_fd = -1 };
	char err[512];
	sigset_t stop;
	int rc, lock_fd = -1;

	rc = agent_config_parse(argc, argv, &a.cfg, err, sizeof(err));
	if (rc) {
		if (rc < 0)
			fprintf(stderr, "podfence-agent: %s\n", err);
		return rc < 0 ? 2 : 0;
	}
	rc = pf_log_open("podfence-agent", a.cfg.log_file, 1);
	if (rc) {
		fprintf(stderr, "podfence-agent: --log-file %s: %s\n", a.cfg.log_file,
			strerror(-rc));
		return 1;
	}
	libbpf_set_print(agent_libbpf_print);
	/* One heap for every thread: the server threads allocate little, and
	 * per-thread arenas would each keep their own peak. */
	mallopt(M_ARENA_MAX, 1);
	/* Blocked before any thread starts, so only the main loop sees them. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = 1;
	if (!agent_init(&a) && (!a.cfg.enabled || (lock_fd = agent_lock_state(&a.cfg)) >= 0))
		rc = agent_run(&a);
	agent_free(&a);
	if (lock_fd >= 0)
		close(lock_fd);
	pf_info("exit %d", rc);
	pf_log_close();
	return rc;
}
