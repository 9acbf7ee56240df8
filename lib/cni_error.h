/* SPDX-License-Identifier: Apache-2.0 */
/* A CNI error as the spec defines it (SPEC.md, "Error"): a well-known code,
 * a short message and optional details. Every CNI module reports through it
 * so the plugin prints exactly one error object. */
#ifndef PF_CNI_ERROR_H
#define PF_CNI_ERROR_H

#include <stddef.h>

/* Well-known codes (SPEC.md, "Well-known Error Codes"); 100+ are ours. */
enum pf_cni_code {
	PF_CNI_ERR_VERSION = 1,         /* incompatible CNI version */
	PF_CNI_ERR_UNSUPPORTED = 2,     /* unsupported field in network configuration */
	PF_CNI_ERR_NO_CONTAINER = 3,    /* container unknown or does not exist */
	PF_CNI_ERR_ENV = 4,             /* invalid necessary environment variables */
	PF_CNI_ERR_IO = 5,              /* I/O failure */
	PF_CNI_ERR_DECODE = 6,          /* failed to decode content */
	PF_CNI_ERR_CONFIG = 7,          /* invalid network config */
	PF_CNI_ERR_TRY_AGAIN = 11,      /* transient: try again later */
	PF_CNI_ERR_NOT_AVAILABLE = 50,  /* STATUS: cannot service ADD requests */
	PF_CNI_ERR_IPAMD = 100,         /* podfence-ipamd refused the request */
	PF_CNI_ERR_PLUMBING = 101,      /* netlink: veth, address, route or neighbour */
	PF_CNI_ERR_ENFORCE = 102,       /* strict mode: the agent did not enforce policy */
};

struct pf_cni_error {
	int code;           /* 0: no error */
	char msg[512];
	char details[1024]; /* empty: omitted from the JSON */
};

/* Sets code and msg (printf format); clears details. Returns -1 so callers
 * can write `return pf_cni_fail(e, ...)`. */
int pf_cni_fail(struct pf_cni_error *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Sets the details of an error already set. */
void pf_cni_details(struct pf_cni_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
