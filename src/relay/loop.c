// SPDX-License-Identifier: MIT
/*
 * The relay's threads: one epoll loop each, with its own SO_REUSEPORT
 * listener, hook socket and deadline lists. Shutdown: the main thread writes
 * each loop's stop eventfd; a loop stops accepting, frees its connections
 * (closing their UDP sockets) and returns; relay_stop() joins them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "relay/conn.h"

uint64_t relay_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void relay_config_defaults(struct relay_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_conns = RELAY_DEFAULT_MAX_CONNS;
	cfg->threads = 2;
	cfg->handshake_ms = RELAY_DEFAULT_HANDSHAKE_MS;
	cfg->bind_base = 0x7f010000u; /* 127.1.0.0/16 */
	cfg->bind_count = 1u << 16;
}

uint32_t relay_next_bind_addr(struct relay *r)
{
	uint32_t i = atomic_fetch_add_explicit(&r->bind_next, 1, memory_order_relaxed);
	uint32_t n = r->cfg.bind_count, a;

	/* skip the network and broadcast-looking ends of the range */
	a = r->cfg.bind_base + (n > 2 ? 1 + i % (n - 2) : i % n);
	return htonl(a);
}

void loop_timer_set(struct relay_loop *L, struct conn *c, struct tlist *t)
{
	loop_timer_clear(c);
	c->deadline = relay_now_ms() + t->ms;
	c->timer = t;
	c->tprev = t->tail;
	c->tnext = NULL;
	if (t->tail)
		t->tail->tnext = c;
	else
		t->head = c;
	t->tail = c;
}

void loop_timer_clear(struct conn *c)
{
	struct tlist *t = c->timer;

	if (!t)
		return;
	if (c->tprev)
		c->tprev->tnext = c->tnext;
	else
		t->head = c->tnext;
	if (c->tnext)
		c->tnext->tprev = c->tprev;
	else
		t->tail = c->tprev;
	c->timer = NULL;
	c->tprev = c->tnext = NULL;
}

int loop_arm(struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)(uintptr_t)c | TAG_TCP };
	int op = c->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	if (epoll_ctl(c->L->epfd, op, c->fd, &ev) < 0)
		return -errno;
	c->ev = events;
	return 0;
}

/* Milliseconds until the earliest deadline, or -1. */
static int next_timeout(struct relay_loop *L, uint64_t now)
{
	uint64_t d = UINT64_MAX;

	if (L->handshake.head)
		d = L->handshake.head->deadline;
	if (L->linger.head && L->linger.head->deadline < d)
		d = L->linger.head->deadline;
	if (d == UINT64_MAX)
		return -1;
	return d <= now ? 0 : (int)(d - now > 60000 ? 60000 : d - now);
}

static void expire(struct tlist *t, uint64_t now)
{
	for (int i = 0; i < 1024 && t->head && t->head->deadline <= now; ++i)
		conn_on_timeout(t->head); /* removes it from t, or moves it to linger */
}

static void accept_some(struct relay_loop *L)
{
	for (int i = 0; i < 64; ++i) {
		struct sockaddr_storage peer;
		socklen_t sl = sizeof(peer);
		int fd = accept4(L->lfd, (struct sockaddr *)&peer, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				log_ratelimited_debug("relay: accept: %s", strerror(errno));
			return;
		}
		conn_accept(L, fd, &peer);
	}
}

static void *loop_main(void *arg)
{
	struct relay_loop *L = arg;
	struct epoll_event evs[64];

	for (;;) {
		int n = epoll_wait(L->epfd, evs, 64, next_timeout(L, relay_now_ms()));
		uint64_t now;

		if (n < 0 && errno != EINTR) {
			log_err("relay: epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; ++i) {
			uint64_t d = evs[i].data.u64;
			struct conn *c;

			if (d == EV_STOP)
				goto out;
			if (d == EV_LISTEN) {
				accept_some(L);
				continue;
			}
			if (d == EV_HOOK) {
				hook_flush(L, evs[i].events & (EPOLLERR | EPOLLHUP));
				continue;
			}
			c = (struct conn *)(uintptr_t)(d & ~(uint64_t)3);
			/* one batch can hold both sockets of a connection that the
			 * first event ended: ended ones wait on L->dead till below */
			if (c->dead)
				continue;
			if ((d & 3) == TAG_UDP)
				conn_on_udp(c);
			else
				conn_on_tcp(c, evs[i].events);
		}
		now = relay_now_ms();
		expire(&L->handshake, now);
		expire(&L->linger, now);
		conn_reap(L);
	}
out:
	while (L->all)
		conn_free(L->all);
	conn_reap(L);
	return NULL;
}

static int listener(const struct sockaddr_storage *ss)
{
	socklen_t sl = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, e;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)ss, sl) < 0 || listen(fd, 4096) < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static void loop_free(struct relay_loop *L)
{
	if (!L)
		return;
	if (L->lfd >= 0)
		close(L->lfd);
	if (L->stopfd >= 0)
		close(L->stopfd);
	hook_sender_close(L);
	if (L->epfd >= 0)
		close(L->epfd);
	free(L->scratch);
	free(L->rx);
	free(L);
}

static struct relay_loop *loop_new(struct relay *r, int *err)
{
	struct relay_loop *L = calloc(1, sizeof(*L));

	if (!L) {
		*err = -ENOMEM;
		return NULL;
	}
	L->r = r;
	L->lfd = L->stopfd = L->hookfd = -1;
	L->handshake.ms = r->cfg.handshake_ms;
	L->linger.ms = RELAY_LINGER_MS;
	L->epfd = epoll_create1(EPOLL_CLOEXEC);
	L->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	L->scratch = malloc(RELAY_MAX_FRAME + 64);
	L->rx = malloc(65536);
	if (L->epfd < 0 || L->stopfd < 0 || !L->scratch || !L->rx) {
		*err = -ENOMEM;
		goto fail;
	}
	L->lfd = listener(&r->cfg.listen);
	if (L->lfd < 0) {
		*err = L->lfd;
		log_err("relay: listen: %s", strerror(-*err));
		goto fail;
	}
	if (r->cfg.hook_path && (*err = hook_sender_open(L)) < 0)
		goto fail;
	if (epoll_ctl(L->epfd, EPOLL_CTL_ADD, L->lfd,
		      &(struct epoll_event){ .events = EPOLLIN, .data.u64 = EV_LISTEN }) < 0 ||
	    epoll_ctl(L->epfd, EPOLL_CTL_ADD, L->stopfd,
		      &(struct epoll_event){ .events = EPOLLIN, .data.u64 = EV_STOP }) < 0) {
		*err = -errno;
		goto fail;
	}
	return L;
fail:
	loop_free(L);
	return NULL;
}

int relay_start(struct relay *r)
{
	int err = 0;

	r->loops = calloc(r->cfg.threads, sizeof(*r->loops));
	if (!r->loops)
		return -ENOMEM;
	for (unsigned i = 0; i < r->cfg.threads; ++i) {
		r->loops[i] = loop_new(r, &err);
		if (!r->loops[i])
			return err;
	}
	for (unsigned i = 0; i < r->cfg.threads; ++i) {
		err = -pthread_create(&r->loops[i]->thread, NULL, loop_main, r->loops[i]);
		if (err)
			return err;
		r->loops[i]->running = true;
	}
	return 0;
}

void relay_stop(struct relay *r)
{
	if (!r->loops)
		return;
	for (unsigned i = 0; i < r->cfg.threads; ++i) {
		struct relay_loop *L = r->loops[i];
		if (L && L->running) {
			uint64_t one = 1;
			if (write(L->stopfd, &one, sizeof(one)) < 0)
				log_warn("relay: stop: %s", strerror(errno));
			pthread_join(L->thread, NULL);
		}
	}
	for (unsigned i = 0; i < r->cfg.threads; ++i)
		loop_free(r->loops[i]);
	free(r->loops);
	r->loops = NULL;
}
