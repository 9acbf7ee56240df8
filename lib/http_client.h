/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP requests with JSON bodies over a local unix socket: how the CNI
 * plugin, podfence-ctl and podfence-init talk to podfence-ipamd and
 * podfence-agent. Plain HTTP/1.1, one request per connection; the reply is
 * parsed by http-parser, no libcurl (see http_client.c for why). The
 * serving side is http_server.h. */
#ifndef PF_HTTP_CLIENT_H
#define PF_HTTP_CLIENT_H

#include <stddef.h>

/* One request over a unix socket: method and url_path (which may carry a
 * query) go into the request line as given; body, when not NULL, is sent as
 * application/json. timeout_ms (> 0) bounds the whole call, connect to the
 * last byte of the reply. Returns 0 with *status and *reply (the body,
 * NUL-terminated, "" when empty; malloc'd, caller frees) set, or -errno
 * with *reply NULL and errmsg (if not NULL) naming the request, the socket
 * and what failed:
 *   -ENOENT, -ECONNREFUSED, -EACCES  the socket file is missing, nobody
 *                                    listens, not allowed (the connect's own errno)
 *   -ETIMEDOUT     no complete reply within timeout_ms
 *   -ECONNRESET    the server closed the connection before a complete reply
 *   -EPROTO        the reply is not HTTP
 *   -EMSGSIZE      the reply body is larger than 16 MiB
 *   -ENAMETOOLONG  the socket path or the URL path is too long
 *   -EINVAL        a method or URL path with a space or control character,
 *                  or a timeout that is not positive
 *   other -errno   from the socket calls (send, read, poll), or -ENOMEM */
int pf_http_unix_request(const char *path, const char *method, const char *url_path,
			 const char *body, long timeout_ms, long *status, char **reply,
			 char *errmsg, size_t errmsg_len);

/* The same request in two steps, so that the caller can do other work while
 * the server answers. pf_http_unix_send validates, connects and sends (the
 * failures above but those of the reply) and on success sets *out to the
 * exchange; pf_http_unix_receive reads the reply (the reply's failures
 * above) and frees the exchange, whatever it returns. timeout_ms bounds the
 * two together, from the send. path, method and url_path must stay valid
 * until the receive (its errors name them). */
struct pf_http_exchange;
int pf_http_unix_send(const char *path, const char *method, const char *url_path,
		      const char *body, long timeout_ms, struct pf_http_exchange **out,
		      char *errmsg, size_t errmsg_len);
int pf_http_unix_receive(struct pf_http_exchange *x, long *status, char **reply, char *errmsg,
			 size_t errmsg_len);

#endif
