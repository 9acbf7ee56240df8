// SPDX-License-Identifier: Apache-2.0
/* The kube client and its watches against the test API server
 * (tests/kube/apiserver.py, started here on a free port), over plain HTTP
 * and over HTTPS with a CA and a bearer token. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "kube_client.h"
#include "log.h"

#define APISERVER "tests/kube/apiserver.py"
#define MAKE_CERTS "tests/kube/make-certs.sh"

static char tmp[64]; /* this run's directory: certificates, state, port files */

/* ---- the test API server ---------------------------------------------------- */

struct api {
	pid_t pid;
	int port;
	char url[64];
};

static int run(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Starts the server with extra flags (NULL-terminated); port 0 picks one.
 * https says which scheme the URL gets. */
static void api_start(struct api *a, int port, bool https, const char *const *extra)
{
	char port_arg[16], port_file[128], buf[16] = "";
	const char *argv[24] = { "python3", APISERVER, "--port", port_arg, "--port-file", port_file };
	int n = 6;

	snprintf(port_arg, sizeof(port_arg), "%d", port);
	snprintf(port_file, sizeof(port_file), "%s/port", tmp);
	unlink(port_file);
	for (; extra && *extra; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	a->pid = fork();
	assert_true(a->pid >= 0);
	if (a->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
		dup2(null, STDOUT_FILENO);
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(port_file, "r");

		if (f) {
			if (fgets(buf, sizeof(buf), f))
				a->port = atoi(buf);
			fclose(f);
			if (a->port > 0)
				break;
		}
		usleep(50 * 1000);
	}
	if (a->port <= 0)
		fail_msg("%s did not start (no %s after 10 s)", APISERVER, port_file);
	snprintf(a->url, sizeof(a->url), "%s://127.0.0.1:%d", https ? "https" : "http", a->port);
}

static void api_stop(struct api *a)
{
	if (a->pid <= 0)
		return;
	kill(a->pid, SIGKILL);
	waitpid(a->pid, NULL, 0);
	a->pid = 0;
}

/* A port nobody listens on (bound, then let go). */
static int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/* One plain server for the tests that need nothing special of it; each
 * works in a namespace of its own. */
static struct api shared;

/* ---- what a watch delivered -------------------------------------------------- */

struct rec {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	json_t *view; /* "ns/name" -> object, as the sink was told */
	unsigned puts, dels, synced;
	unsigned unknown_dels; /* dels of what was never put: must stay 0 */
	const char *gate; /* a put of this name blocks until the gate opens */
	bool in_gate;
};

static void rec_key(json_t *obj, char *key, size_t len)
{
	json_t *m = json_object_get(obj, "metadata");

	snprintf(key, len, "%s/%s", json_string_value(json_object_get(m, "namespace")),
		 json_string_value(json_object_get(m, "name")));
}

static const char *obj_name(json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
}

static void rec_put(void *ctx, json_t *obj)
{
	struct rec *r = ctx;
	char key[256];

	rec_key(obj, key, sizeof(key));
	pthread_mutex_lock(&r->lock);
	json_object_set_new(r->view, key, json_deep_copy(obj));
	r->puts++;
	if (r->gate && !strcmp(r->gate, obj_name(obj))) {
		/* Holds the watch thread: it reads nothing more of its stream. */
		r->in_gate = true;
		pthread_cond_broadcast(&r->cond);
		while (r->gate)
			pthread_cond_wait(&r->cond, &r->lock);
		r->in_gate = false;
	}
	pthread_mutex_unlock(&r->lock);
}

static void rec_del(void *ctx, json_t *obj)
{
	struct rec *r = ctx;
	char key[256];

	rec_key(obj, key, sizeof(key));
	pthread_mutex_lock(&r->lock);
	if (json_object_del(r->view, key))
		r->unknown_dels++;
	r->dels++;
	pthread_mutex_unlock(&r->lock);
}

static void rec_synced(void *ctx)
{
	struct rec *r = ctx;

	pthread_mutex_lock(&r->lock);
	r->synced++;
	pthread_mutex_unlock(&r->lock);
}

static void rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->view = json_object();
}

static void rec_fini(struct rec *r)
{
	assert_int_equal(r->unknown_dels, 0);
	json_decref(r->view);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
}

static struct pf_kube_watch_sink rec_sink(struct rec *r)
{
	return (struct pf_kube_watch_sink){ rec_put, rec_del, rec_synced, r };
}

/* The resourceVersion of key in the view, "" when absent. */
static void rec_rv(struct rec *r, const char *key, char *out, size_t len)
{
	json_t *o;

	pthread_mutex_lock(&r->lock);
	o = json_object_get(r->view, key);
	snprintf(out, len, "%s", o ? json_string_value(json_object_get(
					     json_object_get(o, "metadata"), "resourceVersion")) : "");
	pthread_mutex_unlock(&r->lock);
}

static unsigned rec_count(struct rec *r, unsigned *field)
{
	unsigned v;

	pthread_mutex_lock(&r->lock);
	v = *field;
	pthread_mutex_unlock(&r->lock);
	return v;
}

static void rec_wait_gate(struct rec *r)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&r->lock);
	while (!r->in_gate)
		if (pthread_cond_timedwait(&r->cond, &r->lock, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&r->lock);
	assert_true(r->in_gate);
}

static void rec_open_gate(struct rec *r)
{
	pthread_mutex_lock(&r->lock);
	r->gate = NULL;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* Polls cond (an expression) every 20 ms for up to ms. */
#define WAIT_UNTIL(cond, ms)                                                   \
	do {                                                                   \
		for (int w_i = 0; w_i < (ms) / 20 && !(cond); w_i++)           \
			usleep(20 * 1000);                                     \
		if (!(cond))                                                   \
			fail_msg("still not true after %d ms: %s", (ms), #cond); \
	} while (0)

/* ---- requests ---------------------------------------------------------------------- */

static struct pf_kube_client *client_for(const struct api *a, const char *ca_file,
					 const char *token)
{
	struct pf_kube_config cfg = { .server = (char *)a->url, .ca_file = (char *)ca_file,
				      .token = (char *)token };
	struct pf_kube_client *c;
	char err[512];

	if (pf_kube_client_new(&cfg, &c, err, sizeof(err)))
		fail_msg("pf_kube_client_new: %s", err);
	return c;
}

/* A request whose status must be want; returns the answer (caller frees). */
static json_t *req(struct pf_kube_client *c, const char *method, const char *path,
		   const char *ctype, const char *body, int want)
{
	json_t *b = body ? json_loads(body, 0, NULL) : NULL, *reply = NULL;
	char err[512] = "";
	int rc;

	if (body)
		assert_non_null(b);
	rc = pf_kube_request(c, method, path, ctype, b, &reply, err, sizeof(err));
	json_decref(b);
	if (rc != want)
		fail_msg("%s %s: %d, not %d (%s)", method, path, rc, want, err);
	return reply;
}

static void mk_ns(struct pf_kube_client *c, const char *ns)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
		 "\"metadata\":{\"name\":\"%s\"}}", ns);
	json_decref(req(c, "POST", "/api/v1/namespaces", NULL, body, 201));
}

static void mk_pod(struct pf_kube_client *c, const char *ns, const char *name, const char *node)
{
	char body[512], path[256];

	snprintf(body, sizeof(body), "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
		 "{\"name\":\"%s\",\"labels\":{\"app\":\"%s\"}},\"spec\":{\"nodeName\":\"%s\"}}",
		 name, name, node);
	assert_int_equal(pf_kube_path(&pf_kube_pods, ns, NULL, path, sizeof(path)), 0);
	json_decref(req(c, "POST", path, NULL, body, 201));
}

static void rm_pod(struct pf_kube_client *c, const char *ns, const char *name)
{
	char path[256];

	assert_int_equal(pf_kube_path(&pf_kube_pods, ns, name, path, sizeof(path)), 0);
	json_decref(req(c, "DELETE", path, NULL, NULL, 200));
}

static void hook(struct pf_kube_client *c, const char *what)
{
	char path[64];

	snprintf(path, sizeof(path), "/podfence-test/%s", what);
	json_decref(req(c, "POST", path, NULL, NULL, 200));
}

/* The pods of ns the server holds, as sorted "ns/name" lines. */
static void server_pods(struct pf_kube_client *c, const char *ns, char *out, size_t len)
{
	char path[256];
	json_t *list, *item;
	size_t i, off = 0;

	assert_int_equal(pf_kube_path(&pf_kube_pods, ns, NULL, path, sizeof(path)), 0);
	list = req(c, "GET", path, NULL, NULL, 200);
	out[0] = '\0';
	json_array_foreach(json_object_get(list, "items"), i, item) {
		char key[256];

		rec_key(item, key, sizeof(key));
		off += (size_t)snprintf(out + off, len - off, "%s\n", key);
	}
	json_decref(list);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void view_keys(struct rec *r, char *out, size_t len)
{
	const char *keys[256];
	size_t n = 0, off = 0;
	const char *k;
	json_t *v;

	pthread_mutex_lock(&r->lock);
	json_object_foreach(r->view, k, v)
		if (n < 256)
			keys[n++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(out + off, len - off, "%s\n", keys[i]);
	pthread_mutex_unlock(&r->lock);
}

static bool view_equals_server(struct rec *r, struct pf_kube_client *c, const char *ns)
{
	char a[8192], b[8192];

	view_keys(r, a, sizeof(a));
	server_pods(c, ns, b, sizeof(b));
	return !strcmp(a, b);
}

static struct pf_kube_watch *watch_pods(struct pf_kube_client *c, struct rec *r, const char *ns,
					const char *field_selector, unsigned resync_s)
{
	struct pf_kube_watch_opts o = { .res = &pf_kube_pods, .ns = ns,
					.field_selector = field_selector, .resync_s = resync_s };
	struct pf_kube_watch_sink s = rec_sink(r);
	struct pf_kube_watch *w;
	char err[512];

	if (pf_kube_watch_start(c, &o, &s, &w, err, sizeof(err)))
		fail_msg("pf_kube_watch_start: %s", err);
	return w;
}

static struct pf_kube_watch_stats stats_of(struct pf_kube_watch *w)
{
	struct pf_kube_watch_stats s;

	pf_kube_watch_get_stats(w, &s);
	return s;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- tests ------------------------------------------------------------------------- */

static void list_then_watch_delivers_changes(void **state)
{
	struct pf_kube_client *c;
	struct pf_kube_watch *w;
	char rv1[64], rv2[64], last_rv[64];
	struct rec r;
	json_t *ns;
	double t0;

	(void)state;
	c = client_for(&shared, NULL, NULL);
	mk_ns(c, "x");
	mk_pod(c, "x", "a", "node-1");
	mk_pod(c, "x", "b", "node-2");
	mk_pod(c, "x", "c", "node-1");
	rec_init(&r);
	w = watch_pods(c, &r, NULL, "spec.nodeName=node-1", 0);

	WAIT_UNTIL(rec_count(&r, &r.synced) == 1, 5000);
	assert_true(stats_of(w).synced);
	assert_int_equal(rec_count(&r, &r.puts), 2); /* a and c: the field selector holds */
	rec_rv(&r, "x/a", rv1, sizeof(rv1));
	assert_string_not_equal(rv1, "");
	WAIT_UNTIL(stats_of(w).connected, 5000);

	mk_pod(c, "x", "d", "node-1");   /* ADDED */
	mk_pod(c, "x", "e", "node-2");   /* not ours */
	json_decref(req(c, "PATCH", "/api/v1/namespaces/x/pods/a", "application/merge-patch+json",
			"{\"metadata\":{\"labels\":{\"v\":\"2\"}}}", 200)); /* MODIFIED */
	rm_pod(c, "x", "c");             /* DELETED */
	WAIT_UNTIL(rec_count(&r, &r.dels) == 1, 5000);
	rec_rv(&r, "x/a", rv2, sizeof(rv2));
	assert_string_not_equal(rv1, rv2);
	{
		char v[1024];

		view_keys(&r, v, sizeof(v));
		assert_string_equal(v, "x/a\nx/d\n");
	}
	assert_int_equal(rec_count(&r, &r.puts), 4);

	/* A change elsewhere moves the global resourceVersion; only a bookmark
	 * can tell this watch (nothing of its own changed). */
	ns = req(c, "POST", "/api/v1/namespaces", NULL,
		 "{\"metadata\":{\"name\":\"elsewhere\"}}", 201);
	snprintf(last_rv, sizeof(last_rv), "%s",
		 json_string_value(json_object_get(json_object_get(ns, "metadata"),
						   "resourceVersion")));
	json_decref(ns);
	WAIT_UNTIL(atoll(stats_of(w).resource_version) >= atoll(last_rv), 5000);
	assert_int_equal(stats_of(w).lists, 1);
	assert_int_equal(stats_of(w).errors, 0);
	assert_true(stats_of(w).events >= 3);

	/* A stream the server ends: a new watch from the last version, no
	 * relist, nothing missed. */
	assert_int_equal(stats_of(w).watches, 1);
	hook(c, "cut-watches");
	WAIT_UNTIL(stats_of(w).watches == 2 && stats_of(w).connected, 5000);
	mk_pod(c, "x", "f", "node-1");
	WAIT_UNTIL(rec_count(&r, &r.puts) == 5, 5000);
	assert_int_equal(stats_of(w).lists, 1);
	assert_int_equal(stats_of(w).expired, 0);
	assert_int_equal(stats_of(w).errors, 0);

	t0 = now_s();
	pf_kube_watch_stop(w); /* a stream blocked in a read ends at once */
	assert_true(now_s() - t0 < 1.0);
	rec_fini(&r);
	pf_kube_client_free(c);
}

/* An object deleted while the watch was cut, and the history compacted: the
 * watch gets 410, relists, and the relist takes the object back. */
static void cut_and_compact_relist_converges(void **state)
{
	struct pf_kube_client *c;
	struct pf_kube_watch *w;
	struct rec r;

	(void)state;
	c = client_for(&shared, NULL, NULL);
	mk_ns(c, "cut");
	mk_pod(c, "cut", "keep", "n");
	mk_pod(c, "cut", "gone", "n");
	rec_init(&r);
	w = watch_pods(c, &r, "cut", NULL, 0);
	WAIT_UNTIL(rec_count(&r, &r.synced) == 1, 5000);
	WAIT_UNTIL(stats_of(w).connected, 5000);

	r.gate = "gate"; /* set before the pod exists: no put of it yet */
	mk_pod(c, "cut", "gate", "n");
	rec_wait_gate(&r);          /* the watch thread is held in its put */
	hook(c, "cut-watches");     /* the stream ends before the deletion... */
	rm_pod(c, "cut", "gone");
	mk_pod(c, "cut", "new", "n");
	hook(c, "compact");         /* ...and its event is no longer kept */
	rec_open_gate(&r);

	WAIT_UNTIL(stats_of(w).expired == 1, 5000);
	WAIT_UNTIL(rec_count(&r, &r.synced) == 2, 5000);
	assert_true(view_equals_server(&r, c, "cut"));
	assert_int_equal(rec_count(&r, &r.dels), 1);
	/* keep and gate did not change: the relist puts only new */
	assert_int_equal(rec_count(&r, &r.puts), 4);
	assert_int_equal(stats_of(w).lists, 2);
	pf_kube_watch_stop(w);
	rec_fini(&r);
	pf_kube_client_free(c);
}

/* The API server killed and restarted from its --state file: the watch
 * reconnects, its old resourceVersion is 410 (HTTP this time), and the
 * relist converges. */
static void restart_reconnects_and_converges(void **state)
{
	const char *extra[] = { "--state", NULL, "--expired-as-http", NULL };
	char state_file[128], last_error[256];
	struct api a = { 0 };
	struct pf_kube_client *c;
	struct pf_kube_watch *w;
	struct rec r;
	int port;

	(void)state;
	snprintf(state_file, sizeof(state_file), "%s/state.json", tmp);
	extra[1] = state_file;
	api_start(&a, 0, false, extra);
	port = a.port;
	c = client_for(&a, NULL, NULL);
	mk_ns(c, "x");
	mk_pod(c, "x", "keep", "n");
	mk_pod(c, "x", "gone", "n");
	rec_init(&r);
	w = watch_pods(c, &r, NULL, NULL, 0);
	WAIT_UNTIL(rec_count(&r, &r.synced) == 1, 5000);
	WAIT_UNTIL(stats_of(w).connected, 5000);

	r.gate = "gate";
	mk_pod(c, "x", "gate", "n");
	rec_wait_gate(&r);
	api_stop(&a);
	api_start(&a, port, false, extra);
	rm_pod(c, "x", "gone");
	mk_pod(c, "x", "new", "n");
	hook(c, "compact");
	rec_open_gate(&r);

	WAIT_UNTIL(stats_of(w).expired >= 1, 10000);
	WAIT_UNTIL(view_equals_server(&r, c, "x"), 5000);
	assert_true(stats_of(w).errors >= 1); /* the broken stream */
	snprintf(last_error, sizeof(last_error), "%s", stats_of(w).last_error);
	assert_non_null(strstr(last_error, "/api/v1/pods?watch=true"));
	assert_int_equal(rec_count(&r, &r.dels), 1);
	pf_kube_watch_stop(w);
	rec_fini(&r);
	pf_kube_client_free(c);
	api_stop(&a);
	unlink(state_file);
}

/* More objects than one page: the list follows metadata.continue. The
 * server starts from a --state file written here. */
static void list_follows_continue(void **state)
{
	const char *extra[] = { "--state", NULL, NULL };
	char state_file[128];
	struct pf_kube_client *c;
	struct pf_kube_watch *w;
	struct api a = { 0 };
	struct rec r;
	FILE *f;

	(void)state;
	snprintf(state_file, sizeof(state_file), "%s/many.json", tmp);
	extra[1] = state_file;
	f = fopen(state_file, "w");
	assert_non_null(f);
	fprintf(f, "{\"resourceVersion\": \"1300\", \"objects\": [{\"gvr\": [\"\", \"v1\", "
		"\"namespaces\"], \"object\": {\"metadata\": {\"name\": \"many\", "
		"\"resourceVersion\": \"1\"}}}");
	for (int i = 0; i < 1201; i++)
		fprintf(f, ", {\"gvr\": [\"\", \"v1\", \"pods\"], \"object\": {\"metadata\": "
			"{\"name\": \"p%04d\", \"namespace\": \"many\", \"resourceVersion\": "
			"\"%d\"}}}", i, i + 2);
	fprintf(f, "]}\n");
	assert_int_equal(fclose(f), 0);
	api_start(&a, 0, false, extra);
	c = client_for(&a, NULL, NULL);
	rec_init(&r);
	w = watch_pods(c, &r, "many", NULL, 0);
	WAIT_UNTIL(rec_count(&r, &r.synced) == 1, 10000);
	assert_int_equal(rec_count(&r, &r.puts), 1201); /* pages of 500, 500 and 201 */
	/* stored without kind, as a real server lists them: typed on the way */
	pthread_mutex_lock(&r.lock);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.view, "many/p0042"),
							      "kind")), "Pod");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.view, "many/p0042"),
							      "apiVersion")), "v1");
	pthread_mutex_unlock(&r.lock);
	assert_int_equal(stats_of(w).lists, 1);
	assert_string_equal(stats_of(w).resource_version, "1300");
	pf_kube_watch_stop(w);
	rec_fini(&r);
	pf_kube_client_free(c);
	api_stop(&a);
	unlink(state_file);
}

/* resync_s: a full relist that puts only what changed. */
static void resync_relists_without_repeating_puts(void **state)
{
	struct pf_kube_client *c;
	struct pf_kube_watch *w;
	struct rec r;

	(void)state;
	c = client_for(&shared, NULL, NULL);
	mk_ns(c, "rs");
	mk_pod(c, "rs", "a", "n");
	mk_pod(c, "rs", "b", "n");
	rec_init(&r);
	w = watch_pods(c, &r, "rs", NULL, 1);
	WAIT_UNTIL(rec_count(&r, &r.synced) >= 3, 5000);
	assert_true(stats_of(w).lists >= 3);
	assert_int_equal(rec_count(&r, &r.puts), 2);
	assert_int_equal(rec_count(&r, &r.dels), 0);
	pf_kube_watch_stop(w);
	rec_fini(&r);
	pf_kube_client_free(c);
}

/* HTTPS with the CA verified (file and PEM text) and a bearer token. */
static void tls_and_token(void **state)
{
	char cert[128], key[128], ca[128], wrong_ca[128], tok_file[128], err[512];
	const char *extra[] = { "--tls-cert", cert, "--tls-key", key, "--token", "s3cret", NULL };
	struct pf_kube_config cfg = { 0 };
	struct pf_kube_client *c, *bad;
	struct pf_kube_watch *w;
	struct api a = { 0 };
	struct rec r;
	json_t *reply;
	FILE *f;
	int rc;

	(void)state;
	snprintf(cert, sizeof(cert), "%s/certs/server.crt", tmp);
	snprintf(key, sizeof(key), "%s/certs/server.key", tmp);
	snprintf(ca, sizeof(ca), "%s/certs/ca.crt", tmp);
	snprintf(wrong_ca, sizeof(wrong_ca), "%s/other/ca.crt", tmp);
	api_start(&a, 0, true, extra);
	c = client_for(&a, ca, "s3cret");
	mk_ns(c, "x");
	mk_pod(c, "x", "a", "n");
	rec_init(&r);
	w = watch_pods(c, &r, NULL, NULL, 0);
	WAIT_UNTIL(rec_count(&r, &r.synced) == 1, 5000);
	mk_pod(c, "x", "b", "n");
	WAIT_UNTIL(rec_count(&r, &r.puts) == 2, 5000);
	pf_kube_watch_stop(w);
	rec_fini(&r);

	/* The CA as PEM text (a kubeconfig's certificate-authority-data). */
	f = fopen(ca, "r");
	assert_non_null(f);
	cfg.ca_pem = calloc(1, 8192);
	assert_true(fread(cfg.ca_pem, 1, 8191, f) > 0);
	fclose(f);
	cfg.server = a.url;
	cfg.token = "s3cret";
	assert_int_equal(pf_kube_client_new(&cfg, &bad, err, sizeof(err)), 0);
	json_decref(req(bad, "GET", "/api/v1/pods", NULL, NULL, 200));
	pf_kube_client_free(bad);
	free(cfg.ca_pem);

	/* A CA that did not sign the server's certificate. */
	bad = client_for(&a, wrong_ca, "s3cret");
	rc = pf_kube_request(bad, "GET", "/api/v1/pods", NULL, NULL, &reply, err, sizeof(err));
	assert_int_equal(rc, -EPROTO);
	assert_null(reply);
	assert_non_null(strstr(err, "GET https://127.0.0.1:"));
	assert_non_null(strstr(err, "certificate"));
	rec_init(&r);
	w = watch_pods(bad, &r, NULL, NULL, 0);
	WAIT_UNTIL(stats_of(w).errors >= 1, 5000);
	assert_non_null(strstr(stats_of(w).last_error, "certificate"));
	assert_false(stats_of(w).synced);
	assert_int_equal(rec_count(&r, &r.puts), 0);
	pf_kube_watch_stop(w);
	rec_fini(&r);
	pf_kube_client_free(bad);

	/* A wrong token: 401 with the Status, for a request and a watch. */
	bad = client_for(&a, ca, "wrong");
	rc = pf_kube_request(bad, "GET", "/api/v1/pods", NULL, NULL, &reply, err, sizeof(err));
	assert_int_equal(rc, 401);
	assert_string_equal(json_string_value(json_object_get(reply, "reason")), "Unauthorized");
	assert_non_null(strstr(err, "HTTP 401 Unauthorized"));
	json_decref(reply);
	rec_init(&r);
	w = watch_pods(bad, &r, NULL, NULL, 0);
	WAIT_UNTIL(stats_of(w).errors >= 1, 5000);
	assert_non_null(strstr(stats_of(w).last_error, "HTTP 401"));
	assert_int_equal(rec_count(&r, &r.puts), 0);
	pf_kube_watch_stop(w);
	rec_fini(&r);
	pf_kube_client_free(bad);

	/* A rotated token: the file is read again after the 401. */
	snprintf(tok_file, sizeof(tok_file), "%s/token", tmp);
	memset(&cfg, 0, sizeof(cfg));
	cfg.server = a.url;
	cfg.ca_file = ca;
	cfg.token = "old";
	cfg.token_file = tok_file;
	f = fopen(tok_file, "w");
	assert_non_null(f);
	fputs("s3cret\n", f);
	fclose(f);
	assert_int_equal(pf_kube_client_new(&cfg, &bad, err, sizeof(err)), 0);
	json_decref(req(bad, "GET", "/api/v1/pods", NULL, NULL, 200));
	pf_kube_client_free(bad);
	unlink(tok_file);

	pf_kube_client_free(c);
	api_stop(&a);
}

/* What the controller does with PolicyEndpoints. */
static void policy_endpoint_writes(void **state)
{
	static const char pe[] =
		"{\"apiVersion\":\"podfence.io/v1alpha1\",\"kind\":\"PolicyEndpoint\","
		"\"metadata\":{\"name\":\"web\",\"labels\":{\"podfence.io/policy\":\"web\"}},"
		"\"spec\":{\"policyRef\":{\"name\":\"web\",\"namespace\":\"pe\"},"
		"\"podIsolation\":[\"Ingress\"]}}";
	static const char other[] =
		"{\"metadata\":{\"name\":\"zzz\",\"labels\":{\"podfence.io/policy\":\"zzz\"}},"
		"\"spec\":{}}";
	struct pf_kube_watch_opts o = { .res = &pf_kube_policy_endpoints, .ns = "pe",
					.label_selector = "podfence.io/policy in (web,api)" };
	char path[256], coll[256], body[1024], err[512];
	struct rec r;
	struct pf_kube_watch_sink s = rec_sink(&r);
	struct pf_kube_client *c;
	struct pf_kube_watch *w;
	struct api a = { 0 };
	json_t *obj, *obj2, *reply;
	const char *rv;
	int rc;

	(void)state;
	c = client_for(&shared, NULL, NULL);
	mk_ns(c, "pe");
	assert_int_equal(pf_kube_path(&pf_kube_policy_endpoints, "pe", NULL, coll, sizeof(coll)), 0);
	assert_string_equal(coll, "/apis/podfence.io/v1alpha1/namespaces/pe/policyendpoints");
	assert_int_equal(pf_kube_path(&pf_kube_policy_endpoints, "pe", "web", path, sizeof(path)), 0);

	/* A watch of the agent's kind: policyendpoints by label selector (a
	 * set expression, so the selector is URL-escaped on the way). */
	rec_init(&r);
	if (pf_kube_watch_start(c, &o, &s, &w, err, sizeof(err)))
		fail_msg("pf_kube_watch_start: %s", err);
	WAIT_UNTIL(rec_count(&r, &r.synced) == 1 && stats_of(w).connected, 5000);
	json_decref(req(c, "POST", coll, NULL, other, 201)); /* not selected */
	obj = req(c, "POST", coll, NULL, pe, 201);
	WAIT_UNTIL(rec_count(&r, &r.puts) == 1, 5000);
	view_keys(&r, body, sizeof(body));
	assert_string_equal(body, "pe/web\n");
	pf_kube_watch_stop(w);
	rec_fini(&r);

	rv = json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
	assert_non_null(rv);
	reply = req(c, "POST", coll, NULL, pe, 409);
	assert_string_equal(json_string_value(json_object_get(reply, "reason")), "AlreadyExists");
	json_decref(reply);

	/* replace: a stale resourceVersion is a conflict, the current one wins */
	snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"web\",\"resourceVersion\":\"1\"},"
		 "\"spec\":{\"podIsolation\":[\"Egress\"]}}");
	obj2 = json_loads(body, 0, NULL);
	rc = pf_kube_request(c, "PUT", path, NULL, obj2, &reply, err, sizeof(err));
	json_decref(obj2);
	assert_int_equal(rc, 409);
	assert_string_equal(json_string_value(json_object_get(reply, "reason")), "Conflict");
	assert_non_null(strstr(err, "PUT http://127.0.0.1:"));
	assert_non_null(strstr(err, "HTTP 409 Conflict"));
	json_decref(reply);
	snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"web\",\"resourceVersion\":\"%s\"},"
		 "\"spec\":{\"podIsolation\":[\"Egress\"]}}", rv);
	json_decref(obj);
	obj = req(c, "PUT", path, NULL, body, 200);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
		json_object_get(obj, "spec"), "podIsolation"), 0)), "Egress");
	json_decref(obj);

	obj = req(c, "PATCH", path, "application/merge-patch+json",
		  "{\"metadata\":{\"labels\":{\"extra\":\"1\"}}}", 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
		obj, "metadata"), "labels"), "extra")), "1");
	json_decref(obj);

	json_decref(req(c, "DELETE", path, NULL, NULL, 200));
	reply = req(c, "GET", path, NULL, NULL, 404);
	assert_string_equal(json_string_value(json_object_get(reply, "reason")), "NotFound");
	json_decref(reply);
	pf_kube_client_free(c);

	/* Nobody there: -errno, and the message names the method and URL. */
	a.port = free_port();
	snprintf(a.url, sizeof(a.url), "http://127.0.0.1:%d", a.port);
	c = client_for(&a, NULL, NULL);
	rc = pf_kube_request(c, "GET", "/api/v1/pods", NULL, NULL, &reply, err, sizeof(err));
	assert_int_equal(rc, -ECONNREFUSED);
	assert_non_null(strstr(err, "GET http://127.0.0.1:"));
	pf_kube_client_free(c);
}

/* The server down when the watch starts: not an error for the caller; the
 * watch keeps trying and syncs once the server is there. */
static void watch_waits_for_the_server(void **state)
{
	struct api a = { 0 };
	struct pf_kube_client *c, *admin;
	struct pf_kube_watch *w;
	struct rec r;
	int port;

	(void)state;
	port = free_port();
	snprintf(a.url, sizeof(a.url), "http://127.0.0.1:%d", port);
	c = client_for(&a, NULL, NULL);
	rec_init(&r);
	w = watch_pods(c, &r, NULL, NULL, 0);
	WAIT_UNTIL(stats_of(w).errors >= 2, 5000); /* 250 ms, then about 500 ms */
	assert_false(stats_of(w).synced);
	api_start(&a, port, false, NULL);
	admin = client_for(&a, NULL, NULL);
	mk_ns(admin, "x");
	mk_pod(admin, "x", "a", "n");
	WAIT_UNTIL(rec_count(&r, &r.puts) == 1, 10000);
	assert_true(stats_of(w).synced);
	pf_kube_watch_stop(w);
	rec_fini(&r);
	pf_kube_client_free(admin);
	pf_kube_client_free(c);
	api_stop(&a);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	char certs[128], other[128];
	char *mk1[] = { MAKE_CERTS, certs, NULL }, *mk2[] = { MAKE_CERTS, other, NULL };

	(void)state;
	if (access(APISERVER, R_OK)) {
		fprintf(stderr, "%s not found: run from the source tree's top\n", APISERVER);
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "/tmp/pf-kube-watch-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(certs, sizeof(certs), "%s/certs", tmp);
	snprintf(other, sizeof(other), "%s/other", tmp);
	if (run(mk1) || run(mk2)) {
		fprintf(stderr, "%s failed\n", MAKE_CERTS);
		return -1;
	}
	/* The watches' retries are expected here: PF_TEST_VERBOSE shows them. */
	pf_log_set_level(getenv("PF_TEST_VERBOSE") ? PF_LOG_DEBUG : PF_LOG_ERROR);
	api_start(&shared, 0, false, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	api_stop(&shared);
	if (tmp[0])
		nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(list_then_watch_delivers_changes),
		cmocka_unit_test(cut_and_compact_relist_converges),
		cmocka_unit_test(restart_reconnects_and_converges),
		cmocka_unit_test(resync_relists_without_repeating_puts),
		cmocka_unit_test(list_follows_continue),
		cmocka_unit_test(tls_and_token),
		cmocka_unit_test(policy_endpoint_writes),
		cmocka_unit_test(watch_waits_for_the_server),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
