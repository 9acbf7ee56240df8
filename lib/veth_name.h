/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host-side name of a pod's veth: prefix + the first 11 hex characters
 * of SHA-1("<namespace>.<name>"). The seed (amazon-vpc-cni-k8s,
 * GeneratePodHostVethName) names its veths the same way with prefix "eni",
 * so with vethPrefix "eni" the names are the seed's own. The name depends
 * only on the pod, so a DEL without prevResult still finds the interface.
 */
#ifndef PF_VETH_NAME_H
#define PF_VETH_NAME_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#define PF_VETH_HASH_CHARS 11

/* SHA-1 of len bytes (FIPS 180-4). */
void pf_sha1(const void *data, size_t len, uint8_t digest[20]);

/* Writes the host veth name into out. Returns 0, or -ENAMETOOLONG when
 * prefix is longer than IFNAMSIZ - 1 - PF_VETH_HASH_CHARS characters. */
int pf_veth_host_name(const char *prefix, const char *pod_namespace, const char *pod_name,
		      char out[IFNAMSIZ]);

#endif
