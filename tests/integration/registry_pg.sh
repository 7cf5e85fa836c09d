#!/usr/bin/env bash
# The registry API suite (registry_api.sh) on a real PostgreSQL server.
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
# the store's change-feed unit test (purge, tombstone pruning, stale cursors) on its own empty database
feed=$(tl_pg_createdb jitwg_feed) || tl_fail "createdb jitwg_feed"
JITWG_TEST_PG=$feed "$TL_BIN/test_store" >"$TL_TMP/feed.log" 2>&1 ||
	{ cat "$TL_TMP/feed.log"; tl_fail "change feed on postgres"; }
tl_log "change feed unit test on postgres: PASS"
