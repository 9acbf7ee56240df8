// SPDX-License-Identifier: Apache-2.0
/* The main loop: source changes (debounced), reconcile requests, veths
 * going away, retries after a failed reconcile, and SIGTERM/SIGINT. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "log.h"
#include "agent.h"

enum agent_fd { FD_SIGNAL, FD_KICK, FD_SOURCE, FD_DEBOUNCE, FD_RETRY, FD_LINKS, FD_COUNT };

struct agent_loop {
	struct agent *a;
	int fd[FD_COUNT];
	struct agent_link_watch *links;
	struct timespec burst_start; /* first source event not yet synced */
	bool debounce_armed;
};

static int agent_timer_arm(int fd, long ms)
{
	struct itimerspec its = { .it_value = { ms / 1000, (ms % 1000) * 1000000L } };

	return timerfd_settime(fd, 0, &its, NULL) ? -errno : 0;
}

static void agent_drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) > 0)
		;
}

/* Lock held. A failed reconcile is tried again after AGENT_RETRY_MS. */
static void agent_loop_reconcile(struct agent_loop *l)
{
	if (agent_reconcile(l->a))
		agent_timer_arm(l->fd[FD_RETRY], AGENT_RETRY_MS);
}

/* Source events: sync once they stop for AGENT_DEBOUNCE_MS, or at the
 * latest AGENT_DEBOUNCE_MAX_MS after the first of them. */
static void agent_on_source(struct agent_loop *l)
{
	if (l->a->source->read_events(l->a) <= 0)
		return;
	if (!l->debounce_armed) {
		clock_gettime(CLOCK_MONOTONIC, &l->burst_start);
		l->debounce_armed = true;
	} else if (agent_elapsed(&l->burst_start) * 1000 >= AGENT_DEBOUNCE_MAX_MS) {
		return; /* the timer armed last time fires soon enough */
	}
	agent_timer_arm(l->fd[FD_DEBOUNCE], AGENT_DEBOUNCE_MS);
}

static void agent_on_debounce(struct agent_loop *l)
{
	agent_drain(l->fd[FD_DEBOUNCE]);
	l->debounce_armed = false;
	pthread_mutex_lock(&l->a->lock);
	if (l->a->source->sync)
		l->a->source->sync(l->a);
	agent_loop_reconcile(l);
	pthread_mutex_unlock(&l->a->lock);
	/* A reread manifest file (or a relist) replaces every object tree it
	 * held: give the freed pages back rather than let the heap keep its
	 * peak. */
	malloc_trim(0);
}

static void agent_on_links(struct agent_loop *l)
{
	pthread_mutex_lock(&l->a->lock);
	if (agent_link_watch_read(l->links, l->a) > 0)
		agent_loop_reconcile(l);
	pthread_mutex_unlock(&l->a->lock);
}

static int agent_loop_open(struct agent_loop *l)
{
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	l->fd[FD_SIGNAL] = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
	l->fd[FD_KICK] = l->a->kick_fd;
	l->fd[FD_DEBOUNCE] = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	l->fd[FD_RETRY] = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (l->fd[FD_SIGNAL] < 0 || l->fd[FD_DEBOUNCE] < 0 || l->fd[FD_RETRY] < 0) {
		pf_err("set up the main loop: %s", strerror(errno));
		return -1;
	}
	if (l->a->cfg.enabled) {
		l->fd[FD_SOURCE] = l->a->source->fd(l->a);
		if (agent_link_watch_open(&l->links))
			return -1;
		l->fd[FD_LINKS] = agent_link_watch_fd(l->links);
	}
	return 0;
}

static void agent_loop_close(struct agent_loop *l)
{
	/* The kick eventfd and the source's fd belong to others. */
	for (int i = 0; i < FD_COUNT; i++)
		if (l->fd[i] >= 0 && i != FD_KICK && i != FD_SOURCE && i != FD_LINKS)
			close(l->fd[i]);
	agent_link_watch_close(l->links);
}

int agent_loop_run(struct agent *a)
{
	struct agent_loop l = { .a = a };
	struct epoll_event events[FD_COUNT];
	int ep = -1, rc = 1;
	bool stop = false;

	for (int i = 0; i < FD_COUNT; i++)
		l.fd[i] = -1;
	if (agent_loop_open(&l) || (ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		goto out;
	for (int i = 0; i < FD_COUNT; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

		if (l.fd[i] >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, l.fd[i], &e)) {
			pf_err("set up the main loop: %s", strerror(errno));
			goto out;
		}
	}
	while (!stop) {
		int n = epoll_wait(ep, events, FD_COUNT, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pf_err("main loop: %s", strerror(errno));
			goto out;
		}
		for (int i = 0; i < n; i++) {
			switch (events[i].data.u32) {
			case FD_SIGNAL: {
				struct signalfd_siginfo si;

				if (read(l.fd[FD_SIGNAL], &si, sizeof(si)) == sizeof(si))
					pf_info("signal %s: shutting down (the datapath stays)",
						strsignal((int)si.ssi_signo));
				stop = true;
				break;
			}
			case FD_KICK:
			case FD_RETRY:
				agent_drain(l.fd[events[i].data.u32]);
				pthread_mutex_lock(&a->lock);
				agent_loop_reconcile(&l);
				pthread_mutex_unlock(&a->lock);
				break;
			case FD_SOURCE:
				agent_on_source(&l);
				break;
			case FD_DEBOUNCE:
				agent_on_debounce(&l);
				break;
			case FD_LINKS:
				agent_on_links(&l);
				break;
			}
		}
	}
	rc = 0;
out:
	if (ep >= 0)
		close(ep);
	agent_loop_close(&l);
	return rc;
}
