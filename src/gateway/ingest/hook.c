// SPDX-License-Identifier: MIT
#include "gateway/ingest/hook.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/unixsock.h"
#include "wire/hook.h"

enum { HOOK_BATCH = 64, HOOK_RCVBUF = 1 << 20 };

struct ingest_hook {
	struct ingest_hook_config cfg;
	char *path;
	int fd;
	int stop[2];
	pthread_t thread;
	/* one byte more than a message, so a longer datagram shows as such */
	uint8_t bufs[HOOK_BATCH][HOOK_MSG_LEN + 1];
};

int ingest_hook_decode(struct ingest_initiation *out, const uint8_t *buf, size_t len)
{
	struct hook_msg m;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = hook_msg_decode(&m, buf, len);
	if (ret < 0)
		return ret;
	memcpy(out->bytes, m.initiation, sizeof(out->bytes));
	memcpy(&out->endpoint, &m.endpoint,
	       m.endpoint.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	memcpy(&out->admit_by, &m.client,
	       m.client.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	out->source = INGEST_RELAY;
	clock_gettime(CLOCK_MONOTONIC, &out->ts);
	return 0;
}

static void *hook_main(void *arg)
{
	struct ingest_hook *h = arg;
	struct mmsghdr msgs[HOOK_BATCH];
	struct iovec iov[HOOK_BATCH];
	struct ingest_initiation in[HOOK_BATCH];
	struct pollfd pfd[2] = {
		{ .fd = h->fd, .events = POLLIN },
		{ .fd = h->stop[0], .events = POLLIN },
	};

	for (int i = 0; i < HOOK_BATCH; ++i) {
		iov[i] = (struct iovec){ .iov_base = h->bufs[i], .iov_len = sizeof(h->bufs[i]) };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	for (;;) {
		int n, k = 0;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			log_err("hook: poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		n = recvmmsg(h->fd, msgs, HOOK_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			log_err("hook: recv: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; ++i) {
			if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ||
			    ingest_hook_decode(&in[k], h->bufs[i], msgs[i].msg_len) < 0) {
				metrics_inc(&h->cfg.metrics->hook_malformed);
				continue;
			}
			k++;
		}
		metrics_add(&h->cfg.metrics->hook_received, (uint64_t)k);
		if (k)
			ingest_submit(h->cfg.admit, in, (size_t)k);
	}
	return NULL;
}

static int bind_path(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	struct stat st;
	int fd, sz = HOOK_RCVBUF, e;

	if (len == 0 || len >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, len);
	/* a socket left by a previous run; never remove (or rename over) anything else */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	/* 0660 without umask(): other threads are running by now */
	e = unixsock_bind(fd, path, 0660);
	if (e < 0) {
		close(fd);
		return e;
	}
	return fd;
}

struct ingest_hook *ingest_hook_start(const struct ingest_hook_config *cfg)
{
	struct ingest_hook *h = calloc(1, sizeof(*h));
	int e;

	if (!h)
		return NULL;
	h->cfg = *cfg;
	h->fd = h->stop[0] = h->stop[1] = -1;
	h->path = strdup(cfg->path);
	if (!h->path) {
		e = ENOMEM;
		goto fail;
	}
	h->fd = bind_path(cfg->path);
	if (h->fd < 0) {
		e = -h->fd;
		goto fail;
	}
	if (pipe2(h->stop, O_CLOEXEC) < 0) {
		e = errno;
		goto fail;
	}
	e = pthread_create(&h->thread, NULL, hook_main, h);
	if (e)
		goto fail;
	return h;
fail:
	if (h->fd >= 0) {
		close(h->fd);
		unlink(h->path);
	}
	if (h->stop[0] >= 0) {
		close(h->stop[0]);
		close(h->stop[1]);
	}
	free(h->path);
	free(h);
	errno = e;
	return NULL;
}

void ingest_hook_stop(struct ingest_hook *h)
{
	if (!h)
		return;
	if (write(h->stop[1], "x", 1) < 0)
		log_warn("hook: stop: %s", strerror(errno));
	pthread_join(h->thread, NULL);
	close(h->stop[0]);
	close(h->stop[1]);
	close(h->fd);
	unlink(h->path);
	free(h->path);
	free(h);
}
