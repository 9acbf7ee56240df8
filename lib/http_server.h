/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP with JSON bodies, served by libmicrohttpd: local RPC on root-only
 * unix sockets (mode 0600) and read-only endpoints (metrics, health,
 * introspection) on loopback TCP. The client side is http_client.h. */
#ifndef PF_HTTP_SERVER_H
#define PF_HTTP_SERVER_H

#include <stddef.h>

/* One request. Return 0 and set *status and *reply (malloc'd, freed by the
 * server; may be NULL for an empty body) and *content_type (static string,
 * NULL means application/json). */
struct pf_http_reply {
	int status;
	char *body;
	const char *content_type;
};
typedef void (*pf_http_handler)(void *ctx, const char *method, const char *path,
				const char *body, size_t body_len,
				struct pf_http_reply *reply);

struct pf_http_server;

/* Serve on a unix socket at path (any stale socket file is replaced; the
 * socket is created 0600). NULL on failure with *err = -errno. */
struct pf_http_server *pf_http_serve_unix(const char *path, pf_http_handler h,
					  void *ctx, int *err);
/* Serve on "ADDR:PORT" (e.g. "127.0.0.1:61679"). GET only is the caller's
 * rule to enforce. NULL on failure with *err = -errno. */
struct pf_http_server *pf_http_serve_tcp(const char *bind_addr, pf_http_handler h,
					 void *ctx, int *err);
void pf_http_stop(struct pf_http_server *srv);

#endif
