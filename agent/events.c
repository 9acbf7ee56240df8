// SPDX-License-Identifier: Apache-2.0
/*
 * The policy event log: verdicts of new flows from the pf_events ring
 * buffer, one JSON line each, naming the pods at both ends where known:
 *   {"time": "2024-05-01T10:00:00.123456Z", "verdict": "deny",
 *    "reason": "policy-deny", "direction": "ingress", "protocol": "tcp",
 *    "family": "ipv4",
 *    "src": {"ip": "10.244.1.6", "port": 41000, "namespace": "x", "name": "b"},
 *    "dst": {"ip": "10.244.1.5", "port": 81, "namespace": "x", "name": "a"},
 *    "policy_set": 3, "rule_id": null, "policies": ["x/allow-80"]}
 * The pod on whose veth the verdict fell is found by ifindex, the other end
 * by address (names.c); "policies" are the NetworkPolicies
 * that select the pod. Read in a thread of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "map_decode.h"
#include "agent.h"

struct agent_events {
	struct agent *a;
	struct ring_buffer *rb;
	int out;          /* where lines go */
	bool own_out;
	pthread_t thread;
	bool running;
	int64_t mono_to_real; /* ns to add to CLOCK_MONOTONIC for CLOCK_REALTIME */
};

static int64_t agent_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void agent_time_text(int64_t real_ns, char *buf, size_t len)
{
	time_t secs = (time_t)(real_ns / 1000000000LL);
	struct tm tm;
	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06lldZ", (long long)(real_ns % 1000000000LL) / 1000);
}

static bool agent_has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132;
}

/* One end of the flow: address, port, and the pod when known. */
static json_t *agent_end_json(const struct agent_events *ev, const struct pf_event *e,
			      const uint8_t *addr, uint16_t port, const char *pod)
{
	uint8_t key[16] = { 0 };
	char buf[64];
	json_t *o;

	memcpy(key, addr, e->family == PF_FAMILY_V4 ? 4 : 16);
	if (!pod)
		pod = agent_names_pod_of_ip(ev->a, e->family, key);
	o = json_pack("{s:s}", "ip", pf_addr_format(e->family, key, buf, sizeof(buf)));
	if (o && agent_has_ports(e->proto))
		json_object_set_new(o, "port", json_integer(port));
	if (o && pod) {
		const char *slash = strchr(pod, '/');

		json_object_set_new(o, "namespace", json_stringn(pod, (size_t)(slash - pod)));
		json_object_set_new(o, "name", json_string(slash + 1));
	}
	return o;
}

/* Builds the line; the agent's lock is held for the name lookups. */
static json_t *agent_event_json(struct agent_events *ev, const struct pf_event *e)
{
	struct agent *a = ev->a;
	const struct agent_pod *p;
	char when[48], proto[24], podkey[600] = "";
	json_t *line, *policies;
	bool ingress = e->dir == PF_DIR_INGRESS;

	agent_time_text((int64_t)e->ts_ns + ev->mono_to_real, when, sizeof(when));
	pthread_mutex_lock(&a->lock);
	p = agent_pod_by_ifindex(a, (int)e->ifindex);
	if (p)
		snprintf(podkey, sizeof(podkey), "%s/%s", p->lp.ns, p->lp.name);
	policies = p && p->policies ? json_deep_copy(p->policies) : json_array();
	/* Ingress: the pod is the destination; egress: the source. */
	line = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:o, s:o}", "time", when,
			 "verdict", pf_verdict_name(e->verdict), "reason",
			 pf_reason_name(e->reason), "direction", pf_dir_name(e->dir), "protocol",
			 pf_ip_proto_text(e->proto, proto, sizeof(proto)), "family",
			 pf_family_name(e->family), "src",
			 agent_end_json(ev, e, e->saddr, e->sport, !ingress && p ? podkey : NULL),
			 "dst",
			 agent_end_json(ev, e, e->daddr, e->dport, ingress && p ? podkey : NULL),
			 "policy_set", (json_int_t)e->set_id, "rule_id",
			 e->rule_id == PF_RULE_NONE ? json_null() : json_integer(e->rule_id),
			 "policies", policies);
	pthread_mutex_unlock(&a->lock);
	return line;
}

static int agent_event_write(int fd, const char *text)
{
	size_t len = strlen(text);
	char *buf = malloc(len + 2);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, text, len);
	buf[len] = '\n';
	/* One write per line: lines of O_APPEND writers never interleave. */
	n = write(fd, buf, len + 1);
	free(buf);
	return n == (ssize_t)(len + 1) ? 0 : -EIO;
}

static int agent_event_cb(void *ctx, void *data, size_t size)
{
	struct agent_events *ev = ctx;
	struct pf_event e;
	json_t *line;
	char *text;

	if (size < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	line = agent_event_json(ev, &e);
	text = line ? json_dumps(line, JSON_COMPACT) : NULL;
	json_decref(line);
	if (text && !agent_event_write(ev->out, text))
		pf_prom_add(ev->a->m.events, NULL, 1);
	else
		pf_prom_add(ev->a->m.event_errors, NULL, 1);
	free(text);
	return 0;
}

static void *agent_events_main(void *arg)
{
	struct agent_events *ev = arg;

	while (!ev->a->stopping) {
		int n;

		ev->mono_to_real = agent_clock_ns(CLOCK_REALTIME) - agent_clock_ns(CLOCK_MONOTONIC);
		n = ring_buffer__poll(ev->rb, 200);
		if (n < 0 && n != -EINTR) {
			pf_err("read the policy event ring buffer: %s", strerror(-n));
			sleep(1);
		}
	}
	return NULL;
}

int agent_events_start(struct agent *a, struct agent_events **out)
{
	struct agent_events *ev = calloc(1, sizeof(*ev));
	int rc;

	*out = NULL;
	if (!ev)
		return -ENOMEM;
	ev->a = a;
	ev->out = STDERR_FILENO;
	if (a->cfg.event_log) {
		ev->out = open(a->cfg.event_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (ev->out < 0) {
			rc = -errno;
			pf_err("open the policy event log %s: %s", a->cfg.event_log, strerror(-rc));
			free(ev);
			return rc;
		}
		ev->own_out = true;
	}
	ev->rb = ring_buffer__new(pf_datapath_map_fd(a->dp, PF_MAP_EVENTS), agent_event_cb, ev,
				  NULL);
	if (!ev->rb) {
		rc = -errno;
		pf_err("open the pf_events ring buffer: %s", strerror(-rc));
		agent_events_stop(ev);
		return rc;
	}
	rc = -pthread_create(&ev->thread, NULL, agent_events_main, ev);
	if (rc) {
		pf_err("start the policy event thread: %s", strerror(-rc));
		agent_events_stop(ev);
		return rc;
	}
	ev->running = true;
	pf_info("policy event log: %s", a->cfg.event_log ? a->cfg.event_log : "stderr");
	*out = ev;
	return 0;
}

/* The thread ends within a poll timeout once a->stopping is set. */
void agent_events_stop(struct agent_events *ev)
{
	if (!ev)
		return;
	if (ev->running)
		pthread_join(ev->thread, NULL);
	ring_buffer__free(ev->rb);
	if (ev->own_out)
		close(ev->out);
	free(ev);
}
