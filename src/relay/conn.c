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

/* ---- byte I/O: plain or TLS ------------------------------------------------ */

/* Reads into buf; records the outcome in c->rd. Returns bytes (> 0) or -1. */
static ssize_t conn_read(struct conn *c, uint8_t *buf, size_t len)
{
	ssize_t n;

	if (c->ssl) {
		int r;
		ERR_clear_error();
		r = SSL_read(c->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len));
		if (r > 0) {
			c->rd = RD_DATA;
			return r;
		}
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			c->rd = RD_AGAIN;
			break;
		case SSL_ERROR_WANT_WRITE:
			c->rd = RD_AGAIN;
			c->tls_io_wants_write = true;
			break;
		case SSL_ERROR_ZERO_RETURN:
			c->rd = RD_EOF;
			break;
		default:
			c->rd = RD_ERR;
			break;
		}
		return -1;
	}
	n = recv(c->fd, buf, len, 0);
	if (n > 0) {
		c->rd = RD_DATA;
		return n;
	}
	if (n == 0)
		c->rd = RD_EOF;
	else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		c->rd = RD_AGAIN;
	else
		c->rd = RD_ERR;
	return -1;
}

/* Writes what the socket takes. Returns bytes written (>= 0) or -1 on error. */
static ssize_t conn_write_some(struct conn *c, const uint8_t *p, size_t len)
{
	ssize_t n;

	if (len == 0)
		return 0;
	if (c->ssl) {
		int r;
		ERR_clear_error();
		r = SSL_write(c->ssl, p, (int)(len > INT32_MAX ? INT32_MAX : len));
		if (r > 0)
			return r;
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_WRITE:
		case SSL_ERROR_WANT_READ:
			return 0;
		default:
			return -1;
		}
	}
	n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
}

/* Sets EPOLLOUT according to whether output is pending. */
static void arm_output(struct conn *c)
{
	uint32_t want = EPOLLIN | EPOLLRDHUP;

	if (c->dead)
		return;
	if (c->out_len > c->out_off || c->tls_io_wants_write)
		want |= EPOLLOUT;
	if (want != c->ev)
		loop_arm(c, want);
}

/* Sends pending output. Returns 0, or -1 when the connection broke. */
static int flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = conn_write_some(c, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		c->out_off += (uint32_t)n;
	}
	if (c->out_off == c->out_len) {
		/* idle connections hold no output buffer */
		free(c->out);
		c->out = NULL;
		c->out_len = c->out_off = c->out_cap = 0;
	}
	arm_output(c);
	return 0;
}

/*
 * Hands len bytes to the socket: straight through when nothing is queued,
 * else (or for what the socket did not take) into the output queue.
 * force: queue even over the limit (control frames and HTTP answers are
 * small and must not be dropped). Returns 0, -ENOBUFS (dropped whole) or -1.
 */
static int emit(struct conn *c, const uint8_t *p, size_t len, bool force)
{
	size_t need;

	if (c->out_len == c->out_off) {
		ssize_t n = conn_write_some(c, p, len);
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
		if (len == 0)
			return 0;
	} else if (!force && c->out_len - c->out_off + len > RELAY_MAX_OUTBUF) {
		return -ENOBUFS;
	}
	if (c->out_off && c->out_off == c->out_len)
		c->out_len = c->out_off = 0;
	need = c->out_len + len;
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		uint8_t *nb;
		if (c->out_off) { /* compact first */
			memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
			need = c->out_len + len;
		}
		while (cap < need)
			cap *= 2;
		nb = realloc(c->out, cap);
		if (!nb)
			return -ENOBUFS;
		c->out = nb;
		c->out_cap = (uint32_t)cap;
	}
	memcpy(c->out + c->out_len, p, len);
	c->out_len += (uint32_t)len;
	arm_output(c);
	return 0;
}

/* ---- codec callbacks ----------------------------------------------------- */

static ssize_t codec_rd(void *arg, uint8_t *buf, size_t len)
{
	struct conn *c = arg;

	if (c->http) { /* bytes that followed the upgrade head come first */
		size_t left = (size_t)(c->http_len - c->http_off), take = left < len ? left : len;
		memcpy(buf, c->http + c->http_off, take);
		c->http_off = (uint16_t)(c->http_off + take);
		if (c->http_off == c->http_len) {
			free(c->http);
			c->http = NULL;
		}
		c->rd = RD_DATA;
		return (ssize_t)take;
	}
	return conn_read(c, buf, len);
}

static ssize_t codec_wr(void *arg, const uint8_t *buf, size_t len)
{
	struct conn *c = arg;
	struct relay_loop *L = c->L;

	if (L->scratch_len + len > RELAY_MAX_FRAME + 64)
		return -1;
	memcpy(L->scratch + L->scratch_len, buf, len);
	L->scratch_len += len;
	return (ssize_t)len;
}

/* Encodes one frame into the scratch buffer and sends it. */
static int send_frame(struct conn *c, uint8_t op, const void *a, size_t alen, const void *b,
		      size_t blen, bool force)
{
	int ret;

	c->L->scratch_len = 0;
	ret = ws_codec_send(c->ws, op, a, alen, b, blen);
	if (ret == 0)
		ret = emit(c, c->L->scratch, c->L->scratch_len, force);
	c->L->scratch_len = 0;
	return ret;
}

/* ---- endings ------------------------------------------------------------- */

/*
 * Our last words are queued (a close frame or an HTTP error): send them,
 * then half-close at once so the client sees the end right after them, and
 * read (discarding) until its EOF or the linger deadline. Closing with
 * unread input would send a RST that can destroy those last words.
 */
static void start_closing(struct conn *c, uint8_t state)
{
	c->state = state;
	loop_timer_set(c->L, c, &c->L->linger);
	if (flush(c) < 0)
		conn_free(c);
	else
		closing_progress(c);
}

/* Sends a close frame with code and waits for the client's close or EOF. */
static void ws_fail(struct conn *c, uint16_t code)
{
	if (code == WS_CLOSE_PROTOCOL || code == WS_CLOSE_UNSUPPORTED)
		INC(c, protocol_errors);
	else if (code == WS_CLOSE_TOO_BIG)
		INC(c, too_big);
	if (send_frame(c, WS_OP_CLOSE, (uint8_t[]){ (uint8_t)(code >> 8), (uint8_t)code }, 2,
		       NULL, 0, true) < 0) {
		conn_free(c);
		return;
	}
	start_closing(c, C_CLOSING);
}

static void http_fail(struct conn *c, int status)
{
	char buf[256];
	int n = ws_upgrade_error(buf, sizeof(buf), status);

	if (status == 503)
		INC(c, rejected_full);
	else
		INC(c, upgrade_failed);
	if (n < 0 || emit(c, (uint8_t *)buf, (size_t)n, true) < 0) {
		conn_free(c);
		return;
	}
	start_closing(c, C_LINGER);
}

/* After our answer is flushed: half-close, then read until EOF or the deadline. */
static void closing_progress(struct conn *c)
{
	uint8_t sink[512];

	if (c->out_len > c->out_off)
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

static bool is_initiation(const uint8_t *p, size_t len)
{
	return len == WG_MSG_INITIATION_LEN && p[0] == MESSAGE_HANDSHAKE_INITIATION &&
	       p[1] == 0 && p[2] == 0 && p[3] == 0;
}

/* One datagram from the client toward WireGuard; zero length is a keepalive. */
static int to_wg(void *arg, const uint8_t *p, size_t len)
{
	struct conn *c = arg;

	if (len == 0) {
		INC(c, keepalives);
		return 0;
	}
	if (send(c->ufd, p, len, MSG_DONTWAIT) < 0) {
		INC(c, to_wg_dropped);
		return 0;
	}
	INC(c, to_wg_datagrams);
	ADD(c, to_wg_bytes, len);
	if (is_initiation(p, len))
		hook_send(c->L, c, p);
	return 0;
}

void conn_on_udp(struct conn *c)
{
	uint8_t *rx = c->L->rx;

	if (c->state != C_OPEN)
		return;
	for (int i = 0; i < 64; ++i) {
		ssize_t n = recv(c->ufd, rx, 65535, MSG_DONTWAIT);
		uint8_t hdr[4];
		int ret;

		if (n < 0)
			break;
		if (n == 0 || c->framing == F_UNKNOWN) {
			/* never an empty message; nothing to say before the client spoke */
			INC(c, to_client_dropped);
			continue;
		}
		if (c->framing == F_STREAM) {
			stream_record_header(hdr, (uint32_t)n);
			ret = send_frame(c, WS_OP_TEXT, hdr, 4, rx, (size_t)n, false);
		} else {
			ret = send_frame(c, WS_OP_BINARY, rx, (size_t)n, NULL, 0, false);
		}
		if (ret == -ENOBUFS) {
			INC(c, to_client_dropped);
		} else if (ret < 0) {
			conn_free(c);
			return;
		} else {
			INC(c, to_client_datagrams);
			ADD(c, to_client_bytes, (uint64_t)n);
		}
	}
}

/* ---- frames -------------------------------------------------------------- */

static int on_data(struct conn *c, const struct ws_chunk *ch)
{
	uint8_t want = ch->msg_opcode == WS_OP_TEXT ? F_STREAM : F_MESSAGE;

	if (c->framing == F_UNKNOWN) {
		c->framing = want;
		if (want == F_STREAM)
			INC(c, framing_stream);
		else
			INC(c, framing_message);
	} else if (c->framing != want) {
		return -EPROTONOSUPPORT; /* 1003: one framing per connection */
	}
	if (c->framing == F_STREAM)
		return stream_feed(&c->st, ch->data, ch->len, to_wg, c);
	/* message framing: one datagram per message, maybe fragmented */
	if (!c->msg && ch->frame_start && ch->frame_end && ch->fin && ch->opcode != WS_OP_CONT)
		return to_wg(c, ch->data, ch->len);
	if (c->msg_len + ch->len > RELAY_MAX_MESSAGE)
		return -EMSGSIZE;
	if (!c->msg && !(c->msg = malloc(RELAY_MAX_MESSAGE)))
		return -ENOMEM;
	memcpy(c->msg + c->msg_len, ch->data, ch->len);
	c->msg_len += (uint32_t)ch->len;
	if (ch->fin && ch->frame_end) {
		int ret = to_wg(c, c->msg, c->msg_len);
		free(c->msg);
		c->msg = NULL;
		c->msg_len = 0;
		return ret;
	}
	return 0;
}

/* Returns 1 to go on, 0 when the connection ended or is ending. */
static int on_control(struct conn *c, const struct ws_chunk *ch)
{
	uint16_t code;

	switch (ch->opcode) {
	case WS_OP_PING:
		INC(c, pings);
		if (send_frame(c, WS_OP_PONG, ch->data, ch->len, NULL, 0, true) < 0) {
			conn_free(c);
			return 0;
		}
		return 1;
	case WS_OP_PONG:
		return 1;
	default: /* CLOSE: answer with the same code, then end */
		if (ws_close_payload_parse(ch->data, ch->len, &code) < 0) {
			ws_fail(c, WS_CLOSE_PROTOCOL);
			return 0;
		}
		if (send_frame(c, WS_OP_CLOSE,
			       (uint8_t[]){ (uint8_t)(code >> 8), (uint8_t)code },
			       code == WS_CLOSE_NO_STATUS ? 0 : 2, NULL, 0, true) < 0) {
			conn_free(c);
			return 0;
		}
		start_closing(c, C_CLOSING);
		return 0;
	}
}

static void frames(struct conn *c)
{
	for (int budget = 0; budget < 4096; ++budget) {
		struct ws_chunk ch;
		int ret;

		c->rd = RD_NONE;
		ret = ws_codec_recv(c->ws, &ch);
		if (ret < 0) {
			ws_fail(c, ws_codec_close_code(c->ws));
			return;
		}
		if (ret == 0) {
			if (c->rd == RD_EOF || c->rd == RD_ERR) {
				conn_free(c);
				return;
			}
			if (c->rd == RD_AGAIN || c->rd == RD_NONE)
				break;
			continue;
		}
		if (ch.opcode >= WS_OP_CLOSE) {
			if (!on_control(c, &ch))
				return;
			continue;
		}
		ret = on_data(c, &ch);
		if (ret == -EPROTONOSUPPORT) {
			ws_fail(c, WS_CLOSE_UNSUPPORTED);
			return;
		} else if (ret == -EMSGSIZE) {
			ws_fail(c, WS_CLOSE_TOO_BIG);
			return;
		} else if (ret < 0) {
			ws_fail(c, ret == -ENOMEM ? WS_CLOSE_INTERNAL : WS_CLOSE_PROTOCOL);
			return;
		}
	}
	if (flush(c) < 0)
		conn_free(c);
}

/* ---- the upgrade --------------------------------------------------------- */

static void http(struct conn *c)
{
	struct ws_upgrade_req req;
	char resp[256];
	int hl, n;

	if (!c->http && !(c->http = malloc(WS_UPGRADE_MAX))) {
		conn_free(c);
		return;
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
		return;
	}
	hl = ws_upgrade_parse_request(&req, c->http, c->http_len);
	if (hl == 0) {
		arm_output(c);
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
	if (open_udp(c) < 0) {
		INC(c, udp_bind_failed);
		http_fail(c, 503);
		return;
	}
	if (epoll_ctl(c->L->epfd, EPOLL_CTL_ADD, c->ufd,
		      &(struct epoll_event){ .events = EPOLLIN,
					     .data.u64 = (uint64_t)(uintptr_t)c | TAG_UDP }) < 0) {
		conn_free(c);
		return;
	}
	c->ws = ws_codec_new(true, RELAY_MAX_FRAME, codec_rd, codec_wr, c);
	n = ws_upgrade_response(resp, sizeof(resp), &req);
	if (!c->ws || n < 0 || emit(c, (uint8_t *)resp, (size_t)n, true) < 0) {
		conn_free(c);
		return;
	}
	/* keep only the bytes after the head, for the codec */
	c->http_off = (uint16_t)hl;
	if (c->http_off == c->http_len) {
		free(c->http);
		c->http = NULL;
	}
	c->state = C_OPEN;
	loop_timer_clear(c);
	INC(c, upgrades);
	atomic_fetch_add_explicit(&M(c)->open, 1, memory_order_relaxed);
	frames(c);
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
		arm_output(c);
		return;
	case SSL_ERROR_WANT_WRITE:
		c->tls_io_wants_write = true;
		arm_output(c);
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
		frames(c);
		break;
	default:
		if (flush(c) < 0)
			conn_free(c);
		else
			closing_progress(c);
		break;
	}
}

void conn_on_tcp(struct conn *c, uint32_t events)
{
	if ((events & EPOLLOUT) && c->state >= C_OPEN && c->out_len > c->out_off) {
		if (flush(c) < 0) {
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

void conn_on_timeout(struct conn *c)
{
	if (c->state == C_TLS || c->state == C_HTTP)
		INC(c, handshake_timeouts);
	if (c->state == C_HTTP && c->http_len > 0) {
		/* slowloris: say why before closing */
		loop_timer_clear(c);
		http_fail(c, 408);
		return;
	}
	conn_free(c);
}

void conn_accept(struct relay_loop *L, int fd, const struct sockaddr_storage *peer)
{
	struct relay *r = L->r;
	struct conn *c;
	int64_t now_conns;
	int one = 1, idle = 60, intvl = 10, cnt = 6;

	now_conns = atomic_fetch_add(&r->m.connections, 1) + 1;
	atomic_fetch_add_explicit(&r->m.accepted, 1, memory_order_relaxed);
	/* Past the limit, answer 503; past it by an eighth, just close. */
	if ((uint64_t)now_conns > r->cfg.max_conns + r->cfg.max_conns / 8 + 16) {
		atomic_fetch_add_explicit(&r->m.rejected_full, 1, memory_order_relaxed);
		atomic_fetch_sub(&r->m.connections, 1);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		atomic_fetch_sub(&r->m.connections, 1);
		close(fd);
		return;
	}
	c->L = L;
	c->fd = fd;
	c->ufd = -1;
	c->over_limit = (uint64_t)now_conns > r->cfg.max_conns;
	memcpy(&c->client, peer, peer->ss_family == AF_INET ? sizeof(c->client.sin) : sizeof(c->client.sin6));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
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
	loop_timer_set(L, c, &L->handshake);
	process(c);
}

void conn_free(struct conn *c)
{
	struct relay_loop *L;

	if (!c || c->dead)
		return;
	L = c->L;
	loop_timer_clear(c);
	if (c->prev)
		c->prev->next = c->next;
	else if (L->all == c)
		L->all = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->state >= C_OPEN && c->ws)
		atomic_fetch_sub(&L->r->m.open, 1);
	if (c->ufd >= 0)
		close(c->ufd); /* at once: a reconnect gets a new endpoint */
	SSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd);
	ws_codec_free(c->ws);
	c->ws = NULL;
	stream_uninit(&c->st);
	free(c->msg);
	free(c->out);
	free(c->http);
	c->msg = c->out = NULL;
	c->http = NULL;
	c->out_len = c->out_off = 0;
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
