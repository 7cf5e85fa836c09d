// SPDX-License-Identifier: MIT
/*
 * The OPEN state of a relay connection: frames from the client toward
 * WireGuard (both framings), datagrams from WireGuard toward the client,
 * pings and pongs, and the per-wake-up budget that keeps one flooding
 * client from holding its loop. Runs only on the connection's loop thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "relay/conn.h"
#include "ws/codec.h"
#include "wire/messages.h"

#define M(c) (&(c)->L->r->m)
#define INC(c, f) atomic_fetch_add_explicit(&M(c)->f, 1, memory_order_relaxed)
#define ADD(c, f, n) atomic_fetch_add_explicit(&M(c)->f, (n), memory_order_relaxed)

ssize_t conn_codec_rd(void *arg, uint8_t *buf, size_t len)
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

ssize_t conn_codec_wr(void *arg, const uint8_t *buf, size_t len)
{
	struct conn *c = arg;
	struct relay_loop *L = c->L;

	if (L->scratch_len + len > RELAY_MAX_FRAME + 64)
		return -1;
	memcpy(L->scratch + L->scratch_len, buf, len);
	L->scratch_len += len;
	return (ssize_t)len;
}

bool conn_partial(const struct conn *c)
{
	return stream_partial(&c->st) || buf_len(&c->msg) > 0;
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
			ret = conn_send_frame(c, WS_OP_TEXT, hdr, 4, rx, (size_t)n, RELAY_OUT_DATA_MAX);
		} else {
			ret = conn_send_frame(c, WS_OP_BINARY, rx, (size_t)n, NULL, 0, RELAY_OUT_DATA_MAX);
		}
		if (ret == -ENOBUFS || ret == -ENOMEM) {
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

static int on_data(struct conn *c, const struct ws_chunk *ch)
{
	uint8_t want = ch->msg_opcode == WS_OP_TEXT ? F_STREAM : F_MESSAGE;
	int ret;

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
	if (!buf_len(&c->msg) && ch->frame_start && ch->frame_end && ch->fin && ch->opcode != WS_OP_CONT)
		return to_wg(c, ch->data, ch->len);
	if ((ret = buf_put(&c->msg, ch->data, ch->len)) < 0)
		return ret == -ENOBUFS ? -EMSGSIZE : ret;
	if (ch->fin && ch->frame_end) {
		ret = to_wg(c, buf_data(&c->msg), buf_len(&c->msg));
		buf_free(&c->msg);
		return ret;
	}
	return 0;
}

/* True to go on; false when the connection ended or is ending. */
static bool on_control(struct conn *c, const struct ws_chunk *ch)
{
	uint16_t code;

	switch (ch->opcode) {
	case WS_OP_PING:
		/* answered after this wake-up's frames: one pong for the latest ping
		 * (RFC 6455 5.5.3 allows it), so a ping flood queues no more than one */
		INC(c, pings);
		if (c->pong_due)
			INC(c, pongs_coalesced);
		c->pong_due = true;
		c->pong_len = (uint8_t)ch->len;
		memcpy(c->pong, ch->data, ch->len);
		return true;
	case WS_OP_PONG:
		return true;
	default: /* CLOSE: answer with the same code, then end */
		if (ws_close_payload_parse(ch->data, ch->len, &code) < 0) {
			conn_ws_fail(c, WS_CLOSE_PROTOCOL);
			return false;
		}
		if (conn_send_frame(c, WS_OP_CLOSE, (uint8_t[]){ (uint8_t)(code >> 8), (uint8_t)code },
				    code == WS_CLOSE_NO_STATUS ? 0 : 2, NULL, 0, RELAY_MAX_OUTBUF) < 0) {
			conn_free(c);
			return false;
		}
		conn_start_closing(c, C_CLOSING);
		return false;
	}
}

/* Maps on_data's error to a close. */
static void data_fail(struct conn *c, int ret)
{
	if (ret == -EPROTONOSUPPORT)
		conn_ws_fail(c, WS_CLOSE_UNSUPPORTED);
	else if (ret == -EMSGSIZE)
		conn_ws_fail(c, WS_CLOSE_TOO_BIG);
	else
		conn_ws_fail(c, ret == -ENOMEM ? WS_CLOSE_INTERNAL : WS_CLOSE_PROTOCOL);
}

/* After a wake-up that read frames: the timers and the coalesced pong. */
static void after_frames(struct conn *c, bool got)
{
	struct relay_loop *L = c->L;

	if (got) {
		c->idle_ticks = 0;
		loop_timer_set(c, &L->idle);
	}
	if (conn_partial(c)) {
		if (!c->aux.list)
			loop_timer_set(c, &L->partial);
	} else if (c->aux.list == &L->partial) {
		loop_timer_clear(c, true);
	}
	if (c->pong_due && !conn_output_full(c)) {
		c->pong_due = false;
		if (conn_send_frame(c, WS_OP_PONG, c->pong, c->pong_len, NULL, 0, RELAY_MAX_OUTBUF) < 0)
			INC(c, to_client_dropped);
	}
}

void conn_frames(struct conn *c)
{
	bool got = false, more = true;

	if (conn_output_full(c)) {
		conn_arm(c); /* paused: the client must read first */
		return;
	}
	for (int budget = 0; budget < RELAY_WAKE_BUDGET; ++budget) {
		struct ws_chunk ch;
		int ret;

		c->rd = RD_NONE;
		ret = ws_codec_recv(c->ws, &ch);
		if (ret < 0) {
			conn_ws_fail(c, ws_codec_close_code(c->ws));
			return;
		}
		if (ret == 0) {
			if (c->rd == RD_EOF || c->rd == RD_ERR) {
				conn_free(c);
				return;
			}
			if (c->rd == RD_AGAIN || c->rd == RD_NONE) {
				more = false;
				break;
			}
			continue;
		}
		got = true;
		if (ch.opcode >= WS_OP_CLOSE) {
			if (!on_control(c, &ch))
				return;
			continue;
		}
		if ((ret = on_data(c, &ch)) < 0) {
			data_fail(c, ret);
			return;
		}
	}
	if (more)
		loop_more_add(c); /* the budget ran out: bytes may sit in wslay or OpenSSL */
	after_frames(c, got);
	if (conn_flush(c) < 0)
		conn_free(c);
}
