#!/usr/bin/env bash
# The lookup stages (replay guard, SQLite cache, registry client) against the
# real jitwg-registry: cold fetch, one request per retrying key (counted in
# the registry's own log), negative caching of unknown and other-gateway
# keys, then a restart of the lookup in a new process with the registry
# stopped: the replay mark survives and stale-if-error installs the cached
# record. The driver is build/bin/test_lookup in its "real registry" mode.
source "$(dirname "$0")/../lib.sh"
tl_init

REG=$TL_BIN/jitwg-registry
DRIVER=$TL_BIN/test_lookup
[ -x "$REG" ] && [ -x "$DRIVER" ] || { echo "build first: missing $REG or $DRIVER"; exit 77; }

token=$(head -c 24 /dev/urandom | base64 | tr -d '+/=')
printf '%s\n' "$token" >"$TL_TMP/token"
chmod 600 "$TL_TMP/token"
log=$TL_TMP/registry.log

tl_bg "$REG" --listen 127.0.0.1:0 --db "$TL_TMP/registry.db" --token-file "$TL_TMP/token" -v 2>"$log"
reg_pid=$TL_LAST_PID
tl_wait_until 10 grep -q 'listening on' "$log" || { cat "$log"; tl_fail "registry did not start"; }
port=$(sed -n 's/.*listening on .* port \([0-9]*\).*/\1/p' "$log" | head -n 1)
[ -n "$port" ] || tl_fail "no port in registry log"
url=http://127.0.0.1:$port
tl_wait_until 10 curl -fsS "$url/healthz" || tl_fail "registry not healthy"

export JITWG_REGISTRY_URL=$url
export JITWG_REGISTRY_LOG=$log
export JITWG_REGISTRY_TOKEN=$token
export JITWG_LOOKUP_CACHE=$TL_TMP/cache.db
export JITWG_LOOKUP_SALT=$(( $$ % 65536 ))

tl_log "phase up: registry on port $port"
JITWG_LOOKUP_PHASE=up "$DRIVER" || { tail -n 40 "$log"; tl_fail "phase up"; }

tl_log "stopping the registry"
kill -TERM "$reg_pid"
for _ in $(seq 1 50); do kill -0 "$reg_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$reg_pid" 2>/dev/null && tl_fail "registry did not stop"

tl_log "phase down: new lookup process, same cache, registry stopped"
JITWG_LOOKUP_PHASE=down "$DRIVER" || tl_fail "phase down"
tl_log "ok"
