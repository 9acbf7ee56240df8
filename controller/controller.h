/* SPDX-License-Identifier: Apache-2.0 */
/* podfence-controller: NetworkPolicies, Pods and Namespaces in, one
 * PolicyEndpoint per NetworkPolicy out (the seed's network policy
 * controller). This step reads a dir: source and writes the PolicyEndpoints
 * as files; the kube: source and writing them to the API come next. */
#ifndef PF_CONTROLLER_H
#define PF_CONTROLLER_H

#include <stdbool.h>

struct controller_config {
	const char *source_dir; /* --source dir:PATH */
	const char *output_dir; /* --output DIR */
	bool once;              /* --once: one pass, then exit */
};

/* One pass: reads every manifest of the source (bad ones are logged and
 * skipped), resolves, and makes output_dir hold exactly one file per
 * PolicyEndpoint (pe-<namespace>--<name>.json, written atomically; files of
 * policies that are gone are removed). Returns 0 or -errno. */
int controller_sync(const struct controller_config *cfg);

#endif
