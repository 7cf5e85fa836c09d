// SPDX-License-Identifier: MIT
#include "gateway/core/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <microhttpd.h>

#include "common/addrport.h"
#include "common/log.h"
#include "common/mhdreply.h"
#include "common/unixsock.h"


struct httpd {
	struct MHD_Daemon *mhd;
	const struct metrics *m;
	struct status_board *board;
	int fd;                      /* bound at start-up, served from httpd_start() */
	bool ipv6;
};

static mhd_result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			 const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct httpd *h = cls;
	char *body;
	int ret;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return mhd_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", strdup("method not allowed\n"));
	if (!strcmp(url, "/metrics")) {
		body = metrics_render(h->m);
		if (!body)
			return MHD_NO;
		return mhd_reply(conn, MHD_HTTP_OK, MHD_REPLY_PROMETHEUS, body);
	}
	if (!strcmp(url, "/status")) {
		ret = status_board_get(h->board, &body);
		if (ret) {
			if (asprintf(&body, "{\"error\":\"%s\"}\n",
				     ret == -EAGAIN ? "rate limited" : strerror(-ret)) < 0)
				return MHD_NO;
			return mhd_reply(conn, ret == -EAGAIN ? MHD_HTTP_TOO_MANY_REQUESTS : MHD_HTTP_SERVICE_UNAVAILABLE,
				     "application/json", body);
		}
		return mhd_reply(conn, MHD_HTTP_OK, "application/json", body);
	}
	if (!strcmp(url, "/healthz"))
		return mhd_reply(conn, MHD_HTTP_OK, "text/plain", strdup("ok\n"));
	return mhd_reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", strdup("not found\n"));
}

/* ADDR:PORT, [ADDR6]:PORT, :PORT or HOST:PORT (addrport.h), with --metrics' reason on failure. */
static int parse_addr(const char *s, struct sockaddr_storage *ss, const char **errmsg)
{
	socklen_t len;
	int ret = addrport_resolve(s, ADDRPORT_EMPTY_HOST | ADDRPORT_RESOLVE, ss, &len);

	switch (ret) {
	case 0:
		break;
	case -ERANGE:
		*errmsg = "--metrics: bad port";
		break;
	case -EAFNOSUPPORT:
		*errmsg = "--metrics: bad IPv6 address (write [ADDR]:PORT)";
		break;
	case -EADDRNOTAVAIL:
		*errmsg = "--metrics: host name does not resolve (use ADDR:PORT, [ADDR6]:PORT or HOST:PORT)";
		break;
	default:
		*errmsg = "--metrics: expected ADDR:PORT, [ADDR6]:PORT, :PORT or HOST:PORT";
		break;
	}
	return ret ? -EINVAL : 0;
}

struct httpd *httpd_new(const char *addr_port, const struct metrics *m, struct status_board *board,
			const char **errmsg)
{
	struct sockaddr_storage ss;
	struct httpd *h;
	int ret, one = 1, e;

	ret = parse_addr(addr_port, &ss, errmsg);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->m = m;
	h->board = board;
	h->ipv6 = ss.ss_family == AF_INET6;
	h->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (h->fd < 0) {
		*errmsg = "--metrics: no socket";
		goto fail;
	}
	setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(h->fd, (struct sockaddr *)&ss, addrport_len(&ss)) < 0 ||
	    listen(h->fd, 64) < 0) {
		*errmsg = errno == EADDRINUSE ? "--metrics: address in use" : "--metrics: cannot listen (address not local?)";
		goto fail;
	}
	return h;
fail:
	e = errno;
	if (h->fd >= 0)
		close(h->fd);
	free(h);
	errno = e;
	return NULL;
}

int httpd_start(struct httpd *h, const char **errmsg)
{
	/* epoll, not select(): the process holds more than FD_SETSIZE descriptors under load */
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	if (h->ipv6)
		flags |= MHD_USE_IPv6;
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, h,
				  MHD_OPTION_LISTEN_SOCKET, h->fd,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
				  MHD_OPTION_END);
	if (!h->mhd) {
		*errmsg = "--metrics: cannot start the HTTP server";
		return -EIO;
	}
	return 0;
}

void httpd_free(struct httpd *h)
{
	if (!h)
		return;
	if (h->mhd)
		MHD_stop_daemon(h->mhd); /* closes the listening socket */
	else
		close(h->fd);
	free(h);
}

struct status_server {
	int fd;
	int stop[2];
	pthread_t thread;
	struct status_board *board;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void *status_main(void *arg)
{
	struct status_server *s = arg;
	struct pollfd pfd[2] = { { .fd = s->fd, .events = POLLIN }, { .fd = s->stop[0], .events = POLLIN } };

	for (;;) {
		char *json = NULL;
		int c, ret;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		/* A client that doesn't read must not wedge us. */
		struct timeval tv = { .tv_sec = 2 };
		setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		ret = status_board_get(s->board, &json);
		if (ret) {
			char err[128];
			snprintf(err, sizeof(err), "{\"error\":\"%s\"}\n",
				 ret == -EAGAIN ? "rate limited" : strerror(-ret));
			write_all(c, err, strlen(err));
		} else {
			write_all(c, json, strlen(json));
			write_all(c, "\n", 1);
			free(json);
		}
		close(c);
	}
	return NULL;
}

struct status_server *status_server_new(const char *path, struct status_board *board, const char **errmsg)
{
	struct status_server *s;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[PATH_MAX], *slash;
	int ret, e;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		*errmsg = "--status-socket: path too long";
		errno = ENAMETOOLONG;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->fd = -1;
	s->stop[0] = s->stop[1] = -1;
	s->board = board;
	snprintf(s->path, sizeof(s->path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
	memcpy(sun.sun_path, path, strlen(path));
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || pipe2(s->stop, O_CLOEXEC) < 0) {
		*errmsg = "--status-socket: socket failed";
		goto fail;
	}
	/* A socket file left by a crashed daemon: replace it only if nobody answers on it. */
	if (connect(s->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		*errmsg = "--status-socket: another jitwgd is serving this interface";
		errno = EADDRINUSE;
		goto fail;
	}
	close(s->fd);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(path);
	ret = unixsock_bind(s->fd, path, 0600); /* no umask(): other threads run */
	if (ret < 0)
		errno = -ret;
	if (ret < 0 || listen(s->fd, 16) < 0) {
		*errmsg = "--status-socket: cannot bind";
		if (ret == 0)
			unlink(path);
		goto fail;
	}
	ret = pthread_create(&s->thread, NULL, status_main, s);
	if (ret) {
		errno = ret;
		*errmsg = "--status-socket: no thread";
		unlink(path);
		goto fail;
	}
	return s;
fail:
	e = errno;
	if (s->fd >= 0)
		close(s->fd);
	if (s->stop[0] >= 0) {
		close(s->stop[0]);
		close(s->stop[1]);
	}
	free(s);
	errno = e;
	return NULL;
}

void status_server_free(struct status_server *s)
{
	if (!s)
		return;
	write_all(s->stop[1], "x", 1);
	pthread_join(s->thread, NULL);
	close(s->fd);
	close(s->stop[0]);
	close(s->stop[1]);
	unlink(s->path);
	free(s);
}
