// SPDX-License-Identifier: Apache-2.0
/*
 * One HTTP/1.1 request over a unix socket. The request (request line, Host,
 * Content-Type, Content-Length, Connection: close) is written here; the
 * reply is read by nodejs's http-parser, which knows the status line,
 * headers, and bodies sized by Content-Length, chunked or ended by the close.
 *
 * Not libcurl: the CNI plugin is one process per call, and loading libcurl's
 * thirty shared objects (TLS, Kerberos, LDAP, ...) and running their
 * constructors took 15 of the 19 ms a bare plugin call cost, for a plain
 * HTTP exchange on a local socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <http_parser.h>

#include "growbuf.h"
#include "http_client.h"

/* A reply larger than this is not one of ours: refuse it rather than grow. */
#define PF_HTTP_REPLY_MAX (16u << 20)
/* The request line and headers; the body goes from the caller's buffer. */
#define PF_HTTP_HEAD_MAX 1024

struct pf_http_exchange {
	const char *path, *method, *url_path;
	char *errmsg;
	size_t errmsg_len;
	long timeout_ms;
	struct timespec deadline; /* CLOCK_MONOTONIC: one bound over the whole call */
	int fd;
};

/* The reply body as http-parser hands it over. */
struct pf_http_body {
	struct pf_growbuf text; /* max PF_HTTP_REPLY_MAX */
	bool done, no_memory, skip_body;
};

/* "<method> <url path> on <socket>: <what failed>" into errmsg; returns err. */
static int __attribute__((format(printf, 3, 4)))
pf_http_fail(const struct pf_http_exchange *c, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->errmsg || !c->errmsg_len)
		return err;
	n = snprintf(c->errmsg, c->errmsg_len, "%s %s on %s: ", c->method, c->url_path, c->path);
	if (n < 0 || (size_t)n >= c->errmsg_len)
		return err;
	va_start(ap, fmt);
	vsnprintf(c->errmsg + n, c->errmsg_len - (size_t)n, fmt, ap);
	va_end(ap);
	return err;
}

/* Milliseconds to the deadline, rounded up so a poll never spins at 0. */
static int pf_http_ms_left(const struct pf_http_exchange *c)
{
	struct timespec now;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (long long)(c->deadline.tv_sec - now.tv_sec) * 1000000000LL +
	     (c->deadline.tv_nsec - now.tv_nsec);
	return ns > 0 ? (int)((ns + 999999) / 1000000) : 0;
}

/* Waits until the socket is ready for events: 0, -ETIMEDOUT at the
 * deadline, or -errno. */
static int pf_http_wait(const struct pf_http_exchange *c, short events)
{
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = events };
		int left = pf_http_ms_left(c), n;

		if (!left)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int pf_http_connect(struct pf_http_exchange *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	/* A unix connect blocks only while the listener's backlog is full,
	 * and then for at most SO_SNDTIMEO, after which it fails with EAGAIN. */
	struct timeval tv = { .tv_sec = c->timeout_ms / 1000,
			      .tv_usec = (c->timeout_ms % 1000) * 1000 };

	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return pf_http_fail(c, -errno, "socket: %s", strerror(errno));
	if (setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return pf_http_fail(c, -errno, "set the connect timeout: %s", strerror(errno));
	memcpy(sun.sun_path, c->path, strlen(c->path) + 1);
	while (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun))) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return pf_http_fail(c, -ETIMEDOUT,
					    "connect timed out after %ld ms (the listener's backlog is full)",
					    c->timeout_ms);
		/* ENOENT: no socket file, ECONNREFUSED: nobody listens,
		 * EACCES: not root. */
		return pf_http_fail(c, -errno, "%s", strerror(errno));
	}
	if (fcntl(c->fd, F_SETFL, O_NONBLOCK))
		return pf_http_fail(c, -errno, "make the socket non-blocking: %s", strerror(errno));
	return 0;
}

/* The request head and the body in as few writes as the socket allows. */
static int pf_http_send(const struct pf_http_exchange *c, char *head, size_t head_len,
			const char *body, size_t body_len)
{
	struct iovec iov[2] = { { head, head_len }, { (void *)body, body_len } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = body_len ? 2 : 1 };

	while (msg.msg_iovlen) {
		ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int rc = pf_http_wait(c, POLLOUT);

			if (rc == -ETIMEDOUT)
				return pf_http_fail(c, rc, "timed out after %ld ms sending the request",
						    c->timeout_ms);
			if (rc)
				return pf_http_fail(c, rc, "poll: %s", strerror(-rc));
			continue;
		}
		if (n < 0)
			return pf_http_fail(c, -errno, "send the request: %s", strerror(errno));
		while (msg.msg_iovlen && (size_t)n >= msg.msg_iov->iov_len) {
			n -= (ssize_t)msg.msg_iov->iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen) {
			msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + n;
			msg.msg_iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* ---- the reply, through http-parser ---- */

static int pf_http_on_headers_complete(http_parser *p)
{
	const struct pf_http_body *b = p->data;

	/* 1: the parser expects no body, whatever the headers announce. */
	return b->skip_body ? 1 : 0;
}

static int pf_http_on_body(http_parser *p, const char *at, size_t n)
{
	struct pf_http_body *b = p->data;

	if (pf_growbuf_add(&b->text, at, n))
		return 0;
	b->no_memory = !b->text.too_big;
	return -1;
}

static int pf_http_on_message_complete(http_parser *p)
{
	struct pf_http_body *b = p->data;

	/* A 1xx reply is interim (RFC 9110, section 15.2): the final reply
	 * follows on the same connection. */
	if (p->status_code / 100 == 1)
		return 0;
	b->done = true;
	/* Whatever follows the reply is not ours to parse. */
	http_parser_pause(p, 1);
	return 0;
}

/* What a parse that stopped without a complete reply means. */
static int pf_http_parse_error(const struct pf_http_exchange *c, const http_parser *p,
			       const struct pf_http_body *b)
{
	if (b->text.too_big)
		return pf_http_fail(c, -EMSGSIZE, "reply larger than %u bytes", PF_HTTP_REPLY_MAX);
	if (b->no_memory)
		return pf_http_fail(c, -ENOMEM, "out of memory");
	return pf_http_fail(c, -EPROTO, "malformed reply: %s",
			    http_errno_description(HTTP_PARSER_ERRNO(p)));
}

static int pf_http_receive(const struct pf_http_exchange *c, http_parser *p, struct pf_http_body *b)
{
	http_parser_settings settings;
	size_t received = 0;
	char buf[16384];

	http_parser_settings_init(&settings);
	settings.on_headers_complete = pf_http_on_headers_complete;
	settings.on_body = pf_http_on_body;
	settings.on_message_complete = pf_http_on_message_complete;
	while (!b->done) {
		ssize_t n = read(c->fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			int rc = pf_http_wait(c, POLLIN);

			if (rc == -ETIMEDOUT)
				return pf_http_fail(c, rc, "timed out after %ld ms with %zu bytes of the reply received",
						    c->timeout_ms, received);
			if (rc)
				return pf_http_fail(c, rc, "poll: %s", strerror(-rc));
			continue;
		}
		if (n < 0)
			return pf_http_fail(c, -errno, "read the reply: %s", strerror(errno));
		/* n == 0 tells the parser the connection ended, which
		 * completes a body that runs to the close. */
		http_parser_execute(p, &settings, buf, (size_t)n);
		if (b->done)
			break;
		if (HTTP_PARSER_ERRNO(p) != HPE_OK && !(n == 0 && HTTP_PARSER_ERRNO(p) == HPE_INVALID_EOF_STATE))
			return pf_http_parse_error(c, p, b);
		if (n == 0)
			return pf_http_fail(c, -ECONNRESET, "the server closed the connection %s",
					    received ? "before the reply was complete"
						     : "without a reply");
		received += (size_t)n;
	}
	return 0;
}

/* A method and URL path go into the request line as they are: no space,
 * no control character, no line break that would start another header. */
static bool pf_http_token_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

int pf_http_unix_send(const char *path, const char *method, const char *url_path,
		      const char *body, long timeout_ms, struct pf_http_exchange **out,
		      char *errmsg, size_t errmsg_len)
{
	struct pf_http_exchange c = { .path = path, .method = method, .url_path = url_path,
				      .errmsg = errmsg, .errmsg_len = errmsg_len,
				      .timeout_ms = timeout_ms, .fd = -1 };
	size_t body_len = body ? strlen(body) : 0;
	char head[PF_HTTP_HEAD_MAX];
	struct sockaddr_un sun;
	int n, rc;

	*out = NULL;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		if (errmsg)
			snprintf(errmsg, errmsg_len, "socket path %s is longer than %zu bytes", path,
				 sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	if (!pf_http_token_ok(method) || url_path[0] != '/' || !pf_http_token_ok(url_path))
		return pf_http_fail(&c, -EINVAL,
				    "the method or URL path is empty, has a space or a control character, or the path does not start with /");
	if (timeout_ms <= 0)
		return pf_http_fail(&c, -EINVAL, "timeout %ld ms is not positive", timeout_ms);
	n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: localhost\r\n", method, url_path);
	if (n > 0 && (size_t)n < sizeof(head) && body)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
			      "Content-Type: application/json\r\nContent-Length: %zu\r\n", body_len);
	if (n > 0 && (size_t)n < sizeof(head))
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Connection: close\r\n\r\n");
	if (n < 0 || (size_t)n >= sizeof(head)) {
		if (errmsg)
			snprintf(errmsg, errmsg_len, "URL path %s is too long", url_path);
		return -ENAMETOOLONG;
	}

	clock_gettime(CLOCK_MONOTONIC, &c.deadline);
	c.deadline.tv_sec += timeout_ms / 1000;
	c.deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (c.deadline.tv_nsec >= 1000000000L) {
		c.deadline.tv_sec++;
		c.deadline.tv_nsec -= 1000000000L;
	}
	rc = pf_http_connect(&c);
	if (!rc)
		rc = pf_http_send(&c, head, (size_t)n, body, body_len);
	if (!rc) {
		*out = malloc(sizeof(**out));
		if (!*out)
			rc = pf_http_fail(&c, -ENOMEM, "out of memory");
	}
	if (rc) {
		if (c.fd >= 0)
			close(c.fd);
		return rc;
	}
	**out = c;
	return 0;
}

int pf_http_unix_receive(struct pf_http_exchange *x, long *status, char **reply, char *errmsg,
			 size_t errmsg_len)
{
	struct pf_http_body b = { .text.max = PF_HTTP_REPLY_MAX,
				  .skip_body = !strcmp(x->method, "HEAD") };
	http_parser p;
	int rc;

	*reply = NULL;
	*status = 0;
	x->errmsg = errmsg;
	x->errmsg_len = errmsg_len;
	http_parser_init(&p, HTTP_RESPONSE);
	p.data = &b;
	rc = pf_http_receive(x, &p, &b);
	close(x->fd);
	if (!rc && !pf_growbuf_add(&b.text, "", 0))
		rc = pf_http_fail(x, -ENOMEM, "out of memory");
	free(x);
	if (rc) {
		pf_growbuf_free(&b.text);
		return rc;
	}
	*status = p.status_code;
	*reply = b.text.data;
	return 0;
}

int pf_http_unix_request(const char *path, const char *method, const char *url_path,
			 const char *body, long timeout_ms, long *status, char **reply,
			 char *errmsg, size_t errmsg_len)
{
	struct pf_http_exchange *x;
	int rc = pf_http_unix_send(path, method, url_path, body, timeout_ms, &x, errmsg,
				   errmsg_len);

	if (rc) {
		*reply = NULL;
		*status = 0;
		return rc;
	}
	return pf_http_unix_receive(x, status, reply, errmsg, errmsg_len);
}
