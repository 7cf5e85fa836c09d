// SPDX-License-Identifier: MIT
/* The statement catalogue (store_sql.h). */
#include "registry/store_sql.h"

#include <stddef.h>

/* The feed's upsert on PostgreSQL: a conflict takes the new sequence number. */
#define CHG_UPSERT "ON CONFLICT (key, gw) DO UPDATE SET seq = EXCLUDED.seq, deleted = EXCLUDED.deleted, at = EXCLUDED.at"
#define TOKEN_COLS "id, scope, gateway, max_peers, used, expires_at, created_at, revoked_at, comment"

const struct store_sql_text store_sql[SQ_COUNT] = {
	[SQ_GET] = { "SELECT " PEER_COLS " FROM peers WHERE key = $1", NULL, 1 },
	[SQ_INS_PEER] = { "INSERT INTO peers (" PEER_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", NULL, 9 },
	[SQ_INS_RANGE] = { "INSERT INTO ranges (fam, lo, hi, key, expires_at) VALUES ($1, $2, $3, $4, $5)", NULL, 5 },
	[SQ_DEL_PEER] = { "DELETE FROM peers WHERE key = $1", NULL, 1 },
	[SQ_DEL_RANGES] = { "DELETE FROM ranges WHERE key = $1", NULL, 1 },
	[SQ_FLOOR] = { "SELECT lo, hi, key, expires_at FROM ranges WHERE fam = $1 AND lo <= $2 "
		       "ORDER BY fam DESC, lo DESC LIMIT 1", NULL, 2 },
	[SQ_FROM] = { "SELECT lo, hi, key, expires_at FROM ranges WHERE fam = $1 AND lo >= $2 "
		      "ORDER BY fam, lo LIMIT $3", NULL, 3 },
	[SQ_LIST] = { "SELECT " PEER_COLS " FROM peers WHERE key > $1 AND (expires_at = 0 OR expires_at > $2) "
		      "AND (CAST($3 AS text) IS NULL OR gateway IS NULL OR gateway = $3) "
		      "AND (CAST($5 AS text) IS NULL OR owner = $5) ORDER BY key LIMIT $4", NULL, 5 },
	[SQ_META_GET] = { "SELECT value FROM meta WHERE name = $1", NULL, 1 },
	[SQ_META_SET] = { "INSERT INTO meta (name, value) VALUES ($1, $2) "
			  "ON CONFLICT (name) DO UPDATE SET value = excluded.value", NULL, 2 },
	[SQ_PURGE_RANGES] = { "DELETE FROM ranges WHERE expires_at > 0 AND expires_at <= $1", NULL, 1 },
	[SQ_PURGE_PEERS] = { "DELETE FROM peers WHERE expires_at > 0 AND expires_at <= $1", NULL, 1 },
	/* The change feed (store.h): each write gives the (key, gw) row a new, larger seq. */
	[SQ_CHG_PUT] = { "INSERT INTO changes (key, gw, deleted, at) VALUES ($1, coalesce(CAST($2 AS text), ''), 0, $3) "
			 CHG_UPSERT,
			 "INSERT OR REPLACE INTO changes (key, gw, deleted, at) VALUES (?1, coalesce(?2, ''), 0, ?3)", 3 },
	[SQ_CHG_DEL] = { "INSERT INTO changes (key, gw, deleted, at) "
			 "SELECT key, coalesce(gateway, ''), 1, CAST($2 AS bigint) FROM peers WHERE key = $1 " CHG_UPSERT,
			 "INSERT OR REPLACE INTO changes (key, gw, deleted, at) "
			 "SELECT key, coalesce(gateway, ''), 1, ?2 FROM peers WHERE key = ?1", 2 },
	[SQ_CHG_EXPIRE] = { "INSERT INTO changes (key, gw, deleted, at) SELECT key, coalesce(gateway, ''), 1, "
			    "CAST($1 AS bigint) FROM peers WHERE expires_at > 0 AND expires_at <= $1 " CHG_UPSERT,
			    "INSERT OR REPLACE INTO changes (key, gw, deleted, at) "
			    "SELECT key, coalesce(gateway, ''), 1, ?1 FROM peers WHERE expires_at > 0 AND expires_at <= ?1", 1 },
	[SQ_TOMB_MAX] = { "SELECT coalesce(max(seq), 0) FROM changes WHERE deleted = 1 AND at <= $1", NULL, 1 },
	[SQ_TOMB_PRUNE] = { "DELETE FROM changes WHERE deleted = 1 AND at <= $1", NULL, 1 },
	[SQ_CHANGES] = { "SELECT p.key, p.gateway, p.psk, p.keepalive, p.expires_at, p.created_at, p.ips, p.name, "
			 "p.owner, c.seq, c.key FROM changes c LEFT JOIN peers p ON c.deleted = 0 AND p.key = c.key "
			 "WHERE c.seq > $1 AND (CAST($2 AS text) IS NULL OR c.gw = $2 OR c.gw = '') "
			 "ORDER BY c.seq LIMIT $3", NULL, 3 },
	[SQ_HEAD] = { "SELECT coalesce(max(seq), 0) FROM changes", NULL, 0 },
	[SQ_NEXT_EXPIRY] = { "SELECT coalesce(min(expires_at), 0) FROM peers WHERE expires_at > 0", NULL, 0 },
	[SQ_TOK_INS] = { "INSERT INTO tokens (hash, scope, gateway, max_peers, used, expires_at, created_at, "
			 "revoked_at, comment) VALUES ($1, $2, $3, $4, 0, $5, $6, 0, $7) RETURNING id", NULL, 7 },
	[SQ_TOK_BY_HASH] = { "SELECT " TOKEN_COLS " FROM tokens WHERE hash = $1", NULL, 1 },
	[SQ_TOK_LIST] = { "SELECT " TOKEN_COLS " FROM tokens WHERE id > $1 ORDER BY id LIMIT $2", NULL, 2 },
	[SQ_TOK_REVOKE] = { "UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0", NULL, 2 },
	[SQ_TOK_USE] = { "UPDATE tokens SET used = used + 1 WHERE id = $1 AND used < max_peers", NULL, 1 },
	[SQ_TOK_ANY] = { "SELECT count(*) FROM tokens", NULL, 0 },
	[SQ_AUDIT_INS] = { "INSERT INTO audit (at, token_id, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
			   NULL, 5 },
	[SQ_AUDIT_LIST] = { "SELECT id, at, token_id, action, target, detail FROM audit WHERE id > $1 "
			    "ORDER BY id LIMIT $2", NULL, 2 },
};
