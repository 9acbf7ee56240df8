/* SPDX-License-Identifier: Apache-2.0 */
/* podfence-ipamd: the node's pod address pool behind a root-only unix
 * socket (AddNetwork / DelNetwork), with loopback introspection and
 * metrics. main.c wires the pieces below together. */
#ifndef PF_IPAMD_H
#define PF_IPAMD_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "cidr.h"
#include "http_server.h"
#include "ipam_pool.h"
#include "prom_text.h"

/* Every setting is a flag (--NAME), a key of the --config file (NAME) and,
 * for some, an environment variable. A flag beats the environment, which
 * beats the file, which beats the default. */
enum ipamd_key {
	IPAMD_POD_CIDR,
	IPAMD_POD_CIDR6,
	IPAMD_STATE_DIR,
	IPAMD_SOCKET,
	IPAMD_INTROSPECTION_BIND,
	IPAMD_METRICS_BIND,
	IPAMD_NETWORK_POLICY_MODE,
	IPAMD_LOG_FILE,
	IPAMD_WARM_IP_TARGET,
	IPAMD_MINIMUM_IP_TARGET,
	IPAMD_KEY_COUNT
};

struct ipamd_key_info {
	const char *name;  /* flag and config key */
	const char *env;   /* environment variable, or NULL */
	const char *def;   /* default, or NULL (unset) */
	const char *help;
};
extern const struct ipamd_key_info ipamd_keys[IPAMD_KEY_COUNT];

struct ipamd_config {
	const char *value[IPAMD_KEY_COUNT];  /* NULL when unset */
	char origin[IPAMD_KEY_COUNT][96];    /* "--pod-cidr", "WARM_IP_TARGET", ... */
	char *owned[IPAMD_KEY_COUNT];        /* values copied from the config file */
	const char *config_file;
	struct pf_cidr cidr4, cidr6;
	bool has_cidr6;
	bool strict;
	unsigned warm_ip_target, minimum_ip_target;
	char checkpoint_path[PATH_MAX];
	char lock_path[PATH_MAX];
};

/* Returns 0, 1 when --help was printed, or -EINVAL with err naming the flag,
 * key or variable that was wrong. */
int ipamd_config_parse(int argc, char **argv, struct ipamd_config *cfg, char *err,
		       size_t err_len);
void ipamd_config_free(struct ipamd_config *cfg);

struct ipamd_metrics {
	struct pf_prom *reg;
	struct pf_prom_metric *capacity, *assigned, *free, *warm, *shortfall;
	struct pf_prom_metric *adds, *dels, *errors;
	struct pf_prom_metric *add_seconds, *del_seconds, *checkpoint_seconds;
};
int ipamd_metrics_init(struct ipamd_metrics *m);
void ipamd_metrics_free(struct ipamd_metrics *m);

struct ipamd {
	struct ipamd_config cfg;
	/* Guards the pool and the checkpoint: the socket, introspection and
	 * metrics servers each run their own thread. */
	pthread_mutex_t lock;
	struct pf_ipam_pool *pool;
	struct ipamd_metrics metrics;
	time_t started;
};

/* HTTP handlers (pf_http_handler); ctx is the struct ipamd. */
void ipamd_rpc_handle(void *ctx, const char *method, const char *path, const char *body,
		      size_t body_len, struct pf_http_reply *reply);
void ipamd_introspect_handle(void *ctx, const char *method, const char *path,
			     const char *body, size_t body_len, struct pf_http_reply *reply);
void ipamd_metrics_handle(void *ctx, const char *method, const char *path, const char *body,
			  size_t body_len, struct pf_http_reply *reply);

/* The pod-side gateways every reply names; the CNI plugin plumbs them. */
#define IPAMD_GATEWAY_V4 "169.254.1.1"
#define IPAMD_GATEWAY_V6 "fe80::1"

/* Seconds since t0 (CLOCK_MONOTONIC). */
double ipamd_elapsed(const struct timespec *t0);

#endif
