// SPDX-License-Identifier: Apache-2.0
/* The unix-socket HTTP client against a one-connection server thread that
 * records the request and writes a canned reply. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "http_client.h"

struct canned_server {
	char path[108];
	int fd;
	const char *reply;   /* written verbatim, then the connection closes;
			      * "": close at once; NULL: accept and never answer */
	size_t reply_len;
	char request[8192];  /* what the client sent, headers and body */
	size_t request_len;
	pthread_t thread;
};

static void *serve_one(void *arg)
{
	struct canned_server *s = arg;
	int c = accept(s->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	for (;;) {
		ssize_t n = read(c, s->request + s->request_len,
				 sizeof(s->request) - 1 - s->request_len);
		char *end, *cl;

		if (n <= 0)
			break;
		s->request_len += (size_t)n;
		s->request[s->request_len] = '\0';
		end = strstr(s->request, "\r\n\r\n");
		if (!end)
			continue;
		cl = strcasestr(s->request, "Content-Length:");
		if (!cl || s->request_len >= (size_t)(end + 4 - s->request) + strtoul(cl + 15, NULL, 10))
			break;
	}
	if (s->reply) {
		size_t off = 0;

		while (off < s->reply_len) {
			/* The client may hang up first (a reply it refuses):
			 * no SIGPIPE for the test. */
			ssize_t n = send(c, s->reply + off, s->reply_len - off, MSG_NOSIGNAL);

			if (n <= 0)
				break;
			off += (size_t)n;
		}
	} else {
		usleep(900 * 1000); /* longer than the client's timeout */
	}
	close(c);
	return NULL;
}

static void server_start(struct canned_server *s, const char *reply)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memset(s, 0, sizeof(*s));
	snprintf(s->path, sizeof(s->path), "/tmp/pf-http-test-%d.sock", getpid());
	unlink(s->path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", s->path);
	s->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(s->fd, 4), 0);
	s->reply = reply;
	s->reply_len = reply ? strlen(reply) : 0;
	assert_int_equal(pthread_create(&s->thread, NULL, serve_one, s), 0);
}

static void server_stop(struct canned_server *s)
{
	pthread_join(s->thread, NULL);
	close(s->fd);
	unlink(s->path);
}

static void post_sends_json_body_and_returns_status_and_reply(void **state)
{
	struct canned_server s;
	char err[256] = "", *reply = NULL;
	long status = 0;

	(void)state;
	server_start(&s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "Content-Length: 17\r\nConnection: close\r\n\r\n{\"released\":true}");
	assert_int_equal(pf_http_unix_request(s.path, "POST", "/v1/del-network",
					      "{\"container_id\":\"c1\",\"ifname\":\"eth0\"}",
					      2000, &status, &reply, err, sizeof(err)), 0);
	server_stop(&s);
	assert_int_equal(status, 200);
	assert_string_equal(reply, "{\"released\":true}");
	assert_non_null(strstr(s.request, "POST /v1/del-network HTTP/1.1\r\n"));
	assert_non_null(strcasestr(s.request, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(s.request, "\r\n\r\n{\"container_id\":\"c1\",\"ifname\":\"eth0\"}"));
	assert_non_null(strstr(s.request, "\r\nHost: localhost\r\n"));
	assert_non_null(strstr(s.request, "\r\nContent-Length: 37\r\n"));
	assert_non_null(strstr(s.request, "\r\nConnection: close\r\n"));
	assert_null(strcasestr(s.request, "Expect:"));
	free(reply);
}

static void get_sends_no_body_headers(void **state)
{
	struct canned_server s;
	char err[256] = "", *reply = NULL;
	long status = 0;

	(void)state;
	server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
	assert_int_equal(pf_http_unix_request(s.path, "GET", "/v1/explain?pod=x/a", NULL, 2000,
					      &status, &reply, err, sizeof(err)), 0);
	server_stop(&s);
	assert_int_equal(status, 200);
	assert_string_equal(reply, "{}");
	assert_non_null(strstr(s.request, "GET /v1/explain?pod=x/a HTTP/1.1\r\n"));
	assert_null(strcasestr(s.request, "Content-Length"));
	assert_null(strcasestr(s.request, "Content-Type"));
	assert_int_equal(s.request_len, strstr(s.request, "\r\n\r\n") + 4 - s.request);
	free(reply);
}

static void chunked_reply_is_joined(void **state)
{
	struct canned_server s;
	char err[256] = "", *reply = NULL;
	long status = 0;

	(void)state;
	server_start(&s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n"
			 "7\r\n{\"ipv4\"\r\n"
			 "b;ext=1\r\n:\"10.0.0.5\"\r\n"
			 "1\r\n}\r\n"
			 "0\r\nX-Trailer: t\r\n\r\n");
	assert_int_equal(pf_http_unix_request(s.path, "POST", "/v1/add-network", "{}", 2000,
					      &status, &reply, err, sizeof(err)), 0);
	server_stop(&s);
	assert_int_equal(status, 200);
	assert_string_equal(reply, "{\"ipv4\":\"10.0.0.5\"}");
	free(reply);
}

/* Neither Content-Length nor chunked: the body ends with the connection. */
static void reply_ended_by_close_is_read_to_the_end(void **state)
{
	struct canned_server s;
	char err[256] = "", *reply = NULL;
	long status = 0;

	(void)state;
	server_start(&s, "HTTP/1.0 200 OK\r\n\r\n{\"status\":\"ok\"}");
	assert_int_equal(pf_http_unix_request(s.path, "GET", "/v1/health", NULL, 2000, &status,
					      &reply, err, sizeof(err)), 0);
	server_stop(&s);
	assert_int_equal(status, 200);
	assert_string_equal(reply, "{\"status\":\"ok\"}");
	free(reply);
}

static void interim_1xx_reply_is_skipped(void **state)
{
	struct canned_server s;
	char err[256] = "", *reply = NULL;
	long status = 0;

	(void)state;
	server_start(&s, "HTTP/1.1 100 Continue\r\n\r\n"
			 "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone");
	assert_int_equal(pf_http_unix_request(s.path, "POST", "/x", "{}", 2000, &status, &reply,
					      err, sizeof(err)), 0);
	server_stop(&s);
	assert_int_equal(status, 201);
	assert_string_equal(reply, "done");
	free(reply);
}

/* A canned reply the client must refuse: the request ends in rc with no
 * reply; the error text is left in err and the status is returned. */
static long refused_reply(const char *canned, const char *method, const char *url_path,
			  const char *body, int rc, char *err, size_t err_len)
{
	struct canned_server s;
	char *reply = NULL;
	long status = 0;

	server_start(&s, canned);
	assert_int_equal(pf_http_unix_request(s.path, method, url_path, body, 5000, &status,
					      &reply, err, err_len), rc);
	server_stop(&s);
	assert_null(reply);
	assert_non_null(strstr(err, s.path));
	return status;
}

static void server_closing_mid_body_is_connreset(void **state)
{
	char err[256] = "";

	(void)state;
	assert_int_equal(refused_reply("HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n{\"released\":",
				       "POST", "/v1/del-network", "{}", -ECONNRESET, err, sizeof(err)),
			 0);
	assert_non_null(strstr(err, "POST /v1/del-network on "));
	assert_non_null(strstr(err, "closed the connection before the reply was complete"));
}

static void server_closing_without_reply_is_connreset(void **state)
{
	char err[256] = "";

	(void)state;
	refused_reply("", "GET", "/v1/health", NULL, -ECONNRESET, err, sizeof(err));
	assert_non_null(strstr(err, "closed the connection without a reply"));
}

static void reply_that_is_not_http_is_eproto(void **state)
{
	char err[256] = "";

	(void)state;
	refused_reply("SSH-2.0-OpenSSH_9.2\r\n", "GET", "/v1/health", NULL, -EPROTO, err,
		      sizeof(err));
	assert_non_null(strstr(err, "GET /v1/health on "));
	assert_non_null(strstr(err, "malformed reply"));
}

static void reply_over_16_mib_is_refused(void **state)
{
	const size_t body_len = (16u << 20) + 4096;
	char err[256] = "", *canned;
	int hdr;

	(void)state;
	canned = malloc(body_len + 128);
	assert_non_null(canned);
	hdr = sprintf(canned, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", body_len);
	memset(canned + hdr, 'a', body_len);
	canned[hdr + body_len] = '\0';
	refused_reply(canned, "GET", "/v1/assignments", NULL, -EMSGSIZE, err, sizeof(err));
	assert_non_null(strstr(err, "reply larger than"));
	free(canned);
}

static void url_path_with_a_line_break_is_refused(void **state)
{
	char err[256] = "", *reply = NULL;
	long status;

	(void)state;
	/* Never sent: it would smuggle a header into the request. */
	assert_int_equal(pf_http_unix_request("/tmp/pf-http-test-unused.sock", "GET",
					      "/v1/health\r\nX-Evil: 1", NULL, 1000, &status,
					      &reply, err, sizeof(err)), -EINVAL);
	assert_null(reply);
	assert_non_null(strstr(err, "control character"));
}

static void get_error_status_is_returned_with_its_body(void **state)
{
	struct canned_server s;
	char err[256] = "", *reply = NULL;
	long status = 0;

	(void)state;
	server_start(&s, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 26\r\n"
			 "Connection: close\r\n\r\n{\"error\":\"pool exhausted\"}");
	assert_int_equal(pf_http_unix_request(s.path, "GET", "/v1/health", NULL, 2000, &status,
					      &reply, err, sizeof(err)), 0);
	server_stop(&s);
	assert_int_equal(status, 503);
	assert_string_equal(reply, "{\"error\":\"pool exhausted\"}");
	assert_non_null(strstr(s.request, "GET /v1/health HTTP/1.1\r\n"));
	free(reply);
}

static void empty_body_is_an_empty_string(void **state)
{
	struct canned_server s;
	char err[256] = "", *reply = NULL;
	long status = 0;

	(void)state;
	server_start(&s, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
	assert_int_equal(pf_http_unix_request(s.path, "GET", "/x", NULL, 2000, &status, &reply,
					      err, sizeof(err)), 0);
	server_stop(&s);
	assert_int_equal(status, 204);
	assert_non_null(reply);
	assert_string_equal(reply, "");
	free(reply);
}

static void large_reply_is_collected_whole(void **state)
{
	const size_t body_len = 300000;
	struct canned_server s;
	char err[256] = "", *reply = NULL, *canned;
	long status = 0;
	int hdr;

	(void)state;
	canned = malloc(body_len + 128);
	assert_non_null(canned);
	hdr = sprintf(canned, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		      body_len);
	for (size_t i = 0; i < body_len; i++)
		canned[hdr + i] = (char)('a' + i % 26);
	canned[hdr + body_len] = '\0';
	server_start(&s, canned);
	assert_int_equal(pf_http_unix_request(s.path, "GET", "/v1/assignments", NULL, 5000,
					      &status, &reply, err, sizeof(err)), 0);
	server_stop(&s);
	assert_int_equal(status, 200);
	assert_int_equal(strlen(reply), body_len);
	assert_memory_equal(reply, canned + hdr, body_len);
	free(reply);
	free(canned);
}

static void missing_socket_is_enoent_naming_the_path(void **state)
{
	char err[256] = "", *reply = (char *)1;
	long status = 7;
	int rc;

	(void)state;
	rc = pf_http_unix_request("/tmp/pf-http-test-no-such.sock", "GET", "/v1/health", NULL,
				  1000, &status, &reply, err, sizeof(err));
	assert_int_equal(rc, -ENOENT);
	assert_null(reply);
	assert_int_equal(status, 0);
	assert_non_null(strstr(err, "GET /v1/health on /tmp/pf-http-test-no-such.sock: No such file or directory"));
}

static void socket_without_listener_is_refused(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char path[108], err[256] = "", *reply = NULL;
	long status;
	int fd, rc;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/pf-http-test-%d-dead.sock", getpid());
	unlink(path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd); /* the file stays, nobody listens: a daemon that died */
	rc = pf_http_unix_request(path, "GET", "/v1/health", NULL, 1000, &status, &reply, err,
				  sizeof(err));
	unlink(path);
	assert_int_equal(rc, -ECONNREFUSED);
	assert_null(reply);
	assert_non_null(strstr(err, "Connection refused"));
	assert_non_null(strstr(err, path));
}

static void silent_server_times_out_within_the_bound(void **state)
{
	struct canned_server s;
	char err[256] = "", *reply = NULL;
	struct timespec t0, t1;
	long status, ms;
	int rc;

	(void)state;
	server_start(&s, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = pf_http_unix_request(s.path, "POST", "/v1/enforce-pod", "{}", 300, &status, &reply,
				  err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	server_stop(&s);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_int_equal(rc, -ETIMEDOUT);
	assert_true(ms >= 250 && ms < 1500);
	assert_non_null(strstr(err, "POST /v1/enforce-pod on "));
	assert_non_null(strstr(err, "timed out"));
	assert_null(reply);
}

/* The request is whole on the server before the receive starts: the server
 * reads all of it, answers and closes while the caller is elsewhere. */
static void send_then_receive_later_gets_the_reply(void **state)
{
	struct canned_server s;
	struct pf_http_exchange *x = NULL;
	char err[256] = "", *reply = NULL;
	long status = 0;

	(void)state;
	server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n{\"released\":true}");
	assert_int_equal(pf_http_unix_send(s.path, "POST", "/v1/del-network", "{\"ifname\":\"eth0\"}",
					   2000, &x, err, sizeof(err)), 0);
	assert_non_null(x);
	server_stop(&s);
	assert_non_null(strstr(s.request, "\r\n\r\n{\"ifname\":\"eth0\"}"));
	assert_int_equal(pf_http_unix_receive(x, &status, &reply, err, sizeof(err)), 0);
	assert_int_equal(status, 200);
	assert_string_equal(reply, "{\"released\":true}");
	free(reply);
}

/* One bound over both steps: the time between them counts. */
static void receive_deadline_counts_from_the_send(void **state)
{
	struct canned_server s;
	struct pf_http_exchange *x = NULL;
	char err[256] = "", *reply = NULL;
	struct timespec t0, t1, pause = { 0, 400 * 1000 * 1000 };
	long status, ms;
	int rc;

	(void)state;
	server_start(&s, NULL);
	assert_int_equal(pf_http_unix_send(s.path, "POST", "/v1/del-network", "{}", 600, &x, err,
					   sizeof(err)), 0);
	nanosleep(&pause, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = pf_http_unix_receive(x, &status, &reply, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	server_stop(&s);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_int_equal(rc, -ETIMEDOUT);
	assert_true(ms < 500);
	assert_non_null(strstr(err, "POST /v1/del-network on "));
	assert_null(reply);
}

static void send_to_a_missing_socket_fails_at_once(void **state)
{
	struct pf_http_exchange *x = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(pf_http_unix_send("/nonexistent/pf-http.sock", "POST", "/v1/del-network",
					   "{}", 1000, &x, err, sizeof(err)), -ENOENT);
	assert_null(x);
	assert_non_null(strstr(err, "/nonexistent/pf-http.sock"));
}

static void too_long_socket_path_is_refused(void **state)
{
	char path[200], err[256] = "", *reply = NULL;
	long status;

	(void)state;
	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(pf_http_unix_request(path, "GET", "/", NULL, 100, &status, &reply, err,
					      sizeof(err)), -ENAMETOOLONG);
	assert_non_null(strstr(err, "longer than"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(post_sends_json_body_and_returns_status_and_reply),
		cmocka_unit_test(get_sends_no_body_headers),
		cmocka_unit_test(chunked_reply_is_joined),
		cmocka_unit_test(reply_ended_by_close_is_read_to_the_end),
		cmocka_unit_test(interim_1xx_reply_is_skipped),
		cmocka_unit_test(server_closing_mid_body_is_connreset),
		cmocka_unit_test(server_closing_without_reply_is_connreset),
		cmocka_unit_test(reply_that_is_not_http_is_eproto),
		cmocka_unit_test(reply_over_16_mib_is_refused),
		cmocka_unit_test(url_path_with_a_line_break_is_refused),
		cmocka_unit_test(get_error_status_is_returned_with_its_body),
		cmocka_unit_test(empty_body_is_an_empty_string),
		cmocka_unit_test(large_reply_is_collected_whole),
		cmocka_unit_test(missing_socket_is_enoent_naming_the_path),
		cmocka_unit_test(socket_without_listener_is_refused),
		cmocka_unit_test(silent_server_times_out_within_the_bound),
		cmocka_unit_test(too_long_socket_path_is_refused),
		cmocka_unit_test(send_then_receive_later_gets_the_reply),
		cmocka_unit_test(receive_deadline_counts_from_the_send),
		cmocka_unit_test(send_to_a_missing_socket_fails_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
