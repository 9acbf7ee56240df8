// SPDX-License-Identifier: Apache-2.0
/* The socket API (docs/agent.md): POST /v1/enforce-pod, POST
 * /v1/release-pod, and the read-only GETs of introspect.c. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "agent.h"

void agent_kick(struct agent *a)
{
	uint64_t one = 1;

	if (write(a->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pf_err("wake the main loop: %s", strerror(errno));
}

/* Waits (lock held) for a reconcile that starts after now to finish.
 * Returns false on timeout. */
static bool agent_wait_reconcile(struct agent *a, long timeout_ms)
{
	uint64_t want = a->gen_started + 1;
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	agent_kick(a);
	while (a->gen_done < want)
		if (pthread_cond_timedwait(&a->reconciled, &a->lock, &deadline) == ETIMEDOUT)
			return a->gen_done >= want;
	return true;
}

/* Takes what the request says about the pod into the table. */
static struct agent_pod *agent_register(struct agent *a, struct pf_local_pod *lp,
					struct pf_http_reply *reply)
{
	struct agent_pod *p = agent_pod_find(a, lp->ns, lp->name);

	if (p) {
		if (p->lp.ifindex != lp->ifindex) {
			/* A new veth for the pod (its sandbox was made again). */
			if (p->bound)
				pf_datapath_pod_unbind(a->dp, p->lp.ifindex);
			p->bound = p->attached = false;
		}
		lp->set_id = p->lp.set_id;
		pf_local_pod_free(&p->lp);
		p->lp = *lp;
		p->gone = false;
	} else {
		p = calloc(1, sizeof(*p));
		if (p)
			p->lp = *lp;
		if (!p || agent_pod_insert(a, p)) {
			free(p);
			pf_local_pod_free(lp);
			pf_http_reply_error(reply, 500, "register pod: out of memory");
			return NULL;
		}
	}
	memset(lp, 0, sizeof(*lp));
	p->spec_dirty = true;
	a->state_dirty = true;
	agent_pod_publish(a, p);
	return p;
}

static void agent_enforce(struct agent *a, const char *body, size_t len,
			  struct pf_http_reply *reply)
{
	json_t *req = pf_http_json_body(body, len, reply);
	struct pf_local_pod lp;
	struct agent_pod *p;
	char err[512], ns[256], name[256];
	bool in_time;

	if (!req)
		return;
	if (pf_local_pod_from_request(req, &lp, err, sizeof(err))) {
		json_decref(req);
		pf_http_reply_error(reply, 400, "%s", err);
		return;
	}
	json_decref(req);
	if (!a->cfg.enabled) {
		pf_local_pod_free(&lp);
		pf_http_reply_json(reply, 200,
				   json_pack("{s:b, s:n}", "enforced", 1, "policy_set"));
		return;
	}
	/* Without --enable-ipv6 the pod is known by its IPv4 address only
	 * (which the request lists first). */
	if (!a->cfg.ipv6)
		lp.n_ips = pf_local_pod_ip(&lp, PF_FAMILY_V4) ? 1 : 0;
	lp.ifindex = (int)if_nametoindex(lp.host_veth);
	if (!lp.ifindex) {
		pf_http_reply_error(reply, 400, "\"host_veth\" \"%s\": no such interface here (%s)",
				    lp.host_veth, strerror(errno));
		pf_local_pod_free(&lp);
		return;
	}
	snprintf(ns, sizeof(ns), "%s", lp.ns);
	snprintf(name, sizeof(name), "%s", lp.name);
	pthread_mutex_lock(&a->lock);
	p = agent_register(a, &lp, reply);
	if (p) {
		/* Saved before anything is bound: an agent killed in between
		 * still knows the pod when it starts again. */
		agent_state_flush(a);
		in_time = agent_wait_reconcile(a, AGENT_ENFORCE_TIMEOUT_MS);
		p = agent_pod_find(a, ns, name);
		if (p && p->bound && p->attached && !p->error[0])
			pf_http_reply_json(reply, 200, json_pack("{s:b, s:I}", "enforced", 1,
								 "policy_set",
								 (json_int_t)p->lp.set_id));
		else if (!in_time)
			pf_http_reply_error(reply, 504, "the policy of pod %s/%s was not in place "
					    "within %d s", ns, name, AGENT_ENFORCE_TIMEOUT_MS / 1000);
		else
			pf_http_reply_error(reply, 500, "pod %s/%s is not enforced: %s", ns, name,
					    p && p->error[0] ? p->error : "it went away meanwhile");
	}
	pthread_mutex_unlock(&a->lock);
}

static void agent_release(struct agent *a, const char *body, size_t len,
			  struct pf_http_reply *reply)
{
	json_t *req = pf_http_json_body(body, len, reply);
	const char *ns, *name, *cid;
	struct agent_pod *p;
	bool released = false;

	if (!req)
		return;
	ns = json_string_value(json_object_get(req, "pod_namespace"));
	name = json_string_value(json_object_get(req, "pod_name"));
	cid = json_string_value(json_object_get(req, "container_id"));
	if (!ns || !name || !cid) {
		pf_http_reply_error(reply, 400, "\"%s\" is required and must be a string",
				    !ns ? "pod_namespace" : !name ? "pod_name" : "container_id");
		json_decref(req);
		return;
	}
	pthread_mutex_lock(&a->lock);
	p = a->cfg.enabled ? agent_pod_find(a, ns, name) : NULL;
	/* Another container id is a newer sandbox of the pod: not ours to
	 * release. */
	if (p && !p->gone && !strcmp(p->lp.container_id, cid)) {
		p->gone = true;
		released = true;
		agent_wait_reconcile(a, AGENT_ENFORCE_TIMEOUT_MS);
	}
	pthread_mutex_unlock(&a->lock);
	json_decref(req);
	pf_http_reply_json(reply, 200, json_pack("{s:b}", "released", released));
}

static void agent_socket_health(struct agent *a, struct pf_http_reply *reply)
{
	bool ready;

	pthread_mutex_lock(&a->lock);
	ready = agent_ready(a);
	pthread_mutex_unlock(&a->lock);
	if (ready)
		pf_http_reply_json(reply, 200, json_pack("{s:s}", "status", "ok"));
	else
		pf_http_reply_json(reply, 503, json_pack("{s:s}", "status", "starting"));
}

void agent_rpc_handle(void *ctx, const char *method, const char *path, const char *body,
		      size_t body_len, struct pf_http_reply *reply)
{
	struct agent *a = ctx;
	bool post = !strcmp(method, "POST"), get = !strcmp(method, "GET");

	if (post && !strcmp(path, "/v1/enforce-pod"))
		agent_enforce(a, body, body_len, reply);
	else if (post && !strcmp(path, "/v1/release-pod"))
		agent_release(a, body, body_len, reply);
	else if (get && !strcmp(path, "/v1/pods"))
		agent_introspect_pods(a, reply);
	else if (get && !strcmp(path, "/v1/policies"))
		agent_introspect_policies(a, reply);
	else if (get && !strcmp(path, "/v1/explain"))
		agent_introspect_explain(a, pf_http_query_arg("pod"), reply);
	else if (get && !strcmp(path, "/v1/health"))
		agent_socket_health(a, reply);
	else if (!strcmp(path, "/v1/enforce-pod") || !strcmp(path, "/v1/release-pod") ||
		 !strcmp(path, "/v1/pods") || !strcmp(path, "/v1/policies") ||
		 !strcmp(path, "/v1/explain") || !strcmp(path, "/v1/health"))
		pf_http_reply_error(reply, 405, "%s is not allowed on %s", method, path);
	else
		pf_http_reply_error(reply, 404, "no such endpoint %s", path);
}
