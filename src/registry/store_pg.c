// SPDX-License-Identifier: MIT
/*
 * PostgreSQL backend of store.h, over libpq. Same tables as the SQLite
 * backend; keys and addresses are bytea (compared bytewise, like SQLite
 * blobs). The catalogue's statements (store_sql.c) are prepared once per
 * connection; results come back in binary so bytea needs no unescaping. Writers serialise on a
 * transaction-scoped advisory lock, which also covers several registries
 * sharing one database.
 */
#include "registry/store.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>

#include <libpq-fe.h>

#include "common/log.h"

enum {
	LOCK_SCHEMA = 0x6a697477, /* "jitw": advisory lock ids */
	LOCK_WRITE = 0x6a697478,
};

/* The type OIDs of pg_type.h (stable since PostgreSQL 7). */
enum { OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23 };

enum { COL_MAX = 16, PARAM_MAX = 10 };

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS peers ("
	" key bytea PRIMARY KEY, gateway text, psk bytea, keepalive integer NOT NULL,"
	" expires_at bigint NOT NULL, created_at bigint NOT NULL, ips text NOT NULL);"
	"CREATE TABLE IF NOT EXISTS ranges ("
	" fam smallint NOT NULL, lo bytea NOT NULL, hi bytea NOT NULL, key bytea NOT NULL,"
	" expires_at bigint NOT NULL, PRIMARY KEY (fam, lo));"
	"CREATE INDEX IF NOT EXISTS ranges_key ON ranges (key);"
	"CREATE INDEX IF NOT EXISTS peers_expires ON peers (expires_at) WHERE expires_at > 0;"
	"CREATE TABLE IF NOT EXISTS meta (name text PRIMARY KEY, value bytea NOT NULL);"
	"CREATE SEQUENCE IF NOT EXISTS changes_seq;"
	"CREATE TABLE IF NOT EXISTS changes ("
	" seq bigint NOT NULL DEFAULT nextval('changes_seq'), key bytea NOT NULL, gw text NOT NULL,"
	" deleted smallint NOT NULL, at bigint NOT NULL, PRIMARY KEY (key, gw));"
	"CREATE UNIQUE INDEX IF NOT EXISTS changes_by_seq ON changes (seq);"
	"CREATE INDEX IF NOT EXISTS changes_tomb ON changes (at) WHERE deleted = 1;"
	/* A database from before the feed: every live peer enters it once. */
	"INSERT INTO changes (key, gw, deleted, at) SELECT key, coalesce(gateway, ''), 0, created_at FROM peers"
	" WHERE NOT EXISTS (SELECT 1 FROM changes) ORDER BY key;"
	/* Columns added after the first release: added in place, so an old database keeps its peers. */
	"ALTER TABLE peers ADD COLUMN IF NOT EXISTS name text;"
	"ALTER TABLE peers ADD COLUMN IF NOT EXISTS owner text;"
	"CREATE INDEX IF NOT EXISTS peers_owner ON peers (owner) WHERE owner IS NOT NULL;"
	"CREATE TABLE IF NOT EXISTS tokens ("
	" id bigserial PRIMARY KEY, hash bytea NOT NULL UNIQUE, scope text NOT NULL, gateway text,"
	" max_peers bigint NOT NULL, used bigint NOT NULL, expires_at bigint NOT NULL,"
	" created_at bigint NOT NULL, revoked_at bigint NOT NULL, comment text);"
	"CREATE TABLE IF NOT EXISTS audit ("
	" id bigserial PRIMARY KEY, at bigint NOT NULL, token_id bigint NOT NULL,"
	" action text NOT NULL, target text, detail text);";

struct store_conn {
	PGconn *pg;
	bool in_txn;
	bool listening; /* LISTEN issued on this session (watch) */
};

/* The channel writers NOTIFY on commit and store_watch LISTENs to. */
#define FEED_CHANNEL "jitwg_feed"

static bool exec_simple(PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		log_err("postgres: %s: %s", sql, PQerrorMessage(pg));
	PQclear(r);
	return ok;
}

static bool prepare_all(PGconn *pg)
{
	char name[8];
	PGresult *r;
	int i;

	for (i = 0; i < SQ_COUNT; ++i) {
		snprintf(name, sizeof(name), "s%d", i);
		r = PQprepare(pg, name, store_sql[i].sql, store_sql[i].nparams, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			log_err("postgres: prepare %s: %s", store_sql[i].sql, PQerrorMessage(pg));
			PQclear(r);
			return false;
		}
		PQclear(r);
	}
	return true;
}

/* A lost server connection is re-established between transactions, never inside one. */
static int ensure(struct store_conn *c)
{
	if (PQstatus(c->pg) == CONNECTION_OK)
		return 0;
	if (c->in_txn)
		return -EIO;
	PQreset(c->pg);
	if (PQstatus(c->pg) != CONNECTION_OK || !prepare_all(c->pg)) {
		log_err("postgres: reconnect: %s", PQerrorMessage(c->pg));
		return -EIO;
	}
	log_warn("postgres: reconnected");
	return 0;
}

static void pg_disconnect(struct store_conn *c)
{
	if (!c)
		return;
	PQfinish(c->pg);
	free(c);
}

static struct store_conn *pg_connect(const char *db)
{
	struct store_conn *c = calloc(1, sizeof(*c));
	char lock[96];

	if (!c)
		return NULL;
	c->pg = PQconnectdb(db);
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
		log_err("postgres: connect: %s", c->pg ? PQerrorMessage(c->pg) : "out of memory");
		goto fail;
	}
	/* Concurrent CREATE ... IF NOT EXISTS can still collide in the catalog. */
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_lock(%d)", LOCK_SCHEMA);
	if (!exec_simple(c->pg, "SET client_min_messages = warning") || !exec_simple(c->pg, lock))
		goto fail;
	if (!exec_simple(c->pg, schema)) {
		snprintf(lock, sizeof(lock), "SELECT pg_advisory_unlock(%d)", LOCK_SCHEMA);
		exec_simple(c->pg, lock);
		goto fail;
	}
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_unlock(%d)", LOCK_SCHEMA);
	if (!exec_simple(c->pg, lock) || !prepare_all(c->pg))
		goto fail;
	return c;
fail:
	pg_disconnect(c);
	errno = EIO;
	return NULL;
}

static int pg_begin(struct store_conn *c)
{
	char lock[64];

	if (ensure(c) || !exec_simple(c->pg, "BEGIN"))
		return -EIO;
	c->in_txn = true;
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%d)", LOCK_WRITE);
	if (!exec_simple(c->pg, lock)) {
		exec_simple(c->pg, "ROLLBACK");
		c->in_txn = false;
		return -EIO;
	}
	return 0;
}

/* Only writers begin; NOTIFY is delivered at COMMIT, once per transaction. */
static int pg_commit(struct store_conn *c)
{
	bool ok = exec_simple(c->pg, "NOTIFY " FEED_CHANNEL "; COMMIT");

	c->in_txn = false;
	return ok ? 0 : -EIO;
}

static void pg_rollback(struct store_conn *c)
{
	exec_simple(c->pg, "ROLLBACK");
	c->in_txn = false;
}

/* A binary integer column of 2, 4 or 8 bytes. */
static int64_t get_int(const char *v, int len)
{
	uint64_t u64;
	uint32_t u32;
	uint16_t u16;

	switch (len) {
	case 8:
		memcpy(&u64, v, 8);
		return (int64_t)be64toh(u64);
	case 4:
		memcpy(&u32, v, 4);
		return (int32_t)be32toh(u32);
	case 2:
		memcpy(&u16, v, 2);
		return (int16_t)be16toh(u16);
	default:
		return 0;
	}
}

/* Binary results: the column's type says how to read it (bytea raw, text raw, integers big-endian). */
static void column(const PGresult *r, int row, int col, struct store_val *v)
{
	const char *p = PQgetvalue(r, row, col);
	int len = PQgetlength(r, row, col);

	memset(v, 0, sizeof(*v));
	if (PQgetisnull(r, row, col))
		return;
	switch (PQftype(r, col)) {
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
		v->type = STORE_INT;
		v->i = get_int(p, len);
		break;
	case OID_BYTEA:
		v->type = STORE_BLOB;
		v->p = p;
		v->len = (size_t)len;
		break;
	default:
		v->type = STORE_TEXT;
		v->p = p;
		v->len = (size_t)len;
	}
}

static int pg_exec(struct store_conn *c, int id, const struct store_val *params, int n, store_row_fn row, void *arg,
		   long *changed)
{
	const char *v[PARAM_MAX];
	char num[PARAM_MAX][24], name[8];
	int len[PARAM_MAX], fmt[PARAM_MAX], i, j, rows, ncols, ret = 0;
	struct store_val cols[COL_MAX];
	ExecStatusType st;
	PGresult *r;

	if (n > PARAM_MAX || ensure(c))
		return -EIO;
	for (i = 0; i < n; ++i) {
		v[i] = NULL;
		len[i] = fmt[i] = 0;
		switch (params[i].type) {
		case STORE_INT:
			snprintf(num[i], sizeof(num[i]), "%" PRId64, params[i].i);
			v[i] = num[i];
			break;
		case STORE_TEXT:
			/* text parameters go as text format: NUL-terminated by the callers' contract */
			v[i] = params[i].p;
			break;
		case STORE_BLOB:
			v[i] = params[i].len ? params[i].p : "";
			len[i] = (int)params[i].len;
			fmt[i] = 1;
			break;
		default:
			break;
		}
	}
	snprintf(name, sizeof(name), "s%d", id);
	r = PQexecPrepared(c->pg, name, n, v, len, fmt, 1);
	st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		log_err("postgres: %s: %s", store_sql[id].sql, PQerrorMessage(c->pg));
		PQclear(r);
		return -EIO;
	}
	if (changed)
		*changed = strtol(PQcmdTuples(r), NULL, 10);
	rows = row ? PQntuples(r) : 0;
	ncols = PQnfields(r) < COL_MAX ? PQnfields(r) : COL_MAX;
	for (i = 0; i < rows && !ret; ++i) {
		for (j = 0; j < ncols; ++j)
			column(r, i, j, &cols[j]);
		ret = row(arg, cols, ncols);
	}
	PQclear(r);
	return ret;
}

/*
 * LISTEN on this session; after a reconnect LISTEN again and report a change,
 * since notifications sent meanwhile are lost.
 */
static int pg_watch(struct store_conn *c, int64_t *head, int timeout_ms)
{
	struct pollfd pfd = { .events = POLLIN };
	PGnotify *n;
	int changed = 0;

	(void)head;
	if (PQstatus(c->pg) != CONNECTION_OK || !c->listening) {
		c->listening = false;
		if (ensure(c) || !exec_simple(c->pg, "LISTEN " FEED_CHANNEL)) {
			poll(NULL, 0, timeout_ms);
			return -EIO;
		}
		c->listening = true;
		return 1;
	}
	pfd.fd = PQsocket(c->pg);
	if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
		return -EIO;
	if (!PQconsumeInput(c->pg)) {
		log_warn("postgres: feed listener: %s", PQerrorMessage(c->pg));
		c->listening = false;
		return -EIO;
	}
	while ((n = PQnotifies(c->pg))) {
		changed = 1;
		PQfreemem(n);
	}
	return changed;
}

const struct store_backend store_pg_backend = {
	.name = "postgres",
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.exec = pg_exec,
	.watch = pg_watch,
};
