/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP with JSON bodies, served by libmicrohttpd: local RPC on root-only
 * unix sockets (mode 0600) and read-only endpoints (metrics, health,
 * introspection) on loopback TCP. The client side is http_client.h. */
#ifndef PF_HTTP_SERVER_H
#define PF_HTTP_SERVER_H

#include <stddef.h>
#include <jansson.h>

/* Request bodies larger than this are answered 413 without reaching the
 * handler: every podfence request is a small JSON object. */
#define PF_HTTP_MAX_BODY (64 * 1024)

/* One request. Return 0 and set *status and *reply (malloc'd, freed by the
 * server; may be NULL for an empty body) and *content_type (static string,
 * NULL means application/json). */
struct pf_http_reply {
	int status;
	char *body;
	const char *content_type;
};
/* body is NUL-terminated (body_len excludes the NUL); path has no query. */
typedef void (*pf_http_handler)(void *ctx, const char *method, const char *path,
				const char *body, size_t body_len,
				struct pf_http_reply *reply);

/* A query argument of the request being handled ("pod" of
 * /v1/explain?pod=x/a), URL-decoded, or NULL. Valid only inside a handler,
 * on its thread. */
const char *pf_http_query_arg(const char *name);

/* Fills reply with obj rendered compact (obj is consumed). A value that
 * cannot be rendered becomes a 500. */
void pf_http_reply_json(struct pf_http_reply *reply, int status, json_t *obj);
/* Fills reply with {"error": "<message>"}: what was wrong, naming the
 * field or value. */
void pf_http_reply_error(struct pf_http_reply *reply, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct pf_http_server;

/* Serve on a unix socket at path (any stale socket file is replaced; the
 * socket is created 0600). NULL on failure with *err = -errno. */
struct pf_http_server *pf_http_serve_unix(const char *path, pf_http_handler h,
					  void *ctx, int *err);
/* Serve on "ADDR:PORT" (e.g. "127.0.0.1:61679", "[::1]:61679", ":61678" for
 * every address). GET only is the caller's rule to enforce. NULL on failure
 * with *err = -errno. */
struct pf_http_server *pf_http_serve_tcp(const char *bind_addr, pf_http_handler h,
					 void *ctx, int *err);
/* Stops serving, waits for the request in flight, and removes the unix
 * socket file. */
void pf_http_stop(struct pf_http_server *srv);

/* A request body that must be one JSON object: the object (the caller
 * decrefs), or NULL with a 400 reply saying what was wrong. */
json_t *pf_http_json_body(const char *body, size_t len, struct pf_http_reply *reply);

#endif
