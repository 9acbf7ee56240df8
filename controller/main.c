// SPDX-License-Identifier: Apache-2.0
/* podfence-controller: flags, then resolve on every change of the source. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
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
		"Resolves the NetworkPolicies, Pods and Namespaces of the source into one\n"
		"PolicyEndpoint (podfence.io/v1alpha1) per NetworkPolicy, written to DIR as\n"
		"pe-<namespace>--<name>.json, again on every change of the source.\n"
		"  --once            one pass, then exit (status 1 if a file could not be written)\n"
		"  --log-file PATH   JSON lines to PATH instead of text on stderr\n");
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

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "source", required_argument, 0, 's' },
		{ "output", required_argument, 0, 'o' },
		{ "once", no_argument, 0, '1' },
		{ "log-file", required_argument, 0, 'l' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct controller_config cfg = { 0 };
	const char *source = NULL, *log_file = NULL;
	int c, err;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': source = optarg; break;
		case 'o': cfg.output_dir = optarg; break;
		case '1': cfg.once = true; break;
		case 'l': log_file = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "podfence-controller: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (!source || strncmp(source, "dir:", 4) || !source[4]) {
		fprintf(stderr, "podfence-controller: --source %s: expected dir:PATH (the kube: "
			"source is not built yet)\n", source ? source : "(missing)");
		return 2;
	}
	cfg.source_dir = source + 4;
	if (!cfg.output_dir) {
		fprintf(stderr, "podfence-controller: --output DIR is required\n");
		return 2;
	}
	err = pf_log_open("podfence-controller", log_file, log_file != NULL);
	if (err) {
		fprintf(stderr, "podfence-controller: --log-file %s: %s\n", log_file, strerror(-err));
		return 2;
	}
	err = pf_mkdirs(cfg.output_dir, 0755);
	if (err) {
		pf_err("create --output %s: %s", cfg.output_dir, strerror(-err));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	err = controller_sync(&cfg);
	if (cfg.once)
		return err ? 1 : 0;
	return watch_and_sync(&cfg);
}
