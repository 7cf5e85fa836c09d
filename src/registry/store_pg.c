// SPDX-License-Identifier: MIT
/*
 * PostgreSQL backend of store.h, over libpq. Same tables as the SQLite
 * backend; keys and addresses are bytea (compared bytewise, like SQLite
 * blobs). Statements are prepared once per connection; results come back
 * in binary so bytea needs no unescaping. Writers serialise on a
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
	ST_COUNT
};

static const struct {
	const char *sql;
	int nparams;
} stmts[ST_COUNT] = {
	[ST_GET] = { "SELECT key, gateway, psk, keepalive, expires_at, created_at, ips FROM peers WHERE key = $1", 1 },
	[ST_INS_PEER] = { "INSERT INTO peers (key, gateway, psk, keepalive, expires_at, created_at, ips) "
			  "VALUES ($1, $2, $3, $4, $5, $6, $7)", 7 },
	[ST_INS_RANGE] = { "INSERT INTO ranges (fam, lo, hi, key, expires_at) VALUES ($1, $2, $3, $4, $5)", 5 },
	[ST_DEL_PEER] = { "DELETE FROM peers WHERE key = $1", 1 },
	[ST_DEL_RANGES] = { "DELETE FROM ranges WHERE key = $1", 1 },
	[ST_FLOOR] = { "SELECT lo, hi, key, expires_at FROM ranges WHERE fam = $1 AND lo <= $2 "
		       "ORDER BY fam DESC, lo DESC LIMIT 1", 2 },
	[ST_FROM] = { "SELECT lo, hi, key, expires_at FROM ranges WHERE fam = $1 AND lo >= $2 "
		      "ORDER BY fam, lo LIMIT $3", 3 },
	[ST_LIST] = { "SELECT key, gateway, psk, keepalive, expires_at, created_at, ips FROM peers "
		      "WHERE key > $1 AND (expires_at = 0 OR expires_at > $2) "
		      "AND ($3::text IS NULL OR gateway IS NULL OR gateway = $3) ORDER BY key LIMIT $4", 4 },
	[ST_META_GET] = { "SELECT value FROM meta WHERE name = $1", 1 },
	[ST_META_SET] = { "INSERT INTO meta (name, value) VALUES ($1, $2) "
			  "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value", 2 },
	[ST_PURGE_RANGES] = { "DELETE FROM ranges WHERE expires_at > 0 AND expires_at <= $1", 1 },
	[ST_PURGE_PEERS] = { "DELETE FROM peers WHERE expires_at > 0 AND expires_at <= $1", 1 },
	/* The change feed (store.h): each write gives the (key, gw) row a new, larger seq. */
	[ST_CHG_PUT] = { "INSERT INTO changes (key, gw, deleted, at) VALUES ($1, coalesce($2::text, ''), 0, $3) "
			 "ON CONFLICT (key, gw) DO UPDATE SET seq = EXCLUDED.seq, deleted = 0, at = EXCLUDED.at", 3 },
	[ST_CHG_DEL] = { "INSERT INTO changes (key, gw, deleted, at) "
			 "SELECT key, coalesce(gateway, ''), 1, extract(epoch FROM now())::bigint FROM peers WHERE key = $1 "
			 "ON CONFLICT (key, gw) DO UPDATE SET seq = EXCLUDED.seq, deleted = 1, at = EXCLUDED.at", 1 },
	[ST_CHG_EXPIRE] = { "INSERT INTO changes (key, gw, deleted, at) "
			    "SELECT key, coalesce(gateway, ''), 1, $1 FROM peers WHERE expires_at > 0 AND expires_at <= $1 "
			    "ON CONFLICT (key, gw) DO UPDATE SET seq = EXCLUDED.seq, deleted = 1, at = EXCLUDED.at", 1 },
	[ST_TOMB_MAX] = { "SELECT coalesce(max(seq), 0) FROM changes WHERE deleted = 1 AND at <= $1", 1 },
	[ST_TOMB_PRUNE] = { "DELETE FROM changes WHERE deleted = 1 AND at <= $1", 1 },
	[ST_CHANGES] = { "SELECT p.key, p.gateway, p.psk, p.keepalive, p.expires_at, p.created_at, p.ips, "
			 "c.seq, c.key FROM changes c LEFT JOIN peers p ON c.deleted = 0 AND p.key = c.key "
			 "WHERE c.seq > $1 AND ($2::text IS NULL OR c.gw = $2 OR c.gw = '') ORDER BY c.seq LIMIT $3", 3 },
};

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
	" WHERE NOT EXISTS (SELECT 1 FROM changes) ORDER BY key;";

struct store_conn {
	PGconn *pg;
	bool in_txn;
	bool listening; /* LISTEN issued on this session (watch) */
};

/* The channel writers NOTIFY on commit and store_watch LISTENs to. */
#define FEED_CHANNEL "jitwg_feed"

/* Parameters of one statement: text or binary (bytea) values. */
struct params {
	const char *v[8];
	int len[8];
	int fmt[8];
	char num[8][24];
	int n;
};

static void p_bytes(struct params *p, const void *b, size_t len)
{
	p->v[p->n] = b;
	p->len[p->n] = (int)len;
	p->fmt[p->n] = 1;
	p->n++;
}

static void p_text(struct params *p, const char *s)
{
	p->v[p->n] = s;
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

static void p_int(struct params *p, int64_t v)
{
	snprintf(p->num[p->n], sizeof(p->num[0]), "%" PRId64, v);
	p_text(p, p->num[p->n]);
}

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

	for (i = 0; i < ST_COUNT; ++i) {
		snprintf(name, sizeof(name), "s%d", i);
		r = PQprepare(pg, name, stmts[i].sql, stmts[i].nparams, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			log_err("postgres: prepare %s: %s", stmts[i].sql, PQerrorMessage(pg));
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

/* Runs a prepared statement; binary results. NULL on failure (logged). */
static PGresult *exec(struct store_conn *c, enum stmt_id id, const struct params *p)
{
	char name[8];
	PGresult *r;
	ExecStatusType st;

	if (ensure(c))
		return NULL;
	snprintf(name, sizeof(name), "s%d", (int)id);
	r = PQexecPrepared(c->pg, name, p->n, p->v, p->len, p->fmt, 1);
	st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		log_err("postgres: %s: %s", stmts[id].sql, PQerrorMessage(c->pg));
		PQclear(r);
		return NULL;
	}
	return r;
}

static int run(struct store_conn *c, enum stmt_id id, const struct params *p, long *changed)
{
	PGresult *r = exec(c, id, p);

	if (!r)
		return -EIO;
	if (changed)
		*changed = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
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
static int64_t get_int(const PGresult *r, int row, int col)
{
	const char *v = PQgetvalue(r, row, col);
	uint64_t u64;
	uint32_t u32;
	uint16_t u16;

	switch (PQgetlength(r, row, col)) {
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

/* Columns key, gateway, psk, keepalive, expires_at, created_at, ips. */
static int row_to_record(const PGresult *res, int row, struct peer_record *r)
{
	struct store_peer_row c = {
		.key = PQgetvalue(res, row, 0),
		.key_len = (size_t)PQgetlength(res, row, 0),
		.gateway = PQgetisnull(res, row, 1) ? NULL : PQgetvalue(res, row, 1),
		.gateway_len = (size_t)PQgetlength(res, row, 1),
		.has_psk = !PQgetisnull(res, row, 2),
		.psk = PQgetvalue(res, row, 2),
		.psk_len = (size_t)PQgetlength(res, row, 2),
		.keepalive = get_int(res, row, 3),
		.expires_at = get_int(res, row, 4),
		.created_at = get_int(res, row, 5),
	};
	char *ips;
	int ret;

	/* Binary results: the text column is not NUL-terminated. */
	ips = strndup(PQgetvalue(res, row, 6), (size_t)PQgetlength(res, row, 6));
	if (!ips) {
		memset(r, 0, sizeof(*r));
		return -ENOMEM;
	}
	c.ips = ips;
	ret = store_record_from_row(r, &c);
	free(ips);
	return ret;
}

static int pg_get(struct store_conn *c, const uint8_t key[static WG_KEY_LEN], struct peer_record *out)
{
	struct params p = { 0 };
	PGresult *r;
	int ret;

	memset(out, 0, sizeof(*out));
	p_bytes(&p, key, WG_KEY_LEN);
	r = exec(c, ST_GET, &p);
	if (!r)
		return -EIO;
	ret = PQntuples(r) ? row_to_record(r, 0, out) : -ENOENT;
	PQclear(r);
	if (ret)
		peer_record_clear(out);
	return ret;
}

static int pg_insert(struct store_conn *c, const struct peer_record *r)
{
	struct params p = { 0 };
	uint8_t lo[16], hi[16];
	char *ips = NULL;
	size_t i, n;
	int ret;

	ret = cidr_list_format(r->allowed_ips, r->n_allowed_ips, &ips);
	if (ret)
		return ret;
	p_bytes(&p, r->public_key, WG_KEY_LEN);
	p_text(&p, r->has_gateway ? r->gateway : NULL);
	if (r->has_preshared_key)
		p_bytes(&p, r->preshared_key, WG_KEY_LEN);
	else
		p_text(&p, NULL);
	p_int(&p, r->persistent_keepalive);
	p_int(&p, r->expires_at);
	p_int(&p, r->created_at);
	p_text(&p, ips);
	ret = run(c, ST_INS_PEER, &p, NULL);
	if (!ret) {
		memset(&p, 0, sizeof(p));
		p_bytes(&p, r->public_key, WG_KEY_LEN);
		p_text(&p, r->has_gateway ? r->gateway : NULL);
		p_int(&p, r->created_at);
		ret = run(c, ST_CHG_PUT, &p, NULL);
	}
	for (i = 0; !ret && i < r->n_allowed_ips; ++i) {
		memset(&p, 0, sizeof(p));
		n = pool_addr_len(r->allowed_ips[i].family);
		pool_cidr_bounds(&r->allowed_ips[i], lo, hi);
		p_int(&p, r->allowed_ips[i].family == AF_INET ? 4 : 6);
		p_bytes(&p, lo, n);
		p_bytes(&p, hi, n);
		p_bytes(&p, r->public_key, WG_KEY_LEN);
		p_int(&p, r->expires_at);
		ret = run(c, ST_INS_RANGE, &p, NULL);
	}
	free(ips);
	return ret;
}

static int pg_remove(struct store_conn *c, const uint8_t key[static WG_KEY_LEN])
{
	struct params p = { 0 };
	long n = 0;
	int ret;

	p_bytes(&p, key, WG_KEY_LEN);
	/* The tombstone first: it copies the gateway from the row about to go. */
	ret = run(c, ST_CHG_DEL, &p, NULL);
	if (ret)
		return ret;
	ret = run(c, ST_DEL_PEER, &p, &n);
	if (ret)
		return ret;
	if (n == 0)
		return -ENOENT;
	return run(c, ST_DEL_RANGES, &p, NULL);
}

/* Columns lo, hi, key, expires_at. */
static int row_to_range(const PGresult *r, int row, uint16_t family, struct store_range *out)
{
	return store_range_from_row(out, family, PQgetvalue(r, row, 0), (size_t)PQgetlength(r, row, 0),
				    PQgetvalue(r, row, 1), (size_t)PQgetlength(r, row, 1),
				    PQgetvalue(r, row, 2), (size_t)PQgetlength(r, row, 2), get_int(r, row, 3));
}

static int pg_floor(struct store_conn *c, uint16_t family, const uint8_t addr[static 16], struct store_range *out)
{
	struct params p = { 0 };
	PGresult *r;
	int ret = -ENOENT;

	memset(out, 0, sizeof(*out));
	p_int(&p, family == AF_INET ? 4 : 6);
	p_bytes(&p, addr, pool_addr_len(family));
	r = exec(c, ST_FLOOR, &p);
	if (!r)
		return -EIO;
	if (PQntuples(r))
		ret = row_to_range(r, 0, family, out);
	PQclear(r);
	return ret;
}

static long pg_ranges_from(struct store_conn *c, uint16_t family, const uint8_t addr[static 16],
			   struct store_range *out, size_t max)
{
	struct params p = { 0 };
	PGresult *r;
	int i, rows, ret = 0;

	p_int(&p, family == AF_INET ? 4 : 6);
	p_bytes(&p, addr, pool_addr_len(family));
	p_int(&p, (int64_t)max);
	r = exec(c, ST_FROM, &p);
	if (!r)
		return -EIO;
	rows = PQntuples(r);
	for (i = 0; i < rows && (size_t)i < max && !ret; ++i)
		ret = row_to_range(r, i, family, &out[i]);
	PQclear(r);
	return ret ? ret : (long)i;
}

static int pg_list(struct store_conn *c, const uint8_t *after, const char *gateway, int64_t now, size_t limit,
		   struct peer_record **out, size_t *n)
{
	struct params p = { 0 };
	struct peer_record *recs;
	PGresult *r;
	int i, rows, ret = 0;

	*out = NULL;
	*n = 0;
	/* The empty bytea sorts before every key. */
	p_bytes(&p, after ? (const void *)after : "", after ? WG_KEY_LEN : 0);
	p_int(&p, now);
	p_text(&p, gateway);
	p_int(&p, (int64_t)limit);
	r = exec(c, ST_LIST, &p);
	if (!r)
		return -EIO;
	rows = PQntuples(r);
	recs = calloc(rows ? (size_t)rows : 1, sizeof(*recs));
	if (!recs) {
		PQclear(r);
		return -ENOMEM;
	}
	for (i = 0; i < rows && !ret; ++i)
		ret = row_to_record(r, i, &recs[i]);
	PQclear(r);
	if (ret) {
		for (i = 0; i < rows; ++i)
			peer_record_clear(&recs[i]);
		free(recs);
		return ret;
	}
	*out = recs;
	*n = (size_t)rows;
	return 0;
}

static int pg_meta_get(struct store_conn *c, const char *name, uint8_t val[static 16])
{
	struct params p = { 0 };
	PGresult *r;
	int ret = -ENOENT;

	p_text(&p, name);
	r = exec(c, ST_META_GET, &p);
	if (!r)
		return -EIO;
	if (PQntuples(r) && PQgetlength(r, 0, 0) == 16) {
		memcpy(val, PQgetvalue(r, 0, 0), 16);
		ret = 0;
	}
	PQclear(r);
	return ret;
}

static int pg_meta_set(struct store_conn *c, const char *name, const uint8_t val[static 16])
{
	struct params p = { 0 };

	p_text(&p, name);
	p_bytes(&p, val, 16);
	return run(c, ST_META_SET, &p, NULL);
}

/* Tombstones older than STORE_TOMBSTONE_TTL go; the floor rises to the newest of them. */
static int prune_tombstones(struct store_conn *c, int64_t now)
{
	struct params p = { 0 };
	uint8_t val[16];
	int64_t top = 0;
	PGresult *r;
	int ret;

	p_int(&p, now - STORE_TOMBSTONE_TTL);
	r = exec(c, ST_TOMB_MAX, &p);
	if (!r)
		return -EIO;
	if (PQntuples(r))
		top = get_int(r, 0, 0);
	PQclear(r);
	if (!top)
		return 0;
	ret = run(c, ST_TOMB_PRUNE, &p, NULL);
	if (ret)
		return ret;
	store_floor_encode(top, val);
	return pg_meta_set(c, STORE_FEED_FLOOR, val);
}

static long pg_purge(struct store_conn *c, int64_t now)
{
	struct params p = { 0 };
	long n = 0;
	int ret;

	ret = prune_tombstones(c, now);
	if (ret)
		return ret;
	p_int(&p, now);
	ret = run(c, ST_CHG_EXPIRE, &p, NULL);
	if (!ret)
		ret = run(c, ST_PURGE_RANGES, &p, NULL);
	if (!ret)
		ret = run(c, ST_PURGE_PEERS, &p, &n);
	return ret ? ret : n;
}

static int pg_changes(struct store_conn *c, const char *gateway, int64_t since, int64_t now, size_t limit,
		      struct store_change **out, size_t *n)
{
	struct params p = { 0 };
	struct store_change *ch;
	PGresult *r;
	int i, rows, ret = 0;

	*out = NULL;
	*n = 0;
	p_int(&p, since);
	p_text(&p, gateway);
	p_int(&p, (int64_t)limit);
	r = exec(c, ST_CHANGES, &p);
	if (!r)
		return -EIO;
	rows = PQntuples(r);
	ch = calloc(rows ? (size_t)rows : 1, sizeof(*ch));
	if (!ch) {
		PQclear(r);
		return -ENOMEM;
	}
	/* Columns: a peers row (NULL when gone), then seq and the change's key. */
	for (i = 0; i < rows && !ret; ++i) {
		ch[i].seq = get_int(r, i, 7);
		if (!PQgetisnull(r, i, 0)) {
			ret = row_to_record(r, i, &ch[i].rec);
			if (ret || !ch[i].rec.expires_at || ch[i].rec.expires_at > now)
				continue;
			peer_record_clear(&ch[i].rec);
		}
		ch[i].deleted = true;
		if (PQgetlength(r, i, 8) != WG_KEY_LEN)
			ret = -EIO;
		else
			memcpy(ch[i].rec.public_key, PQgetvalue(r, i, 8), WG_KEY_LEN);
	}
	PQclear(r);
	if (ret) {
		store_changes_free(ch, (size_t)rows);
		return ret;
	}
	*out = ch;
	*n = (size_t)rows;
	return 0;
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
	.get = pg_get,
	.insert = pg_insert,
	.remove = pg_remove,
	.floor = pg_floor,
	.ranges_from = pg_ranges_from,
	.list = pg_list,
	.meta_get = pg_meta_get,
	.meta_set = pg_meta_set,
	.purge = pg_purge,
	.changes = pg_changes,
	.watch = pg_watch,
};
