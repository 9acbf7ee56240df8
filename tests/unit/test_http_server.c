// SPDX-License-Identifier: Apache-2.0
/* The HTTP server for real: a temporary unix socket and a loopback TCP port
 * in a private network namespace, requested through libcurl. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "http_server.h"

static char tmpdir[64];
static char sock_path[100];

/* Echoes what it got: {"method", "path", "body"}; /missing answers 404. */
static void echo_handler(void *ctx, const char *method, const char *path, const char *body,
			 size_t body_len, struct pf_http_reply *reply)
{
	int *calls = ctx;

	(*calls)++;
	if (!strcmp(path, "/missing")) {
		pf_http_reply_error(reply, 404, "no route for %s", path);
		return;
	}
	if (!strcmp(path, "/query")) {
		const char *pod = pf_http_query_arg("pod");

		pf_http_reply_json(reply, 200, json_pack("{s:s?}", "pod", pod));
		return;
	}
	if (!strcmp(path, "/text")) {
		reply->status = 200;
		reply->body = strdup("plain\n");
		reply->content_type = "text/plain; version=0.0.4";
		return;
	}
	pf_http_reply_json(reply, 200,
			   json_pack("{s:s, s:s, s:s%}", "method", method, "path", path,
				     "body", body, body_len));
}

struct fetched {
	long status;
	char body[4096];
	size_t len;
	char content_type[128];
};

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
	struct fetched *f = arg;
	size_t take = size * n;

	if (take > sizeof(f->body) - 1 - f->len)
		take = sizeof(f->body) - 1 - f->len;
	memcpy(f->body + f->len, data, take);
	f->len += take;
	f->body[f->len] = 0;
	return size * n;
}

struct chunked_src {
	size_t left;
};

static size_t feed_chunks(char *buf, size_t size, size_t n, void *arg)
{
	struct chunked_src *src = arg;
	size_t give = size * n < src->left ? size * n : src->left;

	memset(buf, 'x', give);
	src->left -= give;
	return give;
}

/* body NULL: GET. chunked_len > 0: a chunked POST of that many bytes. */
static CURLcode fetch(const char *unix_path, const char *url, const char *body,
		      size_t chunked_len, struct fetched *f)
{
	struct curl_slist *hdrs = NULL;
	struct chunked_src src = { chunked_len };
	CURL *c = curl_easy_init();
	CURLcode rc;
	char *ct = NULL;

	assert_non_null(c);
	memset(f, 0, sizeof(*f));
	if (unix_path)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	if (body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	} else if (chunked_len) {
		hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, feed_chunks);
		curl_easy_setopt(c, CURLOPT_READDATA, &src);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		snprintf(f->content_type, sizeof(f->content_type), "%s", ct);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc;
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pf-http-test-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(sock_path, sizeof(sock_path), "%s/server.sock", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(sock_path);
	rmdir(tmpdir);
	return 0;
}

static void test_unix_post_reaches_handler_and_reply_comes_back(void **state)
{
	int calls = 0, err = 0;
	struct pf_http_server *srv = pf_http_serve_unix(sock_path, echo_handler, &calls, &err);
	struct fetched f;

	(void)state;
	assert_non_null(srv);
	assert_int_equal(fetch(sock_path, "http://localhost/v1/echo?x=1", "{\"a\":1}", 0, &f),
			 CURLE_OK);
	assert_int_equal(f.status, 200);
	assert_string_equal(f.content_type, "application/json");
	assert_string_equal(f.body, "{\"method\":\"POST\",\"path\":\"/v1/echo\",\"body\":\"{\\\"a\\\":1}\"}");
	assert_int_equal(fetch(sock_path, "http://localhost/v1/get", NULL, 0, &f), CURLE_OK);
	assert_string_equal(f.body, "{\"method\":\"GET\",\"path\":\"/v1/get\",\"body\":\"\"}");
	assert_int_equal(calls, 2);
	pf_http_stop(srv);
}

static void test_query_arguments_reach_the_handler_decoded(void **state)
{
	int calls = 0, err = 0;
	struct pf_http_server *srv = pf_http_serve_unix(sock_path, echo_handler, &calls, &err);
	struct fetched f;

	(void)state;
	assert_non_null(srv);
	assert_int_equal(fetch(sock_path, "http://localhost/query?pod=x%2Fa&other=1", NULL, 0, &f),
			 CURLE_OK);
	assert_string_equal(f.body, "{\"pod\":\"x/a\"}");
	assert_int_equal(fetch(sock_path, "http://localhost/query", NULL, 0, &f), CURLE_OK);
	assert_string_equal(f.body, "{\"pod\":null}");
	assert_null(pf_http_query_arg("pod")); /* outside a handler */
	pf_http_stop(srv);
}

static void test_unix_socket_is_root_only_and_removed_on_stop(void **state)
{
	int calls = 0, err = 0;
	struct pf_http_server *srv = pf_http_serve_unix(sock_path, echo_handler, &calls, &err);
	struct stat st;

	(void)state;
	assert_non_null(srv);
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	pf_http_stop(srv);
	assert_int_equal(lstat(sock_path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_handler_status_and_content_type_pass_through(void **state)
{
	int calls = 0, err = 0;
	struct pf_http_server *srv = pf_http_serve_unix(sock_path, echo_handler, &calls, &err);
	struct fetched f;

	(void)state;
	assert_non_null(srv);
	assert_int_equal(fetch(sock_path, "http://localhost/missing", NULL, 0, &f), CURLE_OK);
	assert_int_equal(f.status, 404);
	assert_string_equal(f.body, "{\"error\":\"no route for /missing\"}");
	assert_int_equal(fetch(sock_path, "http://localhost/text", NULL, 0, &f), CURLE_OK);
	assert_int_equal(f.status, 200);
	assert_string_equal(f.content_type, "text/plain; version=0.0.4");
	assert_string_equal(f.body, "plain\n");
	pf_http_stop(srv);
}

static void test_oversize_body_gets_413_and_never_reaches_handler(void **state)
{
	size_t big = PF_HTTP_MAX_BODY + 1;
	char *body = malloc(big + 1);
	int calls = 0, err = 0;
	struct pf_http_server *srv = pf_http_serve_unix(sock_path, echo_handler, &calls, &err);
	struct fetched f;

	(void)state;
	assert_non_null(srv);
	assert_non_null(body);
	memset(body, 'x', big);
	body[big] = 0;
	fetch(sock_path, "http://localhost/v1/echo", body, 0, &f);
	assert_int_equal(f.status, 413);
	assert_non_null(strstr(f.body, "request body exceeds 65536 bytes"));
	/* Without a Content-Length the limit is found while reading. */
	assert_int_equal(fetch(sock_path, "http://localhost/v1/echo", NULL, big, &f), CURLE_OK);
	assert_int_equal(f.status, 413);
	/* A body of exactly the limit is fine. */
	body[PF_HTTP_MAX_BODY] = 0;
	assert_int_equal(fetch(sock_path, "http://localhost/v1/echo", body, 0, &f), CURLE_OK);
	assert_int_equal(f.status, 200);
	assert_int_equal(calls, 1);
	free(body);
	pf_http_stop(srv);
}

static void test_stale_socket_replaced_live_one_and_other_files_kept(void **state)
{
	int calls = 0, err = 0, fd;
	struct pf_http_server *srv, *second;
	struct fetched f;

	(void)state;
	/* A socket file left by a dead server. */
	srv = pf_http_serve_unix(sock_path, echo_handler, &calls, &err);
	assert_non_null(srv);
	second = pf_http_serve_unix(sock_path, echo_handler, &calls, &err);
	assert_null(second);
	assert_int_equal(err, -EADDRINUSE);
	assert_int_equal(fetch(sock_path, "http://localhost/still-first", NULL, 0, &f), CURLE_OK);
	assert_int_equal(f.status, 200);
	pf_http_stop(srv);

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd); /* the file stays, nobody listens */
	srv = pf_http_serve_unix(sock_path, echo_handler, &calls, &err);
	assert_non_null(srv);
	pf_http_stop(srv);

	fd = open(sock_path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_null(pf_http_serve_unix(sock_path, echo_handler, &calls, &err));
	assert_int_equal(err, -EEXIST);
	assert_int_equal(unlink(sock_path), 0);
}

static void bring_loopback_up(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
}

static void test_tcp_serves_on_loopback_in_private_netns(void **state)
{
	int calls = 0, err = 0;
	struct pf_http_server *srv, *v6;
	struct fetched f;

	(void)state;
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	bring_loopback_up();
	srv = pf_http_serve_tcp("127.0.0.1:61679", echo_handler, &calls, &err);
	assert_non_null(srv);
	assert_int_equal(fetch(NULL, "http://127.0.0.1:61679/healthz", NULL, 0, &f), CURLE_OK);
	assert_int_equal(f.status, 200);
	assert_string_equal(f.body, "{\"method\":\"GET\",\"path\":\"/healthz\",\"body\":\"\"}");
	assert_null(pf_http_serve_tcp("127.0.0.1:61679", echo_handler, &calls, &err));
	assert_int_equal(err, -EADDRINUSE);
	v6 = pf_http_serve_tcp("[::1]:61680", echo_handler, &calls, &err);
	assert_non_null(v6);
	assert_int_equal(fetch(NULL, "http://[::1]:61680/v6", NULL, 0, &f), CURLE_OK);
	assert_int_equal(f.status, 200);
	pf_http_stop(v6);
	pf_http_stop(srv);
}

static void test_bad_bind_addresses_are_rejected(void **state)
{
	static const char *const bad[] = { "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000",
					   "localhost:80", "[::1:80", "1.2.3.4:8x" };
	int calls = 0, err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = 0;
		assert_null(pf_http_serve_tcp(bad[i], echo_handler, &calls, &err));
		assert_int_equal(err, -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unix_post_reaches_handler_and_reply_comes_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_arguments_reach_the_handler_decoded,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_socket_is_root_only_and_removed_on_stop,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_status_and_content_type_pass_through,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_body_gets_413_and_never_reaches_handler,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_stale_socket_replaced_live_one_and_other_files_kept, setup, teardown),
		cmocka_unit_test(test_bad_bind_addresses_are_rejected),
		cmocka_unit_test(test_tcp_serves_on_loopback_in_private_netns),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
