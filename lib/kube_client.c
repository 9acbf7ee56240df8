// SPDX-License-Identifier: Apache-2.0
/*
 * Requests to the API server through libcurl: the server's CA (file or the
 * kubeconfig's PEM), the client certificate (files or PEM), the bearer
 * token (read again from its file after a 401: projected service account
 * tokens rotate), JSON bodies and answers through jansson.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube_internal.h"
#include "log.h"

struct pf_kube_client {
	struct pf_kube_config cfg; /* our own copy; cfg.token changes on a reload */
	pthread_mutex_t token_lock;
	pthread_mutex_t lock;      /* serialises pf_kube_request on handle */
	CURL *handle;
};

const struct pf_kube_resource pf_kube_namespaces = { "/api/v1", "namespaces", "Namespace", false };
const struct pf_kube_resource pf_kube_pods = { "/api/v1", "pods", "Pod", true };
const struct pf_kube_resource pf_kube_network_policies = {
	"/apis/networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", true
};
const struct pf_kube_resource pf_kube_policy_endpoints = {
	"/apis/podfence.io/v1alpha1", "policyendpoints", "PolicyEndpoint", true
};

int pf_kube_path(const struct pf_kube_resource *r, const char *ns, const char *name,
		 char *buf, size_t len)
{
	int n;

	if (r->namespaced && ns)
		n = snprintf(buf, len, "%s/namespaces/%s/%s%s%s", r->api_path, ns, r->plural,
			     name ? "/" : "", name ? name : "");
	else
		n = snprintf(buf, len, "%s/%s%s%s", r->api_path, r->plural, name ? "/" : "",
			     name ? name : "");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static size_t pf_kube_collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	size_t n = size * nmemb;

	return pf_growbuf_add(userdata, ptr, n) ? n : 0;
}

static int pf_kube_dup(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

static int pf_kube_config_copy(struct pf_kube_config *dst, const struct pf_kube_config *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->insecure = src->insecure;
	if (pf_kube_dup(&dst->server, src->server) || pf_kube_dup(&dst->ca_file, src->ca_file) ||
	    pf_kube_dup(&dst->ca_pem, src->ca_pem) || pf_kube_dup(&dst->token, src->token) ||
	    pf_kube_dup(&dst->token_file, src->token_file) ||
	    pf_kube_dup(&dst->cert_file, src->cert_file) ||
	    pf_kube_dup(&dst->key_file, src->key_file) ||
	    pf_kube_dup(&dst->cert_pem, src->cert_pem) ||
	    pf_kube_dup(&dst->key_pem, src->key_pem)) {
		pf_kube_config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

static pthread_once_t pf_kube_curl_once = PTHREAD_ONCE_INIT;
static CURLcode pf_kube_curl_init_rc;

static void pf_kube_curl_global_init(void)
{
	pf_kube_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int pf_kube_client_new(const struct pf_kube_config *cfg, struct pf_kube_client **out,
		       char *err, size_t err_len)
{
	struct pf_kube_client *c;

	*out = NULL;
	if (!cfg->server) {
		snprintf(err, err_len, "kube client: no server in the configuration");
		return -EINVAL;
	}
	pthread_once(&pf_kube_curl_once, pf_kube_curl_global_init);
	if (pf_kube_curl_init_rc != CURLE_OK) {
		snprintf(err, err_len, "curl_global_init: %s",
			 curl_easy_strerror(pf_kube_curl_init_rc));
		return -EIO;
	}
	c = calloc(1, sizeof(*c));
	if (!c || pf_kube_config_copy(&c->cfg, cfg) || !(c->handle = curl_easy_init())) {
		if (c)
			pf_kube_config_free(&c->cfg);
		free(c);
		snprintf(err, err_len, "kube client for %s: out of memory", cfg->server);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->token_lock, NULL);
	*out = c;
	return 0;
}

void pf_kube_client_free(struct pf_kube_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->handle);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->token_lock);
	pf_kube_config_free(&c->cfg);
	free(c);
}

const char *pf_kube_server(const struct pf_kube_client *c)
{
	return c->cfg.server;
}

char *pf_kube_url(const struct pf_kube_client *c, const char *path_query)
{
	char *url;

	return asprintf(&url, "%s%s", c->cfg.server, path_query) < 0 ? NULL : url;
}

bool pf_kube_token_reload(struct pf_kube_client *c)
{
	char err[512], *token;

	if (!c->cfg.token_file)
		return false;
	if (pf_kube_read_token(c->cfg.token_file, &token, err, sizeof(err))) {
		pf_warn("after a 401 from %s: %s", c->cfg.server, err);
		return false;
	}
	pthread_mutex_lock(&c->token_lock);
	free(c->cfg.token);
	c->cfg.token = token;
	pthread_mutex_unlock(&c->token_lock);
	return true;
}

static struct curl_blob pf_kube_blob(char *pem)
{
	return (struct curl_blob){ .data = pem, .len = strlen(pem), .flags = CURL_BLOB_COPY };
}

/* Appends line to *l; false (with *l freed) when out of memory. */
static bool pf_kube_header(struct curl_slist **l, const char *line)
{
	struct curl_slist *n = curl_slist_append(*l, line);

	if (!n)
		curl_slist_free_all(*l);
	*l = n;
	return n != NULL;
}

int pf_kube_setup(struct pf_kube_client *c, CURL *h, const char *url,
		  const char *content_type, struct curl_slist **headers)
{
	const struct pf_kube_config *cfg = &c->cfg;
	struct curl_slist *l = NULL;
	char *auth = NULL, ct[128];
	bool ok = true;

	curl_easy_reset(h);
	pthread_mutex_lock(&c->token_lock);
	if (cfg->token && asprintf(&auth, "Authorization: Bearer %s", cfg->token) < 0) {
		auth = NULL;
		ok = false;
	}
	pthread_mutex_unlock(&c->token_lock);
	if (!ok)
		return -ENOMEM;
	/* Without a content type, "Content-Type:" keeps curl from sending its
	 * form default with an empty POST or DELETE. */
	snprintf(ct, sizeof(ct), "Content-Type:%s%s", content_type ? " " : "",
		 content_type ? content_type : "");
	/* No "Expect: 100-continue" round trip before larger bodies. */
	ok = pf_kube_header(&l, "Accept: application/json") && pf_kube_header(&l, "Expect:") &&
	     pf_kube_header(&l, ct) && (!auth || pf_kube_header(&l, auth));
	free(auth);
	if (!ok)
		return -ENOMEM;
	*headers = l;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "podfence");
	/* Timeouts through alarm signals would disturb the calling program. */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	/* A dead peer on a quiet watch is found by TCP keepalive. */
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 10L);
	if (cfg->ca_pem) {
		struct curl_blob b = pf_kube_blob(cfg->ca_pem);

		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
	} else if (cfg->ca_file) {
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
	}
	if (cfg->cert_pem) {
		struct curl_blob cb = pf_kube_blob(cfg->cert_pem), kb = pf_kube_blob(cfg->key_pem);

		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &kb);
	} else if (cfg->cert_file) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, cfg->cert_file);
		curl_easy_setopt(h, CURLOPT_SSLKEY, cfg->key_file);
	}
	if (cfg->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return 0;
}

int pf_kube_curl_errno(CURL *h, CURLcode rc)
{
	long os_errno = 0;

	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		return -EPROTO;
	default:
		break;
	}
	if (curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno > 0)
		return -(int)os_errno;
	return rc == CURLE_COULDNT_CONNECT ? -ECONNREFUSED : -EIO;
}

void pf_kube_status_text(json_t *st, char *buf, size_t len)
{
	const char *reason = json_string_value(json_object_get(st, "reason"));
	const char *msg = json_string_value(json_object_get(st, "message"));

	buf[0] = '\0';
	if (!json_is_object(st) || !json_is_string(json_object_get(st, "kind")) ||
	    strcmp(json_string_value(json_object_get(st, "kind")), "Status"))
		return;
	snprintf(buf, len, "%s%s%s", reason ? reason : "", reason && msg ? ": " : "",
		 msg ? msg : "");
}

const char *pf_kube_obj_rv(json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"),
						 "resourceVersion"));
}

int pf_kube_exchange(struct pf_kube_client *c, CURL *h, const char *method,
		     const char *path_query, const char *content_type, const char *body,
		     long timeout_s, pf_kube_prepare_fn prepare, void *prepare_ctx, long *status,
		     char **reply_text, char *err, size_t err_len)
{
	char curl_err[CURL_ERROR_SIZE];
	char *url = pf_kube_url(c, path_query);
	int rc = 0;

	*reply_text = NULL;
	*status = 0;
	if (!url) {
		snprintf(err, err_len, "%s %s%s: out of memory", method, c->cfg.server, path_query);
		return -ENOMEM;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		struct pf_growbuf buf = { .max = PF_KUBE_REPLY_MAX };
		struct curl_slist *headers = NULL;
		CURLcode cc;

		rc = pf_kube_setup(c, h, url, body ? (content_type ? content_type :
						       "application/json") : NULL, &headers);
		if (rc) {
			snprintf(err, err_len, "%s %s: out of memory", method, url);
			break;
		}
		curl_err[0] = '\0';
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		/* A POST without a body still says "Content-Length: 0". */
		if (body || strcmp(method, "GET")) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)(body ? strlen(body) : 0));
		}
		curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, pf_kube_collect);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &buf);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
		if (prepare)
			prepare(h, prepare_ctx);
		cc = curl_easy_perform(h);
		curl_slist_free_all(headers);
		if (cc != CURLE_OK) {
			rc = buf.too_big ? -EMSGSIZE : pf_kube_curl_errno(h, cc);
			if (buf.too_big)
				snprintf(err, err_len, "%s %s: answer larger than %u bytes", method,
					 url, PF_KUBE_REPLY_MAX);
			else
				snprintf(err, err_len, "%s %s: %s", method, url,
					 curl_err[0] ? curl_err : curl_easy_strerror(cc));
			pf_growbuf_free(&buf);
			break;
		}
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
		if (!buf.data && !pf_growbuf_add(&buf, "", 0)) {
			rc = -ENOMEM;
			snprintf(err, err_len, "%s %s: out of memory", method, url);
			break;
		}
		*reply_text = buf.data;
		if (*status != 401 || attempt || !pf_kube_token_reload(c))
			break;
		free(*reply_text);
		*reply_text = NULL;
	}
	free(url);
	return rc;
}

int pf_kube_request(struct pf_kube_client *c, const char *method, const char *path_query,
		    const char *content_type, json_t *body, json_t **reply, char *err,
		    size_t err_len)
{
	char *text = NULL, *body_text = NULL;
	json_error_t jerr;
	json_t *answer;
	long status;
	int rc;

	if (reply)
		*reply = NULL;
	if (body && !(body_text = json_dumps(body, JSON_COMPACT))) {
		snprintf(err, err_len, "%s %s%s: the body cannot be written as JSON", method,
			 c->cfg.server, path_query);
		return -EINVAL;
	}
	pthread_mutex_lock(&c->lock);
	rc = pf_kube_exchange(c, c->handle, method, path_query, content_type, body_text,
			      PF_KUBE_TIMEOUT_S, NULL, NULL, &status, &text, err, err_len);
	pthread_mutex_unlock(&c->lock);
	free(body_text);
	if (rc)
		return rc;
	answer = json_loads(text, JSON_DECODE_ANY, &jerr);
	if (!answer) {
		snprintf(err, err_len, "%s %s%s: HTTP %ld and the answer is not JSON (%s): %.80s",
			 method, c->cfg.server, path_query, status, jerr.text, text);
		free(text);
		return -EBADMSG;
	}
	free(text);
	if (status >= 400) {
		char why[400];

		pf_kube_status_text(answer, why, sizeof(why));
		snprintf(err, err_len, "%s %s%s: HTTP %ld%s%s", method, c->cfg.server, path_query,
			 status, why[0] ? " " : "", why);
	}
	if (reply)
		*reply = answer;
	else
		json_decref(answer);
	return (int)status;
}
