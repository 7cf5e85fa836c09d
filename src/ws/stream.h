/* SPDX-License-Identifier: MIT */
#ifndef JITWG_WS_STREAM_H
#define JITWG_WS_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/*
 * The stream framing's client-to-server byte stream, read across WebSocket
 * frame boundaries: the 4-byte big-endian magic 0x2FACED77, then records of
 * a 4-byte big-endian length and that many bytes. A zero length is a
 * keepalive. Pure: no I/O. A record that arrives whole inside one chunk is
 * handed out in place; only a record split across chunks is copied, into a
 * bounded buffer that grows as its bytes arrive (a client announcing 64 KiB
 * and sending one byte pins a few hundred bytes, not 64 KiB), freed once the
 * record is complete.
 */

enum {
	STREAM_MAGIC = 0x2FACED77,
	STREAM_RECORD_MAX = 65535,
};

/*
 * Called once per complete record, and once per run of keepalives (len 0)
 * that arrive back to back in one chunk. Non-zero stops.
 */
typedef int (*stream_record_fn)(void *arg, const uint8_t *rec, size_t len);

struct stream {
	uint8_t hdr[4];   /* magic or length bytes gathered so far */
	uint8_t hdr_len;
	bool magic_ok;
	uint32_t rec_len; /* length of the record being gathered */
	uint32_t rec_got;
	struct buf rec;   /* a split record's bytes so far; empty otherwise */
};

/* True while a record (or the magic) has started and is not complete. */
static inline bool stream_partial(const struct stream *s)
{
	return s->hdr_len != 0;
}

/* s must start zeroed ({ 0 }). */
void stream_uninit(struct stream *s);

/*
 * Feeds n bytes. Returns 0; -EPROTO on a wrong magic; -EMSGSIZE on a record
 * length over STREAM_RECORD_MAX; -ENOMEM; or the callback's non-zero value.
 * After an error the stream is unusable (close the connection).
 */
int stream_feed(struct stream *s, const uint8_t *p, size_t n, stream_record_fn fn, void *arg);

/* Writes a record header for len bytes. */
void stream_record_header(uint8_t out[static 4], uint32_t len);

#endif
