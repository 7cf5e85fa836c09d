// SPDX-License-Identifier: MIT
/*
 * SQLite backend of store.h. One sqlite3 handle per connection slot, opened
 * NOMUTEX (store.c hands a slot to one thread at a time), WAL mode so reads
 * never wait for the writer, and every statement prepared once.
 */
#include "registry/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <sqlite3.h>

#include "common/log.h"

enum stmt_id {
	ST_GET,
	ST_INS_PEER,
	ST_INS_RANGE,
	ST_DEL_PEER,
	ST_DEL_RANGES,
	ST_FLOOR,
	ST_FROM,
	ST_LIST,
	ST_META_GET,
	ST_META_SET,
	ST_PURGE_RANGES,
	ST_PURGE_PEERS,
	ST_CHG_PUT,
	ST_CHG_DEL,
	ST_CHG_EXPIRE,
	ST_TOMB_MAX,
	ST_TOMB_PRUNE,
	ST_CHANGES,
	ST_HEAD,
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_COUNT
};

static const char *const sql[ST_COUNT] = {
	[ST_GET] = "SELECT key, gateway, psk, keepalive, expires_at, created_at, ips FROM peers WHERE key = ?1",
	[ST_INS_PEER] = "INSERT INTO peers (key, gateway, psk, keepalive, expires_at, created_at, ips) "
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_INS_RANGE] = "INSERT INTO ranges (fam, lo, hi, key, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_DEL_PEER] = "DELETE FROM peers WHERE key = ?1",
	[ST_DEL_RANGES] = "DELETE FROM ranges WHERE key = ?1",
	[ST_FLOOR] = "SELECT lo, hi, key, expires_at FROM ranges WHERE fam = ?1 AND lo <= ?2 "
		     "ORDER BY lo DESC LIMIT 1",
	[ST_FROM] = "SELECT lo, hi, key, expires_at FROM ranges WHERE fam = ?1 AND lo >= ?2 ORDER BY lo LIMIT ?3",
	[ST_LIST] = "SELECT key, gateway, psk, keepalive, expires_at, created_at, ips FROM peers "
		    "WHERE key > ?1 AND (expires_at = 0 OR expires_at > ?2) "
		    "AND (?3 IS NULL OR gateway IS NULL OR gateway = ?3) ORDER BY key LIMIT ?4",
	[ST_META_GET] = "SELECT value FROM meta WHERE name = ?1",
	[ST_META_SET] = "INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)",
	[ST_PURGE_RANGES] = "DELETE FROM ranges WHERE expires_at > 0 AND expires_at <= ?1",
	[ST_PURGE_PEERS] = "DELETE FROM peers WHERE expires_at > 0 AND expires_at <= ?1",
	/* The change feed (store.h): REPLACE gives the (key, gw) row a new, larger seq. */
	[ST_CHG_PUT] = "INSERT OR REPLACE INTO changes (key, gw, deleted, at) VALUES (?1, coalesce(?2, ''), 0, ?3)",
	[ST_CHG_DEL] = "INSERT OR REPLACE INTO changes (key, gw, deleted, at) "
		       "SELECT key, coalesce(gateway, ''), 1, CAST(strftime('%s', 'now') AS INTEGER) "
		       "FROM peers WHERE key = ?1",
	[ST_CHG_EXPIRE] = "INSERT OR REPLACE INTO changes (key, gw, deleted, at) "
			  "SELECT key, coalesce(gateway, ''), 1, ?1 FROM peers WHERE expires_at > 0 AND expires_at <= ?1",
	[ST_TOMB_MAX] = "SELECT max(seq) FROM changes WHERE deleted = 1 AND at <= ?1",
	[ST_TOMB_PRUNE] = "DELETE FROM changes WHERE deleted = 1 AND at <= ?1",
	[ST_CHANGES] = "SELECT p.key, p.gateway, p.psk, p.keepalive, p.expires_at, p.created_at, p.ips, "
		       "c.seq, c.key FROM changes c LEFT JOIN peers p ON c.deleted = 0 AND p.key = c.key "
		       "WHERE c.seq > ?1 AND (?2 IS NULL OR c.gw = ?2 OR c.gw = '') ORDER BY c.seq LIMIT ?3",
	[ST_HEAD] = "SELECT coalesce(max(seq), 0) FROM changes",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS peers ("
	" key BLOB PRIMARY KEY NOT NULL, gateway TEXT, psk BLOB, keepalive INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL, ips TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS ranges ("
	" fam INTEGER NOT NULL, lo BLOB NOT NULL, hi BLOB NOT NULL, key BLOB NOT NULL,"
	" expires_at INTEGER NOT NULL, PRIMARY KEY (fam, lo)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS ranges_key ON ranges (key);"
	"CREATE INDEX IF NOT EXISTS peers_expires ON peers (expires_at) WHERE expires_at > 0;"
	"CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS changes ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT, key BLOB NOT NULL, gw TEXT NOT NULL,"
	" deleted INTEGER NOT NULL, at INTEGER NOT NULL, UNIQUE (key, gw));"
	"CREATE INDEX IF NOT EXISTS changes_tomb ON changes (at) WHERE deleted = 1;"
	/* A database from before the feed: every live peer enters it once. */
	"INSERT INTO changes (key, gw, deleted, at) SELECT key, coalesce(gateway, ''), 0, created_at FROM peers"
	" WHERE NOT EXISTS (SELECT 1 FROM changes) ORDER BY key;";

struct store_conn {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
};

static int fail(struct store_conn *c, const char *what)
{
	log_err("sqlite: %s: %s", what, sqlite3_errmsg(c->db));
	return -EIO;
}

/* Runs a statement that returns no rows; resets it whatever happens. */
static int run(struct store_conn *c, enum stmt_id id)
{
	int rc = sqlite3_step(c->st[id]);

	sqlite3_reset(c->st[id]);
	sqlite3_clear_bindings(c->st[id]);
	if (rc != SQLITE_DONE)
		return fail(c, sql[id]);
	return 0;
}

static void sq_disconnect(struct store_conn *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < ST_COUNT; ++i)
		sqlite3_finalize(c->st[i]);
	sqlite3_close_v2(c->db);
	free(c);
}

static struct store_conn *sq_connect(const char *path)
{
	struct store_conn *c = calloc(1, sizeof(*c));
	char *err = NULL;
	int i;

	if (!c)
		return NULL;
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		log_err("sqlite: open %s: %s", path, c->db ? sqlite3_errmsg(c->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(c->db, 10000);
	/* WAL persists in the file; schema creation is serialised by the write lock. */
	if (sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, &err) ||
	    sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, &err) ||
	    sqlite3_exec(c->db, schema, NULL, NULL, &err) || sqlite3_exec(c->db, "COMMIT", NULL, NULL, &err)) {
		log_err("sqlite: %s: %s", path, err ? err : sqlite3_errmsg(c->db));
		sqlite3_free(err);
		goto fail;
	}
	for (i = 0; i < ST_COUNT; ++i) {
		if (sqlite3_prepare_v3(c->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i], NULL) != SQLITE_OK) {
			fail(c, sql[i]);
			goto fail;
		}
	}
	return c;
fail:
	sq_disconnect(c);
	errno = EIO;
	return NULL;
}

static int sq_begin(struct store_conn *c)
{
	return run(c, ST_BEGIN);
}

static void sq_rollback(struct store_conn *c)
{
	run(c, ST_ROLLBACK);
}

static int sq_commit(struct store_conn *c)
{
	int ret = run(c, ST_COMMIT);

	/*
	 * After a failed COMMIT (disk full, I/O error) SQLite may keep the
	 * transaction open; this pooled connection could then never BEGIN again.
	 */
	if (ret && !sqlite3_get_autocommit(c->db))
		sq_rollback(c);
	return ret;
}

/* Columns key, gateway, psk, keepalive, expires_at, created_at, ips. */
static int row_to_record(sqlite3_stmt *st, struct peer_record *r)
{
	struct store_peer_row c = { 0 };
	const char *ips;

	/* In this order: each pointer before its length, as SQLite documents. */
	c.key = sqlite3_column_blob(st, 0);
	c.key_len = (size_t)sqlite3_column_bytes(st, 0);
	c.gateway = (const char *)sqlite3_column_text(st, 1);
	c.gateway_len = c.gateway ? strlen(c.gateway) : 0;
	c.has_psk = sqlite3_column_type(st, 2) == SQLITE_BLOB; /* before any conversion */
	c.psk = sqlite3_column_blob(st, 2);
	c.psk_len = (size_t)sqlite3_column_bytes(st, 2);
	c.keepalive = sqlite3_column_int(st, 3);
	c.expires_at = sqlite3_column_int64(st, 4);
	c.created_at = sqlite3_column_int64(st, 5);
	ips = (const char *)sqlite3_column_text(st, 6);
	c.ips = ips ? ips : "";
	return store_record_from_row(r, &c);
}

static int sq_get(struct store_conn *c, const uint8_t key[static WG_KEY_LEN], struct peer_record *out)
{
	sqlite3_stmt *st = c->st[ST_GET];
	int rc, ret;

	memset(out, 0, sizeof(*out));
	sqlite3_bind_blob(st, 1, key, WG_KEY_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = row_to_record(st, out);
	else if (rc == SQLITE_DONE)
		ret = -ENOENT;
	else
		ret = fail(c, "get");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (ret)
		peer_record_clear(out);
	return ret;
}

static int sq_insert(struct store_conn *c, const struct peer_record *r)
{
	sqlite3_stmt *st = c->st[ST_INS_PEER];
	uint8_t lo[16], hi[16];
	char *ips = NULL;
	size_t i, n;
	int ret;

	ret = cidr_list_format(r->allowed_ips, r->n_allowed_ips, &ips);
	if (ret)
		return ret;
	sqlite3_bind_blob(st, 1, r->public_key, WG_KEY_LEN, SQLITE_STATIC);
	if (r->has_gateway)
		sqlite3_bind_text(st, 2, r->gateway, -1, SQLITE_STATIC);
	if (r->has_preshared_key)
		sqlite3_bind_blob(st, 3, r->preshared_key, WG_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, r->persistent_keepalive);
	sqlite3_bind_int64(st, 5, r->expires_at);
	sqlite3_bind_int64(st, 6, r->created_at);
	sqlite3_bind_text(st, 7, ips, -1, SQLITE_STATIC);
	ret = run(c, ST_INS_PEER);
	free(ips);
	if (!ret) {
		st = c->st[ST_CHG_PUT];
		sqlite3_bind_blob(st, 1, r->public_key, WG_KEY_LEN, SQLITE_STATIC);
		if (r->has_gateway)
			sqlite3_bind_text(st, 2, r->gateway, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, r->created_at);
		ret = run(c, ST_CHG_PUT);
	}
	st = c->st[ST_INS_RANGE];
	for (i = 0; !ret && i < r->n_allowed_ips; ++i) {
		n = pool_addr_len(r->allowed_ips[i].family);
		pool_cidr_bounds(&r->allowed_ips[i], lo, hi);
		sqlite3_bind_int(st, 1, r->allowed_ips[i].family == AF_INET ? 4 : 6);
		sqlite3_bind_blob(st, 2, lo, (int)n, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, hi, (int)n, SQLITE_STATIC);
		sqlite3_bind_blob(st, 4, r->public_key, WG_KEY_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, r->expires_at);
		ret = run(c, ST_INS_RANGE);
	}
	return ret;
}

static int sq_remove(struct store_conn *c, const uint8_t key[static WG_KEY_LEN])
{
	int ret;

	/* The tombstone first: it copies the gateway from the row about to go. */
	sqlite3_bind_blob(c->st[ST_CHG_DEL], 1, key, WG_KEY_LEN, SQLITE_STATIC);
	ret = run(c, ST_CHG_DEL);
	if (ret)
		return ret;
	sqlite3_bind_blob(c->st[ST_DEL_PEER], 1, key, WG_KEY_LEN, SQLITE_STATIC);
	ret = run(c, ST_DEL_PEER);
	if (ret)
		return ret;
	if (sqlite3_changes(c->db) == 0)
		return -ENOENT;
	sqlite3_bind_blob(c->st[ST_DEL_RANGES], 1, key, WG_KEY_LEN, SQLITE_STATIC);
	return run(c, ST_DEL_RANGES);
}

/* Columns lo, hi, key, expires_at. */
static int row_to_range(sqlite3_stmt *st, uint16_t family, struct store_range *out)
{
	const void *lo = sqlite3_column_blob(st, 0), *hi = sqlite3_column_blob(st, 1),
		   *key = sqlite3_column_blob(st, 2);

	/* Pointers first, then lengths: the order SQLite documents as safe. */
	return store_range_from_row(out, family, lo, (size_t)sqlite3_column_bytes(st, 0), hi,
				    (size_t)sqlite3_column_bytes(st, 1), key, (size_t)sqlite3_column_bytes(st, 2),
				    sqlite3_column_int64(st, 3));
}

static int sq_floor(struct store_conn *c, uint16_t family, const uint8_t addr[static 16], struct store_range *out)
{
	sqlite3_stmt *st = c->st[ST_FLOOR];
	int rc, ret;

	memset(out, 0, sizeof(*out));
	sqlite3_bind_int(st, 1, family == AF_INET ? 4 : 6);
	sqlite3_bind_blob(st, 2, addr, (int)pool_addr_len(family), SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = row_to_range(st, family, out);
	else if (rc == SQLITE_DONE)
		ret = -ENOENT;
	else
		ret = fail(c, "floor");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

static long sq_ranges_from(struct store_conn *c, uint16_t family, const uint8_t addr[static 16],
			   struct store_range *out, size_t max)
{
	sqlite3_stmt *st = c->st[ST_FROM];
	size_t got = 0;
	long ret = 0;
	int rc = SQLITE_DONE;

	sqlite3_bind_int(st, 1, family == AF_INET ? 4 : 6);
	sqlite3_bind_blob(st, 2, addr, (int)pool_addr_len(family), SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
	while (got < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = row_to_range(st, family, &out[got]);
		if (ret)
			break;
		got++;
	}
	if (!ret && got < max && rc != SQLITE_DONE)
		ret = fail(c, "ranges_from");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret ? ret : (long)got;
}

static int sq_list(struct store_conn *c, const uint8_t *after, const char *gateway, int64_t now, size_t limit,
		   struct peer_record **out, size_t *n)
{
	sqlite3_stmt *st = c->st[ST_LIST];
	struct peer_record *recs = calloc(limit ? limit : 1, sizeof(*recs));
	size_t i, got = 0;
	int rc = SQLITE_DONE, ret = 0;

	*out = NULL;
	*n = 0;
	if (!recs)
		return -ENOMEM;
	/* The empty blob sorts before every key. */
	sqlite3_bind_blob(st, 1, after ? (const void *)after : "", after ? WG_KEY_LEN : 0, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	if (gateway)
		sqlite3_bind_text(st, 3, gateway, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)limit);
	while (got < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = row_to_record(st, &recs[got]);
		if (ret)
			break;
		got++;
	}
	if (!ret && got < limit && rc != SQLITE_DONE)
		ret = fail(c, "list");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (ret) {
		for (i = 0; i <= got && i < limit; ++i)
			peer_record_clear(&recs[i]);
		free(recs);
		return ret;
	}
	*out = recs;
	*n = got;
	return 0;
}

static int sq_meta_get(struct store_conn *c, const char *name, uint8_t val[static 16])
{
	sqlite3_stmt *st = c->st[ST_META_GET];
	int rc, ret;

	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 16) {
		memcpy(val, sqlite3_column_blob(st, 0), 16);
		ret = 0;
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		ret = -ENOENT;
	} else {
		ret = fail(c, "meta_get");
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

static int sq_meta_set(struct store_conn *c, const char *name, const uint8_t val[static 16])
{
	sqlite3_bind_text(c->st[ST_META_SET], 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(c->st[ST_META_SET], 2, val, 16, SQLITE_STATIC);
	return run(c, ST_META_SET);
}

/* Tombstones older than STORE_TOMBSTONE_TTL go; the floor rises to the newest of them. */
static int prune_tombstones(struct store_conn *c, int64_t now)
{
	sqlite3_stmt *st = c->st[ST_TOMB_MAX];
	uint8_t val[16];
	int64_t top = 0;
	int rc;

	sqlite3_bind_int64(st, 1, now - STORE_TOMBSTONE_TTL);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		top = sqlite3_column_int64(st, 0); /* NULL (none) reads as 0 */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW)
		return fail(c, "tombstones");
	if (!top)
		return 0;
	sqlite3_bind_int64(c->st[ST_TOMB_PRUNE], 1, now - STORE_TOMBSTONE_TTL);
	rc = run(c, ST_TOMB_PRUNE);
	if (rc)
		return rc;
	store_floor_encode(top, val);
	return sq_meta_set(c, STORE_FEED_FLOOR, val);
}

static long sq_purge(struct store_conn *c, int64_t now)
{
	int ret;

	ret = prune_tombstones(c, now);
	if (ret)
		return ret;
	sqlite3_bind_int64(c->st[ST_CHG_EXPIRE], 1, now);
	ret = run(c, ST_CHG_EXPIRE);
	if (ret)
		return ret;
	sqlite3_bind_int64(c->st[ST_PURGE_RANGES], 1, now);
	ret = run(c, ST_PURGE_RANGES);
	if (ret)
		return ret;
	sqlite3_bind_int64(c->st[ST_PURGE_PEERS], 1, now);
	ret = run(c, ST_PURGE_PEERS);
	if (ret)
		return ret;
	return sqlite3_changes(c->db);
}

/* Columns: a peers row (NULL when gone) as row_to_record reads it, then seq, key, deleted. */
static int row_to_change(sqlite3_stmt *st, int64_t now, struct store_change *out)
{
	const void *key;
	int ret;

	memset(out, 0, sizeof(*out));
	out->seq = sqlite3_column_int64(st, 7);
	if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
		ret = row_to_record(st, &out->rec);
		if (ret)
			return ret;
		if (!out->rec.expires_at || out->rec.expires_at > now)
			return 0;
		peer_record_clear(&out->rec);
	}
	out->deleted = true;
	key = sqlite3_column_blob(st, 8);
	if ((size_t)sqlite3_column_bytes(st, 8) != WG_KEY_LEN)
		return -EIO;
	memcpy(out->rec.public_key, key, WG_KEY_LEN);
	return 0;
}

static int sq_changes(struct store_conn *c, const char *gateway, int64_t since, int64_t now, size_t limit,
		      struct store_change **out, size_t *n)
{
	sqlite3_stmt *st = c->st[ST_CHANGES];
	struct store_change *ch = calloc(limit ? limit : 1, sizeof(*ch));
	size_t got = 0;
	int rc = SQLITE_DONE, ret = 0;

	*out = NULL;
	*n = 0;
	if (!ch)
		return -ENOMEM;
	sqlite3_bind_int64(st, 1, since);
	if (gateway)
		sqlite3_bind_text(st, 2, gateway, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
	while (got < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = row_to_change(st, now, &ch[got]);
		if (ret) {
			peer_record_clear(&ch[got].rec);
			break;
		}
		got++;
	}
	if (!ret && got < limit && rc != SQLITE_DONE)
		ret = fail(c, "changes");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (ret) {
		store_changes_free(ch, got);
		return ret;
	}
	*out = ch;
	*n = got;
	return 0;
}

/*
 * SQLite has no notifications across processes: sleep, then compare the
 * feed's newest seq (one index probe) with the last one seen.
 */
static int sq_watch(struct store_conn *c, int64_t *head, int timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };
	sqlite3_stmt *st = c->st[ST_HEAD];
	int64_t now = *head;
	int rc;

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		now = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return fail(c, "head");
	if (now == *head)
		return 0;
	*head = now;
	return 1;
}

const struct store_backend store_sqlite_backend = {
	.name = "sqlite",
	.connect = sq_connect,
	.disconnect = sq_disconnect,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.get = sq_get,
	.insert = sq_insert,
	.remove = sq_remove,
	.floor = sq_floor,
	.ranges_from = sq_ranges_from,
	.list = sq_list,
	.meta_get = sq_meta_get,
	.meta_set = sq_meta_set,
	.purge = sq_purge,
	.changes = sq_changes,
	.watch = sq_watch,
};
