// SPDX-License-Identifier: Apache-2.0
/* The socket API (docs/ipamd.md): POST /v1/add-network, POST
 * /v1/del-network, GET /v1/health, GET /v1/assignments. Every change is checkpointed before its
 * reply goes out, so a reply always describes what survives a crash. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "podfence_abi.h"
#include "ipam_checkpoint.h"
#include "log.h"
#include "ipamd.h"

#define IPAMD_MAX_ID 255
#define IPAMD_MAX_IFNAME 15 /* IFNAMSIZ - 1 */
#define IPAMD_MAX_TEXT 1024

double ipamd_elapsed(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* CNI spec 1.0, "Parameters": a container ID is alphanumerics, '_', '.' and
 * '-'; an interface name is at most 15 bytes, not "." or "..", and holds no
 * '/', ':' or whitespace. */
static bool ipamd_id_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return false;
	return true;
}

static bool ipamd_ifname_ok(const char *s)
{
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

struct ipamd_field {
	const char *key;
	bool required;
	size_t max;
	bool (*ok)(const char *s);
	const char *rule; /* what ok() wants, for the error */
};

/* Reads the fields into out[]; on a bad one, fills reply with a 400 naming
 * it and returns -EINVAL. */
static int ipamd_read_fields(json_t *req, const struct ipamd_field *fields, size_t n,
			     const char **out, struct pf_http_reply *reply)
{
	for (size_t i = 0; i < n; i++) {
		const struct ipamd_field *f = &fields[i];
		json_t *v = json_object_get(req, f->key);
		const char *s;

		out[i] = NULL;
		if (!v || json_is_null(v)) {
			if (!f->required)
				continue;
			pf_http_reply_error(reply, 400, "\"%s\" is required", f->key);
			return -EINVAL;
		}
		if (!json_is_string(v)) {
			pf_http_reply_error(reply, 400, "\"%s\" must be a string", f->key);
			return -EINVAL;
		}
		s = json_string_value(v);
		if ((f->required && !*s) || strlen(s) > f->max) {
			pf_http_reply_error(reply, 400, "\"%s\" must be 1 to %zu bytes long",
					    f->key, f->max);
			return -EINVAL;
		}
		if (f->ok && !f->ok(s)) {
			pf_http_reply_error(reply, 400, "\"%s\" value \"%.64s\" is invalid: %s",
					    f->key, s, f->rule);
			return -EINVAL;
		}
		out[i] = s;
	}
	return 0;
}

static const struct ipamd_field ipamd_key_fields[] = {
	{ "container_id", true, IPAMD_MAX_ID, ipamd_id_ok,
	  "letters, digits, '_', '.' and '-' only (CNI spec)" },
	{ "ifname", true, IPAMD_MAX_IFNAME, ipamd_ifname_ok,
	  "no '/', ':', whitespace, and not \".\" or \"..\"" },
};

static const struct ipamd_field ipamd_add_fields[] = {
	ipamd_key_fields[0],
	ipamd_key_fields[1],
	{ "netns", false, IPAMD_MAX_TEXT, NULL, NULL },
	{ "pod_namespace", false, IPAMD_MAX_TEXT, NULL, NULL },
	{ "pod_name", false, IPAMD_MAX_TEXT, NULL, NULL },
};

static int ipamd_checkpoint(struct ipamd *d, char *err, size_t err_len)
{
	struct timespec t0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = pf_ipam_checkpoint_save(d->cfg.checkpoint_path, d->pool, err, err_len);
	pf_prom_observe(d->metrics.checkpoint_seconds, NULL, ipamd_elapsed(&t0));
	return rc;
}

static json_t *ipamd_add_reply(const struct ipamd *d, const struct pf_ipam_assignment *a)
{
	json_t *r = json_object(), *routes = json_array();
	char addr[64], cidr[80];

	if (a->has_v4) {
		snprintf(cidr, sizeof(cidr), "%s/32",
			 pf_addr_format(PF_FAMILY_V4, a->v4, addr, sizeof(addr)));
		json_object_set_new(r, "ipv4", json_pack("{s:s, s:s}", "address", cidr,
							 "gateway", IPAMD_GATEWAY_V4));
		json_array_append_new(routes, json_pack("{s:s, s:s}", "dst", "0.0.0.0/0", "gw",
							IPAMD_GATEWAY_V4));
	}
	if (a->has_v6) {
		snprintf(cidr, sizeof(cidr), "%s/128",
			 pf_addr_format(PF_FAMILY_V6, a->v6, addr, sizeof(addr)));
		json_object_set_new(r, "ipv6", json_pack("{s:s, s:s}", "address", cidr,
							 "gateway", IPAMD_GATEWAY_V6));
		json_array_append_new(routes, json_pack("{s:s, s:s}", "dst", "::/0", "gw",
							IPAMD_GATEWAY_V6));
	}
	json_object_set_new(r, "routes", routes);
	json_object_set_new(r, "network_policy_mode",
			    json_string(d->cfg.strict ? "strict" : "standard"));
	return r;
}

/* The 503 when a family has no address left. */
static void ipamd_exhausted(struct ipamd *d, struct pf_http_reply *reply)
{
	struct pf_ipam_family_stats v4, v6;
	const struct pf_ipam_family_stats *st;

	pf_ipam_pool_stats(d->pool, PF_FAMILY_V4, &v4);
	pf_ipam_pool_stats(d->pool, PF_FAMILY_V6, &v6);
	st = !v4.free || !v6.present ? &v4 : &v6;
	pf_http_reply_error(reply, 503, "pod CIDR %s has no free address (%llu of %llu assigned)",
			    st->name, (unsigned long long)st->assigned,
			    (unsigned long long)st->capacity);
}

static const char *ipamd_add(struct ipamd *d, json_t *req, struct pf_http_reply *reply)
{
	const char *f[5];
	struct pf_ipam_request r;
	const struct pf_ipam_assignment *a;
	struct pf_ipam_assignment undo;
	char err[512], v4[64] = "-";
	bool existed;
	int rc;

	if (ipamd_read_fields(req, ipamd_add_fields, 5, f, reply))
		return "bad_request";
	r = (struct pf_ipam_request){ f[0], f[1], f[2], f[3], f[4] };
	pthread_mutex_lock(&d->lock);
	rc = pf_ipam_pool_assign(d->pool, &r, &a, &existed);
	if (rc == -ENOSPC) {
		ipamd_exhausted(d, reply);
		pthread_mutex_unlock(&d->lock);
		pf_warn("add-network %s/%s: %s", f[0], f[1], reply->body);
		return "exhausted";
	}
	if (rc) {
		pthread_mutex_unlock(&d->lock);
		pf_err("add-network %s/%s: assigning: %s", f[0], f[1], strerror(-rc));
		pf_http_reply_error(reply, 500, "assigning an address: %s", strerror(-rc));
		return "internal";
	}
	if (!existed && ipamd_checkpoint(d, err, sizeof(err))) {
		/* Nothing may be answered that the disk does not hold. */
		if (!pf_ipam_pool_release(d->pool, f[0], f[1], &undo))
			pf_ipam_assignment_clear(&undo);
		pthread_mutex_unlock(&d->lock);
		pf_err("add-network %s/%s: checkpoint: %s", f[0], f[1], err);
		pf_http_reply_error(reply, 500, "saving the assignment failed, nothing assigned: %s",
				    err);
		return "checkpoint";
	}
	pf_http_reply_json(reply, 200, ipamd_add_reply(d, a));
	if (a->has_v4)
		pf_addr_format(PF_FAMILY_V4, a->v4, v4, sizeof(v4));
	pf_info("add-network %s/%s pod %s/%s: %s%s", f[0], f[1], a->pod_namespace,
		a->pod_name, v4, existed ? " (existing assignment)" : "");
	pthread_mutex_unlock(&d->lock);
	pf_prom_add(d->metrics.adds, existed ? "existing" : "assigned", 1);
	return NULL;
}

static const char *ipamd_del(struct ipamd *d, json_t *req, struct pf_http_reply *reply)
{
	struct pf_ipam_assignment gone;
	const char *f[2];
	char err[512], v4[64], v6[64];
	json_t *r;
	int rc;

	if (ipamd_read_fields(req, ipamd_key_fields, 2, f, reply))
		return "bad_request";
	pthread_mutex_lock(&d->lock);
	rc = pf_ipam_pool_release(d->pool, f[0], f[1], &gone);
	if (rc == -ENOENT) {
		pthread_mutex_unlock(&d->lock);
		pf_info("del-network %s/%s: nothing assigned", f[0], f[1]);
		pf_prom_add(d->metrics.dels, "not_assigned", 1);
		pf_http_reply_json(reply, 200, json_pack("{s:b}", "released", 0));
		return NULL;
	}
	if (ipamd_checkpoint(d, err, sizeof(err))) {
		char why[256];

		/* Keep the assignment: the caller retries the DEL. */
		if (pf_ipam_pool_restore(d->pool, &gone, why, sizeof(why)))
			pf_err("del-network %s/%s: undoing the release: %s", f[0], f[1], why);
		pthread_mutex_unlock(&d->lock);
		pf_ipam_assignment_clear(&gone);
		pf_err("del-network %s/%s: checkpoint: %s", f[0], f[1], err);
		pf_http_reply_error(reply, 500, "saving the release failed, address kept: %s",
				    err);
		return "checkpoint";
	}
	pthread_mutex_unlock(&d->lock);
	pf_addr_format(PF_FAMILY_V4, gone.v4, v4, sizeof(v4));
	pf_addr_format(PF_FAMILY_V6, gone.v6, v6, sizeof(v6));
	r = json_pack("{s:b}", "released", 1);
	if (r && gone.has_v4)
		json_object_set_new(r, "ipv4", json_string(v4));
	if (r && gone.has_v6)
		json_object_set_new(r, "ipv6", json_string(v6));
	pf_info("del-network %s/%s pod %s/%s: released %s", f[0], f[1], gone.pod_namespace,
		gone.pod_name, gone.has_v4 ? v4 : v6);
	pf_ipam_assignment_clear(&gone);
	pf_prom_add(d->metrics.dels, "released", 1);
	pf_http_reply_json(reply, 200, r);
	return NULL;
}

static void ipamd_health(struct ipamd *d, const char *body, size_t len,
			 struct pf_http_reply *reply)
{
	struct pf_ipam_family_stats st;

	(void)body, (void)len;
	pthread_mutex_lock(&d->lock);
	pf_ipam_pool_stats(d->pool, PF_FAMILY_V4, &st);
	pthread_mutex_unlock(&d->lock);
	/* The IPv4 pool is the one that runs out: IPv6 pools are vast. */
	pf_http_reply_json(reply, 200,
			   json_pack("{s:s, s:I}", "status", "ok", "pool_free",
				     (json_int_t)st.free));
}

/* The CNI plugin's GC and CHECK compare the runtime's attachments with these. */
static void ipamd_assignments(struct ipamd *d, const char *body, size_t len,
			      struct pf_http_reply *reply)
{
	json_t *list;

	(void)body, (void)len;
	pthread_mutex_lock(&d->lock);
	list = ipamd_assignments_json(d);
	pthread_mutex_unlock(&d->lock);
	pf_http_reply_json(reply, 200, json_pack("{s:o}", "assignments", list));
}

typedef const char *(*ipamd_change_fn)(struct ipamd *d, json_t *req,
				       struct pf_http_reply *reply);

/* Runs add or del: parses, times, and counts the outcome. */
static void ipamd_change(struct ipamd *d, ipamd_change_fn fn, struct pf_prom_metric *total,
			 struct pf_prom_metric *seconds, const char *body, size_t len,
			 struct pf_http_reply *reply)
{
	const char *failure = "bad_request";
	struct timespec t0;
	json_t *req;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	req = pf_http_json_body(body, len, reply);
	if (req) {
		failure = fn(d, req, reply);
		json_decref(req);
	}
	if (failure) {
		pf_prom_add(total, "failed", 1);
		pf_prom_add(d->metrics.errors, failure, 1);
	}
	pf_prom_observe(seconds, NULL, ipamd_elapsed(&t0));
}

static void ipamd_add_network(struct ipamd *d, const char *body, size_t len,
			      struct pf_http_reply *reply)
{
	ipamd_change(d, ipamd_add, d->metrics.adds, d->metrics.add_seconds, body, len, reply);
}

static void ipamd_del_network(struct ipamd *d, const char *body, size_t len,
			      struct pf_http_reply *reply)
{
	ipamd_change(d, ipamd_del, d->metrics.dels, d->metrics.del_seconds, body, len, reply);
}

static const struct {
	const char *path, *method;
	void (*fn)(struct ipamd *d, const char *body, size_t len, struct pf_http_reply *reply);
} ipamd_routes[] = {
	{ "/v1/add-network", "POST", ipamd_add_network },
	{ "/v1/del-network", "POST", ipamd_del_network },
	{ "/v1/health", "GET", ipamd_health },
	{ "/v1/assignments", "GET", ipamd_assignments },
};

void ipamd_rpc_handle(void *ctx, const char *method, const char *path, const char *body,
		      size_t body_len, struct pf_http_reply *reply)
{
	for (size_t i = 0; i < sizeof(ipamd_routes) / sizeof(ipamd_routes[0]); i++) {
		if (strcmp(ipamd_routes[i].path, path))
			continue;
		if (strcmp(ipamd_routes[i].method, method))
			pf_http_reply_error(reply, 405, "%s takes %s, not %s", path,
					    ipamd_routes[i].method, method);
		else
			ipamd_routes[i].fn(ctx, body, body_len, reply);
		return;
	}
	pf_http_reply_error(reply, 404, "no endpoint %s", path);
}
