// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the relay's frame decoder (ws/codec.c over wslay's
 * frame API), server side. The first input byte sets how many bytes each
 * read hands over, so frame headers split at every offset. Invariants: the
 * chunks of a frame add up to its length, control frames arrive whole and
 * short, data frames respect the limit, and an error names a close code.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *p;
	size_t n, step;
	bool dry;
};

static ssize_t rd(void *arg, uint8_t *buf, size_t len)
{
	struct src *s = arg;
	size_t take = s->n < len ? s->n : len;

	if (take > s->step)
		take = s->step;
	if (!take) {
		s->dry = true;
		return -1;
	}
	memcpy(buf, s->p, take);
	s->p += take;
	s->n -= take;
	return (ssize_t)take;
}

static ssize_t wr(void *arg, const uint8_t *buf, size_t len)
{
	return (ssize_t)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum { LIMIT = 1000 };
	struct src s;
	struct ws_codec *c;
	struct ws_chunk ch;
	uint64_t got = 0;
	int r;

	if (size < 1)
		return 0;
	s = (struct src){ .p = data + 1, .n = size - 1, .step = (size_t)(data[0] % 17) + 1 };
	c = ws_codec_new(true, LIMIT, rd, wr, &s);
	if (!c)
		return 0;
	for (;;) {
		s.dry = false;
		r = ws_codec_recv(c, &ch);
		if (r == 0) {
			if (s.dry)
				break;
			continue;
		}
		if (r < 0) {
			uint16_t code = ws_codec_close_code(c);
			if (code != WS_CLOSE_PROTOCOL && code != WS_CLOSE_TOO_BIG)
				abort();
			break;
		}
		if (ch.frame_start)
			got = 0;
		got += ch.len;
		if (got > ch.frame_len || (ch.frame_end && got != ch.frame_len))
			abort();
		if (ch.opcode >= WS_OP_CLOSE && (!ch.frame_start || !ch.frame_end || ch.len > WS_CONTROL_MAX))
			abort();
		if (ch.opcode < WS_OP_CLOSE && ch.frame_len > LIMIT)
			abort();
		/* answering must always be possible */
		if (ch.opcode == WS_OP_PING && ws_codec_send(c, WS_OP_PONG, ch.data, ch.len, NULL, 0) != 0)
			abort();
	}
	ws_codec_free(c);
	return 0;
}
