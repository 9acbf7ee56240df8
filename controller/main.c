// SPDX-License-Identifier: Apache-2.0
/* podfence-controller: flags, then resolve on every change of the source
 * (dir: here and in sync.c; kube: in kube_*.c). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "controller.h"
#include "dirs.h"
#include "log.h"

/* A burst of writes (a copy of many files) is resolved once. */
#define CONTROLLER_DEBOUNCE_MS 20

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: podfence-controller --source dir:PATH --output DIR [--once] [--log-file PATH]\n"
		"       podfence-controller --source kube:[KUBECONFIG] [--health-bind ADDR:PORT]\n"
		"                           [--resync-period SECONDS] [--max-pe-bytes N] [--log-file PATH]\n"
		"       podfence-controller --check-health ADDR:PORT\n"
		"Resolves the NetworkPolicies, Pods and Namespaces of the source into\n"
		"PolicyEndpoints (podfence.io/v1alpha1), again on every change of the source.\n"
		"dir: writes one per NetworkPolicy to DIR as pe-<namespace>--<name>.json.\n"
		"kube: (in-cluster, or the kubeconfig given) watches the API server and keeps\n"
		"its PolicyEndpoints equal to the resolved ones (see docs/kube.md).\n"
		"  --once                   dir: one pass, then exit (status 1 if a file could not be written)\n"
		"  --health-bind ADDR:PORT  kube: serve /healthz and /metrics there (loopback)\n"
		"  --resync-period SECONDS  kube: relist and check everything this often (default %d, 0: never)\n"
		"  --max-pe-bytes N         kube: split a policy's PolicyEndpoint over several objects\n"
		"                           when it would exceed N bytes of JSON (default %d)\n"
		"  --check-health ADDR:PORT GET /healthz of a running controller: exit 0 when healthy\n"
		"  --log-file PATH          JSON lines to PATH instead of text on stderr\n",
		CONTROLLER_RESYNC_S, CONTROLLER_MAX_PE_BYTES);
}

/* A whole decimal number in [min, max]. */
static int parse_number(const char *flag, const char *text, unsigned long long min,
			unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || *out < min || *out > max) {
		fprintf(stderr, "podfence-controller: %s %s: expected a whole number from %llu to "
			"%llu\n", flag, text, min, max);
		return -EINVAL;
	}
	return 0;
}

static int drain(int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	int seen = 0;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		seen = 1;
	return seen;
}

static int watch_and_sync(const struct controller_config *cfg)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	struct pollfd p;

	if (fd < 0 || inotify_add_watch(fd, cfg->source_dir, IN_CLOSE_WRITE | IN_MOVED_TO |
						     IN_DELETE | IN_MOVED_FROM) < 0) {
		pf_err("watch --source %s: %s", cfg->source_dir, strerror(errno));
		return 1;
	}
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (!stop) {
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			pf_err("poll: %s", strerror(errno));
			break;
		}
		drain(fd);
		while (!stop && poll(&p, 1, CONTROLLER_DEBOUNCE_MS) > 0)
			drain(fd);
		if (!stop)
			controller_sync(cfg);
	}
	close(fd);
	return 0;
}

/* The flags of one source used with the other. */
static int check_mode_flags(const struct controller_config *cfg, bool kube_flags)
{
	if (cfg->kube && (cfg->output_dir || cfg->once)) {
		fprintf(stderr, "podfence-controller: --output and --once go with --source dir:, "
			"not kube:\n");
		return -EINVAL;
	}
	if (!cfg->kube && kube_flags) {
		fprintf(stderr, "podfence-controller: --health-bind, --resync-period and "
			"--max-pe-bytes go with --source kube:\n");
		return -EINVAL;
	}
	if (!cfg->kube && !cfg->output_dir) {
		fprintf(stderr, "podfence-controller: --output DIR is required\n");
		return -EINVAL;
	}
	return 0;
}

static int run_dir(const struct controller_config *cfg)
{
	int err = pf_mkdirs(cfg->output_dir, 0755);

	if (err) {
		pf_err("create --output %s: %s", cfg->output_dir, strerror(-err));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	err = controller_sync(cfg);
	if (cfg->once)
		return err ? 1 : 0;
	return watch_and_sync(cfg);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "source", required_argument, 0, 's' },
		{ "output", required_argument, 0, 'o' },
		{ "once", no_argument, 0, '1' },
		{ "log-file", required_argument, 0, 'l' },
		{ "health-bind", required_argument, 0, 'b' },
		{ "resync-period", required_argument, 0, 'r' },
		{ "max-pe-bytes", required_argument, 0, 'm' },
		{ "check-health", required_argument, 0, 'c' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct controller_config cfg = { .resync_s = CONTROLLER_RESYNC_S,
					 .max_pe_bytes = CONTROLLER_MAX_PE_BYTES };
	const char *source = NULL, *log_file = NULL, *probe = NULL;
	unsigned long long n;
	bool kube_flags = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': source = optarg; break;
		case 'o': cfg.output_dir = optarg; break;
		case '1': cfg.once = true; break;
		case 'l': log_file = optarg; break;
		case 'b': cfg.health_bind = optarg; kube_flags = true; break;
		case 'r':
			/* a day at most: a longer period is as good as never */
			if (parse_number("--resync-period", optarg, 0, 86400, &n))
				return 2;
			cfg.resync_s = (unsigned)n;
			kube_flags = true;
			break;
		case 'm':
			/* room for a policy's own fields, one endpoint and one rule */
			if (parse_number("--max-pe-bytes", optarg, 2048, 64ull << 20, &n))
				return 2;
			cfg.max_pe_bytes = (size_t)n;
			kube_flags = true;
			break;
		case 'c': probe = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "podfence-controller: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (probe)
		return controller_check_health(probe);
	if (source && !strncmp(source, "kube:", 5)) {
		cfg.kube = source + 5;
	} else if (source && !strncmp(source, "dir:", 4) && source[4]) {
		cfg.source_dir = source + 4;
	} else {
		fprintf(stderr, "podfence-controller: --source %s: expected dir:PATH or "
			"kube:[KUBECONFIG]\n", source ? source : "(missing)");
		return 2;
	}
	if (check_mode_flags(&cfg, kube_flags))
		return 2;
	err = pf_log_open("podfence-controller", log_file, log_file != NULL);
	if (err) {
		fprintf(stderr, "podfence-controller: --log-file %s: %s\n", log_file, strerror(-err));
		return 2;
	}
	return cfg.kube ? controller_kube_run(&cfg) : run_dir(&cfg);
}
