#!/usr/bin/env bash
# The registry API suite (registry_api.sh) on a real PostgreSQL server.
#
# Starts a private cluster: initdb into a temp dir owned by the postgres
# user, a random port, the unix socket in the temp dir and no TCP listener,
# trust auth (only local root and postgres can reach the socket dir).
# The trap stops and removes it, also when the suite fails.
source "$(dirname "$0")/../lib.sh"
tl_init
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL server not installed (scripts/deps.sh)"; exit 77; }
id postgres >/dev/null 2>&1 || { echo "no postgres user"; exit 77; }

PGDIR=$TL_TMP/pg
mkdir -p "$PGDIR"
chown postgres: "$PGDIR"
chmod 0700 "$PGDIR"
chmod 0755 "$TL_TMP"
PGPORT=$((20000 + RANDOM % 20000))

pg_stop() {
	[ -f "$PGDIR/data/postmaster.pid" ] &&
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1
	return 0
}
# keep the suite's exit status for tl_cleanup, which reads $?
trap 'rc=$?; pg_stop; (exit $rc); tl_cleanup' EXIT

runuser -u postgres -- "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres --no-sync >"$PGDIR/initdb.log" 2>&1 ||
	{ cat "$PGDIR/initdb.log"; tl_fail "initdb"; }
ok=""
for _ in 1 2 3; do
	if runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 30 \
		-o "-p $PGPORT -k $PGDIR -c listen_addresses='' -c fsync=off" start >/dev/null 2>&1; then
		ok=1
		break
	fi
	PGPORT=$((20000 + RANDOM % 20000)) # port taken: try another
done
[ -n "$ok" ] || { cat "$PGDIR/server.log"; tl_fail "postgres did not start"; }
runuser -u postgres -- "$PGBIN/createdb" -h "$PGDIR" -p "$PGPORT" jitwg || tl_fail "createdb"
tl_log "postgres on $PGDIR port $PGPORT"

REGISTRY_DB="postgresql://postgres@/jitwg?host=$PGDIR&port=$PGPORT" bash "$(dirname "$0")/registry_api.sh" ||
	exit $?
# the store's change-feed unit test (purge, tombstone pruning, stale cursors) on its own empty database
runuser -u postgres -- "$PGBIN/createdb" -h "$PGDIR" -p "$PGPORT" jitwg_feed || tl_fail "createdb jitwg_feed"
JITWG_TEST_PG="postgresql://postgres@/jitwg_feed?host=$PGDIR&port=$PGPORT" "$TL_BIN/test_store" >"$TL_TMP/feed.log" 2>&1 ||
	{ cat "$TL_TMP/feed.log"; tl_fail "change feed on postgres"; }
tl_log "change feed unit test on postgres: PASS"
