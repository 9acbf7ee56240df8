/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the readers of Kubernetes objects (k8s_objects.c,
 * k8s_netpol.c, policy_endpoint_json.c). Each writes an error that starts with
 * the field's path; pf_k8s_err_prefix puts the object in front at the end. */
#ifndef PF_K8S_PARSE_H
#define PF_K8S_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "k8s_objects.h"

/* Writes a field path (a long path is cut short, never overflows). */
void pf_k8s_path(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reads metadata.name and, for namespaced kinds, metadata.namespace
 * ("default" when absent). Names are checked as DNS subdomains (DNS labels
 * for namespaces). On error *ns and *name hold what could be read. */
int pf_k8s_meta(json_t *obj, bool namespaced, char **ns, char **name, char *err,
		size_t err_len);
/* Rewrites err as "<Kind> <ns>/<name>: <err>" ("<Kind> <name>" when ns is
 * NULL, "(unnamed)" when name is NULL). */
void pf_k8s_err_prefix(char *err, size_t err_len, enum pf_k8s_kind kind, const char *ns,
		       const char *name);
/* protocol: "TCP", "UDP" or "SCTP", exactly as the API server accepts them;
 * absent means TCP. */
int pf_k8s_proto(json_t *v, const char *path, uint8_t *proto, char *err, size_t err_len);
/* An integer 1..65535. */
int pf_k8s_port_number(json_t *v, const char *path, uint16_t *port, char *err, size_t err_len);
/* A numeric port and optional endPort of the object at path (either may be
 * NULL; endPort needs a port and may not be below it). No port: *port = 0,
 * every port. *end_port = *port unless endPort says otherwise. */
int pf_k8s_port_range(json_t *port, json_t *end, const char *path, uint16_t *lo,
		      uint16_t *end_port, char *err, size_t err_len);
/* An optional string field: NULL when absent or null, -EINVAL otherwise. */
int pf_k8s_opt_string(json_t *v, const char *path, const char **out, char *err,
		      size_t err_len);

#endif
