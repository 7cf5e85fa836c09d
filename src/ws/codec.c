// SPDX-License-Identifier: MIT
/*
 * wslay's frame API does the byte-level work (header states, extended
 * lengths, unmasking in its own 4 KiB read buffer, which is also this
 * connection's socket read buffer); this file adds the protocol rules a
 * server must enforce on top of it, since wslay only enforces them in its
 * event API, which we cannot use (UTF-8, see the header).
 */
#include <errno.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#include "ws/codec.h"

struct ws_codec {
	wslay_frame_context_ptr wf;
	ws_read_fn rd;
	ws_write_fn wr;
	void *arg;
	size_t max_frame;
	uint64_t remaining;  /* payload bytes left in the current data frame */
	bool in_frame;       /* a frame's header was seen and its payload is not done */
	bool in_message;     /* a fragmented data message is open */
	bool server;
	uint8_t msg_opcode;  /* opcode of the open data message */
	uint8_t cur_opcode;  /* opcode of the frame being read */
	uint16_t close_code;
	uint8_t ctl_len;     /* control payload gathered so far */
	uint8_t ctl[WS_CONTROL_MAX];
};

static ssize_t recv_cb(uint8_t *buf, size_t len, int flags, void *user)
{
	struct ws_codec *c = user;
	ssize_t n = c->rd(c->arg, buf, len);

	return n > 0 ? n : -1;
}

static ssize_t send_cb(const uint8_t *data, size_t len, int flags, void *user)
{
	struct ws_codec *c = user;

	return c->wr(c->arg, data, len) == (ssize_t)len ? (ssize_t)len : -1;
}

static int mask_cb(uint8_t *buf, size_t len, void *user)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

struct ws_codec *ws_codec_new(bool server, size_t max_frame, ws_read_fn rd, ws_write_fn wr,
			      void *arg)
{
	static const struct wslay_frame_callbacks cbs = {
		.send_callback = send_cb,
		.recv_callback = recv_cb,
		.genmask_callback = mask_cb,
	};
	struct ws_codec *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (wslay_frame_context_init(&c->wf, &cbs, c) != 0) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->server = server;
	c->max_frame = max_frame;
	c->rd = rd;
	c->wr = wr;
	c->arg = arg;
	return c;
}

void ws_codec_free(struct ws_codec *c)
{
	if (!c)
		return;
	wslay_frame_context_free(c->wf);
	free(c);
}

uint16_t ws_codec_close_code(const struct ws_codec *c)
{
	return c->close_code;
}

static int violation(struct ws_codec *c, uint16_t code)
{
	c->close_code = code;
	return code == WS_CLOSE_TOO_BIG ? -EMSGSIZE : -EPROTO;
}

/* Rules checked once per frame, on its first chunk. */
static int frame_start(struct ws_codec *c, const struct wslay_frame_iocb *io)
{
	bool ctl = wslay_is_ctrl_frame(io->opcode);

	if (io->rsv)
		return violation(c, WS_CLOSE_PROTOCOL);
	if ((bool)io->mask != c->server)
		return violation(c, WS_CLOSE_PROTOCOL); /* RFC 6455 5.1 */
	switch (io->opcode) {
	case WS_OP_CONT:
		if (!c->in_message)
			return violation(c, WS_CLOSE_PROTOCOL);
		break;
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		if (c->in_message)
			return violation(c, WS_CLOSE_PROTOCOL);
		c->msg_opcode = io->opcode;
		break;
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		break;
	default:
		return violation(c, WS_CLOSE_PROTOCOL);
	}
	if (ctl) {
		/* wslay already refused a long or fragmented control frame. */
		c->ctl_len = 0;
	} else {
		if (io->payload_length > c->max_frame)
			return violation(c, WS_CLOSE_TOO_BIG);
		c->in_message = !io->fin;
	}
	c->cur_opcode = io->opcode;
	c->remaining = io->payload_length;
	c->in_frame = true;
	return 0;
}

int ws_codec_recv(struct ws_codec *c, struct ws_chunk *out)
{
	for (;;) {
		struct wslay_frame_iocb io = { 0 };
		bool start;
		ssize_t n;
		int ret;

		if (c->close_code)
			return c->close_code == WS_CLOSE_TOO_BIG ? -EMSGSIZE : -EPROTO;
		n = wslay_frame_recv(c->wf, &io);
		if (n == WSLAY_ERR_WANT_READ)
			return 0;
		if (n < 0)
			return violation(c, WS_CLOSE_PROTOCOL);
		start = !c->in_frame;
		if (start && (ret = frame_start(c, &io)) < 0)
			return ret;
		if ((uint64_t)n > c->remaining)
			return violation(c, WS_CLOSE_PROTOCOL); /* cannot happen: wslay aligns frames */
		c->remaining -= (uint64_t)n;
		if (c->remaining == 0)
			c->in_frame = false;
		if (wslay_is_ctrl_frame(c->cur_opcode)) {
			memcpy(c->ctl + c->ctl_len, io.data, (size_t)n);
			c->ctl_len = (uint8_t)(c->ctl_len + n);
			if (c->in_frame)
				continue; /* deliver control frames whole */
			*out = (struct ws_chunk){
				.opcode = c->cur_opcode, .msg_opcode = c->cur_opcode, .fin = true,
				.frame_start = true, .frame_end = true, .frame_len = c->ctl_len,
				.data = c->ctl, .len = c->ctl_len,
			};
			return 1;
		}
		*out = (struct ws_chunk){
			.opcode = c->cur_opcode, .msg_opcode = c->msg_opcode, .fin = io.fin,
			.frame_start = start, .frame_end = !c->in_frame,
			.frame_len = io.payload_length, .data = io.data, .len = (size_t)n,
		};
		return 1;
	}
}

int ws_codec_send(struct ws_codec *c, uint8_t opcode, const void *a, size_t alen,
		  const void *b, size_t blen)
{
	struct wslay_frame_iocb io = {
		.fin = 1, .opcode = opcode, .mask = !c->server,
		.payload_length = alen + blen, .data = a, .data_length = alen,
	};
	ssize_t n;

	if (wslay_is_ctrl_frame(opcode) && alen + blen > WS_CONTROL_MAX)
		return -EINVAL;
	/* wr takes everything, so each call completes its piece at once. */
	n = wslay_frame_send(c->wf, &io);
	if (n < 0 || (size_t)n != alen)
		return -EIO;
	if (blen) {
		io.data = b;
		io.data_length = blen;
		n = wslay_frame_send(c->wf, &io);
		if (n < 0 || (size_t)n != blen)
			return -EIO;
	}
	return 0;
}

int ws_codec_send_close(struct ws_codec *c, uint16_t code)
{
	uint8_t p[2] = { (uint8_t)(code >> 8), (uint8_t)code };

	return ws_codec_send(c, WS_OP_CLOSE, p, code ? 2 : 0, NULL, 0);
}

int ws_close_payload_parse(const uint8_t *p, size_t len, uint16_t *code)
{
	uint16_t v;

	if (len == 0) {
		*code = WS_CLOSE_NO_STATUS;
		return 0;
	}
	if (len < 2)
		return -EPROTO;
	v = (uint16_t)(p[0] << 8 | p[1]);
	/* RFC 6455 7.4: 1000-1003, 1007-1011 (and 1012-1014 by IANA), 3000-4999 */
	if (!((v >= 1000 && v <= 1003) || (v >= 1007 && v <= 1014) || (v >= 3000 && v <= 4999)))
		return -EPROTO;
	*code = v;
	return 0;
}
