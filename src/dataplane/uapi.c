// SPDX-License-Identifier: MIT
/*
 * Userspace backend: the cross-platform UAPI over the unix socket
 * /var/run/wireguard/<iface>.sock (wireguard-go, boringtun). The text itself
 * is parsed and formatted in uapi-parse.c.
 *
 * One connection is kept for all operations (the protocol serves one after
 * another on a connection): wg(8) connects per operation, but jitwgd makes
 * thousands of calls in a burst, and a new connection costs wireguard-go an
 * accept and a goroutine before it reads a byte (a one-peer set took p50
 * 458 us on a new connection, 295 us on a kept one). A connection found dead
 * (the daemon restarted) is replaced once per operation, and only when it
 * failed before any reply byte: a daemon that hung up without one either
 * never read the request or died with what it applied, so sending it again
 * on a new connection repeats nothing (and a keepalive edge replayed within
 * REKEY_TIMEOUT sends no second initiation). After an error reply the
 * connection is dropped, since wireguard-go stops reading it mid-request.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/uapi.h"
#include "common/clock.h"

enum {
	UAPI_READ_CHUNK = 64 * 1024,
	/*
	 * Peers per "set=1" transaction. wireguard-go holds its configuration
	 * lock for a whole transaction; bounding it keeps a mass install or
	 * eviction from stalling a concurrent `wg show` for long.
	 */
	UAPI_SET_BATCH = 4096,
	/*
	 * Inactivity limit: every byte moved restarts it, so a 4096-peer set
	 * on a loaded host (seconds of wireguard-go work) never trips it while
	 * a daemon that stops talking does.
	 */
	UAPI_TIMEOUT_MS = 10000,
};

#define UAPI_SOCK_DIR "/var/run/wireguard"

struct uapi_state {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;  /* the kept connection, -1 when none */
};

static int sock_path(char *out, size_t cap, const char *ifname)
{
	int n;

	/* The name becomes a path: no separators, no dot entries. */
	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/') ||
	    !strcmp(ifname, ".") || !strcmp(ifname, ".."))
		return -EINVAL;
	n = snprintf(out, cap, "%s/%s.sock", UAPI_SOCK_DIR, ifname);
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	return 0;
}

bool dataplane_uapi_available(const char *ifname)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;

	if (sock_path(path, sizeof(path), ifname) < 0)
		return false;
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static int uapi_connect(const struct uapi_state *s)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, ret;

	memcpy(sun.sun_path, s->path, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* Waits for fd to be ready for events, at most until deadline. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int r;

	for (;;) {
		left = deadline - (int64_t)clock_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int write_all(int fd, const char *p, size_t len, int64_t *deadline)
{
	ssize_t w;
	int ret;

	while (len) {
		w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			ret = wait_fd(fd, POLLOUT, *deadline);
			if (ret < 0)
				return ret;
			continue;
		}
		*deadline = (int64_t)clock_mono_ms() + UAPI_TIMEOUT_MS;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * Reads a reply up to the empty line that ends it, handing each line to
 * fn. Linear in the reply's size: lines are cut in place with memchr and
 * the unfinished tail stays in the bounded buffer, which compacts it to the
 * front before it grows. The buffer may hold the private key in hex, so it
 * wipes what it lets go of. A hang-up before the first reply byte is
 * -ECONNRESET (the request may be sent again), after it -EPROTO.
 */
static int read_reply(int fd, int64_t *deadline,
		      int (*fn)(void *ctx, const char *line, size_t len), void *ctx)
{
	struct buf b = BUF_INIT(UAPI_READ_CHUNK, true);
	size_t scanned = 0; /* bytes of buf_data(&b) already searched for '\n' */
	bool end = false, any = false;
	uint8_t *tail;
	ssize_t r;
	int ret = 0;

	while (!end) {
		if ((ret = buf_reserve(&b, UAPI_READ_CHUNK - buf_len(&b), &tail)) < 0)
			goto out;
		r = recv(fd, tail, UAPI_READ_CHUNK - buf_len(&b), MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				ret = -errno;
				goto out;
			}
			ret = wait_fd(fd, POLLIN, *deadline);
			if (ret < 0)
				goto out;
			continue;
		}
		*deadline = (int64_t)clock_mono_ms() + UAPI_TIMEOUT_MS;
		if (r == 0) {
			ret = any ? -EPROTO : -ECONNRESET; /* closed before the reply ended */
			goto out;
		}
		any = true;
		buf_added(&b, (size_t)r);
		while (buf_len(&b) > scanned) {
			const char *p = (const char *)buf_data(&b);
			const char *nl = memchr(p + scanned, '\n', buf_len(&b) - scanned);

			if (!nl)
				break;
			if (nl == p) {
				end = true;
				/* Nothing may follow the empty line: we sent one request. */
				if (buf_len(&b) != 1)
					ret = -EPROTO;
				break;
			}
			ret = fn(ctx, p, (size_t)(nl - p));
			if (ret < 0)
				goto out;
			buf_consume(&b, (size_t)(nl - p) + 1);
			scanned = 0;
		}
		scanned = buf_len(&b);
		if (!end && buf_len(&b) > UAPI_LINE_MAX) {
			ret = -EPROTO;
			goto out;
		}
	}
out:
	buf_free(&b);
	return ret;
}

static void drop_conn(struct uapi_state *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/*
 * One operation: the request's pieces, then the reply's lines to fn. On the
 * kept connection when there is one; a kept connection that turns out dead
 * before the reply began is replaced and the request sent again, once (fn
 * has seen nothing then). Returns read_reply's result; *wret gets the
 * write's own (a daemon that rejects a line answers and hangs up while we
 * still write, so a failed write may come with a reply).
 */
static int transact(struct uapi_state *s, const struct iovec *req, size_t nreq,
		    int (*fn)(void *ctx, const char *line, size_t len), void *ctx, int *wret)
{
	int64_t deadline;
	bool fresh;
	size_t i;
	int ret, w;

	for (int attempt = 0;; ++attempt) {
		fresh = s->fd < 0;
		if (fresh && (s->fd = uapi_connect(s)) < 0) {
			ret = s->fd;
			s->fd = -1;
			return ret;
		}
		deadline = (int64_t)clock_mono_ms() + UAPI_TIMEOUT_MS;
		for (i = 0, w = 0; i < nreq && !w; ++i)
			w = write_all(s->fd, req[i].iov_base, req[i].iov_len, &deadline);
		ret = read_reply(s->fd, &deadline, fn, ctx);
		if (ret == -ECONNRESET && w)
			ret = w;
		if (!ret) {
			*wret = w;
			return 0;
		}
		drop_conn(s);
		if (fresh || attempt || (ret != -ECONNRESET && ret != -EPIPE)) {
			*wret = w;
			return ret;
		}
	}
}

static int get_line(void *ctx, const char *line, size_t len)
{
	return uapi_get_line(ctx, line, len);
}

/* One get transaction; *peers only when peers != NULL. */
static int do_get(struct uapi_state *s, struct dp_device *dev, struct dp_peer **peers, size_t *n)
{
	const struct iovec req = { .iov_base = "get=1\n\n", .iov_len = 7 };
	struct uapi_get g;
	int ret, wret;

	uapi_get_init(&g, peers != NULL);
	ret = transact(s, &req, 1, get_line, &g, &wret);
	if (!ret)
		ret = wret;
	if (ret < 0) {
		uapi_get_uninit(&g);
		return ret;
	}
	return uapi_get_finish(&g, dev, peers, n);
}

struct set_reply {
	bool seen;
	int err;
};

static int set_line(void *ctx, const char *line, size_t len)
{
	struct set_reply *r = ctx;
	struct uapi_get g;
	int ret;

	/* A set reply is exactly "errno=N"; reuse the strict get parser for it. */
	if (r->seen || len < 6 || memcmp(line, "errno=", 6))
		return -EPROTO;
	uapi_get_init(&g, false);
	ret = uapi_get_line(&g, line, len);
	if (!ret)
		r->err = g.reply_errno;
	uapi_get_uninit(&g);
	r->seen = true;
	return ret;
}

/* Sends one "set=1" transaction (b holds its body) and decodes errno=N. */
static int do_set(struct uapi_state *s, struct buf *b)
{
	const struct iovec req[3] = {
		{ .iov_base = "set=1\n", .iov_len = 6 },
		{ .iov_base = (void *)buf_data(b), .iov_len = buf_len(b) },
		{ .iov_base = "\n", .iov_len = 1 },
	};
	struct set_reply rep = { 0 };
	int ret, wret = 0;

	/*
	 * On a bad line wireguard-go answers at once and hangs up, so a failed
	 * write may still have an errno=N waiting: prefer it to EPIPE.
	 */
	ret = transact(s, req, 3, set_line, &rep, &wret);
	if (!ret && !rep.seen)
		ret = -EPROTO;
	if (!ret && rep.err)
		ret = -rep.err;
	if (!ret && wret)
		ret = wret;
	if (ret == -EPROTO && wret)
		ret = wret;
	/* the daemon stops reading a connection after an error reply */
	if (ret)
		drop_conn(s);
	return ret;
}

/*
 * Counts one more peer formatted into b; at UAPI_SET_BATCH peers sends them
 * and empties b, so no set=1 transaction grows without bound.
 */
static int batch_added(struct uapi_state *s, struct buf *b, size_t *in_batch)
{
	int ret;

	if (++*in_batch < UAPI_SET_BATCH)
		return 0;
	ret = do_set(s, b);
	if (ret < 0)
		return ret;
	buf_free(b);
	*in_batch = 0;
	return 0;
}

static int uapi_open(const char *ifname, void **state)
{
	struct uapi_state *s;
	int fd, ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = -1;
	ret = sock_path(s->path, sizeof(s->path), ifname);
	if (ret < 0)
		goto out;
	/* Connect now so that a missing or stale socket fails at open time; kept for the first call. */
	fd = uapi_connect(s);
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	s->fd = fd;
	*state = s;
	s = NULL;
out:
	free(s);
	return ret;
}

static void uapi_close(void *state)
{
	drop_conn(state);
	free(state);
}

static int uapi_get_device(void *state, struct dp_device *dev)
{
	return do_get(state, dev, NULL, NULL);
}

static int uapi_list_peers(void *state, struct dp_peer **peers, size_t *n)
{
	struct dp_device dev;
	int ret;

	ret = do_get(state, &dev, peers, n);
	dataplane_device_wipe(&dev);
	return ret;
}

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, WG_KEY_LEN);
}

/*
 * UAPI has no "fail if missing": update_only=true silently skips an absent
 * peer. The seam promises -ENOENT, so learn which keys exist from one get
 * (sorted, binary-searched: linear-logarithmic in the table size). This
 * costs a full listing, so only calls that use DP_PEER_UPDATE_ONLY pay it.
 */
static int missing_keys(struct uapi_state *s, const struct dp_peer *peers, size_t n, bool *missing,
			size_t *n_missing)
{
	struct dp_peer *cur = NULL;
	uint8_t (*keys)[WG_KEY_LEN] = NULL;
	size_t ncur = 0, i;
	int ret;

	*n_missing = 0;
	ret = uapi_list_peers(s, &cur, &ncur);
	if (ret < 0)
		return ret;
	if (ncur) {
		keys = malloc(ncur * sizeof(*keys));
		if (!keys) {
			ret = -ENOMEM;
			goto out;
		}
		for (i = 0; i < ncur; i++)
			memcpy(keys[i], cur[i].public_key, WG_KEY_LEN);
		qsort(keys, ncur, sizeof(*keys), cmp_key);
	}
	for (i = 0; i < n; i++) {
		missing[i] = (peers[i].flags & DP_PEER_UPDATE_ONLY) &&
			     !(ncur && bsearch(peers[i].public_key, keys, ncur, sizeof(*keys), cmp_key));
		*n_missing += missing[i];
	}
out:
	free(keys);
	dataplane_peers_free(cur, ncur);
	return ret;
}

static int uapi_set_peers(void *state, const struct dp_peer *peers, size_t n)
{
	struct uapi_state *s = state;
	struct buf b = BUF_INIT(UAPI_SET_MAX, true); /* preshared keys */
	bool *missing = NULL;
	size_t i, n_missing = 0, in_batch = 0;
	bool any_update_only = false;
	int ret = 0;

	for (i = 0; i < n; i++)
		any_update_only |= !!(peers[i].flags & DP_PEER_UPDATE_ONLY);
	if (any_update_only) {
		missing = calloc(n, sizeof(*missing));
		if (!missing)
			return -ENOMEM;
		ret = missing_keys(s, peers, n, missing, &n_missing);
		if (ret < 0)
			goto out;
	}
	for (i = 0; i < n; i++) {
		if (missing && missing[i])
			continue;
		ret = uapi_format_peer(&b, &peers[i]);
		if (ret < 0)
			goto out;
		ret = batch_added(s, &b, &in_batch);
		if (ret < 0)
			goto out;
	}
	if (in_batch)
		ret = do_set(s, &b);
	if (!ret && n_missing)
		ret = -ENOENT;
out:
	buf_free(&b);
	free(missing);
	return ret;
}

static int uapi_remove_peers(void *state, const uint8_t (*keys)[WG_KEY_LEN], size_t n)
{
	struct buf b = BUF_INIT(UAPI_SET_MAX, true);
	size_t i, in_batch = 0;
	int ret = 0;

	for (i = 0; i < n; i++) {
		ret = uapi_format_remove(&b, keys[i]);
		if (ret < 0)
			goto out;
		ret = batch_added(state, &b, &in_batch);
		if (ret < 0)
			goto out;
	}
	if (in_batch)
		ret = do_set(state, &b);
out:
	buf_free(&b);
	return ret;
}

const struct dataplane_ops dataplane_uapi_ops = {
	.name = "userspace",
	.open = uapi_open,
	.close = uapi_close,
	.get_device = uapi_get_device,
	.list_peers = uapi_list_peers,
	.set_peers = uapi_set_peers,
	.remove_peers = uapi_remove_peers,
};
