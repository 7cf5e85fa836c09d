// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ws/stream.h"

static uint32_t be32(const uint8_t b[4])
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

void stream_record_header(uint8_t out[static 4], uint32_t len)
{
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
}

void stream_uninit(struct stream *s)
{
	buf_free(&s->rec);
	memset(s, 0, sizeof(*s));
}

/* Length of the run of whole zero-length records (4 zero bytes each) at p. */
static size_t keepalive_run(const uint8_t *p, size_t n)
{
	size_t i = 0;
	uint64_t w;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		if (w)
			break;
	}
	for (; i + 4 <= n; i += 4)
		if (p[i] | p[i + 1] | p[i + 2] | p[i + 3])
			break;
	return i;
}

int stream_feed(struct stream *s, const uint8_t *p, size_t n, stream_record_fn fn, void *arg)
{
	size_t run;
	int ret;

	while (n > 0) {
		/*
		 * Keepalives back to back are reported once per run: a client
		 * sending nothing but zero-length records costs a scan, not a
		 * call each (the relay's fair share is counted in chunks).
		 */
		if (s->magic_ok && s->hdr_len == 0 && (run = keepalive_run(p, n)) > 0) {
			p += run;
			n -= run;
			if ((ret = fn(arg, p, 0)) != 0)
				return ret;
			continue;
		}
		if (s->hdr_len < 4) {
			/* magic or a record's length: gather 4 bytes */
			size_t take = 4u - s->hdr_len < n ? 4u - s->hdr_len : n;
			memcpy(s->hdr + s->hdr_len, p, take);
			s->hdr_len = (uint8_t)(s->hdr_len + take);
			p += take;
			n -= take;
			if (s->hdr_len < 4)
				break;
			if (!s->magic_ok) {
				if (be32(s->hdr) != STREAM_MAGIC)
					return -EPROTO;
				s->magic_ok = true;
				s->hdr_len = 0;
				continue;
			}
			s->rec_len = be32(s->hdr);
			s->rec_got = 0;
			if (s->rec_len > STREAM_RECORD_MAX)
				return -EMSGSIZE;
			if (s->rec_len == 0) {
				s->hdr_len = 0;
				if ((ret = fn(arg, p, 0)) != 0)
					return ret;
				continue;
			}
			if (n >= s->rec_len) {
				/* whole record in this chunk: no copy */
				s->hdr_len = 0;
				ret = fn(arg, p, s->rec_len);
				p += s->rec_len;
				n -= s->rec_len;
				if (ret)
					return ret;
				continue;
			}
			s->rec.max = s->rec_len;
		}
		/* a split record: copy until complete */
		{
			size_t want = s->rec_len - s->rec_got, take = want < n ? want : n;
			if ((ret = buf_put(&s->rec, p, take)) < 0)
				return ret == -ENOBUFS ? -EMSGSIZE : ret;
			s->rec_got += (uint32_t)take;
			p += take;
			n -= take;
			if (s->rec_got < s->rec_len)
				break;
			ret = fn(arg, buf_data(&s->rec), s->rec_len);
			buf_free(&s->rec);
			s->hdr_len = 0;
			if (ret)
				return ret;
		}
	}
	return 0;
}
