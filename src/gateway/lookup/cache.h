/* SPDX-License-Identifier: MIT */
#ifndef JITWG_GATEWAY_LOOKUP_CACHE_H
#define JITWG_GATEWAY_LOOKUP_CACHE_H

/*
 * jitwgd's embedded SQLite cache: peer records fetched from the registry
 * (positive), keys the registry did not know (negative), when the registry
 * was last asked about a key (the fetch window), and the replay guard's
 * TAI64N marks. One connection, WAL, synchronous=NORMAL, prepared
 * statements. The cache only stores; freshness policy lives in lookup.c.
 *
 * Times are unix milliseconds supplied by the caller (so tests inject them).
 * Threads: a struct cache is NOT thread-safe; the lookup thread owns it.
 * Errors: SQLite errors are logged once here and returned as -EIO.
 */

#include <stdbool.h>
#include <stdint.h>
#include "wire/record.h"
#include "wire/keys.h"

enum { CACHE_SCHEMA_VERSION = 1 };

enum cache_state {
	CACHE_ABSENT = 0,   /* only a fetch attempt is recorded */
	CACHE_POSITIVE = 1, /* rec holds the registry's record */
	CACHE_NEGATIVE = 2, /* the registry answered 404 */
};

struct cache_entry {
	enum cache_state state;
	int64_t fetched_at;        /* ms: when the registry last answered 200/404, 0 never */
	int64_t attempt_at;        /* ms: when the registry was last asked, 0 never */
	struct peer_record rec;    /* valid for CACHE_POSITIVE; cache_entry_clear() frees */
};

struct cache;

/*
 * Opens (creating with mode 0600 if needed) the cache at path, or ":memory:".
 * Returns NULL with errno set and *errmsg (when not NULL) a static reason:
 * not a database / corrupt, schema from a newer version, unwritable, ...
 */
struct cache *cache_open(const char *path, const char **errmsg);
/*
 * A second connection to the cache file a running cache_open() holds, for
 * another thread of the same daemon (prefetch.c): no flock, same schema
 * checks. Not for ":memory:" (-EINVAL). Writers on the two connections wait
 * for each other (SQLite busy timeout, 2 s): keep transactions short.
 */
struct cache *cache_open_companion(const char *path, const char **errmsg);
/* Finalizes statements and closes; NULL is a no-op. */
void cache_close(struct cache *c);

/* Frees rec's allowed IPs and wipes the preshared key; NULL is a no-op. */
void cache_entry_clear(struct cache_entry *e);

/*
 * Reads the key's row into *out (which the caller later clears). Returns 0,
 * -ENOENT when there is no row, -EIO or -ENOMEM.
 */
int cache_peer_get(struct cache *c, const uint8_t key[static WG_KEY_LEN], struct cache_entry *out);
/* Stores a fetched record (key = rec->public_key) as fetched at now. 0 or -errno. */
int cache_peer_put(struct cache *c, const struct peer_record *rec, int64_t now);
/* Stores a 404 for key at now, dropping any record. 0 or -errno. */
int cache_peer_put_negative(struct cache *c, const uint8_t key[static WG_KEY_LEN], int64_t now);
/* Records that the registry is being asked about key at now. 0 or -errno. */
int cache_peer_note_attempt(struct cache *c, const uint8_t key[static WG_KEY_LEN], int64_t now);
/* Removes the key's row. 0 (also when absent) or -errno. */
int cache_peer_delete(struct cache *c, const uint8_t key[static WG_KEY_LEN]);

/* The persisted replay mark of key into ts. Returns 0, -ENOENT or -EIO. */
int cache_replay_get(struct cache *c, const uint8_t key[static WG_KEY_LEN], uint8_t ts[static 12]);
/* Raises the key's persisted mark to ts (never lowers it). 0 or -errno. */
int cache_replay_put(struct cache *c, const uint8_t key[static WG_KEY_LEN],
		     const uint8_t ts[static 12], int64_t now);
/*
 * Calls fn for each persisted mark, at most limit of them (0 = all). Returns
 * the number visited, or -errno (fn's own negative return stops the walk and
 * is passed through).
 */
long cache_replay_foreach(struct cache *c, size_t limit,
			  int (*fn)(void *ctx, const uint8_t key[WG_KEY_LEN], const uint8_t ts[12]),
			  void *ctx);

/*
 * Housekeeping: deletes negative and attempt-only rows last touched before
 * neg_before, positive rows fetched before pos_before, replay marks seen
 * before replay_before. Returns rows deleted or -errno.
 */
long cache_prune(struct cache *c, int64_t neg_before, int64_t pos_before, int64_t replay_before);

/*
 * The registry change feed's cursor for scope (prefetch.c: registry URL and
 * gateway). get: 0, -ENOENT when none stored, -EIO. put: 0 or -errno.
 */
int cache_feed_get(struct cache *c, const char *scope, int64_t *since);
int cache_feed_put(struct cache *c, const char *scope, int64_t since);
/*
 * Sets fetched_at = now on at most max positive rows fetched before
 * older_than (the prefetcher, caught up with the feed, vouches for them).
 * Returns the rows changed or -errno.
 */
long cache_peer_refresh(struct cache *c, int64_t now, int64_t older_than, long max);

/* Batches writes: one transaction around a burst. 0 or -errno. */
int cache_begin(struct cache *c);
int cache_commit(struct cache *c);

/* Row counts for status output and tests. 0 or -errno. */
int cache_count(struct cache *c, long *peers, long *replay);

#endif
