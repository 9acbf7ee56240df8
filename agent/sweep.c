// SPDX-License-Identifier: Apache-2.0
/* The conntrack sweep: every --conntrack-cache-cleanup-period seconds,
 * tracked flows idle for longer than that period are removed (the seed's
 * conntrack cleanup). In a thread of its own: a sweep of a full table walks
 * every entry, and must not hold up enforce-pod. It touches only pf_ct. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "agent.h"

struct agent_sweeper {
	struct agent *a;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
};

static void *agent_sweeper_main(void *arg)
{
	struct agent_sweeper *sw = arg;
	uint64_t idle_ns = (uint64_t)sw->a->cfg.ct_period * 1000000000ull;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&sw->lock);
	while (!sw->stop) {
		size_t removed = 0;
		int rc;

		next.tv_sec += sw->a->cfg.ct_period;
		while (!sw->stop && pthread_cond_timedwait(&sw->wake, &sw->lock, &next) != ETIMEDOUT)
			;
		if (sw->stop)
			break;
		pthread_mutex_unlock(&sw->lock);
		rc = pf_ct_sweep(sw->a->dp, idle_ns, &removed);
		if (rc)
			pf_err("conntrack sweep: %s", strerror(-rc));
		else if (removed)
			pf_info("conntrack sweep: %zu flows idle for over %u s removed", removed,
				sw->a->cfg.ct_period);
		pf_prom_add(sw->a->m.ct_removed, NULL, (double)removed);
		pthread_mutex_lock(&sw->lock);
	}
	pthread_mutex_unlock(&sw->lock);
	return NULL;
}

int agent_sweeper_start(struct agent *a, struct agent_sweeper **out)
{
	struct agent_sweeper *sw = calloc(1, sizeof(*sw));
	pthread_condattr_t attr;
	int rc;

	*out = NULL;
	if (!sw)
		return -ENOMEM;
	sw->a = a;
	pthread_mutex_init(&sw->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&sw->wake, &attr);
	pthread_condattr_destroy(&attr);
	rc = -pthread_create(&sw->thread, NULL, agent_sweeper_main, sw);
	if (rc) {
		pf_err("start the conntrack sweeper: %s", strerror(-rc));
		pthread_cond_destroy(&sw->wake);
		pthread_mutex_destroy(&sw->lock);
		free(sw);
		return rc;
	}
	*out = sw;
	return 0;
}

void agent_sweeper_stop(struct agent_sweeper *sw)
{
	if (!sw)
		return;
	pthread_mutex_lock(&sw->lock);
	sw->stop = true;
	pthread_cond_signal(&sw->wake);
	pthread_mutex_unlock(&sw->lock);
	pthread_join(sw->thread, NULL);
	pthread_cond_destroy(&sw->wake);
	pthread_mutex_destroy(&sw->lock);
	free(sw);
}
