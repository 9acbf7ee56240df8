/* SPDX-License-Identifier: Apache-2.0 */
/* What lib/kube_config.c, lib/kube_client.c and lib/kube_watch*.c share;
 * everyone else uses kube_client.h. */
#ifndef PF_KUBE_INTERNAL_H
#define PF_KUBE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <curl/curl.h>
#include <jansson.h>

#include "growbuf.h"
#include "kube_client.h"

/* A service account token is a few KiB; anything far larger is not one. */
#define PF_KUBE_TOKEN_MAX (64u << 10)
/* A list of thousands of pods is tens of MiB; refuse what is far beyond. */
#define PF_KUBE_REPLY_MAX (512u << 20)
#define PF_KUBE_TIMEOUT_S 30L

/* Reads a token file, leading and trailing white space dropped. Returns 0
 * or -errno with err naming the file. */
int pf_kube_read_token(const char *path, char **out, char *err, size_t err_len);

/* Called on the handle after the common options are set: a watch adds its
 * progress and socket callbacks there. */
typedef void (*pf_kube_prepare_fn)(CURL *h, void *ctx);

/*
 * One exchange on handle h (curl_easy_reset first): server URL + path_query,
 * TLS and credentials of c, timeout_s (0: none), body text or NULL. The
 * reply is collected into *reply_text (malloc'd, NUL-terminated, maybe
 * empty) and the HTTP status into *status. A 401 reads token_file again and
 * retries once. Returns 0, or -errno with err "METHOD URL: what failed".
 */
int pf_kube_exchange(struct pf_kube_client *c, CURL *h, const char *method,
		     const char *path_query, const char *content_type, const char *body,
		     long timeout_s, pf_kube_prepare_fn prepare, void *prepare_ctx, long *status,
		     char **reply_text, char *err, size_t err_len);

/* Sets the common options (URL, TLS, bearer token, no signals) on h after a
 * curl_easy_reset. *headers gets the list to free after the transfer.
 * Returns 0 or -ENOMEM. */
int pf_kube_setup(struct pf_kube_client *c, CURL *h, const char *url,
		  const char *content_type, struct curl_slist **headers);

/* The server's URL ("https://host:port"). */
const char *pf_kube_server(const struct pf_kube_client *c);

/* server + path_query, malloc'd, or NULL when out of memory. */
char *pf_kube_url(const struct pf_kube_client *c, const char *path_query);

/* Reads token_file again after a 401. Returns true when there is a token
 * file and it was read (the token may be the same as before). */
bool pf_kube_token_reload(struct pf_kube_client *c);

/* The errno that best describes a failed transfer, and its text. */
int pf_kube_curl_errno(CURL *h, CURLcode rc);

/* "reason: message" of a metav1.Status, or "" when st is not one. */
void pf_kube_status_text(json_t *st, char *buf, size_t len);

/* metadata.resourceVersion of obj, or NULL. */
const char *pf_kube_obj_rv(json_t *obj);

#endif
