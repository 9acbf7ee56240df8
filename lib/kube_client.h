/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kube: source's client: where the API server is (in-cluster service
 * account, or a kubeconfig), requests over HTTPS with the CA verified
 * (libcurl), and watches that keep a local view of one resource current
 * (list, then watch from the list's resourceVersion with bookmarks; a relist
 * on 410 Gone; reconnect with backoff; a periodic relist that repairs drift).
 * How the agent and the controller use it: docs/kube.md.
 */
#ifndef PF_KUBE_CLIENT_H
#define PF_KUBE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* The service account files of a pod (in-cluster configuration). */
#define PF_KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct pf_kube_config {
	char *server;     /* "https://host:port" (no trailing slash) */
	char *ca_file;    /* PEM file of the CA, or NULL */
	char *ca_pem;     /* PEM text of the CA (kubeconfig certificate-authority-data), or NULL */
	char *token;      /* bearer token, or NULL */
	char *token_file; /* where token came from: read again after a 401 (tokens rotate) */
	char *cert_file, *key_file; /* client certificate, or NULL */
	char *cert_pem, *key_pem;   /* client-certificate-data / client-key-data */
	bool insecure;    /* insecure-skip-tls-verify (warned about at load) */
};

/*
 * spec is what follows "kube:" in --source: "" for the in-cluster
 * configuration (KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT and
 * sa_dir/token, sa_dir/ca.crt; sa_dir NULL means PF_KUBE_SA_DIR), or the
 * path of a kubeconfig file (its current-context: cluster server,
 * certificate-authority[-data], insecure-skip-tls-verify; user token,
 * tokenFile, client-certificate[-data], client-key[-data]; relative paths
 * are relative to the kubeconfig's directory). Returns 0, or -errno with err
 * naming the file and the field that was missing or wrong.
 */
int pf_kube_config_load(const char *spec, const char *sa_dir, struct pf_kube_config *out,
			char *err, size_t err_len);
void pf_kube_config_free(struct pf_kube_config *cfg);

/* A resource podfence reads or writes. */
struct pf_kube_resource {
	const char *api_path; /* "/api/v1" or "/apis/GROUP/VERSION" */
	const char *plural;   /* "pods" */
	const char *kind;     /* "Pod" */
	bool namespaced;
};
extern const struct pf_kube_resource pf_kube_namespaces, pf_kube_pods,
	pf_kube_network_policies, pf_kube_policy_endpoints;

/* The URL path of a collection (name NULL) or an object; ns NULL for every
 * namespace (or a cluster-scoped resource). Returns 0, or -ENAMETOOLONG. */
int pf_kube_path(const struct pf_kube_resource *r, const char *ns, const char *name,
		 char *buf, size_t len);

struct pf_kube_client;

/* Calls curl_global_init: create the client before starting any thread.
 * The client keeps its own copy of cfg. Returns 0 or -errno with err. */
int pf_kube_client_new(const struct pf_kube_config *cfg, struct pf_kube_client **out,
		       char *err, size_t err_len);
void pf_kube_client_free(struct pf_kube_client *c);

/*
 * One request (thread-safe: requests from several threads are serialised
 * on the client's handle). path_query: "/apis/...?..."; content_type: NULL
 * for "application/json" (a PATCH passes "application/merge-patch+json");
 * body NULL for none. Returns the HTTP status (> 0) with *reply (may be
 * NULL) the parsed JSON answer (for an error status, the metav1.Status), or
 * -errno when the server could not be reached or answered no JSON, with err
 * saying what failed on which URL. A 401 reads token_file again and retries
 * once. Times out after 30 s.
 */
int pf_kube_request(struct pf_kube_client *c, const char *method, const char *path_query,
		    const char *content_type, json_t *body, json_t **reply, char *err,
		    size_t err_len);

/* What a watch tells its owner; called from the watch's own thread, one
 * call at a time per watch (several watches may call at once). */
struct pf_kube_watch_sink {
	/* An object appeared or changed (ADDED, MODIFIED, or new or changed at
	 * a relist: an object whose resourceVersion did not change is not put
	 * again). obj is borrowed for the call. */
	void (*put)(void *ctx, json_t *obj);
	/* An object is gone (DELETED, or missing from a relist); obj is its
	 * last version known, borrowed. */
	void (*del)(void *ctx, json_t *obj);
	/* A list was delivered in full: after the first list and every relist.
	 * From the first one on, the owner's view is complete. */
	void (*synced)(void *ctx);
	void *ctx;
};

struct pf_kube_watch_opts {
	const struct pf_kube_resource *res;
	const char *ns;             /* NULL: every namespace */
	const char *label_selector; /* NULL: none */
	const char *field_selector; /* NULL: none ("spec.nodeName=node-1") */
	unsigned resync_s;          /* a full relist this often; 0: never */
};

struct pf_kube_watch_stats {
	uint64_t lists;    /* full lists done (the first and every relist) */
	uint64_t watches;  /* watch requests opened */
	uint64_t events;   /* watch events taken (bookmarks included) */
	uint64_t errors;   /* failed requests, broken streams, bad events */
	uint64_t expired;  /* 410 Gone answers (each led to a relist) */
	bool synced;       /* a first list was delivered */
	bool connected;    /* a watch stream is open now */
	char resource_version[64];
	char last_error[256]; /* "" when none yet */
};

struct pf_kube_watch;

/*
 * Starts a thread that lists then watches o->res, keeping the sink's view
 * equal to the server's: the watch resumes from the last resourceVersion
 * seen (bookmarks asked for and followed); an expired resourceVersion (HTTP
 * 410, or an ERROR event carrying a 410 Status) relists; a failure or a
 * closed stream reconnects after a backoff (250 ms doubling to 30 s, with
 * jitter; reset once a stream delivers). Errors are logged with the
 * resource and the URL. Returns 0 or -errno with err (the options were
 * wrong, or the thread could not start); the server being down is not an
 * error here, it is retried.
 */
int pf_kube_watch_start(struct pf_kube_client *c, const struct pf_kube_watch_opts *o,
			const struct pf_kube_watch_sink *sink, struct pf_kube_watch **out,
			char *err, size_t err_len);
/* Ends the stream and joins the thread: no sink call after it returns. */
void pf_kube_watch_stop(struct pf_kube_watch *w);
void pf_kube_watch_get_stats(struct pf_kube_watch *w, struct pf_kube_watch_stats *out);

#endif
