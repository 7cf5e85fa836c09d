// SPDX-License-Identifier: MIT
/*
 * The SQLite cache behind lookup.c. One connection, owned by the lookup
 * thread; every statement is prepared once at open. WAL with
 * synchronous=NORMAL: a power cut may lose the last few commits (a cached
 * record, a replay mark seen in the last moment) but never corrupts the file,
 * and commits cost no fsync, which is what a per-initiation write needs.
 *
 * Records are stored column by column rather than as the registry's JSON so
 * an operator can read the cache with the sqlite3 shell and so a registry
 * format change cannot make the cache unreadable. The file holds preshared
 * keys: it is created 0600 and SQLite gives the -wal/-shm files the same mode.
 */
#include "gateway/lookup/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "wire/cidr.h"

enum {
	ST_PEER_GET,
	ST_PEER_PUT,
	ST_PEER_NEG,
	ST_PEER_ATTEMPT,
	ST_PEER_DEL,
	ST_REPLAY_GET,
	ST_REPLAY_PUT,
	ST_REPLAY_ALL,
	ST_PRUNE_TRANSIENT,
	ST_PRUNE_PEER,
	ST_PRUNE_REPLAY,
	ST_BEGIN,
	ST_COMMIT,
	ST_COUNT_PEER,
	ST_COUNT_REPLAY,
	ST_FEED_GET,
	ST_FEED_PUT,
	ST_PEER_REFRESH,
	ST_MAX,
};

static const char *const sql[ST_MAX] = {
	[ST_PEER_GET] = "SELECT state, fetched_at, attempt_at, allowed_ips, gateway, psk, keepalive,"
			" expires_at, created_at FROM peer WHERE key = ?1",
	[ST_PEER_PUT] = "INSERT INTO peer (key, state, fetched_at, attempt_at, allowed_ips, gateway, psk,"
			" keepalive, expires_at, created_at) VALUES (?1, 1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
			" ON CONFLICT (key) DO UPDATE SET state = 1, fetched_at = excluded.fetched_at,"
			" allowed_ips = excluded.allowed_ips, gateway = excluded.gateway, psk = excluded.psk,"
			" keepalive = excluded.keepalive, expires_at = excluded.expires_at,"
			" created_at = excluded.created_at",
	[ST_PEER_NEG] = "INSERT INTO peer (key, state, fetched_at, attempt_at) VALUES (?1, 2, ?2, ?2)"
			" ON CONFLICT (key) DO UPDATE SET state = 2, fetched_at = excluded.fetched_at,"
			" allowed_ips = NULL, gateway = NULL, psk = NULL, keepalive = 0, expires_at = 0,"
			" created_at = 0",
	[ST_PEER_ATTEMPT] = "INSERT INTO peer (key, state, fetched_at, attempt_at) VALUES (?1, 0, 0, ?2)"
			    " ON CONFLICT (key) DO UPDATE SET attempt_at = excluded.attempt_at",
	[ST_PEER_DEL] = "DELETE FROM peer WHERE key = ?1",
	[ST_REPLAY_GET] = "SELECT ts FROM replay WHERE key = ?1",
	[ST_REPLAY_PUT] = "INSERT INTO replay (key, ts, seen_at) VALUES (?1, ?2, ?3)"
			  " ON CONFLICT (key) DO UPDATE SET seen_at = excluded.seen_at,"
			  " ts = CASE WHEN excluded.ts > replay.ts THEN excluded.ts ELSE replay.ts END",
	[ST_REPLAY_ALL] = "SELECT key, ts FROM replay ORDER BY seen_at DESC",
	/* Each matches one index below, so pruning never scans the table. */
	[ST_PRUNE_TRANSIENT] = "DELETE FROM peer WHERE state != 1 AND max(fetched_at, attempt_at) < ?1",
	[ST_PRUNE_PEER] = "DELETE FROM peer WHERE state = 1 AND fetched_at < ?1",
	[ST_PRUNE_REPLAY] = "DELETE FROM replay WHERE seen_at < ?1",
	/*
	 * IMMEDIATE: a batch reads and then writes. With a second writer on the
	 * file (prefetch.c's companion connection), a deferred transaction that
	 * read before the other committed gets SQLITE_BUSY_SNAPSHOT on its first
	 * write, which the busy timeout does not retry: the batch's writes would
	 * be lost. Taking the write lock up front makes it wait (busy timeout) instead.
	 */
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_COUNT_PEER] = "SELECT count(*) FROM peer",
	[ST_COUNT_REPLAY] = "SELECT count(*) FROM replay",
	/* Prefetch (prefetch.c): the feed cursor per registry and gateway, and the bulk refresh. */
	[ST_FEED_GET] = "SELECT since FROM feed WHERE scope = ?1",
	[ST_FEED_PUT] = "INSERT INTO feed (scope, since) VALUES (?1, ?2)"
			" ON CONFLICT (scope) DO UPDATE SET since = excluded.since",
	[ST_PEER_REFRESH] = "UPDATE peer SET fetched_at = ?1 WHERE key IN"
			    " (SELECT key FROM peer WHERE state = 1 AND fetched_at < ?2 LIMIT ?3)",
};

static const char schema_v1[] =
	"CREATE TABLE peer ("
	" key BLOB PRIMARY KEY NOT NULL CHECK (length(key) = 32),"
	" state INTEGER NOT NULL,"          /* enum cache_state */
	" fetched_at INTEGER NOT NULL,"     /* unix ms of the last 200/404 */
	" attempt_at INTEGER NOT NULL,"     /* unix ms of the last request */
	" allowed_ips TEXT,"                /* comma-separated CIDRs */
	" gateway TEXT,"
	" psk BLOB,"
	" keepalive INTEGER NOT NULL DEFAULT 0,"
	" expires_at INTEGER NOT NULL DEFAULT 0," /* unix seconds, 0 never */
	" created_at INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"
	"CREATE TABLE replay ("
	" key BLOB PRIMARY KEY NOT NULL CHECK (length(key) = 32),"
	" ts BLOB NOT NULL CHECK (length(ts) = 12),"  /* TAI64N, big-endian */
	" seen_at INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"PRAGMA user_version = 1;";

/* Indexes for housekeeping; (re)created at every open, a no-op when present. */
static const char indexes_v1[] =
	"CREATE INDEX IF NOT EXISTS replay_seen ON replay (seen_at);"
	"CREATE INDEX IF NOT EXISTS peer_fetched ON peer (fetched_at);"
	"CREATE INDEX IF NOT EXISTS peer_transient ON peer (max(fetched_at, attempt_at)) WHERE state != 1;"
	/* Added with prefetch; harmless to a jitwgd that does not know it, so still version 1. */
	"CREATE TABLE IF NOT EXISTS feed (scope TEXT PRIMARY KEY NOT NULL, since INTEGER NOT NULL) WITHOUT ROWID;";

struct cache {
	int lock_fd;             /* flock()ed for our lifetime, or -1 */
	sqlite3 *db;
	sqlite3_stmt *st[ST_MAX];
	time_t last_complaint;
};

/* One log line per failure burst: a broken disk must not log per packet. */
static int fail(struct cache *c, const char *what)
{
	time_t now = time(NULL);

	if (now - c->last_complaint >= 10) {
		c->last_complaint = now;
		log_warn("cache: %s: %s", what, sqlite3_errmsg(c->db));
	}
	return -EIO;
}

static int step_done(struct cache *c, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return fail(c, what);
	return 0;
}

static const char *open_reason(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return "cache file is corrupt or not a SQLite database; move it aside and restart";
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_READONLY:
		return "cache file cannot be opened for writing";
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return "cache file is locked by another process";
	case SQLITE_FULL:
		return "disk full while opening the cache";
	default:
		return "cache could not be opened";
	}
}

static int pragma_int(sqlite3 *db, const char *q, long *out)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, q, -1, &s, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			*out = (long)sqlite3_column_int64(s, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(s);
	return rc;
}

/* Creates the schema in a fresh file, refuses foreign or newer ones. */
static int check_schema(sqlite3 *db, const char **why)
{
	long version = 0, tables = 0;
	int rc;

	rc = pragma_int(db, "PRAGMA user_version", &version);
	if (rc != SQLITE_OK) {
		*why = open_reason(rc);
		return rc;
	}
	if (version == CACHE_SCHEMA_VERSION)
		goto indexes;
	if (version > CACHE_SCHEMA_VERSION) {
		*why = "cache schema is newer than this jitwgd understands";
		return SQLITE_ERROR;
	}
	rc = pragma_int(db, "SELECT count(*) FROM sqlite_master", &tables);
	if (rc != SQLITE_OK) {
		*why = open_reason(rc);
		return rc;
	}
	if (tables) {
		*why = "file is a SQLite database but not a jitwgd cache";
		return SQLITE_ERROR;
	}
	rc = sqlite3_exec(db, "BEGIN;", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, schema_v1, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
		*why = open_reason(rc);
		return rc;
	}
indexes:
	rc = sqlite3_exec(db, indexes_v1, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		*why = (rc & 0xff) == SQLITE_ERROR ? "cache schema is damaged (missing table or column)"
						   : open_reason(rc);
	return rc;
}

static struct cache *open_cache(const char *path, bool lock, const char **errmsg);

struct cache *cache_open(const char *path, const char **errmsg)
{
	return open_cache(path, true, errmsg);
}

struct cache *cache_open_companion(const char *path, const char **errmsg)
{
	if (path && !strcmp(path, ":memory:")) {
		if (errmsg)
			*errmsg = "an in-memory cache cannot be shared";
		errno = EINVAL;
		return NULL;
	}
	return open_cache(path, false, errmsg);
}

static struct cache *open_cache(const char *path, bool lock, const char **errmsg)
{
	const char *why = "out of memory";
	struct cache *c = NULL;
	sqlite3_stmt *s = NULL;
	int rc, err = ENOMEM, i;

	if (!path || !*path) {
		why = "no cache path";
		err = EINVAL;
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto out;
	c->lock_fd = -1;
	if (lock && strcmp(path, ":memory:") != 0) {
		/* Create it ourselves so the preshared keys inside are never world-readable. */
		c->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (c->lock_fd < 0) {
			err = errno;
			why = "cache file cannot be created or opened for writing";
			goto out;
		}
		/*
		 * One daemon per cache: a second one would keep its own in-memory
		 * replay marks and let replays through. flock() is independent of
		 * the fcntl() locks SQLite takes, so it cannot disturb them.
		 */
		if (flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0) {
			err = errno == EWOULDBLOCK ? EBUSY : errno;
			why = "cache file is in use by another jitwgd";
			goto out;
		}
	}
	rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		why = open_reason(rc);
		err = EIO;
		goto out;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, 2000);
	/* The first real read of the file: a foreign or corrupt file fails here. */
	rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_OK) {
		why = open_reason(rc);
		err = (rc & 0xff) == SQLITE_BUSY ? EBUSY : EIO;
		goto out;
	}
	rc = sqlite3_exec(c->db, "PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		why = open_reason(rc);
		err = EIO;
		goto out;
	}
	rc = check_schema(c->db, &why);
	if (rc != SQLITE_OK) {
		err = EIO;
		goto out;
	}
	for (i = 0; i < ST_MAX; ++i) {
		rc = sqlite3_prepare_v3(c->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i], NULL);
		if (rc != SQLITE_OK) {
			why = (rc & 0xff) == SQLITE_ERROR ? "cache schema is damaged (missing table or column)"
							  : open_reason(rc);
			err = EIO;
			goto out;
		}
	}
	return c;
out:
	if (c && c->db)
		log_debug("cache: open %s: %s", path, sqlite3_errmsg(c->db));
	cache_close(c);
	if (errmsg)
		*errmsg = why;
	errno = err;
	return NULL;
}

void cache_close(struct cache *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < ST_MAX; ++i)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	free(c);
}

void cache_entry_clear(struct cache_entry *e)
{
	if (!e)
		return;
	free(e->rec.allowed_ips);
	explicit_bzero(e, sizeof(*e));
}

int cache_peer_get(struct cache *c, const uint8_t key[static WG_KEY_LEN], struct cache_entry *out)
{
	sqlite3_stmt *s = c->st[ST_PEER_GET];
	struct cache_entry e = { 0 };
	int rc, ret;

	memset(out, 0, sizeof(*out));
	sqlite3_bind_blob(s, 1, key, WG_KEY_LEN, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		ret = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		ret = fail(c, "read peer");
		goto out;
	}
	e.state = (enum cache_state)sqlite3_column_int(s, 0);
	e.fetched_at = sqlite3_column_int64(s, 1);
	e.attempt_at = sqlite3_column_int64(s, 2);
	if (e.state == CACHE_POSITIVE) {
		const char *gw = (const char *)sqlite3_column_text(s, 4);
		const char *ips = (const char *)sqlite3_column_text(s, 3);

		memcpy(e.rec.public_key, key, WG_KEY_LEN);
		ret = cidr_list_parse(ips ? ips : "", &e.rec.allowed_ips, &e.rec.n_allowed_ips);
		if (ret < 0)
			goto bad;
		if (gw) {
			if (strlen(gw) >= PEER_GATEWAY_MAX)
				goto bad;
			e.rec.has_gateway = true;
			strcpy(e.rec.gateway, gw);
		}
		if (sqlite3_column_type(s, 5) == SQLITE_BLOB) {
			if (sqlite3_column_bytes(s, 5) != WG_KEY_LEN)
				goto bad;
			e.rec.has_preshared_key = true;
			memcpy(e.rec.preshared_key, sqlite3_column_blob(s, 5), WG_KEY_LEN);
		}
		e.rec.persistent_keepalive = (uint16_t)sqlite3_column_int(s, 6);
		e.rec.expires_at = sqlite3_column_int64(s, 7);
		e.rec.created_at = sqlite3_column_int64(s, 8);
	} else if (e.state != CACHE_NEGATIVE && e.state != CACHE_ABSENT) {
		goto bad;
	}
	*out = e;
	memset(&e, 0, sizeof(e));
	ret = 0;
	goto out;
bad:
	log_ratelimited_debug("cache: unreadable peer row, treated as absent");
	ret = -EIO;
out:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	cache_entry_clear(&e);
	return ret;
}

int cache_peer_put(struct cache *c, const struct peer_record *rec, int64_t now)
{
	sqlite3_stmt *s = c->st[ST_PEER_PUT];
	char *ips;
	int ret;

	if (cidr_list_format(rec->allowed_ips, rec->n_allowed_ips, &ips) < 0)
		return -ENOMEM;
	sqlite3_bind_blob(s, 1, rec->public_key, WG_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_text(s, 3, ips, -1, SQLITE_STATIC);
	if (rec->has_gateway)
		sqlite3_bind_text(s, 4, rec->gateway, -1, SQLITE_STATIC);
	if (rec->has_preshared_key)
		sqlite3_bind_blob(s, 5, rec->preshared_key, WG_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int(s, 6, rec->persistent_keepalive);
	sqlite3_bind_int64(s, 7, rec->expires_at);
	sqlite3_bind_int64(s, 8, rec->created_at);
	ret = step_done(c, s, "store peer");
	free(ips);
	return ret;
}

static int key_time(struct cache *c, int st, const uint8_t key[static WG_KEY_LEN], int64_t now,
		    const char *what)
{
	sqlite3_stmt *s = c->st[st];

	sqlite3_bind_blob(s, 1, key, WG_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	return step_done(c, s, what);
}

int cache_peer_put_negative(struct cache *c, const uint8_t key[static WG_KEY_LEN], int64_t now)
{
	return key_time(c, ST_PEER_NEG, key, now, "store negative entry");
}

int cache_peer_note_attempt(struct cache *c, const uint8_t key[static WG_KEY_LEN], int64_t now)
{
	return key_time(c, ST_PEER_ATTEMPT, key, now, "note fetch attempt");
}

int cache_peer_delete(struct cache *c, const uint8_t key[static WG_KEY_LEN])
{
	sqlite3_stmt *s = c->st[ST_PEER_DEL];

	sqlite3_bind_blob(s, 1, key, WG_KEY_LEN, SQLITE_STATIC);
	return step_done(c, s, "delete peer");
}

int cache_replay_get(struct cache *c, const uint8_t key[static WG_KEY_LEN], uint8_t ts[static 12])
{
	sqlite3_stmt *s = c->st[ST_REPLAY_GET];
	int rc, ret;

	sqlite3_bind_blob(s, 1, key, WG_KEY_LEN, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 12) {
		memcpy(ts, sqlite3_column_blob(s, 0), 12);
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		ret = -ENOENT;
	} else {
		ret = fail(c, "read replay mark");
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int cache_replay_put(struct cache *c, const uint8_t key[static WG_KEY_LEN],
		     const uint8_t ts[static 12], int64_t now)
{
	sqlite3_stmt *s = c->st[ST_REPLAY_PUT];

	sqlite3_bind_blob(s, 1, key, WG_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, ts, 12, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	return step_done(c, s, "store replay mark");
}

long cache_replay_foreach(struct cache *c, size_t limit,
			  int (*fn)(void *ctx, const uint8_t key[WG_KEY_LEN], const uint8_t ts[12]),
			  void *ctx)
{
	sqlite3_stmt *s = c->st[ST_REPLAY_ALL];
	long n = 0;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (limit && (size_t)n == limit)
			break;
		if (sqlite3_column_bytes(s, 0) != WG_KEY_LEN || sqlite3_column_bytes(s, 1) != 12)
			continue;
		rc = fn(ctx, sqlite3_column_blob(s, 0), sqlite3_column_blob(s, 1));
		if (rc < 0) {
			n = rc;
			rc = SQLITE_DONE;
			break;
		}
		++n;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		n = fail(c, "walk replay marks");
	sqlite3_reset(s);
	return n;
}

long cache_prune(struct cache *c, int64_t neg_before, int64_t pos_before, int64_t replay_before)
{
	sqlite3_stmt *s = c->st[ST_PRUNE_TRANSIENT];
	long n;
	int ret;

	sqlite3_bind_int64(s, 1, neg_before);
	ret = step_done(c, s, "prune negative entries");
	if (ret < 0)
		return ret;
	n = sqlite3_changes(c->db);
	s = c->st[ST_PRUNE_PEER];
	sqlite3_bind_int64(s, 1, pos_before);
	ret = step_done(c, s, "prune records");
	if (ret < 0)
		return ret;
	n += sqlite3_changes(c->db);
	s = c->st[ST_PRUNE_REPLAY];
	sqlite3_bind_int64(s, 1, replay_before);
	ret = step_done(c, s, "prune replay marks");
	if (ret < 0)
		return ret;
	return n + sqlite3_changes(c->db);
}

int cache_feed_get(struct cache *c, const char *scope, int64_t *since)
{
	sqlite3_stmt *s = c->st[ST_FEED_GET];
	int rc, ret = 0;

	sqlite3_bind_text(s, 1, scope, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*since = sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE)
		ret = -ENOENT;
	else
		ret = fail(c, "read feed cursor");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int cache_feed_put(struct cache *c, const char *scope, int64_t since)
{
	sqlite3_stmt *s = c->st[ST_FEED_PUT];

	sqlite3_bind_text(s, 1, scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, since);
	return step_done(c, s, "store feed cursor");
}

long cache_peer_refresh(struct cache *c, int64_t now, int64_t older_than, long max)
{
	sqlite3_stmt *s = c->st[ST_PEER_REFRESH];
	int ret;

	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, older_than);
	sqlite3_bind_int64(s, 3, max);
	ret = step_done(c, s, "refresh records");
	return ret < 0 ? ret : sqlite3_changes(c->db);
}

int cache_begin(struct cache *c)
{
	return step_done(c, c->st[ST_BEGIN], "begin");
}

int cache_commit(struct cache *c)
{
	int ret = step_done(c, c->st[ST_COMMIT], "commit");

	/* A failed COMMIT can leave the transaction open; the next BEGIN would fail too. */
	if (ret < 0 && !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

static int count(struct cache *c, int st, long *out)
{
	sqlite3_stmt *s = c->st[st];
	int rc = sqlite3_step(s), ret = 0;

	if (rc == SQLITE_ROW)
		*out = (long)sqlite3_column_int64(s, 0);
	else
		ret = fail(c, "count");
	sqlite3_reset(s);
	return ret;
}

int cache_count(struct cache *c, long *peers, long *replay)
{
	int ret = 0;

	if (peers)
		ret = count(c, ST_COUNT_PEER, peers);
	if (!ret && replay)
		ret = count(c, ST_COUNT_REPLAY, replay);
	return ret;
}
