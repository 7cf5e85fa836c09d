#!/usr/bin/env bash
# The registry API suite (registry_api.sh) on a real PostgreSQL server, the
# store unit tests that take a database (feed, update and rotation, tokens),
# and the migration of a database from before name/owner/tokens/audit.
#
# Starts a private cluster (tests/pg.bash: initdb into a temp dir owned by
# the postgres user, a random port, the unix socket in the temp dir and no
# TCP listener, trust auth). The trap stops and removes it, also when the
# suite fails.
source "$(dirname "$0")/../lib.sh"
tl_init
# shellcheck source=../pg.bash
source "$(dirname "$0")/../pg.bash"
# keep the suite's exit status for tl_cleanup, which reads $?
trap 'rc=$?; tl_pg_stop; (exit $rc); tl_cleanup' EXIT
tl_pg_start "$TL_TMP/pg" -c fsync=off || { rc=$?; [ $rc = 77 ] && exit 77; tl_fail "postgres"; }
tl_log "postgres on $TL_PGDIR port $TL_PGPORT"

REGISTRY_DB=$TL_PG_URL bash "$(dirname "$0")/registry_api.sh" ||
	exit $?
# the store unit tests that take a database (feed, update/rotate, tokens) on its own empty database
feed=$(tl_pg_createdb jitwg_feed) || tl_fail "createdb jitwg_feed"
JITWG_TEST_PG=$feed "$TL_BIN/test_store" >"$TL_TMP/feed.log" 2>&1 ||
	{ cat "$TL_TMP/feed.log"; tl_fail "change feed on postgres"; }
tl_log "change feed unit test on postgres: PASS"

# a database from before name, owner, tokens and audit (and the feed) opens and keeps its peers
old=$(tl_pg_createdb jitwg_old) || tl_fail "createdb jitwg_old"
runuser -u postgres -- "$TL_PGBIN/psql" -q -h "$TL_PGDIR" -p "$TL_PGPORT" -d jitwg_old -v ON_ERROR_STOP=1 >/dev/null <<'SQL' ||
CREATE TABLE peers (key bytea PRIMARY KEY, gateway text, psk bytea, keepalive integer NOT NULL,
  expires_at bigint NOT NULL, created_at bigint NOT NULL, ips text NOT NULL);
CREATE TABLE ranges (fam smallint NOT NULL, lo bytea NOT NULL, hi bytea NOT NULL, key bytea NOT NULL,
  expires_at bigint NOT NULL, PRIMARY KEY (fam, lo));
CREATE TABLE meta (name text PRIMARY KEY, value bytea NOT NULL);
INSERT INTO peers VALUES ('\x1111111111111111111111111111111111111111111111111111111111111111', 'gw', NULL, 25, 0, 50, '10.9.0.2/32');
INSERT INTO ranges VALUES (4, '\x0a090002', '\x0a090002', '\x1111111111111111111111111111111111111111111111111111111111111111', 0);
SQL
	tl_fail "old schema"
tl_bg "$TL_BIN/jitwg-registry" --listen 127.0.0.1:0 --db "$old" 2>"$TL_TMP/old.log"
tl_wait_until 10 grep -q 'listening on' "$TL_TMP/old.log" || { cat "$TL_TMP/old.log"; tl_fail "registry on an old database"; }
url=http://127.0.0.1:$(grep -o 'port [0-9]*' "$TL_TMP/old.log" | head -n 1 | cut -d' ' -f2)
key=ERERERERERERERERERERERERERERERERERERERERERE
[ "$(curl -s "$url/v1/peers/$key" | jq -r '.allowed_ips[0] + " " + .gateway')" = "10.9.0.2/32 gw" ] ||
	tl_fail "old peer after migration: $(curl -s "$url/v1/peers/$key")"
[ "$(curl -s -X PATCH --data-binary '{"owner":"alice"}' "$url/v1/peers/$key" | jq -r .owner)" = alice ] ||
	tl_fail "owner on a migrated database"
curl -s "$url/v1/peers?since=0" | jq -e '[.changes[] | select(.op == "put")] | length == 1' >/dev/null ||
	tl_fail "migrated database's feed"
kill "$TL_LAST_PID"
tl_log "an old PostgreSQL database migrates in place and keeps its peers: PASS"
