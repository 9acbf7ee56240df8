/* SPDX-License-Identifier: Apache-2.0 */
/* A policy set as the datapath enforces it: for each direction, whether the
 * pods are isolated and the resolved rules (peer CIDR with except holes, and
 * ports). Named ports and selectors are resolved before this point. */
#ifndef PF_POLICY_SPEC_H
#define PF_POLICY_SPEC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "podfence_abi.h"
#include "cidr.h"

struct pf_port_rule {
	uint8_t proto;     /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
	uint16_t port;     /* 0: every port of proto */
	uint16_t end_port; /* inclusive; equals port for a single port */
};

struct pf_peer_rule {
	struct pf_cidr cidr;
	struct pf_cidr *except;
	size_t n_except;
	struct pf_port_rule *ports; /* none: every protocol and port */
	size_t n_ports;
};

struct pf_dir_policy {
	uint8_t isolation; /* enum pf_isolation */
	struct pf_peer_rule *rules;
	size_t n_rules;
};

struct pf_policy_spec {
	struct pf_dir_policy dir[2]; /* indexed by enum pf_dir */
};

/* "TCP", "UDP", "SCTP" (any case) to an IP protocol number. */
int pf_proto_parse(const char *name, uint8_t *proto, char *err, size_t err_len);
const char *pf_proto_name(uint8_t proto);

/* Checks a port rule: port 1..65535 (or 0 for all), end_port >= port. */
int pf_port_rule_check(const struct pf_port_rule *pr, char *err, size_t err_len);

/*
 * Reads a policy set from JSON:
 *   {"ingress": {"isolated": true, "rules": [
 *       {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"],
 *        "ports": [{"protocol": "TCP", "port": 80, "endPort": 90}]}]},
 *    "egress": {...}}
 * A direction that is absent is PF_ISO_UNKNOWN (the node's default mode);
 * "isolated": false makes it open. Errors name the field at fault.
 */
int pf_policy_spec_from_json(json_t *root, struct pf_policy_spec *spec, char *err,
			     size_t err_len);
json_t *pf_policy_spec_to_json(const struct pf_policy_spec *spec);
void pf_policy_spec_free(struct pf_policy_spec *spec);

#endif
