/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_LOOKUP_REPLAY_H
#define JITWG_GATEWAY_LOOKUP_REPLAY_H

/*
 * The replay guard's in-memory index: per initiator key, the highest TAI64N
 * timestamp seen. It is a bounded, set-associative table (no allocation after
 * replay_new), a write-through cache of the marks the lookup thread persists
 * in the SQLite cache.
 *
 * Memory is authoritative for a key only when every persisted mark was loaded
 * (replay_set_loaded) and the key's bucket never had to drop an entry. When it
 * is not, a timestamp newer than what memory holds is REPLAY_UNVERIFIED: it is
 * recorded, and the caller must compare it with the persisted mark before
 * acting on it (the lookup thread does, with cache_replay_get).
 *
 * Threads: every function is thread-safe (one mutex); check-and-record is one
 * critical section, so of two concurrent checks with the same timestamp
 * exactly one is not REPLAY_OLD.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "wire/keys.h"

enum { TAI64N_LEN = 12 };

enum replay_verdict {
	REPLAY_FRESH = 0,  /* newer than the authoritative mark; now recorded */
	REPLAY_UNVERIFIED, /* newer than memory, but memory may lag the store; recorded */
	REPLAY_OLD,        /* not newer than a mark already seen: a replay */
};

struct replay;

/*
 * A table holding at least capacity keys (0 = 65536). Returns NULL with errno
 * set. replay_free(NULL) is a no-op.
 */
struct replay *replay_new(size_t capacity);
void replay_free(struct replay *r);

/*
 * Compares ts (TAI64N, big-endian as on the wire, so memcmp orders it) with
 * the key's mark and, unless REPLAY_OLD, raises the mark to ts.
 */
enum replay_verdict replay_check(struct replay *r, const uint8_t key[static WG_KEY_LEN],
				 const uint8_t ts[static TAI64N_LEN]);

/*
 * Folds in a persisted mark: the key's mark becomes max(memory, ts) and is
 * authoritative from now on. Used while loading and after a store check.
 */
void replay_merge(struct replay *r, const uint8_t key[static WG_KEY_LEN],
		  const uint8_t ts[static TAI64N_LEN]);

/*
 * Start-up load of a persisted mark, most recently seen first: unlike
 * replay_merge() it never displaces an entry (those loaded earlier are more
 * recent); a full bucket is only flagged as overflowed.
 */
void replay_load(struct replay *r, const uint8_t key[static WG_KEY_LEN],
		 const uint8_t ts[static TAI64N_LEN]);

/* Every persisted mark has been merged: misses in intact buckets are fresh. */
void replay_set_loaded(struct replay *r);

/* True when ts is strictly newer than prev (both TAI64N). */
bool tai64n_newer(const uint8_t ts[static TAI64N_LEN], const uint8_t prev[static TAI64N_LEN]);

#endif
