#!/usr/bin/env bash
# WireGuard over WebSockets on the kernel backend: Debian's cloud kernel
# under TCG runs tests/kernel/guest/relay.sh: kernel WireGuard on both sides,
# the client's traffic through `jitwg tunnel` -> jitwg-relay -> the hook ->
# jitwgd --backend kernel with the real registry. Cases: cold connect over the
# relay (peer installed in the kernel with the relay socket as endpoint), the
# initiation not captured a second time on lo, the tunnel carrying traffic.
# Budget: about 90 s.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.bash"
tl_init
kg_require
for b in jitwgd jitwg jitwg-registry jitwg-relay; do
	[ -x "$TL_BIN/$b" ] || { tl_log "SKIP: build first (make)"; exit 77; }
done
command -v curl >/dev/null || { tl_log "SKIP: curl not installed"; exit 77; }
kg_fetch_kernel

files=$TL_TMP/files
mkdir -p "$files"
umask 077
wg genkey >"$files/gw.key"
priv=$(wg genkey)
echo "$priv" >"$files/c1.key"

# The registry's database, filled here (one client) and shipped to the guest.
reg=$(tl_netns reg)
port=$((20000 + RANDOM % 20000))
tl_bg ip netns exec "$reg" "$TL_BIN/jitwg-registry" --listen "127.0.0.1:$port" --db "$files/registry.db" \
	2>"$TL_TMP/registry.log"
regpid=$TL_LAST_PID
tl_wait_until 10 ip netns exec "$reg" curl -sf "http://127.0.0.1:$port/healthz" || tl_fail "registry did not start"
ip netns exec "$reg" curl -sf -o /dev/null -X POST "http://127.0.0.1:$port/v1/peers" \
	-H 'Content-Type: application/json' \
	-d "{\"public_key\":\"$(wg pubkey <<<"$priv")\",\"allowed_ips\":[\"10.77.1.1/32\"]}" || tl_fail "register failed"
kill -TERM "$regpid"
wait "$regpid" 2>/dev/null || true
rm -f "$files"/registry.db-shm "$files"/registry.db-wal

root=$TL_TMP/root
kg_rootfs "$root" "$KG_GUEST_DIR/relay.sh" "$files"/*
kg_add_elf "$root" "$TL_BIN/jitwg-relay" /usr/local/bin/jitwg-relay
kg_boot "$root" "$TL_TMP/console.log" "${KG_TIMEOUT:-150}" || true
kg_report "$TL_TMP/console.log" relay_start relay_cold_connect relay_installed_in_kernel \
	relay_endpoint_is_relay_socket relay_hook_not_captured relay_traffic
