// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <curl/curl.h>

#include "http_client.h"

/* A reply larger than this is not one of ours: refuse it rather than grow. */
#define PF_HTTP_REPLY_MAX (16u << 20)

struct pf_http_buf {
	char *data;
	size_t len, cap;
	bool too_big;
};

static pthread_once_t pf_curl_once = PTHREAD_ONCE_INIT;
static CURLcode pf_curl_init_rc;

/* curl_global_init is not safe to race with itself; run it exactly once. */
static void pf_curl_global_init(void)
{
	pf_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t pf_http_collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct pf_http_buf *b = userdata;
	size_t n = size * nmemb;

	if (b->len + n + 1 > PF_HTTP_REPLY_MAX) {
		b->too_big = true;
		return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p)
			return 0;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* The socket's own errno when curl recorded one (ENOENT: no socket file,
 * ECONNREFUSED: nobody listens, EACCES: not root), else 0. */
static int pf_http_os_errno(CURL *c)
{
	long os_errno = 0;

	if (curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno) != CURLE_OK || os_errno <= 0)
		return 0;
	return (int)os_errno;
}

/* What errno best describes a failed transfer. */
static int pf_http_errno(CURL *c, CURLcode rc)
{
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return -ETIMEDOUT;
	if (pf_http_os_errno(c))
		return -pf_http_os_errno(c);
	if (rc == CURLE_OUT_OF_MEMORY)
		return -ENOMEM;
	if (rc == CURLE_COULDNT_CONNECT)
		return -ECONNREFUSED;
	return -EIO;
}

int pf_http_unix_request(const char *path, const char *method, const char *url_path,
			 const char *body, long timeout_ms, long *status, char **reply,
			 char *errmsg, size_t errmsg_len)
{
	char url[512], curl_err[CURL_ERROR_SIZE] = "";
	struct pf_http_buf buf = { 0 };
	struct curl_slist *headers = NULL;
	struct sockaddr_un sun;
	CURLcode rc;
	CURL *c;
	int err = 0;

	*reply = NULL;
	*status = 0;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		if (errmsg)
			snprintf(errmsg, errmsg_len, "socket path %s is longer than %zu bytes",
				 path, sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	/* The host part is never resolved: curl talks to the unix socket. */
	if ((size_t)snprintf(url, sizeof(url), "http://localhost%s", url_path) >= sizeof(url)) {
		if (errmsg)
			snprintf(errmsg, errmsg_len, "URL path %s is too long", url_path);
		return -ENAMETOOLONG;
	}
	pthread_once(&pf_curl_once, pf_curl_global_init);
	if (pf_curl_init_rc != CURLE_OK) {
		if (errmsg)
			snprintf(errmsg, errmsg_len, "curl_global_init: %s",
				 curl_easy_strerror(pf_curl_init_rc));
		return -EIO;
	}
	c = curl_easy_init();
	if (!c) {
		if (errmsg)
			snprintf(errmsg, errmsg_len, "curl_easy_init failed");
		return -ENOMEM;
	}
	if (body) {
		headers = curl_slist_append(headers, "Content-Type: application/json");
		/* No "Expect: 100-continue" round trip for larger bodies. */
		headers = curl_slist_append(headers, "Expect:");
		if (!headers) {
			err = -ENOMEM;
			goto out;
		}
	}
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	}
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	/* Timeouts through alarm signals would disturb the calling program. */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, pf_http_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &buf);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);

	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		err = buf.too_big ? -EMSGSIZE : pf_http_errno(c, rc);
		if (errmsg) {
			if (buf.too_big)
				snprintf(errmsg, errmsg_len, "%s %s on %s: reply larger than %u bytes",
					 method, url_path, path, PF_HTTP_REPLY_MAX);
			else if (rc != CURLE_OPERATION_TIMEDOUT && pf_http_os_errno(c))
				/* curl's own text speaks of "localhost port 80". */
				snprintf(errmsg, errmsg_len, "%s %s on %s: %s", method, url_path,
					 path, strerror(pf_http_os_errno(c)));
			else
				snprintf(errmsg, errmsg_len, "%s %s on %s: %s", method, url_path,
					 path, curl_err[0] ? curl_err : curl_easy_strerror(rc));
		}
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (!buf.data) {
		buf.data = strdup("");
		if (!buf.data) {
			err = -ENOMEM;
			goto out;
		}
	}
	*reply = buf.data;
	buf.data = NULL;
out:
	if (err == -ENOMEM && errmsg)
		snprintf(errmsg, errmsg_len, "%s %s on %s: out of memory", method, url_path, path);
	free(buf.data);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	return err;
}
