// SPDX-License-Identifier: MIT
/*
 * One relay connection: TLS, the upgrade, frames in both framings, the UDP
 * socket toward WireGuard. Runs only on its loop's thread. Nothing here logs
 * per packet or per connection above debug level: failures are counted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "relay/conn.h"
#include "ws/codec.h"
#include "ws/upgrade.h"
#include "wire/messages.h"

#define M(c) (&(c)->L->r->m)
#define INC(c, f) atomic_fetch_add_explicit(&M(c)->f, 1, memory_order_relaxed)
#define ADD(c, f, n) atomic_fetch_add_explicit(&M(c)->f, (n), memory_order_relaxed)

static void process(struct conn *c);
static void closing_progress(struct conn *c);

/* ---- endings ------------------------------------------------------------- */

/*
 * Our last words are queued (a close frame or an HTTP error): send them,
 * then half-close at once so the client sees the end right after them, and
 * read (discarding) until its EOF or the linger deadline. Closing with
 * unread input would send a RST that can destroy those last words.
 */
void conn_start_closing(struct conn *c, uint8_t state)
{
	c->state = state;
	loop_timer_clear(c, true);
	loop_more_del(c);
	loop_timer_set(c, &c->L->linger);
	if (conn_flush(c) < 0)
		conn_free(c);
	else
		closing_progress(c);
}

void conn_ws_fail(struct conn *c, uint16_t code)
{
	if (code == WS_CLOSE_PROTOCOL || code == WS_CLOSE_UNSUPPORTED)
		INC(c, protocol_errors);
	else if (code == WS_CLOSE_TOO_BIG)
		INC(c, too_big);
	if (conn_send_frame(c, WS_OP_CLOSE, (uint8_t[]){ (uint8_t)(code >> 8), (uint8_t)code }, 2,
			    NULL, 0, RELAY_MAX_OUTBUF) < 0) {
		conn_free(c);
		return;
	}
	conn_start_closing(c, C_CLOSING);
}

static void http_fail(struct conn *c, int status)
{
	char buf[256];
	int n = ws_upgrade_error(buf, sizeof(buf), status);

	if (status == 503)
		INC(c, rejected_full);
	else
		INC(c, upgrade_failed);
	if (n < 0 || conn_emit(c, (uint8_t *)buf, (size_t)n, RELAY_MAX_OUTBUF) < 0) {
		conn_free(c);
		return;
	}
	conn_start_closing(c, C_LINGER);
}

/* After our answer is flushed: half-close, then read until EOF or the deadline. */
static void closing_progress(struct conn *c)
{
	uint8_t sink[512];

	if (buf_len(&c->out))
		return;
	if (!c->half_closed) {
		if (c->ssl)
			SSL_shutdown(c->ssl);
		shutdown(c->fd, SHUT_WR);
		c->half_closed = true;
	}
	for (int i = 0; i < 64; ++i) {
		if (c->ssl) {
			int n = SSL_read(c->ssl, sink, sizeof(sink)), e;
			if (n > 0)
				continue;
			e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return;
		} else {
			ssize_t n = recv(c->fd, sink, sizeof(sink), 0);
			if (n > 0)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				return;
		}
		conn_free(c); /* EOF or error: done */
		return;
	}
}

/* ---- the UDP side -------------------------------------------------------- */

static bool is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

	return ss->ss_family == AF_INET && (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
}

/* Opens the connection's UDP socket, bound in the range, connected to WireGuard. */
static int open_udp(struct conn *c)
{
	struct relay *r = c->L->r;
	const struct sockaddr_storage *fw = &r->cfg.forward;
	socklen_t sl = fw->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int fd, tries;

	fd = socket(fw->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (is_loopback(fw) && r->cfg.bind_count) {
		for (tries = 0; tries < 16; ++tries) {
			struct sockaddr_in b = { .sin_family = AF_INET };
			b.sin_addr.s_addr = relay_next_bind_addr(r);
			if (bind(fd, (struct sockaddr *)&b, sizeof(b)) == 0)
				break;
			if (errno != EADDRINUSE)
				tries = 16;
		}
		if (tries >= 16) {
			close(fd);
			return -EADDRINUSE;
		}
	}
	if (connect(fd, (const struct sockaddr *)fw, sl) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	sl = sizeof(c->endpoint);
	if (getsockname(fd, &c->endpoint.sa, &sl) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	c->ufd = fd;
	return 0;
}

/* ---- the upgrade --------------------------------------------------------- */

/*
 * Charges the connection to its real client (after a trusted proxy's
 * X-Forwarded-For; others were charged at accept). 0, or -EUSERS at the
 * per-source limit.
 */
static int charge_source(struct conn *c)
{
	if (c->source_held)
		return 0;
	if (!relay_source_get(c->L->r->sources, &c->client.sa))
		return -EUSERS;
	memcpy(&c->source, &c->client, sizeof(c->source));
	c->source_held = true;
	return 0;
}

/* Reads what there is of the upgrade head. 0, or -EPIPE when c ended (freed). */
static int http_read(struct conn *c)
{
	if (!c->http && !(c->http = malloc(WS_UPGRADE_MAX))) {
		conn_free(c);
		return -EPIPE;
	}
	for (;;) {
		ssize_t got;

		if (c->http_len >= WS_UPGRADE_MAX)
			break;
		got = conn_read(c, (uint8_t *)c->http + c->http_len, WS_UPGRADE_MAX - c->http_len);
		if (got < 0)
			break;
		c->http_len = (uint16_t)(c->http_len + got);
	}
	if (c->rd == RD_EOF || c->rd == RD_ERR) {
		conn_free(c);
		return -EPIPE;
	}
	return 0;
}

/* The upgrade succeeded: the UDP socket, the codec, the 101. 0 or -errno (c ended). */
static int open_ws(struct conn *c, const struct ws_upgrade_req *req, int hl)
{
	char resp[256];
	int n;

	if (open_udp(c) < 0) {
		INC(c, udp_bind_failed);
		http_fail(c, 503);
		return -EADDRINUSE;
	}
	if (epoll_ctl(c->L->epfd, EPOLL_CTL_ADD, c->ufd,
		      &(struct epoll_event){ .events = EPOLLIN,
					     .data.u64 = (uint64_t)(uintptr_t)c | TAG_UDP }) < 0) {
		conn_free(c);
		return -EIO;
	}
	c->ws = ws_codec_new(true, RELAY_MAX_FRAME, conn_codec_rd, conn_codec_wr, c);
	n = ws_upgrade_response(resp, sizeof(resp), req);
	if (!c->ws || n < 0 || conn_emit(c, (uint8_t *)resp, (size_t)n, RELAY_MAX_OUTBUF) < 0) {
		conn_free(c);
		return -ENOMEM;
	}
	/* keep only the bytes after the head, for the codec */
	c->http_off = (uint16_t)hl;
	if (c->http_off == c->http_len) {
		free(c->http);
		c->http = NULL;
	}
	return 0;
}

static void http(struct conn *c)
{
	struct ws_upgrade_req req;
	int hl;

	if (http_read(c) < 0)
		return;
	hl = ws_upgrade_parse_request(&req, c->http, c->http_len);
	if (hl == 0) {
		conn_arm(c);
		return;
	}
	if (hl < 0) {
		http_fail(c, req.status);
		return;
	}
	if (c->over_limit) {
		http_fail(c, 503);
		return;
	}
	if (req.xff[0] && relay_proxy_trusted(&c->L->r->cfg, &c->client.sa) &&
	    xff_client(req.xff, &c->client.sa) == 0)
		INC(c, xff_used);
	if (charge_source(c) < 0) {
		INC(c, rejected_source);
		http_fail(c, 503);
		return;
	}
	if (open_ws(c, &req, hl) < 0)
		return;
	c->state = C_OPEN;
	loop_timer_set(c, &c->L->idle);
	INC(c, upgrades);
	atomic_fetch_add_explicit(&M(c)->open, 1, memory_order_relaxed);
	conn_frames(c);
}

/* ---- TLS ----------------------------------------------------------------- */

static void tls(struct conn *c)
{
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->state = C_HTTP;
		c->tls_io_wants_write = false;
		http(c);
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		c->tls_io_wants_write = false;
		conn_arm(c);
		return;
	case SSL_ERROR_WANT_WRITE:
		c->tls_io_wants_write = true;
		conn_arm(c);
		return;
	default:
		INC(c, tls_failed);
		log_ratelimited_debug("relay: TLS handshake failed: %s",
				      ERR_reason_error_string(ERR_peek_last_error()) ?: "closed");
		conn_free(c);
		return;
	}
}

/* ---- dispatch ------------------------------------------------------------ */

static void process(struct conn *c)
{
	switch (c->state) {
	case C_TLS:
		tls(c);
		break;
	case C_HTTP:
		http(c);
		break;
	case C_OPEN:
		c->tls_io_wants_write = false;
		conn_frames(c);
		break;
	default:
		if (conn_flush(c) < 0)
			conn_free(c);
		else
			closing_progress(c);
		break;
	}
}

void conn_on_tcp(struct conn *c, uint32_t events)
{
	if ((events & EPOLLOUT) && c->state >= C_OPEN && buf_len(&c->out)) {
		if (conn_flush(c) < 0) {
			conn_free(c);
			return;
		}
	}
	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) {
		conn_free(c);
		return;
	}
	process(c);
}

void conn_on_more(struct conn *c)
{
	process(c);
}

void conn_on_handshake_timeout(struct conn *c)
{
	INC(c, handshake_timeouts);
	if (c->state == C_HTTP && c->http_len > 0) {
		http_fail(c, 408); /* slowloris: say why before closing */
		return;
	}
	conn_free(c);
}

void conn_on_linger_timeout(struct conn *c)
{
	conn_free(c);
}

/* A third of --idle-timeout without a frame: ping; the third such third: close. */
void conn_on_idle(struct conn *c)
{
	if (++c->idle_ticks >= 3) {
		INC(c, idle_timeouts);
		conn_ws_fail(c, WS_CLOSE_GOING_AWAY);
		return;
	}
	if (conn_send_frame(c, WS_OP_PING, NULL, 0, NULL, 0, RELAY_MAX_OUTBUF) == -EPIPE) {
		conn_free(c);
		return;
	}
	loop_timer_set(c, &c->L->idle);
}

void conn_on_partial_timeout(struct conn *c)
{
	INC(c, partial_timeouts);
	conn_ws_fail(c, WS_CLOSE_POLICY);
}

void conn_on_stall(struct conn *c)
{
	INC(c, slow_readers);
	conn_ws_fail(c, WS_CLOSE_POLICY);
}

/* True: go on; false: refused (fd closed, counted). */
static bool admit(struct relay_loop *L, int fd, const struct sockaddr_storage *peer, bool *over_limit)
{
	struct relay *r = L->r;
	int64_t now_conns;

	now_conns = atomic_fetch_add(&r->m.connections, 1) + 1;
	atomic_fetch_add_explicit(&r->m.accepted, 1, memory_order_relaxed);
	/* Past the limit, answer 503; past it by an eighth, just close. */
	if ((uint64_t)now_conns > r->cfg.max_conns + r->cfg.max_conns / 8 + 16) {
		atomic_fetch_add_explicit(&r->m.rejected_full, 1, memory_order_relaxed);
		goto refuse;
	}
	/* a trusted proxy's clients are counted at the upgrade, by X-Forwarded-For */
	if (!relay_proxy_trusted(&r->cfg, (const struct sockaddr *)peer) &&
	    !relay_source_get(r->sources, (const struct sockaddr *)peer)) {
		atomic_fetch_add_explicit(&r->m.rejected_source, 1, memory_order_relaxed);
		goto refuse;
	}
	*over_limit = (uint64_t)now_conns > r->cfg.max_conns;
	return true;
refuse:
	atomic_fetch_sub(&r->m.connections, 1);
	close(fd);
	return false;
}

static void set_sockopts(int fd)
{
	int one = 1, idle = 60, intvl = 10, cnt = 6;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

void conn_accept(struct relay_loop *L, int fd, struct sockaddr_storage *peer)
{
	struct relay *r = L->r;
	struct conn *c;
	bool over = false;
	size_t sl;

	relay_addr_unmap(peer); /* a dual-stack listener's IPv4 clients are IPv4 */
	sl = peer->ss_family == AF_INET ? sizeof(c->client.sin) : sizeof(c->client.sin6);
	if (!admit(L, fd, peer, &over))
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		if (!relay_proxy_trusted(&r->cfg, (const struct sockaddr *)peer))
			relay_source_put(r->sources, (const struct sockaddr *)peer);
		atomic_fetch_sub(&r->m.connections, 1);
		close(fd);
		return;
	}
	c->L = L;
	c->fd = fd;
	c->ufd = -1;
	c->over_limit = over;
	buf_init(&c->out, RELAY_MAX_OUTBUF, false);
	buf_init(&c->msg, RELAY_MAX_MESSAGE, false);
	memcpy(&c->client, peer, sl);
	if (!relay_proxy_trusted(&r->cfg, &c->client.sa)) {
		memcpy(&c->source, peer, sl);
		c->source_held = true;
	}
	set_sockopts(fd);
	c->next = L->all;
	if (L->all)
		L->all->prev = c;
	L->all = c;
	c->state = C_HTTP;
	if (r->cfg.tls_cert) { /* r->tls itself is read under tls_mu only */
		SSL_CTX *ctx = relay_tls_get(r);
		c->ssl = ctx ? SSL_new(ctx) : NULL;
		SSL_CTX_free(ctx);
		if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
			conn_free(c);
			return;
		}
		SSL_set_accept_state(c->ssl);
		c->state = C_TLS;
	}
	if (loop_arm(c, EPOLLIN | EPOLLRDHUP) < 0) {
		conn_free(c);
		return;
	}
	loop_timer_set(c, &L->handshake);
	process(c);
}

void conn_free(struct conn *c)
{
	struct relay_loop *L;

	if (!c || c->dead)
		return;
	L = c->L;
	loop_timer_clear(c, false);
	loop_timer_clear(c, true);
	loop_more_del(c);
	if (c->prev)
		c->prev->next = c->next;
	else if (L->all == c)
		L->all = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->state >= C_OPEN && c->ws)
		atomic_fetch_sub(&L->r->m.open, 1);
	if (c->source_held)
		relay_source_put(L->r->sources, &c->source.sa);
	if (c->ufd >= 0)
		close(c->ufd); /* at once: a reconnect gets a new endpoint */
	SSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd);
	ws_codec_free(c->ws);
	c->ws = NULL;
	stream_uninit(&c->st);
	buf_free(&c->msg);
	buf_free(&c->out);
	free(c->http);
	c->http = NULL;
	atomic_fetch_sub(&L->r->m.connections, 1);
	atomic_fetch_add_explicit(&L->r->m.closed, 1, memory_order_relaxed);
	c->dead = true;
	c->prev = NULL;
	c->next = L->dead;
	L->dead = c;
}

void conn_reap(struct relay_loop *L)
{
	while (L->dead) {
		struct conn *c = L->dead;
		L->dead = c->next;
		free(c);
	}
}
