/* SPDX-License-Identifier: MIT */
#ifndef JITWG_REGISTRY_STORE_SQL_H
#define JITWG_REGISTRY_STORE_SQL_H

/*
 * The registry's one statement catalogue, shared by both backends. Text is
 * PostgreSQL's dialect with $N parameters, written to be valid SQLite too
 * (CAST(... AS type), ON CONFLICT ... DO UPDATE, RETURNING); the SQLite
 * backend rewrites $N to ?N when it prepares. Where the SQL cannot be
 * shared (the feed's sequence: an AUTOINCREMENT rowid that REPLACE renews
 * on SQLite, a sequence on PostgreSQL), .sqlite holds SQLite's own text.
 *
 * Peer rows are always read as PEER_COLS, in that order.
 */

enum store_stmt {
	SQ_GET,
	SQ_INS_PEER,
	SQ_INS_RANGE,
	SQ_DEL_PEER,
	SQ_DEL_RANGES,
	SQ_FLOOR,
	SQ_FROM,
	SQ_LIST,
	SQ_META_GET,
	SQ_META_SET,
	SQ_PURGE_RANGES,
	SQ_PURGE_PEERS,
	SQ_CHG_PUT,
	SQ_CHG_DEL,
	SQ_CHG_EXPIRE,
	SQ_TOMB_MAX,
	SQ_TOMB_PRUNE,
	SQ_CHANGES,
	SQ_HEAD,
	SQ_NEXT_EXPIRY,
	SQ_TOK_INS,
	SQ_TOK_BY_HASH,
	SQ_TOK_LIST,
	SQ_TOK_REVOKE,
	SQ_TOK_USE,
	SQ_TOK_ANY,
	SQ_AUDIT_INS,
	SQ_AUDIT_LIST,
	SQ_COUNT
};

#define PEER_COLS "key, gateway, psk, keepalive, expires_at, created_at, ips, name, owner"
enum { PEER_NCOLS = 9 };

struct store_sql_text {
	const char *sql;    /* shared text ($N parameters) */
	const char *sqlite; /* SQLite's own text (?N), or NULL: sql rewritten */
	int nparams;
};

extern const struct store_sql_text store_sql[SQ_COUNT];

#endif
