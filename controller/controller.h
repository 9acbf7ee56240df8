/* SPDX-License-Identifier: Apache-2.0 */
/* podfence-controller: NetworkPolicies, Pods and Namespaces in,
 * PolicyEndpoints out (the seed's network policy controller). Two sources:
 * dir: (manifest files in, PolicyEndpoint files out: sync.c) and kube: (the
 * API server's objects in, PolicyEndpoint objects written back: kube_*.c,
 * docs/kube.md). */
#ifndef PF_CONTROLLER_H
#define PF_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>

/* --resync-period and --max-pe-bytes defaults: a relist and a full pass
 * every 5 minutes; PolicyEndpoints well under etcd's 1.5 MiB object limit
 * (the server adds its own metadata). */
#define CONTROLLER_RESYNC_S 300
#define CONTROLLER_MAX_PE_BYTES 900000

struct controller_config {
	const char *source_dir;  /* --source dir:PATH */
	const char *output_dir;  /* --output DIR */
	bool once;               /* --once: one pass, then exit */
	const char *kube;        /* --source kube:[KUBECONFIG]: "" in-cluster, or the path */
	const char *health_bind; /* --health-bind ADDR:PORT (loopback), or NULL */
	unsigned resync_s;       /* --resync-period */
	size_t max_pe_bytes;     /* --max-pe-bytes */
};

/* One pass: reads every manifest of the source (bad ones are logged and
 * skipped), resolves, and makes output_dir hold exactly one file per
 * PolicyEndpoint (pe-<namespace>--<name>.json, written atomically; files of
 * policies that are gone are removed). Returns 0 or -errno. */
int controller_sync(const struct controller_config *cfg);

/* The kube: source: watches, resolves and writes until SIGTERM or SIGINT.
 * Returns the exit status (0 after a signal, 1 when it could not start). */
int controller_kube_run(const struct controller_config *cfg);

/* --check-health ADDR:PORT: GET /healthz of a running controller, for an
 * exec probe (its health server is on loopback, out of kubelet's reach).
 * Returns the exit status: 0 healthy, 1 not. */
int controller_check_health(const char *addr);

#endif
