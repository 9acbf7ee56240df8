/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What podfence-cni prints: the ADD result, the VERSION reply and errors, in
 * the JSON of the spec version the runtime asked for (CNI SPEC.md section 5),
 * and the prevResult it is given back for CHECK and DEL.
 *
 * Per version:
 *   0.3.0, 0.3.1, 0.4.0: every "ips" entry carries "version": "4" or "6";
 *   1.0.0: "version" is gone (the address says it);
 *   1.1.0: interfaces may carry "mtu" (added by 1.1.0), and podfence sets it.
 */
#ifndef PF_CNI_RESULT_H
#define PF_CNI_RESULT_H

#include <net/if.h>
#include <stddef.h>
#include <jansson.h>

#include "cni_error.h"
#include "cni_netconf.h"

#define PF_CNI_MAX_IFACES 2
#define PF_CNI_MAX_IPS 2
#define PF_CNI_MAX_ROUTES 8

struct pf_cni_iface {
	char name[IFNAMSIZ];
	char mac[18];                /* "aa:bb:cc:dd:ee:ff" or "" */
	char sandbox[PF_CNI_PATH_MAX]; /* netns path; "" for a host interface */
	int mtu;                     /* 0: not known */
};

struct pf_cni_ip {
	char address[64]; /* "10.244.1.5/32" */
	char gateway[48]; /* "" when none */
	int iface;        /* index into ifaces, -1 when none */
};

struct pf_cni_route {
	char dst[64];     /* "0.0.0.0/0" */
	char gw[48];      /* "" when none */
};

struct pf_cni_result {
	struct pf_cni_iface ifaces[PF_CNI_MAX_IFACES];
	size_t n_ifaces;
	struct pf_cni_ip ips[PF_CNI_MAX_IPS];
	size_t n_ips;
	struct pf_cni_route routes[PF_CNI_MAX_ROUTES];
	size_t n_routes;
};

/* The ADD result in version's JSON; malloc'd, NULL when out of memory. */
char *pf_cni_result_render(const struct pf_cni_result *r, const char *version);
/* The error object: {"cniVersion", "code", "msg", "details"} (details only
 * when set). */
char *pf_cni_error_render(const struct pf_cni_error *e, const char *version);
/* The VERSION reply: {"cniVersion", "supportedVersions"}. */
char *pf_cni_version_render(const char *version);

/* Reads a prevResult (any supported version) back. Errors are code 7 and
 * name the field. */
int pf_cni_result_parse(json_t *prev, struct pf_cni_result *r, struct pf_cni_error *e);

#endif
