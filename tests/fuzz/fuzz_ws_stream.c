// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the stream framing's reassembler. The input is cut
 * into chunks at offsets taken from its first bytes; the records must be the
 * same (count, lengths, contents) as when the whole stream is fed at once,
 * and no record may exceed 65,535 bytes. Keepalives back to back are
 * reported once per run within a chunk, so a cut may split a run into
 * several reports: the digest counts a run of them as one.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct digest {
	size_t n, bytes;
	uint32_t h;
	bool in_keepalives; /* the last report was a keepalive */
};

static int rec(void *arg, const uint8_t *p, size_t len)
{
	struct digest *d = arg;

	if (len > STREAM_RECORD_MAX)
		abort();
	if (len == 0 && d->in_keepalives)
		return 0;
	d->in_keepalives = len == 0;
	d->n++;
	d->bytes += len;
	d->h = d->h * 31 + (uint32_t)len;
	for (size_t i = 0; i < len; ++i)
		d->h = d->h * 131 + p[i];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stream a = { 0 }, b = { 0 };
	struct digest da = { 0 }, db = { 0 };
	int ra, rb = 0;
	size_t off = 0, i = 0;

	if (size < 2)
		return 0;
	const uint8_t *cuts = data;
	size_t ncuts = data[0] % 8 + 1;
	if (size < 1 + ncuts)
		return 0;
	data += 1 + ncuts;
	size -= 1 + ncuts;
	ra = stream_feed(&a, data, size, rec, &da);
	while (off < size && rb == 0) {
		size_t n = cuts[1 + i % ncuts] + 1;
		if (n > size - off)
			n = size - off;
		rb = stream_feed(&b, data + off, n, rec, &db);
		off += n;
		++i;
	}
	if ((ra == 0) != (rb == 0) || (ra && ra != rb))
		abort();
	if (da.n != db.n || da.bytes != db.bytes || da.h != db.h)
		abort();
	stream_uninit(&a);
	stream_uninit(&b);
	return 0;
}
