// SPDX-License-Identifier: MIT
/*
 * SQLite backend of store.h. One sqlite3 handle per connection slot, opened
 * NOMUTEX (store.c hands a slot to one thread at a time), WAL mode so reads
 * never wait for the writer, and every catalogue statement (store_sql.c)
 * prepared once, its $N parameters rewritten to SQLite's ?N.
 */
#include "registry/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <sqlite3.h>

#include "common/log.h"

enum { COL_MAX = 16 };

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
	" WHERE NOT EXISTS (SELECT 1 FROM changes) ORDER BY key;"
	"CREATE TABLE IF NOT EXISTS tokens ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, hash BLOB NOT NULL UNIQUE, scope TEXT NOT NULL, gateway TEXT,"
	" max_peers INTEGER NOT NULL, used INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
	" created_at INTEGER NOT NULL, revoked_at INTEGER NOT NULL, comment TEXT);"
	"CREATE TABLE IF NOT EXISTS audit ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, token_id INTEGER NOT NULL,"
	" action TEXT NOT NULL, target TEXT, detail TEXT);";

/* Columns added after the first release: added in place, so an old database keeps its peers. */
static const char *const migrations[][2] = {
	{ "name", "ALTER TABLE peers ADD COLUMN name TEXT" },
	{ "owner", "ALTER TABLE peers ADD COLUMN owner TEXT" },
};

struct store_conn {
	sqlite3 *db;
	sqlite3_stmt *st[SQ_COUNT];
	sqlite3_stmt *begin, *commit, *rollback;
};

static int fail(struct store_conn *c, const char *what)
{
	log_err("sqlite: %s: %s", what, sqlite3_errmsg(c->db));
	return -EIO;
}

static void sq_disconnect(struct store_conn *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < SQ_COUNT; ++i)
		sqlite3_finalize(c->st[i]);
	sqlite3_finalize(c->begin);
	sqlite3_finalize(c->commit);
	sqlite3_finalize(c->rollback);
	sqlite3_close_v2(c->db);
	free(c);
}

static bool has_column(sqlite3 *db, const char *col)
{
	sqlite3_stmt *st;
	bool found = false;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info('peers') WHERE name = ?1", -1, &st, NULL))
		return false;
	sqlite3_bind_text(st, 1, col, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* Creates the schema, or brings an older one up to date, in one write transaction. */
static int migrate(sqlite3 *db, char **err)
{
	size_t i;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, err) || sqlite3_exec(db, schema, NULL, NULL, err))
		goto fail;
	for (i = 0; i < sizeof(migrations) / sizeof(migrations[0]); ++i)
		if (!has_column(db, migrations[i][0]) && sqlite3_exec(db, migrations[i][1], NULL, NULL, err))
			goto fail;
	if (sqlite3_exec(db, "CREATE INDEX IF NOT EXISTS peers_owner ON peers (owner) WHERE owner IS NOT NULL;"
			     "COMMIT", NULL, NULL, err))
		goto fail;
	return 0;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -EIO;
}

/* The catalogue's text with $N as ?N (a '$' appears nowhere else in it). */
static int prepare(struct store_conn *c, int id)
{
	const char *src = store_sql[id].sqlite ? store_sql[id].sqlite : store_sql[id].sql;
	char *text = strdup(src), *p;
	int rc;

	if (!text)
		return -ENOMEM;
	for (p = text; (p = strchr(p, '$')); ++p)
		*p = '?';
	rc = sqlite3_prepare_v3(c->db, text, -1, SQLITE_PREPARE_PERSISTENT, &c->st[id], NULL);
	free(text);
	return rc == SQLITE_OK ? 0 : fail(c, src);
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
	/* WAL persists in the file; schema creation is serialised by BEGIN IMMEDIATE. */
	if (sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, &err) ||
	    migrate(c->db, &err)) {
		log_err("sqlite: %s: %s", path, err ? err : sqlite3_errmsg(c->db));
		sqlite3_free(err);
		goto fail;
	}
	for (i = 0; i < SQ_COUNT; ++i)
		if (prepare(c, i))
			goto fail;
	if (sqlite3_prepare_v3(c->db, "BEGIN IMMEDIATE", -1, SQLITE_PREPARE_PERSISTENT, &c->begin, NULL) ||
	    sqlite3_prepare_v3(c->db, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, &c->commit, NULL) ||
	    sqlite3_prepare_v3(c->db, "ROLLBACK", -1, SQLITE_PREPARE_PERSISTENT, &c->rollback, NULL)) {
		fail(c, "prepare");
		goto fail;
	}
	return c;
fail:
	sq_disconnect(c);
	errno = EIO;
	return NULL;
}

static int step_done(struct store_conn *c, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : fail(c, what);
}

static int sq_begin(struct store_conn *c)
{
	return step_done(c, c->begin, "BEGIN");
}

static void sq_rollback(struct store_conn *c)
{
	step_done(c, c->rollback, "ROLLBACK");
}

static int sq_commit(struct store_conn *c)
{
	int ret = step_done(c, c->commit, "COMMIT");

	/*
	 * After a failed COMMIT (disk full, I/O error) SQLite may keep the
	 * transaction open; this pooled connection could then never BEGIN again.
	 */
	if (ret && !sqlite3_get_autocommit(c->db))
		sq_rollback(c);
	return ret;
}

static void bind_val(sqlite3_stmt *st, int i, const struct store_val *v)
{
	switch (v->type) {
	case STORE_INT:
		sqlite3_bind_int64(st, i, v->i);
		break;
	case STORE_TEXT:
		sqlite3_bind_text(st, i, v->p, (int)v->len, SQLITE_STATIC);
		break;
	case STORE_BLOB:
		sqlite3_bind_blob(st, i, v->len ? v->p : "", (int)v->len, SQLITE_STATIC);
		break;
	default:
		sqlite3_bind_null(st, i);
	}
}

/* Column i as a store_val: the type first, then the pointer, then its length, as SQLite documents. */
static void column(sqlite3_stmt *st, int i, struct store_val *v)
{
	memset(v, 0, sizeof(*v));
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		v->type = STORE_INT;
		v->i = sqlite3_column_int64(st, i);
		break;
	case SQLITE_TEXT:
		v->type = STORE_TEXT;
		v->p = sqlite3_column_text(st, i);
		v->len = (size_t)sqlite3_column_bytes(st, i);
		break;
	case SQLITE_BLOB:
		v->type = STORE_BLOB;
		v->p = sqlite3_column_blob(st, i);
		v->len = (size_t)sqlite3_column_bytes(st, i);
		break;
	default:
		break;
	}
}

static int sq_exec(struct store_conn *c, int id, const struct store_val *params, int n, store_row_fn row, void *arg,
		   long *changed)
{
	sqlite3_stmt *st = c->st[id];
	struct store_val cols[COL_MAX];
	int i, ncols, rc, ret = 0;

	for (i = 0; i < n; ++i)
		bind_val(st, i + 1, &params[i]);
	ncols = sqlite3_column_count(st);
	if (ncols > COL_MAX)
		ncols = COL_MAX;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!row)
			continue;
		for (i = 0; i < ncols; ++i)
			column(st, i, &cols[i]);
		ret = row(arg, cols, ncols);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = fail(c, store_sql[id].sql);
	if (!ret && changed)
		*changed = sqlite3_changes(c->db);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

/*
 * SQLite has no notifications across processes: sleep, then compare the
 * feed's newest seq (one index probe) with the last one seen.
 */
static int sq_watch(struct store_conn *c, int64_t *head, int timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };
	int64_t now;
	int ret;

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	ret = store_db_head(&store_sqlite_backend, c, &now);
	if (ret || now == *head)
		return ret;
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
	.exec = sq_exec,
	.watch = sq_watch,
};
