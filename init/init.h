/* SPDX-License-Identifier: Apache-2.0 */
/* podfence-init: prepares the node, waits for podfence-ipamd, then installs
 * the CNI plugin and its conflist, in the order the seed explains: kubelet
 * treats the network as ready as soon as a conflist exists, so the conflist
 * comes last, once the plugin can get answers. */
#ifndef PF_INIT_H
#define PF_INIT_H

#include <stdbool.h>

#include "cni_conflist.h"

struct pf_init_opts {
	const char *cni_bin_dir;
	const char *cni_conf_dir;
	const char *plugin_src;    /* the podfence-cni binary to install */
	const char *run_dir;
	const char *log_dir;
	const char *bpffs;
	bool ipv6;
	unsigned wait_timeout_s;
	struct pf_conflist_opts conflist;
};

/* Each step returns 0 or -errno and logs what failed. */
int pf_init_prepare_node(const struct pf_init_opts *o);
int pf_init_wait_ipamd(const char *socket, unsigned timeout_s);
int pf_init_install_cni(const struct pf_init_opts *o);

#endif
