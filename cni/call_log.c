// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "call_log.h"
#include "log.h"

static int log_fd = STDERR_FILENO;

static int open_append(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

void call_log_open(const char *path, int level)
{
	int fd;

	pf_log_set_level((enum pf_log_level)level);
	if (!path) {
		pf_log_open(PF_CNI_PROGRAM, NULL, 1);
		return;
	}
	fd = open_append(path);
	/* The directory is podfence-init's to make; one missing level is made
	 * here so a plugin run before init still logs. */
	if (fd < 0 && errno == ENOENT) {
		char dir[PF_CNI_PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", path);
		if (mkdir(dirname(dir), 0755) == 0 || errno == EEXIST)
			fd = open_append(path);
	}
	if (fd < 0) {
		fprintf(stderr, "%s: cannot open log file %s: %s; logging to stderr\n",
			PF_CNI_PROGRAM, path, strerror(errno));
		pf_log_open(PF_CNI_PROGRAM, NULL, 1);
	} else {
		log_fd = fd;
		if (pf_log_open(PF_CNI_PROGRAM, path, 1))
			pf_log_open(PF_CNI_PROGRAM, NULL, 1);
	}
}

static void timestamp(char *buf, size_t len)
{
	struct timespec now;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", now.tv_nsec / 1000000);
}

void call_log_write(const struct pf_cni_call *c, const char *command, double duration_ms)
{
	json_t *line = json_object();
	char ts[40], *text;
	size_t len;

	if (!line)
		return;
	timestamp(ts, sizeof(ts));
	json_object_set_new(line, "ts", json_string(ts));
	json_object_set_new(line, "level", json_string(c->err.code ? "error" : "info"));
	json_object_set_new(line, "program", json_string(PF_CNI_PROGRAM));
	json_object_set_new(line, "command", json_string(command ? command : ""));
	if (c->env.container_id[0]) {
		json_object_set_new(line, "container_id", json_string(c->env.container_id));
		json_object_set_new(line, "ifname", json_string(c->env.ifname));
		json_object_set_new(line, "netns", json_string(c->env.netns));
		json_object_set_new(line, "pod_namespace", json_string(c->env.pod_namespace));
		json_object_set_new(line, "pod_name", json_string(c->env.pod_name));
	}
	json_object_set_new(line, "result", json_string(c->err.code ? "error" : "ok"));
	if (c->err.code) {
		json_object_set_new(line, "code", json_integer(c->err.code));
		json_object_set_new(line, "msg", json_string(c->err.msg));
		if (c->err.details[0])
			json_object_set_new(line, "details", json_string(c->err.details));
	}
	json_object_set_new(line, "duration_ms", json_real(duration_ms));
	if (c->log)
		json_object_update(line, c->log);
	/* 6 significant digits: microseconds for calls under a second. */
	text = json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(line);
	if (!text)
		return;
	/* One write of the whole line: concurrent plugin calls append to the
	 * same file (O_APPEND) without interleaving. */
	len = strlen(text);
	text[len] = '\n'; /* over the NUL: the buffer is written by length */
	if (write(log_fd, text, len + 1) < 0 && log_fd != STDERR_FILENO)
		fprintf(stderr, "%s: write log: %s\n", PF_CNI_PROGRAM, strerror(errno));
	free(text);
}

void call_log_close(void)
{
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
	pf_log_close();
}
