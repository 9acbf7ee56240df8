// SPDX-License-Identifier: Apache-2.0
/*
 * The kube: source: two watches on the API server (lib/kube_client.h), the
 * PolicyEndpoints of every namespace and the Pods of this node
 * (fieldSelector spec.nodeName=NODE), into the cache from the watches' own
 * threads under the agent's lock. What the API holds is enforced as it is:
 * the controller resolved the NetworkPolicies.
 *
 * Until both watches have delivered a first full list the source is not
 * loaded: reconciles then touch nothing a previous run pinned (reconcile.c)
 * and the agent is not ready. Once loaded it stays loaded: when the API
 * server goes away the cache keeps what it had, the datapath keeps
 * enforcing it, and the watches' relist brings the cache back in step.
 *
 * Changes wake the main loop through an eventfd, which it debounces like
 * manifest events, so a relist of many objects reconciles once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "k8s_parse.h"
#include "kube_client.h"
#include "log.h"
#include "agent.h"

enum agent_kube_which { KUBE_POLICY_ENDPOINTS, KUBE_PODS, KUBE_WATCHES };

struct agent_kube_watch {
	struct agent_kube *k;
	const struct pf_kube_resource *res;
	enum pf_k8s_kind kind;
	struct pf_kube_watch *w;
	bool synced;                     /* a first list was taken (a->lock) */
	struct pf_kube_watch_stats seen; /* at the last scrape (metrics thread) */
};

struct agent_kube {
	struct agent *a;
	struct pf_kube_client *client;
	struct agent_kube_watch watch[KUBE_WATCHES];
	int changed_fd; /* eventfd: the cache changed */
	char node_selector[300];
};

static void agent_kube_changed(struct agent_kube *k)
{
	uint64_t one = 1;

	if (write(k->changed_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pf_err("kube: wake the main loop: %s", strerror(errno));
}

/* A list's items carry no kind or apiVersion (only watch events do): the
 * object with both, from the resource watched. */
static json_t *agent_kube_typed(json_t *obj, const struct pf_kube_resource *res)
{
	const char *path = res->api_path;
	json_t *typed;

	if (json_object_get(obj, "kind"))
		return json_incref(obj);
	typed = json_copy(obj);
	path += !strncmp(path, "/apis/", 6) ? 6 : !strncmp(path, "/api/", 5) ? 5 : 0;
	if (typed && (json_object_set_new(typed, "kind", json_string(res->kind)) ||
		      json_object_set_new(typed, "apiVersion", json_string(path)))) {
		json_decref(typed);
		typed = NULL;
	}
	return typed;
}

/* Reads obj's namespace and name; false when it has none (reported). */
static bool agent_kube_identity(struct agent_kube_watch *kw, json_t *obj, const char *what,
				char **ns, char **name)
{
	char err[512];
	int rc = pf_k8s_meta(obj, kw->res->namespaced, ns, name, err, sizeof(err));

	if (rc) {
		pf_err("kube: %s of %s: %s; passed over", what, kw->res->plural,
		       rc == -ENOMEM ? "out of memory" : err);
		pf_prom_add(kw->k->a->m.manifest_errors, NULL, 1);
		free(*ns);
		free(*name);
	}
	return !rc;
}

static void agent_kube_put(void *ctx, json_t *obj)
{
	struct agent_kube_watch *kw = ctx;
	struct agent *a = kw->k->a;
	json_t *typed = agent_kube_typed(obj, kw->res);
	char *ns = NULL, *name = NULL, err[1024] = "";
	bool had;
	int rc;

	if (!typed) {
		pf_err("kube: an object of %s: out of memory; passed over", kw->res->plural);
		return;
	}
	if (!agent_kube_identity(kw, typed, "an object", &ns, &name)) {
		json_decref(typed);
		return;
	}
	pthread_mutex_lock(&a->lock);
	had = pf_k8s_cache_get(&a->cache, kw->kind, ns, name) != NULL;
	rc = agent_object_put(a, kw->kind, ns, name, typed, err, sizeof(err));
	pthread_mutex_unlock(&a->lock);
	if (rc) {
		pf_err("kube: %s; %s", rc == -ENOMEM ? "out of memory" : err,
		       had ? "the previous version stays in force" : "no version of it is in force");
		pf_prom_add(a->m.manifest_errors, NULL, 1);
	}
	agent_kube_changed(kw->k);
	json_decref(typed);
	free(ns);
	free(name);
}

static void agent_kube_del(void *ctx, json_t *obj)
{
	struct agent_kube_watch *kw = ctx;
	struct agent *a = kw->k->a;
	char *ns = NULL, *name = NULL;

	if (!agent_kube_identity(kw, obj, "a deleted object", &ns, &name))
		return;
	pthread_mutex_lock(&a->lock);
	agent_object_del(a, kw->kind, ns, name);
	pthread_mutex_unlock(&a->lock);
	agent_kube_changed(kw->k);
	free(ns);
	free(name);
}

static void agent_kube_synced(void *ctx)
{
	struct agent_kube_watch *kw = ctx;
	struct agent_kube *k = kw->k;
	struct agent *a = k->a;
	bool all = true;

	pthread_mutex_lock(&a->lock);
	if (!kw->synced)
		pf_info("kube: %s listed", kw->res->plural);
	kw->synced = true;
	for (int i = 0; i < KUBE_WATCHES; i++)
		all = all && k->watch[i].synced;
	if (all && !a->source_loaded) {
		a->source_loaded = true;
		pf_info("source kube: loaded: %zu PolicyEndpoints, %zu pods of node %s",
			pf_k8s_cache_count(&a->cache, PF_K8S_POLICY_ENDPOINT),
			pf_k8s_cache_count(&a->cache, PF_K8S_POD), a->cfg.node_name);
	}
	pthread_mutex_unlock(&a->lock);
	agent_kube_changed(k);
}

static int agent_kube_watch_start(struct agent_kube *k, enum agent_kube_which which)
{
	struct agent_kube_watch *kw = &k->watch[which];
	struct pf_kube_watch_opts o = { .res = kw->res, .resync_s = k->a->cfg.kube_resync };
	struct pf_kube_watch_sink sink = { .put = agent_kube_put, .del = agent_kube_del,
					   .synced = agent_kube_synced, .ctx = kw };
	char err[512];

	if (which == KUBE_PODS)
		o.field_selector = k->node_selector;
	if (pf_kube_watch_start(k->client, &o, &sink, &kw->w, err, sizeof(err))) {
		pf_err("kube: watch %s: %s", kw->res->plural, err);
		return -1;
	}
	return 0;
}

static void agent_kube_free(struct agent_kube *k)
{
	if (!k)
		return;
	for (int i = 0; i < KUBE_WATCHES; i++)
		if (k->watch[i].w)
			pf_kube_watch_stop(k->watch[i].w);
	pf_kube_client_free(k->client);
	if (k->changed_fd >= 0)
		close(k->changed_fd);
	free(k);
}

static int agent_kube_open(struct agent *a)
{
	struct pf_kube_config cfg = { 0 };
	struct agent_kube *k = calloc(1, sizeof(*k));
	char err[1024];
	int rc;

	if (!k) {
		pf_err("kube: out of memory");
		return -1;
	}
	k->a = a;
	k->changed_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	k->watch[KUBE_POLICY_ENDPOINTS] = (struct agent_kube_watch){
		.k = k, .res = &pf_kube_policy_endpoints, .kind = PF_K8S_POLICY_ENDPOINT };
	k->watch[KUBE_PODS] = (struct agent_kube_watch){ .k = k, .res = &pf_kube_pods,
							 .kind = PF_K8S_POD };
	snprintf(k->node_selector, sizeof(k->node_selector), "spec.nodeName=%s",
		 a->cfg.node_name);
	if (k->changed_fd < 0) {
		pf_err("kube: eventfd: %s", strerror(errno));
		agent_kube_free(k);
		return -1;
	}
	rc = pf_kube_config_load(a->cfg.kube_config, NULL, &cfg, err, sizeof(err));
	if (!rc)
		rc = pf_kube_client_new(&cfg, &k->client, err, sizeof(err));
	pf_kube_config_free(&cfg);
	if (rc) {
		pf_err("source kube:%s: %s", a->cfg.kube_config, err);
		agent_kube_free(k);
		return -1;
	}
	/* Until the first lists, local pods are Pods without labels; a
	 * reconcile now drops those whose veth went away while no agent ran,
	 * and touches nothing else (the source is not loaded). */
	pthread_mutex_lock(&a->lock);
	a->kube = k;
	for (size_t i = 0; i < a->n_pods; i++)
		agent_pod_publish(a, a->pods[i]);
	agent_reconcile(a);
	pthread_mutex_unlock(&a->lock);
	if (agent_kube_watch_start(k, KUBE_POLICY_ENDPOINTS) ||
	    agent_kube_watch_start(k, KUBE_PODS))
		return -1; /* the watch started is stopped by close */
	pf_info("source kube:%s: watching policyendpoints of every namespace and pods of node %s",
		a->cfg.kube_config, a->cfg.node_name);
	return 0;
}

static int agent_kube_fd(const struct agent *a)
{
	return a->kube->changed_fd;
}

static int agent_kube_read_events(struct agent *a)
{
	uint64_t n;

	if (read(a->kube->changed_fd, &n, sizeof(n)) == sizeof(n))
		return n > 0;
	return errno == EAGAIN ? 0 : -errno;
}

static void agent_kube_close(struct agent *a)
{
	agent_kube_free(a->kube);
	a->kube = NULL;
}

const struct agent_source_ops agent_source_kube = {
	.name = "kube",
	.open = agent_kube_open,
	.fd = agent_kube_fd,
	.read_events = agent_kube_read_events,
	.sync = NULL, /* the watch threads put changes into the cache as they come */
	.close = agent_kube_close,
};

void agent_kube_scrape(struct agent *a)
{
	const struct agent_metrics *m = &a->m;

	for (int i = 0; a->kube && i < KUBE_WATCHES; i++) {
		struct agent_kube_watch *kw = &a->kube->watch[i];
		struct pf_kube_watch_stats now, *seen = &kw->seen;
		const char *res = kw->res->plural;

		if (!kw->w)
			continue;
		pf_kube_watch_get_stats(kw->w, &now);
		/* Counters only grow: what they gained since the last scrape. */
		pf_prom_add(m->watch_lists, res, (double)(now.lists - seen->lists));
		pf_prom_add(m->watch_events, res, (double)(now.events - seen->events));
		pf_prom_add(m->watch_errors, res, (double)(now.errors - seen->errors));
		pf_prom_add(m->watch_expired, res, (double)(now.expired - seen->expired));
		pf_prom_set(m->watch_connected, res, now.connected);
		*seen = now;
	}
}

json_t *agent_kube_health_json(const struct agent *a)
{
	json_t *synced = json_object();

	for (int i = 0; synced && a->kube && i < KUBE_WATCHES; i++)
		json_object_set_new(synced, a->kube->watch[i].res->plural,
				    json_boolean(a->kube->watch[i].synced));
	return synced;
}
