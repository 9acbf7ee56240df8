// SPDX-License-Identifier: Apache-2.0
/* pf_kube_config_load: kubeconfig files (token, tokenFile, *-data fields,
 * relative paths) and the in-cluster service account, and errors that name
 * the file and the field. */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "kube_client.h"
#include "log.h"

static char dir[64];

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* Loads dir/name; returns the error code, err filled. */
static int load(const char *name, struct pf_kube_config *cfg, char *err, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	err[0] = '\0';
	return pf_kube_config_load(path, NULL, cfg, err, len);
}

/* A kubeconfig of one cluster, user and context; the parts vary. */
static void write_kubeconfig(const char *name, const char *cluster, const char *user,
			     const char *current)
{
	char text[4096];

	snprintf(text, sizeof(text),
		 "apiVersion: v1\nkind: Config\n"
		 "clusters:\n- name: other\n  cluster: {server: \"https://other:1\"}\n"
		 "- name: c\n  cluster:\n%s"
		 "users:\n- name: u\n  user:\n%s"
		 "contexts:\n- name: ctx\n  context: {cluster: c, user: u}\n"
		 "- name: broken\n  context: {cluster: nowhere, user: u}\n"
		 "%s",
		 cluster, user, current);
	write_file(name, text);
}

static void token_and_relative_ca(void **state)
{
	struct pf_kube_config cfg;
	char err[512], want[256];

	(void)state;
	write_file("ca.crt", "-----BEGIN CERTIFICATE-----\n");
	write_kubeconfig("kc", "    server: https://10.0.0.1:6443/\n    certificate-authority: ca.crt\n",
			 "    token: abc.def\n", "current-context: ctx\n");
	assert_int_equal(load("kc", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.server, "https://10.0.0.1:6443"); /* no trailing slash */
	snprintf(want, sizeof(want), "%s/ca.crt", dir);
	assert_string_equal(cfg.ca_file, want);
	assert_null(cfg.ca_pem);
	assert_string_equal(cfg.token, "abc.def");
	assert_null(cfg.token_file);
	assert_false(cfg.insecure);
	pf_kube_config_free(&cfg);
}

static void token_file_is_read_and_kept(void **state)
{
	struct pf_kube_config cfg;
	char err[512], want[256];

	(void)state;
	write_file("tok", "  rotated-token\n\n");
	write_kubeconfig("kc", "    server: http://127.0.0.1:8080\n", "    tokenFile: tok\n",
			 "current-context: ctx\n");
	assert_int_equal(load("kc", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.token, "rotated-token");
	snprintf(want, sizeof(want), "%s/tok", dir);
	assert_string_equal(cfg.token_file, want);
	pf_kube_config_free(&cfg);
}

static void data_fields_are_decoded(void **state)
{
	struct pf_kube_config cfg;
	char err[512];

	(void)state;
	/* base64 of "CA PEM\n", "CERT", "KEY!" */
	write_kubeconfig("kc", "    server: https://h:443\n    certificate-authority-data: Q0EgUEVNCg==\n"
			 "    insecure-skip-tls-verify: true\n",
			 "    client-certificate-data: Q0VSVA==\n    client-key-data: S0VZIQ\n",
			 "current-context: ctx\n");
	assert_int_equal(load("kc", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.ca_pem, "CA PEM\n");
	assert_string_equal(cfg.cert_pem, "CERT");
	assert_string_equal(cfg.key_pem, "KEY!"); /* padding left out is accepted */
	assert_null(cfg.token);
	assert_true(cfg.insecure);
	pf_kube_config_free(&cfg);
}

static void client_certificate_files(void **state)
{
	struct pf_kube_config cfg;
	char err[512], want[256];

	(void)state;
	write_file("client.crt", "c");
	write_file("client.key", "k");
	write_kubeconfig("kc", "    server: https://h:443\n",
			 "    client-certificate: client.crt\n    client-key: client.key\n",
			 "current-context: ctx\n");
	assert_int_equal(load("kc", &cfg, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/client.key", dir);
	assert_string_equal(cfg.key_file, want);
	pf_kube_config_free(&cfg);
}

/* Each broken kubeconfig: the error names the file and the field. */
static void errors_name_file_and_field(void **state)
{
	static const struct {
		const char *cluster, *user, *current, *field;
		int rc;
	} cases[] = {
		{ "    server: https://h\n", "    token: t\n", "", "current-context: missing", -EINVAL },
		{ "    server: https://h\n", "    token: t\n", "current-context: nope\n",
		  "contexts: no entry named \"nope\"", -ENOENT },
		{ "    server: https://h\n", "    token: t\n", "current-context: broken\n",
		  "clusters: no entry named \"nowhere\"", -ENOENT },
		{ "    insecure-skip-tls-verify: false\n", "    token: t\n", "current-context: ctx\n",
		  "clusters[name=c].cluster.server: missing", -EINVAL },
		{ "    server: ftp://h\n", "    token: t\n", "current-context: ctx\n",
		  "clusters[name=c].cluster.server: \"ftp://h\" is not", -EINVAL },
		{ "    server: https://h\n    certificate-authority: no-such.crt\n", "    token: t\n",
		  "current-context: ctx\n", "clusters[name=c].cluster.certificate-authority: ", -ENOENT },
		{ "    server: https://h\n    certificate-authority-data: \"!!\"\n", "    token: t\n",
		  "current-context: ctx\n",
		  "clusters[name=c].cluster.certificate-authority-data: not base64", -EINVAL },
		{ "    server: https://h\n    insecure-skip-tls-verify: 1\n", "    token: t\n",
		  "current-context: ctx\n", "clusters[name=c].cluster.insecure-skip-tls-verify", -EINVAL },
		{ "    server: https://h\n", "    tokenFile: missing-token\n", "current-context: ctx\n",
		  "users[name=u].user.tokenFile: ", -ENOENT },
		{ "    server: https://h\n", "    token: 42\n", "current-context: ctx\n",
		  "users[name=u].user.token: not a non-empty string", -EINVAL },
		{ "    server: https://h\n", "    client-certificate-data: Q0VSVA==\n",
		  "current-context: ctx\n", "users[name=u].user: a client certificate needs its key",
		  -EINVAL },
		{ "    server: https://h\n", "    exec: {command: aws}\n", "current-context: ctx\n",
		  "users[name=u].user: exec and auth-provider", -ENOTSUP },
	};
	struct pf_kube_config cfg;
	char err[512], path[256];

	(void)state;
	snprintf(path, sizeof(path), "kubeconfig %s/kc: ", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_kubeconfig("kc", cases[i].cluster, cases[i].user, cases[i].current);
		if (load("kc", &cfg, err, sizeof(err)) != cases[i].rc || !strstr(err, path) ||
		    !strstr(err, cases[i].field))
			fail_msg("case %zu: \"%s\" does not name \"%s%s\"", i, err, path,
				 cases[i].field);
		assert_null(cfg.server); /* nothing is left behind on an error */
	}
}

static void missing_or_broken_file(void **state)
{
	struct pf_kube_config cfg;
	char err[512];

	(void)state;
	assert_int_equal(load("does-not-exist", &cfg, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "does-not-exist: No such file or directory"));
	write_file("kc", "clusters: [unclosed\n");
	assert_int_equal(load("kc", &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "/kc document 1"));
}

static void in_cluster(void **state)
{
	struct pf_kube_config cfg;
	char err[512], sa[128], want[256];

	(void)state;
	snprintf(sa, sizeof(sa), "%s/sa", dir);
	assert_int_equal(mkdir(sa, 0700), 0);
	write_file("sa/token", "sa-token\n");
	write_file("sa/ca.crt", "-----BEGIN CERTIFICATE-----\n");
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(pf_kube_config_load("", sa, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.server, "https://10.96.0.1:443");
	assert_string_equal(cfg.token, "sa-token");
	snprintf(want, sizeof(want), "%s/token", sa);
	assert_string_equal(cfg.token_file, want);
	snprintf(want, sizeof(want), "%s/ca.crt", sa);
	assert_string_equal(cfg.ca_file, want);
	pf_kube_config_free(&cfg);

	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	assert_int_equal(pf_kube_config_load(NULL, sa, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.server, "https://[fd00::1]:443");
	pf_kube_config_free(&cfg);

	write_file("sa/token", "\n");
	assert_int_equal(pf_kube_config_load("", sa, &cfg, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "token file %s/token: empty", sa);
	assert_non_null(strstr(err, want));

	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(pf_kube_config_load("", sa, &cfg, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST is not set"));
	unsetenv("KUBERNETES_SERVICE_PORT");
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pf-kube-config-XXXXXX");
	pf_log_set_level(PF_LOG_ERROR); /* insecure-skip-tls-verify warns */
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(token_and_relative_ca),
		cmocka_unit_test(token_file_is_read_and_kept),
		cmocka_unit_test(data_fields_are_decoded),
		cmocka_unit_test(client_certificate_files),
		cmocka_unit_test(errors_name_file_and_field),
		cmocka_unit_test(missing_or_broken_file),
		cmocka_unit_test(in_cluster),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
