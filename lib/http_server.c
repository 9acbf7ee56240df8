// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <microhttpd.h>

#include "http_server.h"
#include "log.h"

/* Largest oversize body read (and dropped) so the 413 reaches the client. */
#define PF_HTTP_DRAIN_MAX (1024 * 1024)

struct pf_http_server {
	struct MHD_Daemon *daemon;
	pf_http_handler handler;
	void *ctx;
	char *unix_path; /* removed on stop; NULL for TCP */
};

/* One request's body as it arrives, chunk by chunk. */
struct pf_http_request {
	char *body;
	size_t len;
	bool too_big;
};

/* The connection whose request the handler on this thread is answering:
 * handlers see the path only, and ask for query arguments through it. */
static __thread struct MHD_Connection *pf_http_current;

const char *pf_http_query_arg(const char *name)
{
	return pf_http_current ? MHD_lookup_connection_value(pf_http_current,
							     MHD_GET_ARGUMENT_KIND, name)
			       : NULL;
}

void pf_http_reply_json(struct pf_http_reply *reply, int status, json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	reply->content_type = NULL;
	if (!text) {
		reply->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		reply->body = strdup("{\"error\":\"reply could not be rendered as JSON\"}");
		return;
	}
	reply->status = status;
	reply->body = text;
}

void pf_http_reply_error(struct pf_http_reply *reply, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pf_http_reply_json(reply, status, json_pack("{s:s}", "error", msg));
}

static void pf_http_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	pf_warn("http server: %s", msg);
}

static enum MHD_Result pf_http_send(struct MHD_Connection *conn, int status, char *body,
				    const char *content_type)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(body ? strlen(body) : 0, body,
					       body ? MHD_RESPMEM_MUST_FREE
						    : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				content_type ? content_type : "application/json");
	ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result pf_http_too_big(struct MHD_Connection *conn)
{
	struct pf_http_reply r = { 0 };

	pf_http_reply_error(&r, MHD_HTTP_CONTENT_TOO_LARGE,
			    "request body exceeds %d bytes", PF_HTTP_MAX_BODY);
	return pf_http_send(conn, r.status, r.body, r.content_type);
}

/* libmicrohttpd calls this once when the headers are in, once per body
 * chunk, and once more with no data when the request is complete. */
static enum MHD_Result pf_http_access(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	struct pf_http_server *srv = cls;
	struct pf_http_request *req = *con_cls;
	struct pf_http_reply reply = { 0 };

	(void)version;
	if (!req) {
		const char *clen = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							       MHD_HTTP_HEADER_CONTENT_LENGTH);

		/* An oversize body is normally read and dropped before the 413
		 * goes out: a reply sent while the client is still writing
		 * makes the close reset the connection, and the client sees a
		 * send error instead of the 413. Absurd sizes are cut short. */
		if (clen && strtoull(clen, NULL, 10) > PF_HTTP_DRAIN_MAX)
			return pf_http_too_big(conn);
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (req->too_big || req->len + n > PF_HTTP_MAX_BODY) {
			req->too_big = true; /* read and drop the rest */
			return MHD_YES;
		}
		char *grown = realloc(req->body, req->len + n + 1);

		if (!grown)
			return MHD_NO;
		memcpy(grown + req->len, upload_data, n);
		req->body = grown;
		req->len += n;
		req->body[req->len] = 0;
		return MHD_YES;
	}
	if (req->too_big)
		return pf_http_too_big(conn);
	pf_http_current = conn;
	srv->handler(srv->ctx, method, url, req->body ? req->body : "", req->len, &reply);
	pf_http_current = NULL;
	if (!reply.status) {
		pf_err("http handler for %s %s set no status", method, url);
		free(reply.body);
		reply.body = NULL;
		pf_http_reply_error(&reply, MHD_HTTP_INTERNAL_SERVER_ERROR,
				    "no reply for %s %s", method, url);
	}
	return pf_http_send(conn, reply.status, reply.body, reply.content_type);
}

static void pf_http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode why)
{
	struct pf_http_request *req = *con_cls;

	(void)cls, (void)conn, (void)why;
	if (req) {
		free(req->body);
		free(req);
	}
	*con_cls = NULL;
}

/* Takes ownership of fd (a listening socket). */
static struct pf_http_server *pf_http_start(int fd, const char *unix_path, pf_http_handler h,
					    void *ctx, int *err)
{
	struct pf_http_server *srv = calloc(1, sizeof(*srv));

	if (!srv || (unix_path && !(srv->unix_path = strdup(unix_path)))) {
		*err = -ENOMEM;
		goto fail;
	}
	srv->handler = h;
	srv->ctx = ctx;
	/* One polling thread: requests of one server are handled one at a
	 * time, which is what the daemons' state wants anyway. */
	srv->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
				       NULL, pf_http_access, srv, MHD_OPTION_EXTERNAL_LOGGER,
				       pf_http_log, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
				       MHD_OPTION_NOTIFY_COMPLETED, pf_http_completed, NULL,
				       MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!srv->daemon) {
		*err = -EIO;
		goto fail;
	}
	return srv;
fail:
	close(fd);
	if (unix_path)
		unlink(unix_path);
	if (srv)
		free(srv->unix_path);
	free(srv);
	return NULL;
}

/* A socket file nobody listens on is stale; one that answers belongs to a
 * live server and must not be stolen. Anything else is not ours to remove. */
static int pf_http_clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, busy;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	busy = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	if (busy)
		return -EADDRINUSE;
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

struct pf_http_server *pf_http_serve_unix(const char *path, pf_http_handler h, void *ctx,
					  int *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		*err = -ENAMETOOLONG;
		return NULL;
	}
	strcpy(sa.sun_path, path);
	*err = pf_http_clear_stale(path, &sa);
	if (*err)
		return NULL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		*err = -errno;
		close(fd);
		return NULL;
	}
	/* Nobody can connect before listen(), so tightening the mode here
	 * leaves no window in which a non-root client gets in. */
	if (chmod(path, 0600) || listen(fd, 128)) {
		*err = -errno;
		close(fd);
		unlink(path);
		return NULL;
	}
	return pf_http_start(fd, path, h, ctx, err);
}

/* "1.2.3.4:80", "[::1]:80" or ":80" (every IPv4 address). */
static int pf_http_parse_bind(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon = strrchr(text, ':');
	size_t hlen;
	char *end;
	long port;

	if (!colon)
		return -EINVAL;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port < 0 || port > 65535)
		return -EINVAL;
	hlen = (size_t)(colon - text);
	if (hlen >= 2 && text[0] == '[' && text[hlen - 1] == ']') {
		text++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, hlen);
	host[hlen] = 0;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	if (!hlen || inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

struct pf_http_server *pf_http_serve_tcp(const char *bind_addr, pf_http_handler h, void *ctx,
					 int *err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, on = 1;

	*err = pf_http_parse_bind(bind_addr, &ss, &len);
	if (*err)
		return NULL;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 128)) {
		*err = -errno;
		close(fd);
		return NULL;
	}
	return pf_http_start(fd, NULL, h, ctx, err);
}

void pf_http_stop(struct pf_http_server *srv)
{
	if (!srv)
		return;
	MHD_stop_daemon(srv->daemon); /* closes the listening socket */
	if (srv->unix_path)
		unlink(srv->unix_path);
	free(srv->unix_path);
	free(srv);
}

json_t *pf_http_json_body(const char *body, size_t len, struct pf_http_reply *reply)
{
	json_error_t jerr;
	json_t *req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!req) {
		pf_http_reply_error(reply, 400, "request body is not JSON: %s (column %d)",
				    jerr.text, jerr.column);
		return NULL;
	}
	if (!json_is_object(req)) {
		pf_http_reply_error(reply, 400, "request body must be a JSON object");
		json_decref(req);
		return NULL;
	}
	return req;
}
