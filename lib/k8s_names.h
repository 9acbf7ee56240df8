/* SPDX-License-Identifier: Apache-2.0 */
/* The shapes Kubernetes validates names against (apimachinery validation). */
#ifndef PF_K8S_NAMES_H
#define PF_K8S_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* DNS-1123 subdomain: lower case alphanumerics, '-' and '.', each dot-
 * separated part starting and ending alphanumeric, at most 253 characters
 * (names of Pods, NetworkPolicies, label key prefixes). */
bool pf_k8s_dns_subdomain_ok(const char *s, size_t len);
/* DNS-1123 label: lower case alphanumerics and '-', starting and ending
 * alphanumeric, at most 63 characters (names of Namespaces). */
bool pf_k8s_dns_label_ok(const char *s);
/* [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63 characters: a label
 * value and a label key's name part. */
bool pf_k8s_label_name_ok(const char *s, size_t len);
/* IANA_SVC_NAME: 1-15 lower case alphanumerics and '-', at least one letter,
 * no '-' at either end or twice in a row (container port names). */
bool pf_k8s_port_name_ok(const char *s);

#endif
