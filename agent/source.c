// SPDX-License-Identifier: Apache-2.0
/* Objects of either source into the cache (through changes.c): a local
 * pod's Pod merged with the address the CNI gave it, the source's version
 * kept so it can be merged again and given back when the pod leaves. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"

int agent_object_put(struct agent *a, enum pf_k8s_kind kind, const char *ns, const char *name,
		     json_t *obj, char *err, size_t err_len)
{
	struct agent_pod *p = NULL;
	char key[600];
	int rc;

	if (kind == PF_K8S_POD) {
		snprintf(key, sizeof(key), "%s/%s", ns, name);
		p = agent_pod_find(a, ns, name);
		if (p && p->gone)
			p = NULL;
	}
	/* A local pod's object goes in through publish, which adds the
	 * address; the source's version is kept only once it validates. */
	if (p) {
		struct pf_k8s_pod check;

		rc = pf_k8s_pod_from_json(obj, &check, err, err_len);
		if (rc)
			return rc;
		pf_k8s_pod_free(&check);
		if (json_object_set(a->source_pods, key, obj))
			return -ENOMEM;
		return agent_pod_publish(a, p);
	}
	rc = agent_cache_apply(a, obj, NULL, err, err_len);
	if (!rc && kind == PF_K8S_POD && json_object_set(a->source_pods, key, obj))
		rc = -ENOMEM;
	return rc;
}

void agent_object_del(struct agent *a, enum pf_k8s_kind kind, const char *ns, const char *name)
{
	struct agent_pod *p;
	char key[600];

	if (kind == PF_K8S_POD) {
		snprintf(key, sizeof(key), "%s/%s", ns, name);
		json_object_del(a->source_pods, key);
		p = agent_pod_find(a, ns, name);
		if (p && !p->gone) {
			/* Still running here: it stays, without the source's labels. */
			agent_pod_publish(a, p);
			return;
		}
	}
	/* -ENOENT: it never validated, nothing to do. */
	agent_cache_delete(a, kind, ns, name);
}
