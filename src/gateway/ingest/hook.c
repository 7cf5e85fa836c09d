// SPDX-License-Identifier: MIT
#include "gateway/ingest/hook.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/unixsock.h"
#include "wire/hook.h"

enum { HOOK_BATCH = 64, HOOK_RCVBUF = 1 << 20 };

/* The credentials the kernel attaches to each datagram (SO_PASSCRED). */
union hook_cmsg {
	struct cmsghdr align;
	uint8_t buf[CMSG_SPACE(sizeof(struct ucred))];
};

struct ingest_hook {
	struct ingest_hook_config cfg;
	struct cidr endpoints[INGEST_HOOK_MAX_ENDPOINTS];
	size_t nendpoints;
	uid_t self_uid, peer_uid;   /* peer_uid: (uid_t)-1 when no --hook-peer-user */
	gid_t peer_gid;             /* the socket file's group */
	char *path, *lock_path;
	int fd, lock_fd;
	dev_t dev;                  /* the socket file we bound: unlinked at stop */
	ino_t ino;                  /* only while it is still this one */
	int stop[2];
	pthread_t thread;
	/* one byte more than a message, so a longer datagram shows as such */
	uint8_t bufs[HOOK_BATCH][HOOK_MSG_LEN + 1];
	union hook_cmsg cmsgs[HOOK_BATCH];
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

int ingest_hook_endpoints_parse(const char *list, struct cidr out[static INGEST_HOOK_MAX_ENDPOINTS],
				size_t *n)
{
	struct cidr *c = NULL;
	size_t k = 0;
	int ret;

	ret = cidr_list_parse(list ? list : INGEST_HOOK_DEFAULT_ENDPOINTS, &c, &k);
	if (ret == 0 && (k == 0 || k > INGEST_HOOK_MAX_ENDPOINTS))
		ret = -EINVAL;
	if (ret == 0) {
		memcpy(out, c, k * sizeof(*c));
		*n = k;
	}
	free(c);
	return ret;
}

/* root, jitwgd's own user, --hook-peer-user, or the socket's group */
static bool sender_ok(const struct ingest_hook *h, const struct ucred *cr)
{
	if (!cr)
		return false;
	return cr->uid == 0 || cr->uid == h->self_uid || cr->uid == h->peer_uid || cr->gid == h->peer_gid;
}

static bool endpoint_ok(const struct ingest_hook *h, const struct sockaddr *ep)
{
	for (size_t i = 0; i < h->nendpoints; ++i)
		if (cidr_contains(&h->endpoints[i], ep))
			return true;
	return false;
}

static const struct ucred *creds_of(struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
			return (const struct ucred *)(void *)CMSG_DATA(cm);
	return NULL;
}

/* Decodes and checks one datagram; counts why it is refused. */
static bool accept_one(struct ingest_hook *h, struct mmsghdr *mm, const uint8_t *buf,
		       struct ingest_initiation *out)
{
	struct metrics *m = h->cfg.metrics;
	const struct ucred *cr = creds_of(&mm->msg_hdr);

	if (!sender_ok(h, cr)) {
		metrics_inc(&m->hook_sender_refused);
		log_ratelimited_debug("hook: datagram from uid %ld gid %ld refused",
				      cr ? (long)cr->uid : -1L, cr ? (long)cr->gid : -1L);
		return false;
	}
	if ((mm->msg_hdr.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    ingest_hook_decode(out, buf, mm->msg_len) < 0) {
		metrics_inc(&m->hook_malformed);
		return false;
	}
	if (!endpoint_ok(h, (const struct sockaddr *)&out->endpoint)) {
		metrics_inc(&m->hook_endpoint_refused);
		return false;
	}
	return true;
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

	for (;;) {
		int n, k = 0;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			log_err("hook: poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		/* recvmmsg writes msg_controllen and msg_flags back: reset each time */
		for (int i = 0; i < HOOK_BATCH; ++i) {
			iov[i] = (struct iovec){ .iov_base = h->bufs[i], .iov_len = sizeof(h->bufs[i]) };
			msgs[i] = (struct mmsghdr){ .msg_hdr = {
				.msg_iov = &iov[i], .msg_iovlen = 1,
				.msg_control = h->cmsgs[i].buf, .msg_controllen = sizeof(h->cmsgs[i].buf) } };
		}
		n = recvmmsg(h->fd, msgs, HOOK_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			log_err("hook: recv: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; ++i)
			if (accept_one(h, &msgs[i], h->bufs[i], &in[k]))
				k++;
		metrics_add(&h->cfg.metrics->hook_received, (uint64_t)k);
		if (k)
			ingest_submit(h->cfg.admit, in, (size_t)k);
	}
	return NULL;
}

/*
 * PATH.lock, held for the daemon's life: the one jitwgd holding it owns
 * PATH. A second jitwgd naming the same path fails here instead of
 * replacing (and later unlinking) the first one's socket.
 */
static int lock_path(struct ingest_hook *h)
{
	if (asprintf(&h->lock_path, "%s.lock", h->path) < 0) {
		h->lock_path = NULL;
		return -ENOMEM;
	}
	h->lock_fd = open(h->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (h->lock_fd < 0)
		return -errno;
	if (flock(h->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EADDRINUSE : -errno;
	return 0;
}

/*
 * Notes which file is ours; without --hook-peer-group, the senders' group is
 * the one the socket file got (jitwgd's, or its directory's when setgid).
 * No chown: jitwgd's seccomp filter (~@privileged) forbids it.
 */
static int own_path(struct ingest_hook *h)
{
	struct stat st;

	if (lstat(h->path, &st) < 0)
		return -errno;
	h->dev = st.st_dev;
	h->ino = st.st_ino;
	if (!h->cfg.peer_group)
		h->peer_gid = st.st_gid;
	return 0;
}

static int bind_path(struct ingest_hook *h)
{
	struct stat st;
	int fd, sz = HOOK_RCVBUF, one = 1, e;

	if (strlen(h->path) == 0 || strlen(h->path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	/* a socket left by a previous run (we hold the lock); never remove anything else */
	if (lstat(h->path, &st) == 0 && !S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	/* 0660 without umask(): other threads are running by now; rename()
	 * replaces a stale socket atomically */
	e = unixsock_bind(fd, h->path, 0660);
	if (e < 0) {
		close(fd);
		return e;
	}
	h->fd = fd;
	return own_path(h);
}

static int resolve_peers(struct ingest_hook *h)
{
	const struct ingest_hook_config *cfg = &h->cfg;

	h->self_uid = geteuid();
	h->peer_uid = (uid_t)-1;
	h->peer_gid = getegid();
	if (cfg->peer_user) {
		struct passwd *pw = getpwnam(cfg->peer_user);
		if (!pw)
			return -ESRCH;
		h->peer_uid = pw->pw_uid;
	}
	if (cfg->peer_group) {
		struct group *gr = getgrnam(cfg->peer_group);
		if (!gr)
			return -ESRCH;
		h->peer_gid = gr->gr_gid;
	}
	return ingest_hook_endpoints_parse(cfg->endpoints, h->endpoints, &h->nendpoints);
}

static void hook_free(struct ingest_hook *h, bool unlink_socket)
{
	struct stat st;

	if (h->fd >= 0) {
		close(h->fd);
		/* only the socket file we bound: never a successor's */
		if (unlink_socket && lstat(h->path, &st) == 0 && st.st_dev == h->dev && st.st_ino == h->ino)
			unlink(h->path);
	}
	if (h->stop[0] >= 0) {
		close(h->stop[0]);
		close(h->stop[1]);
	}
	if (h->lock_fd >= 0)
		close(h->lock_fd); /* the lock file stays: removing it would race a new owner */
	free(h->path);
	free(h->lock_path);
	free(h);
}

struct ingest_hook *ingest_hook_start(const struct ingest_hook_config *cfg, const char **why)
{
	struct ingest_hook *h = calloc(1, sizeof(*h));
	int e;

	*why = NULL;
	if (!h)
		return NULL;
	h->cfg = *cfg;
	h->fd = h->lock_fd = h->stop[0] = h->stop[1] = -1;
	h->path = strdup(cfg->path);
	if (!h->path) {
		e = -ENOMEM;
		goto fail;
	}
	if ((e = resolve_peers(h)) < 0) {
		*why = e == -ESRCH ? "unknown --hook-peer-user or --hook-peer-group" : "bad --hook-endpoints";
		goto fail;
	}
	if ((e = lock_path(h)) < 0) {
		*why = e == -EADDRINUSE ? "another jitwgd serves this hook socket (give each interface "
					  "its own --hook path)" : "cannot lock PATH.lock";
		goto fail;
	}
	if ((e = bind_path(h)) < 0) {
		*why = "cannot bind";
		goto fail;
	}
	if (pipe2(h->stop, O_CLOEXEC) < 0) {
		e = -errno;
		goto fail;
	}
	e = -pthread_create(&h->thread, NULL, hook_main, h);
	if (e)
		goto fail;
	return h;
fail:
	hook_free(h, h->ino != 0);
	errno = -e;
	return NULL;
}

void ingest_hook_stop(struct ingest_hook *h)
{
	if (!h)
		return;
	if (write(h->stop[1], "x", 1) < 0)
		log_warn("hook: stop: %s", strerror(errno));
	pthread_join(h->thread, NULL);
	hook_free(h, true);
}
