// SPDX-License-Identifier: MIT
/*
 * The relay's end of the hook (src/wire/hook.h). Per loop: one AF_UNIX
 * datagram socket connected to jitwgd's path, and a bounded queue.
 *
 * A unix datagram receiver takes at most net.unix.max_dgram_qlen (10 by
 * default) datagrams before senders get EAGAIN, so a burst of connects would
 * lose hand-offs at once. What does not fit waits in a ring of HOOK_QUEUE
 * messages, sent when the socket turns writable (the kernel wakes a
 * connected sender when the receiver drains); beyond the ring, hand-offs
 * are dropped and counted. The relay never blocks on jitwgd: when jitwgd is
 * down, sends fail at once (ECONNREFUSED, ENOENT), the queue is dropped
 * (counted) and the next hand-off connects again, so a restarted jitwgd is
 * found without a relay restart.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "relay/conn.h"
#include "wire/hook.h"

struct hook_queue {
	uint8_t msg[HOOK_QUEUE][HOOK_MSG_LEN];
	unsigned head, count;
};

#define DROP(L, n) atomic_fetch_add_explicit(&(L)->r->m.hook_dropped, (n), memory_order_relaxed)
#define SENT(L) atomic_fetch_add_explicit(&(L)->r->m.hook_sent, 1, memory_order_relaxed)

int hook_sender_open(struct relay_loop *L)
{
	L->hookfd = -1;
	L->hookq = calloc(1, sizeof(*L->hookq));
	return L->hookq ? 0 : -ENOMEM;
}

void hook_sender_close(struct relay_loop *L)
{
	if (L->hookfd >= 0)
		close(L->hookfd);
	L->hookfd = -1;
	free(L->hookq);
	L->hookq = NULL;
}

static void disconnect(struct relay_loop *L)
{
	if (L->hookfd >= 0)
		close(L->hookfd); /* also leaves the epoll set */
	L->hookfd = -1;
	L->hook_armed = false;
	DROP(L, L->hookq->count);
	L->hookq->count = 0;
}

static int connect_hook(struct relay_loop *L)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t pl = strlen(L->r->cfg.hook_path);
	int fd;

	if (pl >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, L->r->cfg.hook_path, pl);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + pl + 1)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (epoll_ctl(L->epfd, EPOLL_CTL_ADD, fd, &(struct epoll_event){ .events = 0, .data.u64 = EV_HOOK }) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	L->hookfd = fd;
	return 0;
}

static void arm(struct relay_loop *L, bool on)
{
	if (L->hook_armed == on || L->hookfd < 0)
		return;
	epoll_ctl(L->epfd, EPOLL_CTL_MOD, L->hookfd,
		  &(struct epoll_event){ .events = on ? EPOLLOUT : 0, .data.u64 = EV_HOOK });
	L->hook_armed = on;
}

/* 0 sent, -EAGAIN full, other -errno: the receiver is gone. */
static int send_one(struct relay_loop *L, const uint8_t *msg)
{
	if (send(L->hookfd, msg, HOOK_MSG_LEN, MSG_DONTWAIT | MSG_NOSIGNAL) == HOOK_MSG_LEN)
		return 0;
	return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

void hook_flush(struct relay_loop *L, bool error)
{
	struct hook_queue *q = L->hookq;

	if (error) {
		disconnect(L); /* the next hand-off connects again */
		return;
	}
	while (q->count) {
		int r = send_one(L, q->msg[q->head]);
		if (r == -EAGAIN) {
			arm(L, true);
			return;
		}
		if (r < 0) {
			disconnect(L);
			return;
		}
		SENT(L);
		q->head = (q->head + 1) % HOOK_QUEUE;
		q->count--;
	}
	arm(L, false);
}

void hook_send(struct relay_loop *L, const struct conn *c, const uint8_t *init)
{
	struct hook_queue *q = L->hookq;
	uint8_t buf[HOOK_MSG_LEN];
	struct hook_msg m;
	int r;

	if (!q)
		return;
	memset(&m, 0, sizeof(m));
	memcpy(&m.endpoint, &c->endpoint, sizeof(c->endpoint));
	memcpy(&m.client, &c->client, sizeof(c->client));
	memcpy(m.initiation, init, sizeof(m.initiation));
	if (hook_msg_encode(buf, &m) < 0) {
		DROP(L, 1);
		return;
	}
	if (L->hookfd < 0 && connect_hook(L) < 0) {
		DROP(L, 1); /* jitwgd is not there: forwarding goes on */
		return;
	}
	if (q->count == 0) {
		r = send_one(L, buf);
		if (r == 0) {
			SENT(L);
			return;
		}
		if (r != -EAGAIN) {
			/* jitwgd went away since we connected: try its new socket once */
			disconnect(L);
			if (connect_hook(L) < 0 || send_one(L, buf) != 0) {
				DROP(L, 1);
				return;
			}
			SENT(L);
			return;
		}
	}
	if (q->count == HOOK_QUEUE) {
		DROP(L, 1);
		return;
	}
	memcpy(q->msg[(q->head + q->count) % HOOK_QUEUE], buf, HOOK_MSG_LEN);
	q->count++;
	arm(L, true);
}
