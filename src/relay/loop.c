// SPDX-License-Identifier: MIT
/*
 * The relay's threads: one epoll loop each, with its own SO_REUSEPORT
 * listener, hook socket and deadline lists. Shutdown: the main thread writes
 * each loop's stop eventfd; a loop stops accepting, frees its connections
 * (closing their UDP sockets) and returns; relay_stop() joins them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
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
	cfg->idle_ms = RELAY_DEFAULT_IDLE_MS;
	cfg->max_per_source = RELAY_DEFAULT_PER_SOURCE;
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

static struct tnode *node_of(struct conn *c, bool aux)
{
	return aux ? &c->aux : &c->life;
}

static struct conn *conn_of(struct tnode *n, bool aux)
{
	return (struct conn *)(void *)((char *)n - (aux ? offsetof(struct conn, aux) : offsetof(struct conn, life)));
}

void loop_timer_set(struct conn *c, struct tlist *t)
{
	struct tnode *n = node_of(c, t->aux);

	loop_timer_clear(c, t->aux);
	n->deadline = relay_now_ms() + t->ms;
	n->list = t;
	n->prev = t->tail;
	n->next = NULL;
	if (t->tail)
		t->tail->next = n;
	else
		t->head = n;
	t->tail = n;
}

void loop_timer_clear(struct conn *c, bool aux)
{
	struct tnode *n = node_of(c, aux);
	struct tlist *t = n->list;

	if (!t)
		return;
	if (n->prev)
		n->prev->next = n->next;
	else
		t->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		t->tail = n->prev;
	n->list = NULL;
	n->prev = n->next = NULL;
}

void loop_more_add(struct conn *c)
{
	struct relay_loop *L = c->L;

	if (c->in_more || c->dead)
		return;
	c->in_more = true;
	c->mprev = NULL;
	c->mnext = L->more;
	if (L->more)
		L->more->mprev = c;
	L->more = c;
}

void loop_more_del(struct conn *c)
{
	struct relay_loop *L = c->L;

	if (!c->in_more)
		return;
	if (c->mprev)
		c->mprev->mnext = c->mnext;
	else if (L->more == c)
		L->more = c->mnext;
	else if (L->round == c)
		L->round = c->mnext;
	if (c->mnext)
		c->mnext->mprev = c->mprev;
	c->mprev = c->mnext = NULL;
	c->in_more = false;
}

/*
 * Serves each connection on the "more to read" list once: the list becomes
 * this round's, and those that still have more put themselves on the next
 * one, served after the next epoll batch, so a flooding connection gets one
 * budget per round like the rest. A connection that ends meanwhile leaves
 * either list through loop_more_del().
 */
static void serve_more(struct relay_loop *L)
{
	struct conn *c;

	L->round = L->more;
	L->more = NULL;
	while ((c = L->round)) {
		loop_more_del(c);
		if (!c->dead)
			conn_on_more(c);
	}
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

static uint64_t earliest(const struct tlist *t, uint64_t d)
{
	return t->head && t->head->deadline < d ? t->head->deadline : d;
}

/* Milliseconds until the earliest deadline, or -1; 0 while connections have more to read. */
static int next_timeout(struct relay_loop *L, uint64_t now)
{
	uint64_t d = UINT64_MAX;

	if (L->more)
		return 0;
	d = earliest(&L->handshake, d);
	d = earliest(&L->idle, d);
	d = earliest(&L->linger, d);
	d = earliest(&L->partial, d);
	d = earliest(&L->stall, d);
	if (L->accept_paused && L->accept_resume < d)
		d = L->accept_resume;
	if (d == UINT64_MAX)
		return -1;
	return d <= now ? 0 : (int)(d - now > 60000 ? 60000 : d - now);
}

static void expire(struct tlist *t, uint64_t now)
{
	for (int i = 0; i < 1024 && t->head && t->head->deadline <= now; ++i) {
		struct conn *c = conn_of(t->head, t->aux);
		loop_timer_clear(c, t->aux);
		t->fire(c);
	}
}

static void listener_arm(struct relay_loop *L, bool on)
{
	epoll_ctl(L->epfd, EPOLL_CTL_MOD, L->lfd,
		  &(struct epoll_event){ .events = on ? EPOLLIN : 0, .data.u64 = EV_LISTEN });
}

/*
 * Out of descriptors: the listener stays readable, so accepting again at
 * once would spin. Disarm it for a back-off (100 ms doubling to 3.2 s while
 * it keeps failing), with one log line per minute at most.
 */
static void accept_pause(struct relay_loop *L, int err, uint64_t now)
{
	L->accept_backoff = L->accept_backoff ? L->accept_backoff * 2 : 100;
	if (L->accept_backoff > 3200)
		L->accept_backoff = 3200;
	L->accept_paused = true;
	L->accept_resume = now + L->accept_backoff;
	listener_arm(L, false);
	atomic_fetch_add_explicit(&L->r->m.accept_paused, 1, memory_order_relaxed);
	if (!L->accept_logged || now - L->accept_logged >= 60000) {
		L->accept_logged = now;
		log_warn("relay: accept: %s: pausing accepts (raise LimitNOFILE / ulimit -n, or lower "
			 "--max-connections)", strerror(err));
	}
}

static void accept_some(struct relay_loop *L)
{
	for (int i = 0; i < 64; ++i) {
		struct sockaddr_storage peer;
		socklen_t sl = sizeof(peer);
		int fd = accept4(L->lfd, (struct sockaddr *)&peer, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				accept_pause(L, errno, relay_now_ms());
			return;
		}
		L->accept_backoff = 0;
		conn_accept(L, fd, &peer);
	}
}

static void accept_maybe_resume(struct relay_loop *L, uint64_t now)
{
	if (!L->accept_paused || now < L->accept_resume)
		return;
	L->accept_paused = false;
	listener_arm(L, true);
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
		serve_more(L);
		now = relay_now_ms();
		expire(&L->handshake, now);
		expire(&L->idle, now);
		expire(&L->partial, now);
		expire(&L->stall, now);
		expire(&L->linger, now);
		accept_maybe_resume(L, now);
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
	L->handshake = (struct tlist){ .ms = r->cfg.handshake_ms, .fire = conn_on_handshake_timeout };
	L->idle = (struct tlist){ .ms = r->cfg.idle_ms / 3, .fire = conn_on_idle };
	L->linger = (struct tlist){ .ms = RELAY_LINGER_MS, .fire = conn_on_linger_timeout };
	L->partial = (struct tlist){ .ms = r->cfg.handshake_ms, .fire = conn_on_partial_timeout, .aux = true };
	L->stall = (struct tlist){ .ms = r->cfg.handshake_ms, .fire = conn_on_stall, .aux = true };
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

	/* at most one entry per connection the relay holds (see admit()) */
	r->sources = relay_sources_new(r->cfg.max_per_source,
				       r->cfg.max_per_source ? r->cfg.max_conns + r->cfg.max_conns / 8 + 16 : 0);
	if (!r->sources)
		return -ENOMEM;
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
	if (!r->loops) {
		relay_sources_free(r->sources);
		r->sources = NULL;
		return;
	}
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
	relay_sources_free(r->sources);
	r->sources = NULL;
}
