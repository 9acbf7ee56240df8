// SPDX-License-Identifier: Apache-2.0
/* One pass of the kube: controller: the NetworkPolicies the cache's
 * changes reach resolved again into the PolicyEndpoint objects they want
 * (lib/pe_wanted.h keeps every policy's between passes), the plan of writes
 * against what the API holds, and the writes. A pass that follows only
 * changes of the cache compares the objects of the policies it resolved
 * again; one after a relist, a PolicyEndpoint changed by someone else, a
 * failed pass or at the resync period compares them all. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kube.h"
#include "log.h"
#include "pe_chunks.h"
#include "pe_publish.h"

#define KUBE_KEY_MAX (PF_K8S_NAME_MAX * 2 + 2)

struct kube_tally {
	unsigned done[3], failed[3]; /* by enum pf_pe_op */
	bool unreachable;            /* the API server could not be reached: stop writing */
};

/* Publishing errors are logged when they first appear and when they
 * change, not on every pass; a recovery once. Lock held. */
static void kube_policy_outcomes(struct kube_ctl *k, json_t *errors)
{
	const char *key, *was, *err;
	json_t *v, *why;
	void *tmp;

	json_object_foreach(errors, key, why) {
		err = json_string_value(why);
		was = json_string_value(json_object_get(k->policy_errors, key));
		if (was && !strcmp(was, err))
			continue;
		pf_err("NetworkPolicy %s is not published (its PolicyEndpoints stay as they are): %s",
		       key, err);
		json_object_set(k->policy_errors, key, why);
	}
	json_object_foreach_safe(k->policy_errors, tmp, key, v) {
		char ns[KUBE_KEY_MAX];
		const char *slash = strchr(key, '/');

		if (json_object_get(errors, key))
			continue;
		snprintf(ns, sizeof(ns), "%.*s", slash ? (int)(slash - key) : 0, key);
		if (slash && pf_k8s_cache_get(&k->cache, PF_K8S_NETWORK_POLICY, ns, slash + 1))
			pf_info("NetworkPolicy %s is published again", key);
		json_object_del(k->policy_errors, key);
	}
}

/* After a write: the watch event that will show it, so the next pass
 * waits for it rather than writing the same again. A write the watch has
 * already shown (or a replace that changed nothing) waits for nothing. */
static void kube_expect_echo(struct kube_ctl *k, const struct pf_pe_action *a, json_t *reply)
{
	const char *rv = json_string_value(json_object_get(json_object_get(reply, "metadata"),
							   "resourceVersion"));
	char key[KUBE_KEY_MAX];
	json_t *seen;
	const char *seen_rv;

	snprintf(key, sizeof(key), "%s/%s", a->ns, a->name);
	pthread_mutex_lock(&k->lock);
	seen = json_object_get(k->observed, key);
	seen_rv = json_string_value(json_object_get(json_object_get(seen, "metadata"),
						    "resourceVersion"));
	if (a->op == PF_PE_DELETE ? seen != NULL : rv && (!seen_rv || strcmp(seen_rv, rv))) {
		json_object_set_new(k->echoes, key, json_string(a->op == PF_PE_DELETE ? "" : rv));
		k->echo_deadline = kube_now() + KUBE_ECHO_WAIT_S;
	}
	pthread_mutex_unlock(&k->lock);
}

static void kube_write(struct kube_ctl *k, const struct pf_pe_action *a, struct kube_tally *t)
{
	static const char *const methods[] = { "POST", "PUT", "DELETE" };
	const char *op = pf_pe_op_name(a->op), *reason, *message;
	char path[1024], err[512];
	json_t *reply = NULL;
	int status, path_rc;
	bool stale;

	path_rc = pf_kube_path(&pf_kube_policy_endpoints, a->ns,
			       a->op == PF_PE_CREATE ? NULL : a->name, path, sizeof(path));
	if (path_rc)
		snprintf(err, sizeof(err), "its URL: %s", strerror(-path_rc));
	status = path_rc ? path_rc
			 : pf_kube_request(k->client, methods[a->op], path, NULL, a->body, &reply,
					   err, sizeof(err));
	/* A delete that finds nothing has what it wanted: the API server's
	 * garbage collector got there first (the policy was deleted). */
	if ((status >= 200 && status < 300) || (a->op == PF_PE_DELETE && status == 404)) {
		kube_expect_echo(k, a, reply);
		t->done[a->op]++;
		pf_prom_add(k->m.writes, op, 1);
		pf_debug("%s PolicyEndpoint %s/%s: done", op, a->ns, a->name);
		json_decref(reply);
		return;
	}
	t->failed[a->op]++;
	pf_prom_add(k->m.write_errors, op, 1);
	if (status < 0) {
		/* the server could not be reached: the rest of the plan would
		 * fail the same way */
		t->unreachable = !path_rc;
		pf_err("%s PolicyEndpoint %s/%s: %s", op, a->ns, a->name, err);
		json_decref(reply);
		return;
	}
	reason = json_string_value(json_object_get(reply, "reason"));
	message = json_string_value(json_object_get(reply, "message"));
	/* 409 (changed or created since) and 404 (deleted since): the watch
	 * was behind; the next pass works from what it shows then. */
	stale = status == 409 || status == 404;
	pf_log(stale ? PF_LOG_WARN : PF_LOG_ERROR, "%s PolicyEndpoint %s/%s: HTTP %d %s: %s%s", op,
	       a->ns, a->name, status, reason ? reason : "", message ? message : "(no message)",
	       stale ? " (tried again once the watch has caught up)" : "");
	json_decref(reply);
}

static bool kube_stopping(struct kube_ctl *k)
{
	bool stop;

	pthread_mutex_lock(&k->lock);
	stop = k->stop;
	pthread_mutex_unlock(&k->lock);
	return stop;
}

/* A pass whose writes all went through resets the backoff; one that failed
 * is retried after it. Lock held. */
static void kube_pass_done(struct kube_ctl *k, bool ok, double now)
{
	if (ok) {
		k->backoff = KUBE_BACKOFF_S;
		k->retry_at = 0;
		if (!k->healthy)
			pf_info("first pass done: the PolicyEndpoints on the API are the resolved ones");
		k->healthy = true;
	} else {
		k->retry_at = now + k->backoff;
		k->backoff = k->backoff * 2 > KUBE_BACKOFF_MAX_S ? KUBE_BACKOFF_MAX_S : k->backoff * 2;
	}
	k->resync_at = k->cfg->resync_s ? now + k->cfg->resync_s : 0;
}

void kube_pass(struct kube_ctl *k)
{
	struct pf_pe_wanted_pass wp = { 0 };
	struct kube_tally t = { 0 };
	struct pf_pe_plan plan = { 0 };
	unsigned attempted, failed;
	bool ok;
	double t0 = kube_now(), t_resolved, t_end;
	size_t n_policies = pf_k8s_cache_count(&k->cache, PF_K8S_NETWORK_POLICY), n_wanted = 0;
	size_t n_resolved = 0;
	/* Cache changes alone: the policies they reach are all that can differ
	 * from the last full comparison that went through. */
	bool full = k->diff_all || !k->dirty || k->retry_at;
	int rc;

	k->dirty = false;
	k->diff_all = false;
	rc = pf_pe_wanted_update(&k->wanted, &k->cache, &k->changes, k->policy_uids, &wp);
	if (!rc) {
		kube_policy_outcomes(k, wp.errors);
		rc = pf_pe_wanted_plan(&wp, k->observed, full, &plan);
		n_wanted = json_object_size(wp.wanted);
		pf_prom_set(k->m.policies, NULL, (double)n_policies);
		pf_prom_set(k->m.pes, NULL, (double)n_wanted);
		pf_prom_set(k->m.unpublished, NULL, (double)json_object_size(k->policy_errors));
		pf_prom_add(k->m.resolved, NULL, (double)wp.resolved);
		n_resolved = wp.resolved;
	}
	/* wp shares objects with k->wanted: let go of them under the lock */
	pf_pe_wanted_pass_free(&wp);
	t_resolved = kube_now();
	pthread_mutex_unlock(&k->lock);
	if (rc)
		pf_err("pass: resolve the policies and plan the PolicyEndpoint writes: %s",
		       strerror(-rc));
	for (size_t i = 0; !rc && i < plan.n && !t.unreachable && !kube_stopping(k); i++)
		kube_write(k, &plan.a[i], &t);
	t_end = kube_now();
	failed = t.failed[0] + t.failed[1] + t.failed[2];
	attempted = t.done[0] + t.done[1] + t.done[2] + failed;
	ok = !rc && !failed && attempted == plan.n;
	pf_prom_add(k->m.passes, NULL, 1);
	pf_prom_observe(k->m.resolve_seconds, NULL, t_resolved - t0);
	pf_prom_observe(k->m.pass_seconds, NULL, t_end - t0);
	pf_log(plan.n || !ok ? PF_LOG_INFO : PF_LOG_DEBUG,
	       "pass: %zu network policies (%zu resolved), %zu policy endpoints wanted (%s); "
	       "created %u, replaced %u, deleted %u, failed %u%s; %.1f ms (resolve and plan "
	       "%.1f ms)", n_policies, n_resolved, n_wanted, full ? "all compared" :
	       "those of the resolved compared", t.done[PF_PE_CREATE], t.done[PF_PE_REPLACE],
	       t.done[PF_PE_DELETE], failed,
	       attempted < plan.n ? " (the rest left for the next pass)" : "",
	       (t_end - t0) * 1e3, (t_resolved - t0) * 1e3);
	pf_pe_plan_free(&plan);
	pthread_mutex_lock(&k->lock);
	kube_pass_done(k, ok, t_end);
}
