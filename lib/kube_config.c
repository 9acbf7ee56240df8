// SPDX-License-Identifier: Apache-2.0
/*
 * Where the API server is and how to prove who we are: the in-cluster
 * service account, or the current context of a kubeconfig (read with the
 * YAML converter of k8s_yaml.c). Field names follow client-go's
 * clientcmd/api/v1 types.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "k8s_yaml.h"
#include "kube_internal.h"
#include "log.h"

/* A kubeconfig with embedded certificates is a few tens of KiB. */
#define PF_KUBECONFIG_MAX (4u << 20)

static int pf_read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct pf_growbuf b = { .max = max };
	char chunk[8192];
	int fd, err = 0;
	ssize_t n;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (!pf_growbuf_add(&b, chunk, (size_t)n)) {
			err = b.too_big ? -EFBIG : -ENOMEM;
			break;
		}
	}
	close(fd);
	if (!err && !b.data && !pf_growbuf_add(&b, "", 0))
		err = -ENOMEM;
	if (err) {
		pf_growbuf_free(&b);
		return err;
	}
	*out = b.data;
	if (len)
		*len = b.len;
	return 0;
}

int pf_kube_read_token(const char *path, char **out, char *err, size_t err_len)
{
	size_t len, start = 0;
	char *text;
	int rc;

	rc = pf_read_file(path, PF_KUBE_TOKEN_MAX, &text, &len);
	if (rc) {
		snprintf(err, err_len, "token file %s: %s", path, strerror(-rc));
		return rc;
	}
	while (len && strchr(" \t\r\n", text[len - 1]))
		text[--len] = '\0';
	while (start < len && strchr(" \t\r\n", text[start]))
		start++;
	if (start == len) {
		snprintf(err, err_len, "token file %s: empty", path);
		free(text);
		return -EINVAL;
	}
	memmove(text, text + start, len - start + 1);
	*out = text;
	return 0;
}

/* RFC 4648 base64 (padding optional, white space skipped), as the *-data
 * fields hold. Returns the decoded bytes NUL-terminated, or NULL. */
static char *pf_base64_decode(const char *in)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(strlen(in) / 4 * 3 + 4), *o = out;
	unsigned acc = 0, bits = 0;

	if (!out)
		return NULL;
	for (const char *p = in; *p && *p != '='; p++) {
		const char *pos = strchr(alphabet, *p);

		if (strchr(" \t\r\n", *p))
			continue;
		if (!pos) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)(pos - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (char)((acc >> bits) & 0xff);
		}
	}
	*o = '\0';
	return out;
}

void pf_kube_config_free(struct pf_kube_config *cfg)
{
	free(cfg->server);
	free(cfg->ca_file);
	free(cfg->ca_pem);
	free(cfg->token);
	free(cfg->token_file);
	free(cfg->cert_file);
	free(cfg->key_file);
	free(cfg->cert_pem);
	free(cfg->key_pem);
	memset(cfg, 0, sizeof(*cfg));
}

static int pf_kube_in_cluster(const char *sa_dir, struct pf_kube_config *out, char *err,
			      size_t err_len)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	bool v6;
	int rc;

	if (!sa_dir)
		sa_dir = PF_KUBE_SA_DIR;
	if (!host || !*host || !port || !*port) {
		snprintf(err, err_len, "in-cluster configuration: %s is not set (not in a pod? "
			 "give a kubeconfig: kube:/path/to/kubeconfig)",
			 !host || !*host ? "KUBERNETES_SERVICE_HOST" : "KUBERNETES_SERVICE_PORT");
		return -ENOENT;
	}
	v6 = strchr(host, ':') != NULL;
	/* On a failure each pointer is NULL; the caller frees what is not. */
	if (asprintf(&out->server, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "",
		     port) < 0)
		out->server = NULL;
	if (asprintf(&out->token_file, "%s/token", sa_dir) < 0)
		out->token_file = NULL;
	if (asprintf(&out->ca_file, "%s/ca.crt", sa_dir) < 0)
		out->ca_file = NULL;
	if (!out->server || !out->token_file || !out->ca_file) {
		snprintf(err, err_len, "in-cluster configuration: out of memory");
		return -ENOMEM;
	}
	rc = pf_kube_read_token(out->token_file, &out->token, err, err_len);
	if (rc)
		return rc;
	if (access(out->ca_file, R_OK)) {
		rc = -errno;
		snprintf(err, err_len, "in-cluster CA %s: %s", out->ca_file, strerror(errno));
		return rc;
	}
	return 0;
}

/* What a kubeconfig field lookup needs to report where it failed. */
struct pf_kcfg {
	const char *file;
	char *dir;     /* the kubeconfig's directory: relative paths start here */
	json_t *root;
	char *err;
	size_t err_len;
};

static int pf_kcfg_fail(struct pf_kcfg *k, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int pf_kcfg_fail(struct pf_kcfg *k, int rc, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(k->err, k->err_len, "kubeconfig %s: %s", k->file, what);
	return rc;
}

/* The "what" of the named entry of a top-level list (clusters, users,
 * contexts): [{name: N, what: {...}}]. */
static int pf_kcfg_entry(struct pf_kcfg *k, const char *list, const char *what,
			 const char *name, json_t **out)
{
	json_t *arr = json_object_get(k->root, list), *e;
	size_t i;

	if (arr && !json_is_array(arr))
		return pf_kcfg_fail(k, -EINVAL, "%s: not a list", list);
	json_array_foreach(arr, i, e) {
		json_t *n = json_object_get(e, "name");

		if (!json_is_string(n) || strcmp(json_string_value(n), name))
			continue;
		*out = json_object_get(e, what);
		if (!json_is_object(*out))
			return pf_kcfg_fail(k, -EINVAL, "%s[name=%s].%s: missing or not a mapping",
					    list, name, what);
		return 0;
	}
	return pf_kcfg_fail(k, -ENOENT, "%s: no entry named \"%s\"", list, name);
}

/* A string field of obj (at "where"): NULL when absent; an error otherwise
 * when it is not a non-empty string. */
static int pf_kcfg_str(struct pf_kcfg *k, json_t *obj, const char *where, const char *field,
		       const char **out)
{
	json_t *v = json_object_get(obj, field);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || !*json_string_value(v))
		return pf_kcfg_fail(k, -EINVAL, "%s.%s: not a non-empty string", where, field);
	*out = json_string_value(v);
	return 0;
}

/* A path field, made absolute against the kubeconfig's directory. */
static int pf_kcfg_path(struct pf_kcfg *k, json_t *obj, const char *where, const char *field,
			char **out)
{
	const char *p;
	int rc = pf_kcfg_str(k, obj, where, field, &p);

	if (rc || !p)
		return rc;
	if (p[0] == '/' ? asprintf(out, "%s", p) < 0 : asprintf(out, "%s/%s", k->dir, p) < 0) {
		*out = NULL;
		return pf_kcfg_fail(k, -ENOMEM, "%s.%s: out of memory", where, field);
	}
	if (access(*out, R_OK))
		return pf_kcfg_fail(k, -errno, "%s.%s: %s: %s", where, field, *out,
				    strerror(errno));
	return 0;
}

/* A base64 *-data field, decoded. */
static int pf_kcfg_data(struct pf_kcfg *k, json_t *obj, const char *where, const char *field,
			char **out)
{
	const char *b64;
	int rc = pf_kcfg_str(k, obj, where, field, &b64);

	if (rc || !b64)
		return rc;
	*out = pf_base64_decode(b64);
	if (!*out || !**out)
		return pf_kcfg_fail(k, -EINVAL, "%s.%s: not base64", where, field);
	return 0;
}

static int pf_kcfg_cluster(struct pf_kcfg *k, const char *name, struct pf_kube_config *out)
{
	char where[300];
	const char *server;
	json_t *cl, *insecure;
	size_t len;
	int rc;

	rc = pf_kcfg_entry(k, "clusters", "cluster", name, &cl);
	if (rc)
		return rc;
	snprintf(where, sizeof(where), "clusters[name=%s].cluster", name);
	rc = pf_kcfg_str(k, cl, where, "server", &server);
	if (rc)
		return rc;
	if (!server)
		return pf_kcfg_fail(k, -EINVAL, "%s.server: missing", where);
	if (strncmp(server, "https://", 8) && strncmp(server, "http://", 7))
		return pf_kcfg_fail(k, -EINVAL, "%s.server: \"%s\" is not an http(s):// URL",
				    where, server);
	out->server = strdup(server);
	if (!out->server)
		return pf_kcfg_fail(k, -ENOMEM, "%s.server: out of memory", where);
	len = strlen(out->server);
	while (len > 8 && out->server[len - 1] == '/')
		out->server[--len] = '\0';
	rc = pf_kcfg_path(k, cl, where, "certificate-authority", &out->ca_file);
	if (!rc)
		rc = pf_kcfg_data(k, cl, where, "certificate-authority-data", &out->ca_pem);
	if (rc)
		return rc;
	insecure = json_object_get(cl, "insecure-skip-tls-verify");
	if (insecure && !json_is_boolean(insecure))
		return pf_kcfg_fail(k, -EINVAL, "%s.insecure-skip-tls-verify: not true or false",
				    where);
	out->insecure = json_is_true(insecure);
	if (out->insecure)
		pf_warn("kubeconfig %s: %s.insecure-skip-tls-verify is true: the API server's "
			"certificate is NOT verified", k->file, where);
	return 0;
}

static int pf_kcfg_user(struct pf_kcfg *k, const char *name, struct pf_kube_config *out)
{
	char where[300];
	const char *token;
	json_t *u;
	int rc;

	rc = pf_kcfg_entry(k, "users", "user", name, &u);
	if (rc)
		return rc;
	snprintf(where, sizeof(where), "users[name=%s].user", name);
	/* Like client-go: a tokenFile is read (and read again on a 401). */
	rc = pf_kcfg_path(k, u, where, "tokenFile", &out->token_file);
	if (rc)
		return rc;
	if (out->token_file) {
		char why[512];

		rc = pf_kube_read_token(out->token_file, &out->token, why, sizeof(why));
		if (rc)
			return pf_kcfg_fail(k, rc, "%s.tokenFile: %s", where, why);
	} else {
		rc = pf_kcfg_str(k, u, where, "token", &token);
		if (rc)
			return rc;
		if (token && !(out->token = strdup(token)))
			return pf_kcfg_fail(k, -ENOMEM, "%s.token: out of memory", where);
	}
	rc = pf_kcfg_path(k, u, where, "client-certificate", &out->cert_file);
	if (!rc)
		rc = pf_kcfg_path(k, u, where, "client-key", &out->key_file);
	if (!rc)
		rc = pf_kcfg_data(k, u, where, "client-certificate-data", &out->cert_pem);
	if (!rc)
		rc = pf_kcfg_data(k, u, where, "client-key-data", &out->key_pem);
	if (rc)
		return rc;
	if (!out->cert_file != !out->key_file || !out->cert_pem != !out->key_pem)
		return pf_kcfg_fail(k, -EINVAL, "%s: a client certificate needs its key and a key "
				    "its certificate", where);
	if (!out->token && !out->cert_file && !out->cert_pem) {
		if (json_object_get(u, "exec") || json_object_get(u, "auth-provider"))
			return pf_kcfg_fail(k, -ENOTSUP, "%s: exec and auth-provider credentials "
					    "are not supported (use token, tokenFile or a client "
					    "certificate)", where);
	}
	return 0;
}

static int pf_kcfg_load(struct pf_kcfg *k, struct pf_kube_config *out)
{
	const char *ctx_name, *cluster, *user;
	char where[300];
	struct pf_yaml_doc *docs = NULL;
	size_t len, n = 0;
	json_t *ctx;
	char *text;
	int rc;

	rc = pf_read_file(k->file, PF_KUBECONFIG_MAX, &text, &len);
	if (rc)
		return pf_kcfg_fail(k, rc, "%s", strerror(-rc));
	rc = pf_yaml_to_json(k->file, text, len, &docs, &n, k->err, k->err_len);
	free(text);
	if (rc)
		return rc;
	if (n != 1 || !json_is_object(docs[0].value)) {
		pf_yaml_docs_free(docs, n);
		return pf_kcfg_fail(k, -EINVAL, "not one YAML mapping");
	}
	k->root = json_incref(docs[0].value);
	pf_yaml_docs_free(docs, n);

	rc = pf_kcfg_str(k, k->root, "(top)", "current-context", &ctx_name);
	if (rc)
		return rc;
	if (!ctx_name)
		return pf_kcfg_fail(k, -EINVAL, "current-context: missing");
	rc = pf_kcfg_entry(k, "contexts", "context", ctx_name, &ctx);
	if (rc)
		return rc;
	snprintf(where, sizeof(where), "contexts[name=%s].context", ctx_name);
	rc = pf_kcfg_str(k, ctx, where, "cluster", &cluster);
	if (!rc && !cluster)
		rc = pf_kcfg_fail(k, -EINVAL, "%s.cluster: missing", where);
	if (!rc)
		rc = pf_kcfg_str(k, ctx, where, "user", &user);
	if (!rc)
		rc = pf_kcfg_cluster(k, cluster, out);
	/* A context without a user talks to the server anonymously. */
	if (!rc && user)
		rc = pf_kcfg_user(k, user, out);
	return rc;
}

int pf_kube_config_load(const char *spec, const char *sa_dir, struct pf_kube_config *out,
			char *err, size_t err_len)
{
	struct pf_kcfg k = { .file = spec, .err = err, .err_len = err_len };
	char *copy = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!spec || !*spec)
		rc = pf_kube_in_cluster(sa_dir, out, err, err_len);
	else if (!(copy = strdup(spec)) || !(k.dir = strdup(dirname(copy))))
		rc = pf_kcfg_fail(&k, -ENOMEM, "out of memory");
	else
		rc = pf_kcfg_load(&k, out);
	free(copy);
	free(k.dir);
	json_decref(k.root);
	if (rc)
		pf_kube_config_free(out);
	return rc;
}
