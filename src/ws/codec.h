/* SPDX-License-Identifier: MIT */
#ifndef JITWG_WS_CODEC_H
#define JITWG_WS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * WebSocket frames (RFC 6455 section 5) over wslay's frame-level API, with
 * the checks wslay leaves to its caller: masking direction, reserved bits,
 * known opcodes, fragment order, a size limit on data frames. No UTF-8
 * validation: the stream framing carries raw binary in TEXT frames (wslay's
 * event API would validate and fail it; this is why the frame API is used).
 *
 * The codec pulls bytes through rd and pushes encoded frames through wr; both
 * are the caller's (a socket, a TLS session, a test buffer). One codec per
 * connection; not thread-safe.
 */

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa,
};

enum ws_close_code {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_UNSUPPORTED = 1003,
	WS_CLOSE_NO_STATUS = 1005,
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011,
};

enum {
	WS_CONTROL_MAX = 125,
	WS_HEADER_MAX = 14,
};

/*
 * rd fills at most len bytes and returns how many (> 0); it returns -1 when
 * it has none to give (would block, end of stream or error: the caller keeps
 * track of which). wr must take all len bytes and return len, or -1.
 */
typedef ssize_t (*ws_read_fn)(void *arg, uint8_t *buf, size_t len);
typedef ssize_t (*ws_write_fn)(void *arg, const uint8_t *buf, size_t len);

/* One piece of one frame's payload, as it arrives. */
struct ws_chunk {
	uint8_t opcode;      /* the frame's own opcode (WS_OP_CONT for continuations) */
	uint8_t msg_opcode;  /* TEXT or BINARY for data; the control opcode otherwise */
	bool fin;            /* the frame's FIN bit */
	bool frame_start;    /* first piece of this frame */
	bool frame_end;      /* last piece of this frame */
	uint64_t frame_len;  /* the frame's whole payload length */
	const uint8_t *data; /* valid until the next ws_codec_recv() call */
	size_t len;
};

struct ws_codec;

/*
 * server: true to expect masked frames and send unmasked ones; false for the
 * client side. max_frame bounds a data frame's payload (larger: close 1009).
 * Returns NULL with errno set (ENOMEM). Free with ws_codec_free().
 */
struct ws_codec *ws_codec_new(bool server, size_t max_frame, ws_read_fn rd, ws_write_fn wr,
			      void *arg);
void ws_codec_free(struct ws_codec *c);

/*
 * Returns 1 with the next chunk in *out; 0 when rd has no more bytes for now
 * (rd said so, or a header is still incomplete); or a negative errno on a
 * violation, after which the connection must be closed with
 * ws_codec_close_code(): -EPROTO (1002), -EMSGSIZE (1009). Control frames are
 * delivered whole, in one chunk, and may arrive between the fragments of a
 * data message.
 */
int ws_codec_recv(struct ws_codec *c, struct ws_chunk *out);

/* The close code that the last error of ws_codec_recv() calls for. */
uint16_t ws_codec_close_code(const struct ws_codec *c);

/*
 * Encodes one whole frame (FIN set) with payload a[0..alen) followed by
 * b[0..blen) (b may be NULL), masked on the client side. Returns 0, -EINVAL
 * (control payload over 125 bytes) or -EIO (wr failed; the codec is then
 * unusable).
 */
int ws_codec_send(struct ws_codec *c, uint8_t opcode, const void *a, size_t alen,
		  const void *b, size_t blen);

/* Encodes a close frame with code (0: none) and no reason. Same returns. */
int ws_codec_send_close(struct ws_codec *c, uint16_t code);

/*
 * Parses a close frame's payload: the code, or WS_CLOSE_NO_STATUS when empty.
 * Returns 0 or -EPROTO (one byte, or a code that may not be sent).
 */
int ws_close_payload_parse(const uint8_t *p, size_t len, uint16_t *code);

#endif
