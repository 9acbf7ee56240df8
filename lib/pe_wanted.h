/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PolicyEndpoint objects every NetworkPolicy of a cache wants on the
 * API server (pe_publish.h), kept between passes of podfence-controller: a
 * pass resolves again only the policies that are new, whose uid changed
 * (deleted and created again: new owner references) or that the cache's
 * changes reach (cache_changes.h), and forgets those gone. An unchanged
 * policy costs a lookup; its objects are still part of the wanted set, so
 * a full plan compares everything with what the API holds (drift repair).
 */
#ifndef PF_PE_WANTED_H
#define PF_PE_WANTED_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "cache_changes.h"
#include "k8s_objects.h"
#include "pe_publish.h"

struct pf_pe_wanted {
	/* "ns/name" of a policy -> {"uid": string or null, and either
	 * "objects": {"ns/name": PolicyEndpoint} or "error": why not} */
	json_t *by_policy;
	size_t max_bytes; /* pf_pe_publish's */
};

/* What one pass makes of it. */
struct pf_pe_wanted_pass {
	json_t *wanted;  /* every object wanted: "ns/name" -> object */
	json_t *keep;    /* policies not published (set): their objects stay as they are */
	json_t *errors;  /* "ns/name" of a policy -> why it is not published */
	json_t *touched; /* policies resolved again, or gone, in this pass (set) */
	size_t resolved; /* how many policies were resolved */
};

int pf_pe_wanted_init(struct pf_pe_wanted *w, size_t max_bytes);
void pf_pe_wanted_free(struct pf_pe_wanted *w);

/*
 * Brings w up to date with the cache c (uids: "ns/name" -> metadata.uid of
 * each NetworkPolicy, a missing one means none) and fills out; the changes
 * ch are then forgotten. A policy that cannot be published (it does not
 * resolve, is too large even when split, or a name of its objects is taken
 * by a policy earlier in the cache's order) is in out->keep and
 * out->errors. Returns 0, or -ENOMEM (out is empty, ch kept).
 */
int pf_pe_wanted_update(struct pf_pe_wanted *w, const struct pf_k8s_cache *c,
			struct pf_cache_changes *ch, json_t *uids, struct pf_pe_wanted_pass *out);

/*
 * The writes (pf_pe_diff) that make observed ("ns/name" -> PolicyEndpoint
 * as the API holds it) what the pass wants. full: every object, wanted or
 * observed; otherwise only those whose spec.policyRef is a touched policy
 * (enough when nothing but the cache changed since the last full plan that
 * went through). Returns 0 or -ENOMEM.
 */
int pf_pe_wanted_plan(const struct pf_pe_wanted_pass *p, json_t *observed, bool full,
		      struct pf_pe_plan *out);
void pf_pe_wanted_pass_free(struct pf_pe_wanted_pass *p);

#endif
