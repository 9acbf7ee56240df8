/* SPDX-License-Identifier: Apache-2.0 */
/* A small random cluster for the resolver's property tests (resolver_deps,
 * cache_changes): eight NetworkPolicies covering every selector shape, and
 * Pods and Namespaces whose labels, addresses and named ports are drawn at
 * random from a few values, so changes often do and often do not matter. */
#ifndef PF_TEST_RANDOM_CLUSTER_H
#define PF_TEST_RANDOM_CLUSTER_H

#include <stddef.h>
#include <jansson.h>

struct pf_k8s_cache;

/* The policies, as one multi-document YAML manifest. */
extern const char *const pf_rc_policies;
/* The model's namespaces: "x", "y", "z". */
extern const char *const pf_rc_namespaces[3];

/* Random app and tier labels of a Pod. */
json_t *pf_rc_pod_labels(void);
/* A new version of Pod ns/p<i>: random address, named ports and labels. */
json_t *pf_rc_pod(const char *ns, int i);
/* Namespace ns with a random team label. */
json_t *pf_rc_namespace(const char *ns);

/* Every PolicyEndpoint the resolver makes of the cache, as JSON text, in
 * the cache's order (a NULL after the last); the test fails on an error. */
char **pf_rc_endpoints_text(const struct pf_k8s_cache *c);
void pf_rc_texts_free(char **t, size_t n);

#endif
