/* SPDX-License-Identifier: MIT */
#ifndef JITWG_REGISTRY_STORE_H
#define JITWG_REGISTRY_STORE_H

/*
 * The registry's storage seam. store.c holds the logic every backend shares
 * (create with overlap check and pool allocation, expiry, connection pool),
 * store_db.c the data model's primitives over one statement catalogue
 * (store_sql.c); a backend (store_sqlite.c, store_pg.c) supplies
 * connections, transactions and statement execution. The peer data is two tables:
 *
 *   peers(key, gateway, psk, keepalive, expires_at, created_at, ips, name, owner)
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
#include "registry/store_sql.h"
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

/* A statement parameter or result column, as the backends exchange them. */
enum store_type { STORE_NULL = 0, STORE_INT, STORE_TEXT, STORE_BLOB };
struct store_val {
	enum store_type type;
	int64_t i;     /* STORE_INT */
	const void *p; /* STORE_TEXT (not NUL-terminated) and STORE_BLOB */
	size_t len;
};

/* Called once per result row; a nonzero return stops the statement and is returned by exec. */
typedef int (*store_row_fn)(void *arg, const struct store_val *cols, int ncols);

/*
 * A backend: connections, transactions, and one way to run a statement of
 * the catalogue (store_sql.h). Everything else is written once over exec
 * (store_db.c). All return 0 or -errno (-EIO for a database failure, logged
 * once by the backend). A connection is used by one thread at a time.
 * Writes happen only between begin and commit/rollback; begin serialises
 * writers, also across processes sharing the database.
 */
struct store_backend {
	const char *name;
	struct store_conn *(*connect)(const char *db); /* NULL + errno; creates or migrates the schema */
	void (*disconnect)(struct store_conn *c);
	int (*begin)(struct store_conn *c);
	int (*commit)(struct store_conn *c);
	void (*rollback)(struct store_conn *c);
	/*
	 * Runs statement id with its n parameters; row() sees each result row
	 * (columns valid during the call only); *changed (when not NULL) gets the
	 * count of rows written. Returns 0, -EIO, or row()'s nonzero return.
	 */
	int (*exec)(struct store_conn *c, int id, const struct store_val *params, int n, store_row_fn row, void *arg,
		    long *changed);
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

/*
 * The data model's primitives over one connection (store_db.c), the same
 * for every backend. Return 0 or -errno as above; -ENOENT for "no such row".
 */
/* The record with this key, expired or not. */
int store_db_get(const struct store_backend *be, struct store_conn *c, const uint8_t key[static WG_KEY_LEN],
		 struct peer_record *out);
/* Inserts the peer, its feed entry and one range per allowed IP. */
int store_db_insert(const struct store_backend *be, struct store_conn *c, const struct peer_record *r);
/* Deletes the peer and its ranges, leaving a tombstone dated now; -ENOENT when absent. */
int store_db_remove(const struct store_backend *be, struct store_conn *c, const uint8_t key[static WG_KEY_LEN],
		    int64_t now);
/* The range of this family with the greatest lo <= addr. */
int store_db_floor(const struct store_backend *be, struct store_conn *c, uint16_t family,
		   const uint8_t addr[static 16], struct store_range *out);
/* Up to max ranges of this family with lo >= addr, in order; the count or -errno. */
long store_db_ranges_from(const struct store_backend *be, struct store_conn *c, uint16_t family,
			  const uint8_t addr[static 16], struct store_range *out, size_t max);
/*
 * Up to limit live peers (not expired at now) with key > after (all when
 * after is NULL), in key order, bound to gateway or to none (all when
 * gateway is NULL), owned by owner (all when NULL). *out is a calloc'd array
 * the caller clears and frees.
 */
int store_db_list(const struct store_backend *be, struct store_conn *c, const uint8_t *after, const char *gateway,
		  const char *owner, int64_t now, size_t limit, struct peer_record **out, size_t *n);
/* A small named blob (allocation cursors, the feed floor); -ENOENT when unset. */
int store_db_meta_get(const struct store_backend *be, struct store_conn *c, const char *name, uint8_t val[static 16]);
int store_db_meta_set(const struct store_backend *be, struct store_conn *c, const char *name,
		      const uint8_t val[static 16]);
/*
 * Deletes peers expired at now (leaving tombstones) and tombstones older
 * than STORE_TOMBSTONE_TTL (raising the feed floor); returns the count of
 * peers deleted or -errno.
 */
long store_db_purge(const struct store_backend *be, struct store_conn *c, int64_t now);
/*
 * Up to limit changes with seq > since, in seq order, for keys bound to
 * gateway or to none (all when gateway is NULL). A change whose peer is
 * gone or expired at now comes back as deleted. *out is a calloc'd array
 * the caller clears (store_changes_free).
 */
int store_db_changes(const struct store_backend *be, struct store_conn *c, const char *gateway, int64_t since,
		     int64_t now, size_t limit, struct store_change **out, size_t *n);
/* The first expires_at of any peer (0: none), expired or not. */
int store_db_next_expiry(const struct store_backend *be, struct store_conn *c, int64_t *out);
/* The feed's newest seq (0: empty). */
int store_db_head(const struct store_backend *be, struct store_conn *c, int64_t *out);

/* Allowed IPs <-> the peers.ips column ("10.0.0.2/32,fd00::2/128") go
 * through wire/cidr.h's cidr_list_parse / cidr_list_format. */

/* ---- the store: what the API handlers call -------------------------------- */

struct store;

/*
 * Who makes a change: recorded in the audit trail. NULL where a function
 * takes one means token 0 (the legacy --token-file token, or no auth).
 */
struct store_who {
	int64_t token_id; /* 0: legacy admin token or no authentication */
	bool enroll;      /* a create counts against the token's max_peers, in its transaction */
};

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
 * (pool exhausted), -EINVAL (no allowed IPs and no pool), -EDQUOT (an
 * enroll who has no creations left), -EIO. For an enroll who an existing
 * key is -EEXIST, never an echo of its record. Expired peers in the way are
 * deleted first. Thread-safe.
 */
int store_peer_create(struct store *s, struct peer_record *r, const struct pool *pool, int64_t now,
		      const struct store_who *who, bool *created, uint8_t conflict[WG_KEY_LEN]);
/* A live peer: 0, -ENOENT (unknown or expired at now), -EIO. Thread-safe. */
int store_peer_get(struct store *s, const uint8_t key[static WG_KEY_LEN], int64_t now, struct peer_record *out);
/* 0 or -ENOENT, -EIO; the tombstone is dated now. Thread-safe. */
int store_peer_delete(struct store *s, const uint8_t key[static WG_KEY_LEN], int64_t now,
		      const struct store_who *who);
/*
 * Applies the fields of patch named by present (PEER_F_ALLOWED_IPS,
 * _EXPIRES_AT, _NAME, _OWNER, _KEEPALIVE) to the live peer key; *out gets
 * the new record (the caller clears it). An update that changes nothing
 * writes nothing. Returns 0, -ENOENT (unknown or expired), -EADDRINUSE
 * (*conflict: the holder), -ENOMEM, -EIO. Thread-safe.
 */
int store_peer_update(struct store *s, const uint8_t key[static WG_KEY_LEN], const struct peer_record *patch,
		      unsigned int present, int64_t now, const struct store_who *who, struct peer_record *out,
		      uint8_t conflict[WG_KEY_LEN]);
/*
 * Moves the live peer old_key to new_key (allowed IPs, gateway, name, owner,
 * keepalive and expiry kept; the preshared key is psk, NULL for none;
 * created_at now); old_key becomes a tombstone. *out gets the new record.
 * Returns 0, -ENOENT (old_key unknown or expired), -EEXIST (new_key is a
 * live peer, or equals old_key), -ENOMEM, -EIO. Thread-safe.
 */
int store_peer_rotate(struct store *s, const uint8_t old_key[static WG_KEY_LEN],
		      const uint8_t new_key[static WG_KEY_LEN], const uint8_t *psk, int64_t now,
		      const struct store_who *who, struct peer_record *out);
/* See store_db_list. Thread-safe. */
int store_peer_list(struct store *s, const uint8_t *after, const char *gateway, const char *owner, int64_t now,
		    size_t limit, struct peer_record **out, size_t *n);
/* Deletes expired peers and old tombstones; returns the count of peers or -errno. Thread-safe. */
long store_purge(struct store *s, int64_t now);
/* store_purge, but only when a peer's expiry is due (a cheap read otherwise). Thread-safe. */
long store_expire(struct store *s, int64_t now);

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

/* ---- tokens and the audit trail (store_token.c) ---------------------------- */

enum store_scope { STORE_SCOPE_ADMIN = 0, STORE_SCOPE_GATEWAY, STORE_SCOPE_ENROLL };
enum { STORE_TOKEN_HASH_LEN = 32, STORE_COMMENT_MAX = 128 };

struct store_token {
	int64_t id;
	enum store_scope scope;
	bool has_gateway;                /* gateway scope bound to one gateway name */
	char gateway[PEER_GATEWAY_MAX];
	int64_t max_peers, used;         /* enroll: creations allowed and made */
	int64_t expires_at;              /* 0 = never */
	int64_t created_at, revoked_at;  /* revoked_at 0 = live */
	char comment[STORE_COMMENT_MAX];
};

/* "admin", "gateway", "enroll"; and back (0 or -EINVAL). */
const char *store_scope_name(enum store_scope scope);
int store_scope_parse(const char *s, enum store_scope *out);

/*
 * Stores a token by the SHA-256 of its secret, with t's scope, gateway,
 * max_peers, expires_at and comment; sets t->id and t->created_at. 0,
 * -EIO (also for a hash that exists). Audited. Thread-safe.
 */
int store_token_create(struct store *s, const uint8_t hash[static STORE_TOKEN_HASH_LEN], struct store_token *t,
		       int64_t now, const struct store_who *who);
/* The token with this hash, revoked or expired or not: 0, -ENOENT, -EIO. Thread-safe. */
int store_token_find(struct store *s, const uint8_t hash[static STORE_TOKEN_HASH_LEN], struct store_token *out);
/* Up to limit tokens with id > after, by id; *out calloc'd (caller frees). Thread-safe. */
int store_token_list(struct store *s, int64_t after, size_t limit, struct store_token **out, size_t *n);
/* Revokes a live token: 0, -ENOENT (unknown or already revoked), -EIO. Audited. Thread-safe. */
int store_token_revoke(struct store *s, int64_t id, int64_t now, const struct store_who *who);
/* Whether the database holds any token (then requests need one). Thread-safe. */
int store_token_any(struct store *s, bool *any);

/* One audit row: who (token id, 0 = legacy token or none), what, when. */
struct store_audit {
	int64_t id, at, token_id;
	char action[16];
	char target[64];
	char detail[160];
};
/* Up to limit rows with id > since, by id; *out calloc'd (caller frees). Thread-safe. */
int store_audit_list(struct store *s, int64_t since, size_t limit, struct store_audit **out, size_t *n);

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
 * start), see store_db_changes. Returns 0, -ESTALE when since is
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
