// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http_client.h"
#include "log.h"
#include "rpc.h"

/* The agent waits up to 5 s for a pod's policy (the contract's bound). */
#define AGENT_TIMEOUT_MS 7000

static const char *error_text(json_t *body, const char *raw)
{
	const char *s = json_string_value(json_object_get(body, "error"));

	return s ? s : raw;
}

/* The daemon could not be reached or did not answer in full: code 11 when
 * that may pass (the runtime tries again), else code 5. */
static int transport_fail(const char *daemon, const char *socket, int rc, const char *errmsg,
			  struct pf_cni_error *e)
{
	bool transient = rc == -ENOENT || rc == -ECONNREFUSED || rc == -ETIMEDOUT ||
			 rc == -EAGAIN || rc == -ECONNRESET;

	pf_cni_fail(e, transient ? PF_CNI_ERR_TRY_AGAIN : PF_CNI_ERR_IO,
		    "%s is not reachable at %s", daemon, socket);
	pf_cni_details(e, "%s", errmsg);
	return -1;
}

int rpc_send(const char *daemon, const char *socket, const char *method, const char *path,
	     json_t *req, long timeout_ms, struct rpc_pending *out, struct pf_cni_error *e)
{
	char errmsg[512], *body = NULL;
	int rc;

	*out = (struct rpc_pending){ .daemon = daemon, .socket = socket, .method = method,
				     .path = path };
	if (req) {
		body = json_dumps(req, JSON_COMPACT);
		if (!body)
			return pf_cni_fail(e, PF_CNI_ERR_IO, "%s %s: out of memory", method, path);
	}
	rc = pf_http_unix_send(socket, method, path, body, timeout_ms, &out->http, errmsg,
			       sizeof(errmsg));
	free(body);
	return rc ? transport_fail(daemon, socket, rc, errmsg, e) : 0;
}

int rpc_receive(struct rpc_pending *p, json_t **reply, struct pf_cni_error *e)
{
	char errmsg[512], *raw = NULL;
	json_t *decoded = NULL;
	long status = 0;
	int rc;

	*reply = NULL;
	rc = pf_http_unix_receive(p->http, &status, &raw, errmsg, sizeof(errmsg));
	p->http = NULL;
	if (rc)
		return transport_fail(p->daemon, p->socket, rc, errmsg, e);
	pf_debug("%s %s %s -> %ld %s", p->daemon, p->method, p->path, status, raw);
	decoded = json_loads(raw, 0, NULL);
	if (status < 200 || status > 299) {
		pf_cni_fail(e, status == 503 ? PF_CNI_ERR_TRY_AGAIN : PF_CNI_ERR_IPAMD,
			    "%s refused %s %s (HTTP %ld): %s", p->daemon, p->method, p->path, status,
			    error_text(decoded, raw));
		rc = -1;
	} else if (!json_is_object(decoded)) {
		pf_cni_fail(e, PF_CNI_ERR_IPAMD, "%s answered %s %s with something that is not a JSON object",
			    p->daemon, p->method, p->path);
		pf_cni_details(e, "%.900s", raw);
		rc = -1;
	} else {
		*reply = decoded;
		decoded = NULL;
	}
	json_decref(decoded);
	free(raw);
	return rc;
}

int rpc_call(const char *daemon, const char *socket, const char *method, const char *path,
	     json_t *req, long timeout_ms, json_t **reply, struct pf_cni_error *e)
{
	struct rpc_pending p;

	*reply = NULL;
	if (rpc_send(daemon, socket, method, path, req, timeout_ms, &p, e))
		return -1;
	return rpc_receive(&p, reply, e);
}

/* "10.244.1.5/32" -> "10.244.1.5": the agent contract takes bare addresses. */
static json_t *bare_address(const char *cidr)
{
	const char *slash = strchr(cidr, '/');

	return json_stringn(cidr, slash ? (size_t)(slash - cidr) : strlen(cidr));
}

int agent_enforce_pod(const struct pf_cni_call *c, const char *host_ifname,
		      const struct pf_cni_result *r, struct pf_cni_error *e)
{
	json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:s}", "pod_namespace",
				c->env.pod_namespace, "pod_name", c->env.pod_name,
				"container_id", c->env.container_id, "ifname", c->env.ifname,
				"host_veth", host_ifname);
	json_t *reply = NULL;
	int rc = req ? 0 : pf_cni_fail(e, PF_CNI_ERR_IO, "enforce-pod request: out of memory");

	for (size_t i = 0; !rc && i < r->n_ips; i++)
		if (json_object_set_new(req, strchr(r->ips[i].address, ':') ? "ipv6" : "ipv4",
					bare_address(r->ips[i].address)))
			rc = pf_cni_fail(e, PF_CNI_ERR_IO, "enforce-pod request: out of memory");
	if (!rc)
		rc = rpc_call("podfence-agent", c->conf.agent_socket, "POST", "/v1/enforce-pod", req,
			      AGENT_TIMEOUT_MS, &reply, e);
	if (!rc && !json_is_true(json_object_get(reply, "enforced")))
		rc = pf_cni_fail(e, PF_CNI_ERR_ENFORCE,
				 "podfence-agent did not confirm enforcement (\"enforced\" is not true)");
	/* Strict mode fails closed: whatever went wrong, the pod must not run
	 * without its policy, so every failure here is an enforcement error. */
	if (rc)
		e->code = PF_CNI_ERR_ENFORCE;
	json_decref(reply);
	json_decref(req);
	return rc;
}

void agent_release_pod(const struct pf_cni_call *c)
{
	struct pf_cni_error e = { 0 };
	json_t *reply = NULL;
	json_t *req = json_pack("{s:s, s:s, s:s}", "pod_namespace", c->env.pod_namespace,
				"pod_name", c->env.pod_name, "container_id", c->env.container_id);

	if (req && rpc_call("podfence-agent", c->conf.agent_socket, "POST", "/v1/release-pod",
			    req, AGENT_TIMEOUT_MS, &reply, &e))
		pf_debug("DEL %s: podfence-agent not told: %s", c->env.container_id, e.msg);
	json_decref(reply);
	json_decref(req);
}
