/* SPDX-License-Identifier: Apache-2.0 */
/* The CNI network configuration list podfence-init installs
 * (10-podfence.conflist): one plugin, podfence-cni, and where it finds the
 * daemons. Its keys are the ones lib/cni_netconf.c reads. */
#ifndef PF_CNI_CONFLIST_H
#define PF_CNI_CONFLIST_H

#include <stdbool.h>

struct pf_conflist_opts {
	const char *cni_version;   /* e.g. "1.0.0" */
	const char *network_name;  /* "podfence" */
	const char *ipamd_socket;
	const char *agent_socket;
	const char *log_file;
	unsigned mtu;
};

/* The conflist as JSON text (malloc'd, caller frees), or NULL when out of
 * memory. */
char *pf_conflist_render(const struct pf_conflist_opts *o);

#endif
