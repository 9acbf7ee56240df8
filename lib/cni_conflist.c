// SPDX-License-Identifier: Apache-2.0
#include <jansson.h>

#include "cni_conflist.h"

char *pf_conflist_render(const struct pf_conflist_opts *o)
{
	json_t *plugin, *root;
	char *text;

	plugin = json_pack("{s:s, s:s, s:s, s:s, s:I}", "type", "podfence-cni", "ipamdSocket",
			   o->ipamd_socket, "agentSocket", o->agent_socket, "logFile",
			   o->log_file, "mtu", (json_int_t)o->mtu);
	if (!plugin)
		return NULL;
	root = json_pack("{s:s, s:s, s:[o]}", "cniVersion", o->cni_version, "name",
			 o->network_name, "plugins", plugin);
	if (!root)
		return NULL;
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return text;
}
