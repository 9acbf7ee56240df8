/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Splitting one policy's PolicyEndpoint object into several when it would
 * be too large for the API server (etcd refuses objects over ~1.5 MiB).
 *
 * The chunks are (endpoint chunk) x (rule chunk): every chunk carries the
 * policy's podSelector, podIsolation and policyRef, the endpoints of one
 * endpoint chunk and the rules of one rule chunk. An agent enforces the
 * union of the PolicyEndpoints that list a pod, so the union of the chunks
 * that list a pod is exactly the policy's rules for it.
 *
 * Items go to chunks by a hash of what identifies them (an endpoint's
 * namespace/name, a rule's direction, cidr and except), modulo a power of
 * two: adding or removing a pod or a peer changes one chunk while the
 * layout holds, and the same inputs always give the same chunks (a restart
 * rewrites nothing). The layout is the one with the fewest objects that
 * fits; its shape is in every name (see pf_pe_chunk_name), so a new layout
 * is new objects, created before the old ones are deleted.
 */
#ifndef PF_PE_CHUNKS_H
#define PF_PE_CHUNKS_H

#include <stddef.h>
#include <jansson.h>

/* Kubernetes object names (DNS-1123 subdomains) and label values. */
#define PF_K8S_NAME_MAX 253
#define PF_K8S_LABEL_VALUE_MAX 63

/* Room left in every chunk for what a write adds to it: the
 * metadata.resourceVersion of a replace. */
#define PF_PE_CHUNK_SLACK 64

/*
 * Splits obj (a PolicyEndpoint object: pf_policy_endpoint_to_json's, plus
 * any metadata the caller added) into chunks whose compact JSON, with
 * PF_PE_CHUNK_SLACK to spare, is at most max_bytes. Appends the chunks to
 * the array out, each a new object named by pf_pe_chunk_name (one chunk
 * when everything fits). Returns 0; -E2BIG when the largest endpoint and
 * the largest rule cannot share one object (err gives the sizes); -EINVAL
 * when obj lacks spec.policyRef.name; -ENOMEM.
 */
int pf_pe_split(json_t *obj, size_t max_bytes, json_t *out, char *err, size_t err_len);

/*
 * The name of chunk (e, r), counted from 1, of a layout of n_e endpoint
 * chunks and n_r rule chunks: "<policy>-e<e>of<n_e>-r<r>of<n_r>", e.g.
 * "allow-web-e1of1-r1of1". The suffix is always there, so a name never
 * collides with another policy's (stripping it gives the policy back); a
 * policy name too long for it is cut, with a hash of the whole name
 * (pf_k8s_name_fit). Returns 0 or -ENAMETOOLONG (buf too small).
 */
int pf_pe_chunk_name(const char *policy, unsigned e, unsigned n_e, unsigned r, unsigned n_r,
		     char *buf, size_t len);

/* name, or when it is longer than max characters, its first characters
 * (without a trailing '-' or '.') then "-" and 8 hex digits of a hash of
 * the whole name, max characters in all: still a valid DNS-1123 subdomain
 * or label value, and distinct for distinct names in practice. buf holds
 * at least max + 1 bytes. */
void pf_k8s_name_fit(const char *name, size_t max, char *buf);

#endif
