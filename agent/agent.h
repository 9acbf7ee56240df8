/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podfence-agent: the seed's network policy node agent. It keeps the
 * Kubernetes objects of its source in a cache and keeps the eBPF datapath on
 * every local pod's veth in step with them: with dir: it resolves the
 * NetworkPolicies into PolicyEndpoints itself, with kube: it enforces the
 * PolicyEndpoints of the API server. main.c wires the pieces below.
 *
 * Threads: the main loop (source events, reconciles, link events), one per
 * HTTP server (socket API, metrics, health), the event log reader, the
 * conntrack sweeper, and with kube: one per watch. Everything in struct
 * agent below `lock` is guarded by it; a reconcile holds it from start to
 * end.
 */
#ifndef PF_AGENT_H
#define PF_AGENT_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>

#include "cache_changes.h"
#include "datapath.h"
#include "dir_source.h"
#include "http_server.h"
#include "k8s_objects.h"
#include "local_pod.h"
#include "policy_endpoint.h"
#include "prom_text.h"
#include "set_table.h"

/* How long enforce-pod waits for a pod's policy (the socket contract). */
#define AGENT_ENFORCE_TIMEOUT_MS 5000
/* Manifest events closer together than this make one change (a `cp` of
 * many files reconciles once)... */
#define AGENT_DEBOUNCE_MS 15
/* ...but a steady stream of them is taken at least this often. */
#define AGENT_DEBOUNCE_MAX_MS 100
/* A reconcile that failed is tried again after this long. */
#define AGENT_RETRY_MS 1000

enum agent_source_kind {
	AGENT_SOURCE_DIR,  /* a directory of manifests: source_dir.c */
	AGENT_SOURCE_KUBE, /* the API server: source_kube.c */
};

struct agent_config {
	bool enabled;   /* --enable-network-policy */
	bool ipv6;      /* --enable-ipv6 */
	bool events;    /* --enable-policy-event-logs */
	uint32_t mode;  /* enum pf_mode */
	unsigned ct_period; /* --conntrack-cache-cleanup-period, seconds */
	const char *log_file, *metrics_bind, *health_bind, *source_dir, *pin_root, *socket,
		*state_dir, *event_log;
	enum agent_source_kind source;
	const char *kube_config; /* kube: "" (in-cluster) or the kubeconfig's path */
	unsigned kube_resync;    /* kube: seconds between full relists, 0: never */
	char node_name[256];
	char state_path[PATH_MAX], lock_path[PATH_MAX];
	char source_state_dir[PATH_MAX]; /* the source's objects in force, per file */
};

/* Returns 0, 1 when --help was printed, or -EINVAL with err naming the
 * flag (or variable) and the value that was wrong. */
int agent_config_parse(int argc, char **argv, struct agent_config *cfg, char *err,
		       size_t err_len);

/* A local pod and what the agent knows of its enforcement. */
struct agent_pod {
	struct pf_local_pod lp; /* lp.set_id: the set it holds a reference on */
	bool bound;             /* pf_pods[lp.ifindex] is lp.set_id */
	bool attached;          /* podfence's programs are on its veth */
	bool gone;              /* released or its veth vanished: removed next reconcile */
	bool spec_dirty;        /* its spec must be resolved again (a policy selecting it
				 * changed, or it has no set holding its spec yet) */
	json_t *policies;       /* "ns/name" of the NetworkPolicies selecting it */
	char error[256];        /* why it is not enforced; "" when it is */
};

/* The PolicyEndpoints enforced, in the cache's order. dir: one per
 * NetworkPolicy of the cache, resolved here (keys are the policies'). kube:
 * the cache's PolicyEndpoints themselves, borrowed (keys and objects are
 * the cache's), several per policy possible, made again at every change of
 * them so no pointer outlives its object. */
struct agent_endpoints {
	char **keys; /* "ns/name" */
	struct pf_policy_endpoint **pes;
	size_t n;
	bool borrowed; /* kube: keys and pes belong to the cache */
	bool broken;   /* kube: the view could not be made (out of memory): empty
			* until it can, and reconciles fail meanwhile */
};

/* Pod addresses to names, for the event log (sorted by family, address). */
struct agent_ip_name {
	uint8_t family;
	uint8_t addr[16];
	char *pod; /* "ns/name" */
};

struct agent_metrics {
	struct pf_prom *reg;
	struct pf_prom_metric *pods, *sets, *entries, *verdicts, *reconcile_seconds,
		*reconcile_errors, *manifest_errors, *events, *event_errors, *ct_removed;
	/* kube: per watched resource */
	struct pf_prom_metric *watch_lists, *watch_events, *watch_errors, *watch_expired,
		*watch_connected;
	uint64_t verdicts_seen[PF_REASON__COUNT]; /* datapath counters already added */
};

struct agent_source_ops;
struct agent_kube;

struct agent {
	struct agent_config cfg;
	const struct agent_source_ops *source;
	struct agent_metrics m; /* thread-safe on its own */
	int kick_fd;            /* eventfd: a reconcile is wanted now */
	volatile bool stopping; /* read by the event and sweeper threads */

	pthread_mutex_t lock;
	pthread_cond_t reconciled; /* signalled when gen_done moves */
	uint64_t gen_started, gen_done;
	bool source_loaded, first_reconcile_done, last_reconcile_failed;
	struct pf_datapath *dp;
	bool adopted;
	uint32_t prog_id[2];    /* ids of our programs, to recognise them on a veth */
	struct pf_k8s_cache cache;
	json_t *source_pods;    /* "ns/name" -> Pod JSON as the source has it */
	struct pf_cache_changes changes; /* dir: since the PolicyEndpoints were built */
	struct agent_endpoints pes;
	struct agent_pod **pods; /* sorted by namespace/name */
	size_t n_pods;
	struct pf_set_table sets;
	bool state_dirty;       /* the state file is behind */
	struct agent_ip_name *ips;
	size_t n_ips;
	uint64_t ips_generation; /* cache generation the index was built at */
	struct pf_dir_source *src; /* dir: */
	json_t *source_dirty;   /* dir: files whose objects in force are not saved yet (set) */
	struct agent_kube *kube; /* kube: the client and its watches */
};

/* pods.c: the local pod table and its place in the cache. */
struct agent_pod *agent_pod_find(const struct agent *a, const char *ns, const char *name);
struct agent_pod *agent_pod_by_ifindex(const struct agent *a, int ifindex);
int agent_pod_insert(struct agent *a, struct agent_pod *p);
void agent_pod_remove(struct agent *a, struct agent_pod *p);
void agent_pod_free(struct agent_pod *p);
/* Puts the pod into the cache: its Pod object from the source (labels,
 * ports) with the address the CNI gave it, or a Pod without labels when the
 * source has none. */
int agent_pod_publish(struct agent *a, struct agent_pod *p);
/* Gives the cache back the source's view of a pod that is no longer local. */
void agent_pod_unpublish(struct agent *a, const struct agent_pod *p);
/* Writes the state file when it is behind; 0 or -errno (logged). */
int agent_state_flush(struct agent *a);

/* changes.c: every change of the cache goes through these, which note what
 * changed (dir: in a->changes, so the next reconcile rebuilds only the
 * PolicyEndpoints it reaches; kube: the local pods of a changed
 * PolicyEndpoint). Same returns as pf_k8s_cache_apply and _delete. */
int agent_cache_apply(struct agent *a, json_t *obj, enum pf_k8s_kind *kind, char *err,
		      size_t err_len);
int agent_cache_delete(struct agent *a, enum pf_k8s_kind kind, const char *ns,
		       const char *name);
/* A source: what feeds the cache (source_dir.c, source_kube.c). */
struct agent_source_ops {
	const char *name;
	/* Reads or starts the source (after agent_restore, before the servers
	 * and the main loop). Returns 0, or -1 when the agent cannot start
	 * (logged). */
	int (*open)(struct agent *a);
	/* The descriptor the main loop polls for changes. */
	int (*fd)(const struct agent *a);
	/* Takes what the descriptor says: > 0 when a sync is due (debounced by
	 * the main loop), 0 when not, -errno (logged). */
	int (*read_events)(struct agent *a);
	/* Brings the cache up to date before a reconcile (lock held); NULL
	 * when the source puts changes into the cache as they come. */
	void (*sync)(struct agent *a);
	/* Stops it: no thread touches the agent afterwards. */
	void (*close)(struct agent *a);
};
extern const struct agent_source_ops agent_source_dir, agent_source_kube;

/* source.c: an object of the source into the cache (through changes.c); a
 * local pod's Pod goes in through publish (the CNI's address merged), and
 * the source's version is kept for it. Lock held. Returns as
 * agent_cache_apply (-ENOTSUP: a kind podfence does not read). */
int agent_object_put(struct agent *a, enum pf_k8s_kind kind, const char *ns, const char *name,
		     json_t *obj, char *err, size_t err_len);
/* The source no longer has the object; a pod still local stays, without
 * the source's labels. Lock held. */
void agent_object_del(struct agent *a, enum pf_k8s_kind kind, const char *ns, const char *name);

/* source_kube.c: the watches' counters into the metrics (the metrics
 * server's thread), and their state for /readyz (lock held). */
void agent_kube_scrape(struct agent *a);
json_t *agent_kube_health_json(const struct agent *a);

/* endpoints.c: PolicyEndpoints, rebuilt only where the changes reach (dir:),
 * or the cache's (kube:). */
int agent_endpoints_update(struct agent *a, char *err, size_t err_len);
/* kube: a->pes made again from the cache's PolicyEndpoints (after they
 * changed). Returns 0 or -ENOMEM (a->pes is then empty and broken). */
int agent_endpoints_view(struct agent *a);
/* The local pods pe selects get their spec resolved again (pe may be NULL). */
void agent_endpoint_touch(struct agent *a, const struct pf_policy_endpoint *pe);
/* Appends "ns/name" of pe's policy (spec.policyRef) to list unless it is
 * there already (a policy split over several PolicyEndpoints). */
void agent_policy_list_add(json_t *list, const struct pf_policy_endpoint *pe);
const struct pf_policy_endpoint *agent_endpoint_find(const struct agent *a, const char *ns,
						     const char *name);
void agent_endpoints_free(struct agent_endpoints *e);

/* specs.c: the policy set spec each local pod needs. */
struct agent_specs {
	struct pf_set_want *w;  /* one per local pod, for pf_set_table_plan */
	struct agent_pod **pod; /* the pod of each w */
	bool *owned;            /* w's spec was resolved here; else it is borrowed */
	size_t n;
};
/* Lock held. Returns 0 or -errno with err naming the pod. */
int agent_specs_build(struct agent *a, struct agent_specs *s, char *err, size_t err_len);
void agent_specs_free(struct agent_specs *s);

/* reconcile.c: the cache to the datapath. Lock held. Returns 0 or -errno
 * (the failure is logged and counted; the next reconcile retries). */
int agent_reconcile(struct agent *a);

/* restore.c: the state file and the pinned datapath after a restart. */
int agent_restore(struct agent *a);

/* names.c: who an address or a veth belongs to, for the event log. */
void agent_names_refresh(struct agent *a);
/* "ns/name" of the pod with that address (16 bytes, IPv4 in the first 4
 * and the rest zero), or NULL. */
const char *agent_names_pod_of_ip(const struct agent *a, uint8_t family, const uint8_t *addr);
void agent_names_free(struct agent *a);

/* rpc.c and introspect.c: the socket API. */
void agent_rpc_handle(void *ctx, const char *method, const char *path, const char *body,
		      size_t body_len, struct pf_http_reply *reply);
void agent_introspect_pods(struct agent *a, struct pf_http_reply *reply);
void agent_introspect_policies(struct agent *a, struct pf_http_reply *reply);
void agent_introspect_explain(struct agent *a, const char *pod, struct pf_http_reply *reply);

/* metrics.c: /metrics, /healthz and /readyz. kube: the watch metrics too. */
int agent_metrics_init(struct agent_metrics *m, bool kube);
void agent_metrics_free(struct agent_metrics *m);
void agent_metrics_handle(void *ctx, const char *method, const char *path, const char *body,
			  size_t body_len, struct pf_http_reply *reply);
void agent_health_handle(void *ctx, const char *method, const char *path, const char *body,
			 size_t body_len, struct pf_http_reply *reply);
/* Ready: the source was read (kube: both watches listed once) and a
 * reconcile completed after that. Lock held. */
bool agent_ready(const struct agent *a);

/* events.c and sweep.c: threads of their own. */
struct agent_events;
int agent_events_start(struct agent *a, struct agent_events **out);
void agent_events_stop(struct agent_events *ev);
struct agent_sweeper;
int agent_sweeper_start(struct agent *a, struct agent_sweeper **out);
void agent_sweeper_stop(struct agent_sweeper *sw);

/* loop.c: the main loop, until SIGTERM or SIGINT. */
int agent_loop_run(struct agent *a);
/* Wakes the main loop for a reconcile (any thread). */
void agent_kick(struct agent *a);

/* link_watch.c: host veths going away (RTM_DELLINK). */
struct agent_link_watch;
int agent_link_watch_open(struct agent_link_watch **out);
int agent_link_watch_fd(const struct agent_link_watch *w);
/* Reads what arrived; marks pods whose veth went away as gone. Returns how
 * many were marked, or -errno. Lock held. */
int agent_link_watch_read(struct agent_link_watch *w, struct agent *a);
void agent_link_watch_close(struct agent_link_watch *w);

/* Seconds since t0 (CLOCK_MONOTONIC). */
double agent_elapsed(const struct timespec *t0);

#endif
