// SPDX-License-Identifier: MIT
/*
 * A relay connection's bytes: reads and writes over plain TCP or TLS, and
 * the bounded output queue (common/buf.h) with its back-pressure: reading
 * pauses while output is backed up, and a client that does not drain it in
 * time is closed with 1008 (conn_on_stall).
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "relay/conn.h"
#include "ws/codec.h"

ssize_t conn_read(struct conn *c, uint8_t *buf, size_t len)
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

/* Writes what the socket takes: bytes written (>= 0) or -EPIPE. */
static ssize_t write_some(struct conn *c, const uint8_t *p, size_t len)
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
			return -EPIPE;
		}
	}
	n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -EPIPE;
}

bool conn_output_full(const struct conn *c)
{
	return buf_len(&c->out) >= RELAY_OUT_PAUSE;
}

void conn_arm(struct conn *c)
{
	uint32_t want = 0;

	if (c->dead)
		return;
	/* paused: not even EPOLLRDHUP, which would fire (level-triggered) until we read */
	if (!(c->state == C_OPEN && conn_output_full(c)))
		want |= EPOLLIN | EPOLLRDHUP;
	if (buf_len(&c->out) || c->tls_io_wants_write)
		want |= EPOLLOUT;
	if (want != c->ev)
		loop_arm(c, want);
}

/* Output drained below the pause mark: read again, from what is buffered first. */
static void resume(struct conn *c)
{
	struct relay_loop *L = c->L;

	if (c->aux.list != &L->stall)
		return;
	loop_timer_clear(c, true);
	if (conn_partial(c))
		loop_timer_set(c, &L->partial);
	loop_more_add(c);
}

int conn_flush(struct conn *c)
{
	while (buf_len(&c->out)) {
		ssize_t n = write_some(c, buf_data(&c->out), buf_len(&c->out));
		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		buf_consume(&c->out, (size_t)n); /* an emptied queue holds no memory */
	}
	if (!conn_output_full(c))
		resume(c);
	conn_arm(c);
	return 0;
}

int conn_emit(struct conn *c, const uint8_t *p, size_t len, size_t limit)
{
	int ret;

	if (buf_len(&c->out) == 0) {
		ssize_t n = write_some(c, p, len);
		if (n < 0)
			return (int)n;
		p += n;
		len -= (size_t)n;
		if (len == 0)
			return 0;
		/* a frame is never cut: the rest of a started one is always queued */
	} else if (buf_len(&c->out) + len > limit) {
		return -ENOBUFS;
	}
	if ((ret = buf_put(&c->out, p, len)) < 0)
		return ret;
	/* reading pauses now, so a partial record's deadline gives way to this one */
	if (c->state == C_OPEN && conn_output_full(c) && c->aux.list != &c->L->stall)
		loop_timer_set(c, &c->L->stall);
	conn_arm(c);
	return 0;
}

int conn_send_frame(struct conn *c, uint8_t op, const void *a, size_t alen, const void *b,
		    size_t blen, size_t limit)
{
	int ret;

	c->L->scratch_len = 0;
	ret = ws_codec_send(c->ws, op, a, alen, b, blen);
	if (ret == 0)
		ret = conn_emit(c, c->L->scratch, c->L->scratch_len, limit);
	c->L->scratch_len = 0;
	return ret;
}
