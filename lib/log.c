// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <jansson.h>

#include "log.h"

static struct {
	const char *program;
	FILE *out;
	int json;
	enum pf_log_level level;
	pthread_mutex_t lock;
} pf_logger = { "podfence", NULL, 0, PF_LOG_INFO, PTHREAD_MUTEX_INITIALIZER };

static const char *const pf_level_names[] = { "debug", "info", "warn", "error" };

int pf_log_open(const char *program, const char *path, int json)
{
	pf_logger.program = program;
	pf_logger.json = json;
	if (!path)
		return 0;
	FILE *f = fopen(path, "ae");
	if (!f)
		return -errno;
	setvbuf(f, NULL, _IOLBF, 0);
	pf_logger.out = f;
	return 0;
}

void pf_log_set_level(enum pf_log_level level)
{
	pf_logger.level = level;
}

void pf_log_close(void)
{
	if (pf_logger.out)
		fclose(pf_logger.out);
	pf_logger.out = NULL;
}

void pf_log(enum pf_log_level level, const char *fmt, ...)
{
	char msg[1024], ts[40];
	struct timespec now;
	struct tm tm;
	va_list ap;
	FILE *out;

	if (level < pf_logger.level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts + strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm),
		 sizeof(ts) - 19, ".%03ldZ", now.tv_nsec / 1000000);

	pthread_mutex_lock(&pf_logger.lock);
	out = pf_logger.out ? pf_logger.out : stderr;
	if (pf_logger.json) {
		json_t *line = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level",
					 pf_level_names[level], "program",
					 pf_logger.program, "msg", msg);
		char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;

		fprintf(out, "%s\n", text ? text : msg);
		free(text);
		json_decref(line);
	} else {
		fprintf(out, "%s %s %s: %s\n", ts, pf_level_names[level],
			pf_logger.program, msg);
	}
	pthread_mutex_unlock(&pf_logger.lock);
}
