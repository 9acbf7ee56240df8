/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP requests with JSON bodies over a local unix socket, through libcurl:
 * how the CNI plugin and podfence-ctl talk to podfence-ipamd and
 * podfence-agent. The serving side is http_server.h. */
#ifndef PF_HTTP_CLIENT_H
#define PF_HTTP_CLIENT_H

#include <stddef.h>

/* One request over a unix socket. Returns 0 with *status and *reply
 * (malloc'd, caller frees) set, or -errno when the socket could not be
 * reached or the transfer failed (errmsg, if not NULL, says why). */
int pf_http_unix_request(const char *path, const char *method, const char *url_path,
			 const char *body, long timeout_ms, long *status, char **reply,
			 char *errmsg, size_t errmsg_len);

#endif
