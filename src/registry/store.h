/* SPDX-License-Identifier: MIT */
#ifndef JITWG_REGISTRY_STORE_H
#define JITWG_REGISTRY_STORE_H

/*
 * The registry's storage seam. store.c holds the logic every backend shares
 * (create with overlap check and pool allocation, expiry, connection pool);
 * a backend (store_sqlite.c, store_pg.c) supplies a handful of primitives
 * over one connection. The data model is two tables:
 *
 *   peers(key, gateway, psk, keepalive, expires_at, created_at, ips)
 *   ranges(fam, lo, hi, key, expires_at)  -- one row per allowed IP
 *
 * Every peer's allowed IPs are kept disjoint from every other peer's, so the
 * ranges sorted by lo are also sorted by hi, and "does [lo,hi] overlap
 * anything?" is one index probe: the range with the greatest lo <= hi.
 *
 * The change feed (GET /v1/peers?since=) reads a third table:
 *
 *   changes(seq, key, gw, deleted, at)  -- one row per (key, gateway or '')
 *
 * Every insert and remove (also expiry's purge and the removals of expired
 * peers the create path makes) rewrites the (key, gw) row with a new,
 * larger seq, so the table is a compacted log: its newest state per key and
 * gateway, in commit order (writers are serialised, see begin below). A
 * remove leaves deleted = 1, a tombstone, kept STORE_TOMBSTONE_TTL seconds;
 * the largest seq pruned is the feed's floor (meta "feedfloor"), and a cursor below it is too
 * old (-ESTALE) because a tombstone it has not seen may be gone.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "registry/pool.h"
#include "wire/record.h"

/* One stored allowed-IP range (addresses big-endian, 4 or 16 bytes used). */
struct store_range {
	uint16_t family;
	uint8_t lo[16], hi[16];
	uint8_t key[WG_KEY_LEN];
	int64_t expires_at;
};

enum { STORE_TOMBSTONE_TTL = 7 * 24 * 3600 };
#define STORE_FEED_FLOOR "feedfloor" /* meta name */

/* One entry of the change feed. */
struct store_change {
	int64_t seq;
	bool deleted;            /* removed or expired: only rec.public_key is set */
	struct peer_record rec;  /* the live record when !deleted */
};

struct store_conn; /* backend-defined */

/*
 * Backend primitives. All return 0 or -errno (-ENOENT for "no such row",
 * -EIO for a database failure, logged once by the backend). A connection is
 * used by one thread at a time. Writes happen only between begin and
 * commit/rollback; begin serialises writers, also across processes sharing
 * the database.
 */
struct store_backend {
	const char *name;
	struct store_conn *(*connect)(const char *db); /* NULL + errno */
	void (*disconnect)(struct store_conn *c);
	int (*begin)(struct store_conn *c);
	int (*commit)(struct store_conn *c);
	void (*rollback)(struct store_conn *c);
	/* The record with this key, expired or not. */
	int (*get)(struct store_conn *c, const uint8_t key[static WG_KEY_LEN], struct peer_record *out);
	/* Inserts the peer and one range per allowed IP. */
	int (*insert)(struct store_conn *c, const struct peer_record *r);
	/* Deletes the peer and its ranges; -ENOENT when absent. */
	int (*remove)(struct store_conn *c, const uint8_t key[static WG_KEY_LEN]);
	/* The range of this family with the greatest lo <= addr. */
	int (*floor)(struct store_conn *c, uint16_t family, const uint8_t addr[static 16], struct store_range *out);
	/* Up to max ranges of this family with lo >= addr, in order; the count or -errno. */
	long (*ranges_from)(struct store_conn *c, uint16_t family, const uint8_t addr[static 16],
			    struct store_range *out, size_t max);
	/*
	 * Up to limit live peers (not expired at now) with key > after (all when
	 * after is NULL), in key order, bound to gateway or to none (all when
	 * gateway is NULL). *out is a calloc'd array the caller clears and frees.
	 */
	int (*list)(struct store_conn *c, const uint8_t *after, const char *gateway, int64_t now, size_t limit,
		    struct peer_record **out, size_t *n);
	/* A small named blob (allocation cursors); -ENOENT when unset. */
	int (*meta_get)(struct store_conn *c, const char *name, uint8_t val[static 16]);
	int (*meta_set)(struct store_conn *c, const char *name, const uint8_t val[static 16]);
	/*
	 * Deletes peers expired at now (leaving tombstones) and tombstones older
	 * than STORE_TOMBSTONE_TTL (raising the feed floor); returns the count of
	 * peers deleted or -errno.
	 */
	long (*purge)(struct store_conn *c, int64_t now);
	/*
	 * Up to limit changes with seq > since, in seq order, for keys bound to
	 * gateway or to none (all when gateway is NULL). A change whose peer is
	 * gone or expired at now comes back as deleted. *out is a calloc'd array
	 * the caller clears (store_changes_free).
	 */
	int (*changes)(struct store_conn *c, const char *gateway, int64_t since, int64_t now, size_t limit,
		       struct store_change **out, size_t *n);
	/*
	 * Waits up to timeout_ms for a change committed by any process sharing
	 * the database (PostgreSQL: LISTEN; SQLite: the feed's newest seq,
	 * compared with *head after the wait). Returns 1 when something may have
	 * changed, 0 when not, -EIO. Used by one watcher thread on its own
	 * connection.
	 */
	int (*watch)(struct store_conn *c, int64_t *head, int timeout_ms);
};

extern const struct store_backend store_sqlite_backend;
extern const struct store_backend store_pg_backend;

/* Allowed IPs <-> the peers.ips column ("10.0.0.2/32,fd00::2/128") go
 * through wire/cidr.h's cidr_list_parse / cidr_list_format. */
/* One peers row as a backend read it (see the data model above). */
struct store_peer_row {
	const void *key;
	size_t key_len;
	const char *gateway;  /* NULL: SQL NULL; else gateway_len bytes, no NUL needed */
	size_t gateway_len;
	bool has_psk;         /* false: SQL NULL */
	const void *psk;
	size_t psk_len;
	int64_t keepalive, expires_at, created_at;
	const char *ips;      /* NUL-terminated peers.ips text */
};

/*
 * Fills *r from row. Returns 0, -EIO when the key, gateway or psk length is
 * wrong, or what cidr_list_parse returns. On error *r may be partly filled:
 * the caller clears it. Pure; any thread.
 */
int store_record_from_row(struct peer_record *r, const struct store_peer_row *row);
/*
 * Fills *out from one ranges row as a backend read it (lo, hi and key as the
 * stored bytes). Returns 0, or -EIO when a length is not what family and
 * WG_KEY_LEN require (*out is then zeroed). Pure; any thread.
 */
int store_range_from_row(struct store_range *out, uint16_t family, const void *lo, size_t lo_len,
			 const void *hi, size_t hi_len, const void *key, size_t key_len, int64_t expires_at);

/* ---- the store: what the API handlers call -------------------------------- */

struct store;

/*
 * Opens the database named by db: a postgres:// or postgresql:// URL selects
 * PostgreSQL, anything else is a SQLite path. conns connections are opened
 * up front (one per HTTP worker is right). Returns NULL + errno.
 */
struct store *store_open(const char *db, unsigned int conns);
void store_free(struct store *s);
const char *store_backend_name(const struct store *s);

/*
 * Creates a peer. With no allowed IPs in *r and a pool given, allocates the
 * next free /32 (and /128) under the store's write lock. On success *r holds
 * the stored record (created_at set) and *created says 201 or 200 (an equal
 * record existed: allocation requests compare everything but allowed IPs).
 * Returns 0, -EEXIST (key exists with a different record), -EADDRINUSE
 * (overlaps another peer; *conflict gets its key when not NULL), -ENOSPC
 * (pool exhausted), -EINVAL (no allowed IPs and no pool), -EIO. Expired
 * peers in the way are deleted first. Thread-safe.
 */
int store_peer_create(struct store *s, struct peer_record *r, const struct pool *pool, int64_t now,
		      bool *created, uint8_t conflict[WG_KEY_LEN]);
/* A live peer: 0, -ENOENT (unknown or expired at now), -EIO. Thread-safe. */
int store_peer_get(struct store *s, const uint8_t key[static WG_KEY_LEN], int64_t now, struct peer_record *out);
/* 0 or -ENOENT, -EIO. Thread-safe. */
int store_peer_delete(struct store *s, const uint8_t key[static WG_KEY_LEN]);
/* See store_backend.list. Thread-safe. */
int store_peer_list(struct store *s, const uint8_t *after, const char *gateway, int64_t now, size_t limit,
		    struct peer_record **out, size_t *n);
/* Deletes expired peers; returns the count or -errno. Thread-safe. */
long store_purge(struct store *s, int64_t now);

/*
 * Calls fn(arg) after every committed write of this process, from the
 * writing thread. Set before the store is shared between threads.
 */
void store_set_notify(struct store *s, void (*fn)(void *arg), void *arg);
/*
 * Waits up to timeout_ms for a change another process committed (see
 * store_backend.watch) on a connection of its own. 1, 0 or -EIO. One thread.
 */
int store_watch(struct store *s, int timeout_ms);

/* The store's figures for /metrics: a snapshot of independent counters. */
struct store_stats {
	unsigned int connections; /* pooled connections */
	unsigned int in_use;      /* held by an operation now */
	uint64_t waits;           /* operations that found every connection busy */
	uint64_t errors;          /* operations that ended in -EIO */
};
void store_stats(const struct store *s, struct store_stats *out);

/*
 * The change feed: up to limit changes after cursor since (0 = from the
 * start), see store_backend.changes. Returns 0, -ESTALE when since is
 * positive and below the feed floor (restart from 0), -EIO, -ENOMEM. Free
 * *out with store_changes_free. Thread-safe.
 */
int store_peer_changes(struct store *s, const char *gateway, int64_t since, int64_t now, size_t limit,
		       struct store_change **out, size_t *n);
/* Clears and frees n changes; NULL is a no-op. */
void store_changes_free(struct store_change *ch, size_t n);
/* The feed floor as 16 meta bytes (big-endian seq, then zeros) and back. */
void store_floor_encode(int64_t seq, uint8_t val[static 16]);
int64_t store_floor_decode(const uint8_t val[static 16]);

#endif
