/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_ADMIT_EPHEMERAL_H
#define JITWG_GATEWAY_ADMIT_EPHEMERAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The seen-ephemeral filter, in the admission gate before any DH: an
 * initiation whose ephemeral public key (bytes 8..40) arrived already
 * within the last 10-20 s is a replay. The gate drops those while
 * admission is engaged or identification is loaded; otherwise a replay
 * still goes on to the replay guard, which restores a moved endpoint. A real initiator makes a fresh
 * ephemeral for every initiation, retransmits included, so no client's
 * message is ever refused by it; a replay flood of one captured initiation
 * from a /16 (bench/flood (d)), which per-source buckets cannot hold back,
 * then costs one keyed hash per packet instead of a decode. Rewriting the
 * sender index and mac1 does not help the replayer: only the ephemeral is
 * looked at. Ingest sources are kept apart (the same message seen by the
 * capture and by the relay is not a replay).
 *
 * Two generations of open-addressed 64-bit fingerprints (SipHash with a
 * random key, so nobody can aim at slots), each cleared when it
 * ages out: bounded memory (16 bytes a slot). When a generation is full
 * the message is let through unrecorded (fail-open; counted).
 *
 * Threads: one owner (the admission gate, under its mutex).
 */

struct ephemeral_filter;

/* slots per generation (rounded up to a power of two, 1024..2^24); window in ns.
 * NULL with errno set. */
struct ephemeral_filter *ephemeral_filter_new(size_t slots, uint64_t window_ns);
void ephemeral_filter_free(struct ephemeral_filter *f);

/*
 * True when msg's ephemeral, from this source, was seen within the window
 * (drop it); otherwise records it and returns false. msg is the 148-byte
 * initiation; now_ns any monotonic clock.
 */
bool ephemeral_filter_seen(struct ephemeral_filter *f, const uint8_t *msg, unsigned source,
			   uint64_t now_ns);

/* Messages let through unrecorded because a generation was full. */
uint64_t ephemeral_filter_full(const struct ephemeral_filter *f);

#endif
