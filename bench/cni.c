// SPDX-License-Identifier: Apache-2.0
/*
 * bench/cni: what a pod's network costs a container runtime. 100 pods get
 * their network from the real podfence-cni (posix_spawn with the CNI_*
 * variables and the configuration on stdin, as a runtime runs it) against
 * the real podfence-ipamd: ADD of every pod one at a time, then DEL one at a
 * time; then, in fresh namespaces, the same two at a time. VERSION calls come
 * first: the start-up floor under every call. Each call is timed from the
 * spawn to its exit or the end of its output, whichever comes last, as a
 * runtime waits for both (Go's exec.Cmd.Wait); a process the plugin leaves
 * behind holding neither is not waited for, by a runtime or here. Reported: latency p50, p99 and max per round, and
 * podfence-ipamd's VmRSS with the 100 pods assigned. Beside them, where the
 * time goes: the plugin's own duration from its log (the rest is start-up
 * and exit) and ipamd's mean request and checkpoint times from its metrics.
 *
 * Runs as root. The benchmark moves itself into a network namespace of its
 * own (the "node"), where ipamd runs with its state, socket and logs in a
 * temporary directory. Each pod's network namespace is held by a descriptor
 * of this process and handed to the plugin as /proc/<pid>/fd/<n>: no mount
 * and no process outlives the benchmark, whatever ends it. ipamd gets
 * SIGTERM when the benchmark dies; SIGINT and SIGTERM stop the run cleanly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "http_client.h"

#define BENCH_PODS 100
#define BENCH_POD_CIDR "10.244.12.0/24"
#define BENCH_METRICS_PORT 61678 /* ipamd's default, on the node's own lo */
#define BENCH_OUT_MAX 8192
/* Goals of the pod networking issue. */
#define GOAL_ADD_P99_MS 30.0
#define GOAL_DEL_P99_MS 20.0
#define GOAL_IPAMD_RSS_KIB (10 * 1024)

enum bench_phase { PH_VERSION, PH_ADD1, PH_DEL1, PH_ADD2, PH_DEL2, PH__COUNT };

/* VERSION first: it does nothing but start, print and exit, so it is the
 * floor every other call stands on (exec, dynamic linking, exit). */
static const struct {
	const char *label, *key, *cmd, *id_prefix;
	int parallel;
	int assigned_after; /* what ipamd must hold once the phase is done */
} phases[PH__COUNT] = {
	[PH_VERSION] = { "VERSION (start-up)", "version", "VERSION", "version", 1, 0 },
	[PH_ADD1] = { "ADD, one at a time", "add", "ADD", "one", 1, BENCH_PODS },
	[PH_DEL1] = { "DEL, one at a time", "del", "DEL", "one", 1, 0 },
	[PH_ADD2] = { "ADD, two at a time", "concurrent2_add", "ADD", "two", 2, BENCH_PODS },
	[PH_DEL2] = { "DEL, two at a time", "concurrent2_del", "DEL", "two", 2, 0 },
};

/* ipamd's histograms (_sum and _count) read before and after a phase. */
enum bench_hist { H_ADD, H_DEL, H_CHECKPOINT, H__COUNT };
static const char *const hist_names[H__COUNT] = {
	"podfence_ipamd_add_network_seconds",
	"podfence_ipamd_del_network_seconds",
	"podfence_ipamd_checkpoint_seconds",
};

struct bench_hist_snap {
	double sum[H__COUNT], count[H__COUNT];
};

struct bench_stats {
	double p50, p99, max;
};

struct bench_result {
	struct bench_stats call[PH__COUNT];   /* as the runtime sees it */
	struct bench_stats plugin[PH__COUNT]; /* the plugin's own duration_ms */
	double ipamd_req_ms[PH__COUNT];       /* mean add- or del-network in ipamd */
	double checkpoint_ms[PH__COUNT];      /* mean checkpoint save in ipamd */
	long rss_kib, hwm_kib;
	double load_start, load_end; /* 1-minute load average: others share the machine */
};

struct bench_pod {
	int netns_fd;
	char netns[64];
	char name[32];
};

/* One plugin run in flight. */
struct bench_call {
	pid_t pid;
	int out_fd;
	int pid_fd; /* readable once the plugin has exited */
	struct timespec t0;
	double ms;
	char out[BENCH_OUT_MAX];
	size_t len;
};

struct bench {
	char build[PATH_MAX], plugin[PATH_MAX + 32], ipamd[PATH_MAX + 32];
	char tmp[64], sock[128], netconf[1024];
	int node_fd;
	pid_t ipamd_pid;
	struct bench_pod pods[BENCH_PODS];
	double ms[PH__COUNT][BENCH_PODS];
};

static volatile sig_atomic_t bench_stop;

static void bench_on_signal(int sig)
{
	bench_stop = sig;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentiles. */
static struct bench_stats bench_stats_of(const double *v, size_t n)
{
	double s[BENCH_PODS];
	struct bench_stats st = { NAN, NAN, NAN };

	if (!n)
		return st;
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	st.p50 = s[(size_t)ceil(0.50 * (double)n) - 1];
	st.p99 = s[(size_t)ceil(0.99 * (double)n) - 1];
	st.max = s[n - 1];
	return st;
}

/* ---- the node and the pods ---- */

static int bench_link_up(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr))
			rc = -errno;
	} else {
		rc = -errno;
	}
	close(fd);
	return rc;
}

/* The benchmark becomes the node: a network namespace of its own with lo up
 * (ipamd's metrics listen on 127.0.0.1 there). */
static int bench_enter_node(struct bench *b)
{
	int rc;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "cni bench: unshare(CLONE_NEWNET) for the node: %s (run as root)\n",
			strerror(errno));
		return -1;
	}
	rc = bench_link_up("lo");
	if (rc) {
		fprintf(stderr, "cni bench: bring lo up in the node: %s\n", strerror(-rc));
		return -1;
	}
	b->node_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (b->node_fd < 0) {
		fprintf(stderr, "cni bench: open the node's namespace: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* A pod's namespace: made by unshare, kept open, and left at once for the
 * node again. The plugin opens it through this process's descriptor. */
static int bench_make_pod(struct bench *b, int i)
{
	struct bench_pod *p = &b->pods[i];

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "cni bench: unshare(CLONE_NEWNET) for %s: %s\n", p->name,
			strerror(errno));
		return -1;
	}
	p->netns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (p->netns_fd < 0)
		fprintf(stderr, "cni bench: open the namespace of %s: %s\n", p->name,
			strerror(errno));
	if (setns(b->node_fd, CLONE_NEWNET)) {
		fprintf(stderr, "cni bench: back to the node's namespace: %s\n", strerror(errno));
		return -1;
	}
	if (p->netns_fd < 0)
		return -1;
	snprintf(p->netns, sizeof(p->netns), "/proc/%d/fd/%d", (int)getpid(), p->netns_fd);
	return 0;
}

static int bench_make_pods(struct bench *b)
{
	for (int i = 0; i < BENCH_PODS; i++)
		if (bench_make_pod(b, i))
			return -1;
	return 0;
}

/* After DEL the runtime deletes the pod's namespace: the kernel tears down
 * what is left in it in the background. */
static void bench_drop_pods(struct bench *b)
{
	for (int i = 0; i < BENCH_PODS; i++)
		if (b->pods[i].netns_fd >= 0) {
			close(b->pods[i].netns_fd);
			b->pods[i].netns_fd = -1;
		}
}

/* ---- podfence-ipamd ---- */

static int bench_start_ipamd(struct bench *b)
{
	char state[128], log[128];
	pid_t parent = getpid();

	snprintf(state, sizeof(state), "%s/ipamd-state", b->tmp);
	snprintf(log, sizeof(log), "%s/ipamd.log", b->tmp);
	b->ipamd_pid = fork();
	if (b->ipamd_pid < 0) {
		fprintf(stderr, "cni bench: fork for podfence-ipamd: %s\n", strerror(errno));
		return -1;
	}
	if (b->ipamd_pid == 0) {
		char *argv[] = { b->ipamd, "--pod-cidr", BENCH_POD_CIDR, "--state-dir", state,
				 "--socket", b->sock, "--log-file", log, NULL };
		char *envp[] = { NULL }; /* no WARM_IP_TARGET & co from the caller */

		/* The daemon must not outlive the benchmark, however it ends. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		execve(argv[0], argv, envp);
		fprintf(stderr, "cni bench: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	for (int i = 0; i < 100 && !bench_stop; i++) {
		char *reply = NULL;
		long status = 0;
		int st;

		if (!pf_http_unix_request(b->sock, "GET", "/v1/health", NULL, 1000, &status, &reply,
					  NULL, 0) &&
		    status == 200) {
			free(reply);
			return 0;
		}
		free(reply);
		if (waitpid(b->ipamd_pid, &st, WNOHANG) == b->ipamd_pid) {
			fprintf(stderr, "cni bench: podfence-ipamd exited at start (status %d), see %s\n",
				st, log);
			b->ipamd_pid = 0;
			return -1;
		}
		usleep(50 * 1000);
	}
	fprintf(stderr, "cni bench: podfence-ipamd did not answer /v1/health on %s\n", b->sock);
	return -1;
}

static void bench_stop_ipamd(struct bench *b)
{
	int st;

	if (b->ipamd_pid <= 0)
		return;
	kill(b->ipamd_pid, SIGTERM);
	for (int i = 0; i < 50; i++) {
		if (waitpid(b->ipamd_pid, &st, WNOHANG) == b->ipamd_pid) {
			b->ipamd_pid = 0;
			return;
		}
		usleep(100 * 1000);
	}
	kill(b->ipamd_pid, SIGKILL);
	waitpid(b->ipamd_pid, &st, 0);
	b->ipamd_pid = 0;
}

/* VmRSS and VmHWM of podfence-ipamd, in KiB. */
static int bench_ipamd_rss(const struct bench *b, long *rss, long *hwm)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)b->ipamd_pid);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "cni bench: open %s: %s\n", path, strerror(errno));
		return -1;
	}
	*rss = *hwm = -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "VmRSS: %ld kB", rss);
		sscanf(line, "VmHWM: %ld kB", hwm);
	}
	fclose(f);
	if (*rss < 0 || *hwm < 0) {
		fprintf(stderr, "cni bench: no VmRSS/VmHWM in %s\n", path);
		return -1;
	}
	return 0;
}

/* GET /metrics from ipamd's metrics port in the node: HTTP/1.0, so the
 * reply ends when the server closes. The page is a few KiB. */
static int bench_get_metrics(char *page, size_t cap)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(BENCH_METRICS_PORT),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	struct timeval tv = { .tv_sec = 2 };
	size_t len = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	while (len + 1 < cap && (n = recv(fd, page + len, cap - 1 - len, 0)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return (int)n;
		}
		len += (size_t)n;
	}
	close(fd);
	page[len] = '\0';
	return len + 1 < cap ? 0 : -EMSGSIZE;
}

/* The sums and counts of ipamd's latency histograms, from /metrics. */
static int bench_scrape(struct bench_hist_snap *s)
{
	static char page[64 * 1024];
	int rc = bench_get_metrics(page, sizeof(page));

	if (rc) {
		fprintf(stderr, "cni bench: GET http://127.0.0.1:%d/metrics: %s\n",
			BENCH_METRICS_PORT, strerror(-rc));
		return -1;
	}
	for (int h = 0; h < H__COUNT; h++) {
		char key[96];
		const char *p;

		snprintf(key, sizeof(key), "\n%s_sum ", hist_names[h]);
		p = strstr(page, key);
		s->sum[h] = p ? strtod(p + strlen(key), NULL) : NAN;
		snprintf(key, sizeof(key), "\n%s_count ", hist_names[h]);
		p = strstr(page, key);
		s->count[h] = p ? strtod(p + strlen(key), NULL) : NAN;
	}
	return 0;
}

/* Mean ms per observation of histogram h between two scrapes. */
static double bench_mean_ms(const struct bench_hist_snap *a, const struct bench_hist_snap *b,
			    int h)
{
	double n = b->count[h] - a->count[h];

	return n > 0 ? (b->sum[h] - a->sum[h]) / n * 1e3 : NAN;
}

/* ---- podfence-cni ---- */

static int bench_spawn(struct bench *b, const char *cmd, const char *id_prefix, int i,
		       struct bench_call *call)
{
	const struct bench_pod *p = &b->pods[i];
	char e_cmd[32], e_id[64], e_netns[96], e_args[128], e_path[PATH_MAX + 16];
	char *envp[] = { e_cmd, e_id, e_netns, "CNI_IFNAME=eth0", e_args, e_path, NULL };
	char *argv[] = { b->plugin, NULL };
	int in[2], out[2], rc;
	posix_spawn_file_actions_t fa;
	size_t len = strlen(b->netconf);

	snprintf(e_cmd, sizeof(e_cmd), "CNI_COMMAND=%s", cmd);
	snprintf(e_id, sizeof(e_id), "CNI_CONTAINERID=bench-%s-%03d", id_prefix, i);
	snprintf(e_netns, sizeof(e_netns), "CNI_NETNS=%s", p->netns);
	snprintf(e_args, sizeof(e_args), "CNI_ARGS=K8S_POD_NAMESPACE=bench;K8S_POD_NAME=%s",
		 p->name);
	snprintf(e_path, sizeof(e_path), "CNI_PATH=%s", b->build);
	if (pipe2(in, O_CLOEXEC))
		return -errno;
	if (pipe2(out, O_CLOEXEC)) {
		rc = -errno;
		close(in[0]);
		close(in[1]);
		return rc;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &call->t0);
	rc = posix_spawn(&call->pid, b->plugin, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (rc) {
		close(in[1]);
		close(out[0]);
		fprintf(stderr, "cni bench: spawn %s: %s\n", b->plugin, strerror(rc));
		return -rc;
	}
	call->out_fd = out[0];
	call->pid_fd = pidfd_open(call->pid, 0);
	if (call->pid_fd < 0)
		fprintf(stderr, "cni bench: pidfd_open %d: %s (its exit is not timed)\n",
			(int)call->pid, strerror(errno));
	/* Far below a pipe's capacity: never blocks. */
	if (write(in[1], b->netconf, len) != (ssize_t)len)
		fprintf(stderr, "cni bench: write the configuration to the plugin: %s\n",
			strerror(errno));
	close(in[1]);
	call->len = 0;
	call->out[0] = '\0';
	return 0;
}

/* Reads the calls' output as it comes and watches for their exits; a
 * call's time ends when both its output has ended and it has exited. Then
 * reaps them: every call must have exited 0 and, for ADD, printed a result
 * with an address. */
static int bench_finish(struct bench_call *calls, int n, const char *cmd)
{
	int pending = 0, rc = 0;

	for (int j = 0; j < n; j++)
		pending += (calls[j].out_fd >= 0) + (calls[j].pid_fd >= 0);
	while (pending) {
		struct pollfd pfd[4];
		int map[4], k = 0;
		bool is_out[4];

		for (int j = 0; j < n; j++) {
			if (calls[j].out_fd >= 0) {
				pfd[k] = (struct pollfd){ .fd = calls[j].out_fd, .events = POLLIN };
				is_out[k] = true;
				map[k++] = j;
			}
			if (calls[j].pid_fd >= 0) {
				pfd[k] = (struct pollfd){ .fd = calls[j].pid_fd, .events = POLLIN };
				is_out[k] = false;
				map[k++] = j;
			}
		}
		if (poll(pfd, (nfds_t)k, -1) < 0) {
			if (errno == EINTR)
				continue; /* a stop is honoured once these calls are done */
			fprintf(stderr, "cni bench: poll: %s\n", strerror(errno));
			return -1;
		}
		for (int m = 0; m < k; m++) {
			struct bench_call *c = &calls[map[m]];
			ssize_t r;

			if (!pfd[m].revents)
				continue;
			if (is_out[m]) {
				r = read(c->out_fd, c->out + c->len, sizeof(c->out) - 1 - c->len);
				if (r > 0) {
					c->len += (size_t)r;
					c->out[c->len] = '\0';
					continue;
				}
				if (r < 0 && errno == EINTR)
					continue;
				close(c->out_fd);
				c->out_fd = -1;
			} else {
				close(c->pid_fd);
				c->pid_fd = -1;
			}
			pending--;
			if (c->out_fd < 0 && c->pid_fd < 0)
				c->ms = ms_since(&c->t0);
		}
	}
	for (int j = 0; j < n; j++) {
		int st;

		while (waitpid(calls[j].pid, &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
		    (!strcmp(cmd, "ADD") && !strstr(calls[j].out, "\"ips\""))) {
			fprintf(stderr, "cni bench: %s failed (status %d): %s\n", cmd, st,
				calls[j].out);
			rc = -1;
		}
	}
	return rc;
}

static int bench_phase(struct bench *b, enum bench_phase ph)
{
	int per = phases[ph].parallel;

	for (int i = 0; i < BENCH_PODS; i += per) {
		struct bench_call calls[2];
		int n = 0;

		if (bench_stop)
			return -1;
		for (int j = i; j < i + per && j < BENCH_PODS; j++, n++)
			if (bench_spawn(b, phases[ph].cmd, phases[ph].id_prefix, j, &calls[n])) {
				bench_finish(calls, n, phases[ph].cmd);
				return -1;
			}
		if (bench_finish(calls, n, phases[ph].cmd))
			return -1;
		for (int j = 0; j < n; j++)
			b->ms[ph][i + j] = calls[j].ms;
	}
	return 0;
}

/* Assignments ipamd holds, from GET /v1/assignments. */
static int bench_assigned(const struct bench *b)
{
	char *reply = NULL, err[256];
	long status = 0;
	json_t *root;
	int n = -1;

	if (pf_http_unix_request(b->sock, "GET", "/v1/assignments", NULL, 5000, &status, &reply,
				 err, sizeof(err))) {
		fprintf(stderr, "cni bench: GET /v1/assignments: %s\n", err);
		return -1;
	}
	root = json_loads(reply, 0, NULL);
	if (status == 200 && json_is_array(json_object_get(root, "assignments")))
		n = (int)json_array_size(json_object_get(root, "assignments"));
	json_decref(root);
	free(reply);
	return n;
}

/* The plugin's own duration_ms per phase, from its log. */
static int bench_plugin_times(const struct bench *b, struct bench_result *res)
{
	static double v[PH__COUNT][BENCH_PODS];
	size_t n[PH__COUNT] = { 0 };
	char path[128], line[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/plugin.log", b->tmp);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "cni bench: open %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		json_t *l = json_loads(line, 0, NULL);
		const char *cmd = json_string_value(json_object_get(l, "command"));
		const char *id = json_string_value(json_object_get(l, "container_id"));
		json_t *ms = json_object_get(l, "duration_ms");

		for (int ph = 0; cmd && id && json_is_number(ms) && ph < PH__COUNT; ph++) {
			char prefix[16];

			snprintf(prefix, sizeof(prefix), "bench-%s-", phases[ph].id_prefix);
			if (!strcmp(cmd, phases[ph].cmd) && !strncmp(id, prefix, strlen(prefix)) &&
			    n[ph] < BENCH_PODS)
				v[ph][n[ph]++] = json_number_value(ms);
		}
		json_decref(l);
	}
	fclose(f);
	for (int ph = 0; ph < PH__COUNT; ph++)
		res->plugin[ph] = bench_stats_of(v[ph], n[ph]);
	return 0;
}

static double bench_loadavg(void)
{
	double load = NAN;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &load) != 1)
			load = NAN;
		fclose(f);
	}
	return load;
}

static int bench_run(struct bench *b, struct bench_result *res)
{
	struct bench_hist_snap snap[PH__COUNT + 1];
	int n;

	res->load_start = bench_loadavg();
	if (bench_scrape(&snap[0]))
		return -1;
	for (int ph = 0; ph < PH__COUNT; ph++) {
		/* Fresh namespaces for each round of ADDs, as for new pods. */
		if (!strcmp(phases[ph].cmd, "ADD") && bench_make_pods(b))
			return -1;
		if (bench_phase(b, (enum bench_phase)ph) || bench_scrape(&snap[ph + 1]))
			return -1;
		if (!strcmp(phases[ph].cmd, "DEL"))
			bench_drop_pods(b);
		n = bench_assigned(b);
		if (n != phases[ph].assigned_after) {
			fprintf(stderr, "cni bench: after %s ipamd holds %d assignments, not %d\n",
				phases[ph].label, n, phases[ph].assigned_after);
			return -1;
		}
		if (ph == PH_ADD1 && bench_ipamd_rss(b, &res->rss_kib, &res->hwm_kib))
			return -1;
		res->call[ph] = bench_stats_of(b->ms[ph], BENCH_PODS);
		res->ipamd_req_ms[ph] = bench_mean_ms(&snap[ph], &snap[ph + 1],
						      !strcmp(phases[ph].cmd, "DEL") ? H_DEL : H_ADD);
		res->checkpoint_ms[ph] = bench_mean_ms(&snap[ph], &snap[ph + 1], H_CHECKPOINT);
	}
	res->load_end = bench_loadavg();
	return bench_plugin_times(b, res);
}

/* ---- output ---- */

static double worst_p99(const struct bench_result *r, const char *cmd)
{
	double w = 0;

	for (int ph = 0; ph < PH__COUNT; ph++)
		if (!strcmp(phases[ph].cmd, cmd) && r->call[ph].p99 > w)
			w = r->call[ph].p99;
	return w;
}

static const char *met(bool ok)
{
	return ok ? "met" : "MISSED";
}

/* A figure in a column of width w, "-" where there is none. */
static void print_ms(int w, double v)
{
	if (isnan(v))
		printf(" %*s", w, "-");
	else
		printf(" %*.2f", w, v);
}

static void bench_print_table(const struct bench_result *r)
{
	printf("podfence-cni over %d pods, as a runtime calls it (spawn to its exit and the end of its output)\n"
	       "load average (1 min) %.2f at the start, %.2f at the end\n\n",
	       BENCH_PODS, r->load_start, r->load_end);
	printf("%-20s %8s %8s %8s | %13s %10s %10s\n", "", "p50 ms", "p99 ms", "max ms",
	       "in plugin p50", "ipamd mean", "checkpoint");
	for (int ph = 0; ph < PH__COUNT; ph++) {
		printf("%-20s", phases[ph].label);
		print_ms(8, r->call[ph].p50);
		print_ms(8, r->call[ph].p99);
		print_ms(8, r->call[ph].max);
		printf(" |");
		print_ms(13, r->plugin[ph].p50);
		print_ms(10, r->ipamd_req_ms[ph]);
		print_ms(10, r->checkpoint_ms[ph]);
		printf("\n");
	}
	printf("\nin plugin: the plugin's own duration_ms (its log); the rest of a call is process\n"
	       "start-up and exit (the VERSION row). ipamd mean: add- or del-network inside\n"
	       "podfence-ipamd, checkpoint included; checkpoint: write + fsync + rename + dir fsync.\n\n");
	printf("podfence-ipamd with %d pods assigned: VmRSS %ld KiB (%.1f MiB), VmHWM %ld KiB\n\n",
	       BENCH_PODS, r->rss_kib, (double)r->rss_kib / 1024, r->hwm_kib);
	printf("goals: ADD p99 < %.0f ms: %s (%.2f); DEL p99 < %.0f ms: %s (%.2f); "
	       "ipamd < %d MiB: %s\n",
	       GOAL_ADD_P99_MS, met(worst_p99(r, "ADD") < GOAL_ADD_P99_MS), worst_p99(r, "ADD"),
	       GOAL_DEL_P99_MS, met(worst_p99(r, "DEL") < GOAL_DEL_P99_MS), worst_p99(r, "DEL"),
	       GOAL_IPAMD_RSS_KIB / 1024, met(r->rss_kib < GOAL_IPAMD_RSS_KIB));
}

/* A figure to 3 decimals; NaN (none, e.g. ipamd is not involved) is null. */
static json_t *json_fig(double v)
{
	return isnan(v) ? json_null() : json_real(round(v * 1000) / 1000);
}

static int bench_print_json(const struct bench_result *r)
{
	json_t *root = json_object(), *goals;
	char key[64], *text;

	for (int ph = 0; ph < PH__COUNT; ph++) {
		const char *k = phases[ph].key;

		snprintf(key, sizeof(key), "%s_p50_ms", k);
		json_object_set_new(root, key, json_fig(r->call[ph].p50));
		snprintf(key, sizeof(key), "%s_p99_ms", k);
		json_object_set_new(root, key, json_fig(r->call[ph].p99));
		snprintf(key, sizeof(key), "%s_max_ms", k);
		json_object_set_new(root, key, json_fig(r->call[ph].max));
		if (ph == PH_VERSION)
			continue; /* neither logged nor sent to ipamd */
		snprintf(key, sizeof(key), "%s_plugin_p50_ms", k);
		json_object_set_new(root, key, json_fig(r->plugin[ph].p50));
		snprintf(key, sizeof(key), "%s_ipamd_mean_ms", k);
		json_object_set_new(root, key, json_fig(r->ipamd_req_ms[ph]));
		snprintf(key, sizeof(key), "%s_checkpoint_mean_ms", k);
		json_object_set_new(root, key, json_fig(r->checkpoint_ms[ph]));
	}
	json_object_set_new(root, "ipamd_rss_kib", json_integer(r->rss_kib));
	json_object_set_new(root, "ipamd_hwm_kib", json_integer(r->hwm_kib));
	json_object_set_new(root, "pods", json_integer(BENCH_PODS));
	json_object_set_new(root, "loadavg_1m_start", json_fig(r->load_start));
	json_object_set_new(root, "loadavg_1m_end", json_fig(r->load_end));
	goals = json_pack("{s:b, s:b, s:b}", "add_p99_under_30_ms",
			  worst_p99(r, "ADD") < GOAL_ADD_P99_MS, "del_p99_under_20_ms",
			  worst_p99(r, "DEL") < GOAL_DEL_P99_MS, "ipamd_under_10_mib",
			  r->rss_kib < GOAL_IPAMD_RSS_KIB);
	json_object_set_new(root, "goals_met", goals);
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(root);
	if (!text)
		return -1;
	printf("%s\n", text);
	free(text);
	return 0;
}

/* ---- set-up and clean-up ---- */

static int bench_find_binaries(struct bench *b, const char *build)
{
	char self[PATH_MAX];
	ssize_t n;

	if (build) {
		if (!realpath(build, b->build)) {
			fprintf(stderr, "cni bench: --build %s: %s\n", build, strerror(errno));
			return -1;
		}
	} else {
		/* build/bench/cni -> build/ */
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0) {
			fprintf(stderr, "cni bench: readlink /proc/self/exe: %s\n", strerror(errno));
			return -1;
		}
		self[n] = '\0';
		snprintf(b->build, sizeof(b->build), "%s", dirname(dirname(self)));
	}
	if ((size_t)snprintf(b->plugin, sizeof(b->plugin), "%s/podfence-cni", b->build) >=
		    sizeof(b->plugin) ||
	    (size_t)snprintf(b->ipamd, sizeof(b->ipamd), "%s/podfence-ipamd", b->build) >=
		    sizeof(b->ipamd)) {
		fprintf(stderr, "cni bench: build directory path too long: %s\n", b->build);
		return -1;
	}
	if (access(b->plugin, X_OK) || access(b->ipamd, X_OK)) {
		fprintf(stderr, "cni bench: %s or %s is missing (make, or --build DIR)\n", b->plugin,
			b->ipamd);
		return -1;
	}
	return 0;
}

static int bench_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path))
		fprintf(stderr, "cni bench: remove %s: %s\n", path, strerror(errno));
	return 0;
}

/* ipamd stopped, the pods' namespaces closed (their veths, and the host
 * ends in the node, go with them), the temporary directory removed. */
static void bench_cleanup(struct bench *b)
{
	bench_stop_ipamd(b);
	bench_drop_pods(b);
	if (b->tmp[0])
		nftw(b->tmp, bench_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: cni [--json] [--build DIR]\n"
		   "  ADD and DEL latency of podfence-cni over %d pods (one and two at a time)\n"
		   "  and podfence-ipamd's RSS; runs as root in namespaces of its own.\n"
		   "  --build DIR  where podfence-cni and podfence-ipamd are (default: ../ of\n"
		   "               this program's directory)\n",
		   BENCH_PODS);
}

int main(int argc, char **argv)
{
	static struct bench b;
	struct bench_result res = { 0 };
	const char *build = NULL;
	struct sigaction sa = { .sa_handler = bench_on_signal }; /* no SA_RESTART */
	bool json = false;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--build") && i + 1 < argc) {
			build = argv[++i];
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "cni bench: unknown argument \"%s\"\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	for (int i = 0; i < BENCH_PODS; i++) {
		b.pods[i].netns_fd = -1;
		snprintf(b.pods[i].name, sizeof(b.pods[i].name), "pod-%03d", i);
	}
	b.node_fd = -1;
	if (bench_find_binaries(&b, build))
		return 1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	snprintf(b.tmp, sizeof(b.tmp), "/tmp/pfbench-cni.XXXXXX");
	if (!mkdtemp(b.tmp)) {
		fprintf(stderr, "cni bench: mkdtemp %s: %s\n", b.tmp, strerror(errno));
		b.tmp[0] = '\0';
		return 1;
	}
	snprintf(b.sock, sizeof(b.sock), "%s/ipamd.sock", b.tmp);
	/* What podfence-init installs, flattened for one plugin as a runtime
	 * hands it over. The agent socket does not exist: in standard mode the
	 * plugin notes that and goes on. */
	snprintf(b.netconf, sizeof(b.netconf),
		 "{\"cniVersion\":\"1.0.0\",\"name\":\"podfence\",\"type\":\"podfence-cni\","
		 "\"ipamdSocket\":\"%s\",\"agentSocket\":\"%s/agent.sock\","
		 "\"logFile\":\"%s/plugin.log\",\"mtu\":1500}",
		 b.sock, b.tmp, b.tmp);

	if (bench_enter_node(&b) || bench_start_ipamd(&b))
		goto out;
	if (bench_run(&b, &res))
		goto out;
	rc = json ? (bench_print_json(&res) ? 1 : 0) : (bench_print_table(&res), 0);
out:
	bench_cleanup(&b);
	if (bench_stop) {
		fprintf(stderr, "cni bench: stopped by signal %d; cleaned up\n", (int)bench_stop);
		signal((int)bench_stop, SIG_DFL);
		raise((int)bench_stop);
	}
	return rc;
}
