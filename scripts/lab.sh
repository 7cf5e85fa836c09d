#!/usr/bin/env bash
# The live lab: a just-in-time WireGuard gateway in network namespaces.
#
#   ./scripts/lab.sh [--duration SECONDS] [--idle-timeout SECONDS] [--clients N] [--no-build]
#
# As root on Debian 12: installs dependencies (scripts/deps.sh), builds, then
# runs a wireguard-go gateway with jitwg-registry and jitwgd next to it, and
# several wireguard-go clients registered in the registry (`jitwg peer add`).
# It shows, with timestamps and figures read from jitwgd's /metrics:
#   1. clients connect cold (no peer on the gateway until their first packet)
#   2. the installed-peer gauge rises
#   3. idle peers are evicted while an active one stays
#   4. a returning client is re-installed at once
#   5. an unregistered client gets nothing and is negative-cached
#   6. a client on a UDP-blocked network connects over WebSockets (jitwg tunnel
#      -> jitwg-relay -> the hook), installed just in time the same way
# Everything is torn down on exit or Ctrl-C. Exits 0 when every step was seen.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=90
IDLE=8
NCLIENTS=3
BUILD=1

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case $1 in
	--duration) DURATION=$2; shift 2 ;;
	--idle-timeout) IDLE=$2; shift 2 ;;
	--clients) NCLIENTS=$2; shift 2 ;;
	--no-build) BUILD=0; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "lab.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
case "$DURATION$IDLE$NCLIENTS" in *[!0-9]*) echo "lab.sh: numbers expected" >&2; exit 2 ;; esac
[ "$NCLIENTS" -ge 2 ] && [ "$NCLIENTS" -le 50 ] || { echo "lab.sh: --clients 2..50" >&2; exit 2; }
[ "$IDLE" -ge 2 ] || { echo "lab.sh: --idle-timeout >= 2" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "lab.sh: run as root (network namespaces, apt-get)" >&2; exit 1; }

if [ "$BUILD" = 1 ]; then
	echo "== installing dependencies and building (scripts/deps.sh, make)"
	"$ROOT/scripts/deps.sh"
	make -C "$ROOT" -j"$(nproc)" all >/dev/null
fi

# tests/lib.sh gives PID-unique namespaces and interfaces and a cleanup trap.
# shellcheck source=../tests/lib.sh
source "$ROOT/tests/lib.sh"
TL_NAME=lab
BIN=$TL_BIN
tl_init
umask 077

T0=$(date +%s%N)
stamp() { local ms=$((($(date +%s%N) - T0) / 1000000)); printf '[%3d.%01ds]' $((ms / 1000)) $((ms % 1000 / 100)); }
say() { printf '%s %s\n' "$(stamp)" "$*"; }
if [ -t 1 ]; then B=$'\033[1m' G=$'\033[32m' N=$'\033[0m'; else B="" G="" N=""; fi
step_ok=()
step() { printf '\n%s %s== %s%s\n' "$(stamp)" "$B" "$*" "$N"; }
seen() { step_ok+=("$1"); printf '%s    %sseen:%s %s\n' "$(stamp)" "$G" "$N" "$1"; }
deadline=$(( $(date +%s) + DURATION ))
time_left() { [ "$(date +%s)" -lt "$deadline" ]; }

# ---- topology ----------------------------------------------------------------
GW=$(tl_netns gw)
CL=$(tl_netns cl)
tl_veth "$GW" "$CL" "lg$$" "lc$$"
ip -n "$GW" addr add 192.168.60.1/24 dev "lg$$"
ip -n "$CL" addr add 192.168.60.2/24 dev "lc$$"
GWIF=$(tl_ifname gw)
tl_wg_go "$GW" "$GWIF"
wg genkey >"$TL_TMP/gw.key"
GW_PUB=$(wg pubkey <"$TL_TMP/gw.key")
ip netns exec "$GW" wg set "$GWIF" private-key "$TL_TMP/gw.key" listen-port 51820
ip -n "$GW" addr add 10.60.0.1/16 dev "$GWIF"
ip -n "$GW" link set "$GWIF" up

REG_PORT=$((20000 + RANDOM % 20000))
MET="127.0.0.1:$((20000 + RANDOM % 20000))"
REG="http://127.0.0.1:$REG_PORT"
tl_bg ip netns exec "$GW" "$BIN/jitwg-registry" --listen "127.0.0.1:$REG_PORT" --db "$TL_TMP/registry.db" \
	2>"$TL_TMP/registry.log"
tl_wait_until 10 ip netns exec "$GW" curl -sf "$REG/healthz" || tl_fail "registry did not start"

step "Setting up: gateway $GWIF (wireguard-go) in $GW, registry on $REG, $NCLIENTS+1 clients in $CL"
declare -a CIF CPUB
for n in $(seq 1 $((NCLIENTS + 1))); do
	CIF[$n]=$(tl_ifname "c$n")
	tl_wg_go "$CL" "${CIF[$n]}"
	wg genkey >"$TL_TMP/c$n.key"
	CPUB[$n]=$(wg pubkey <"$TL_TMP/c$n.key")
	ip netns exec "$CL" wg set "${CIF[$n]}" private-key "$TL_TMP/c$n.key" \
		peer "$GW_PUB" endpoint 192.168.60.1:51820 allowed-ips 10.60.0.1/32
	ip -n "$CL" addr add "10.60.1.$n/32" dev "${CIF[$n]}"
	ip -n "$CL" link set "${CIF[$n]}" up
done
UNKNOWN=$((NCLIENTS + 1))
# One more client whose WireGuard talks only to a local `jitwg tunnel`: its
# traffic leaves the client namespace as a WebSocket to jitwg-relay.
RELAYC=$((NCLIENTS + 2))
CIF[$RELAYC]=$(tl_ifname "c$RELAYC")
tl_wg_go "$CL" "${CIF[$RELAYC]}"
wg genkey >"$TL_TMP/c$RELAYC.key"
CPUB[$RELAYC]=$(wg pubkey <"$TL_TMP/c$RELAYC.key")
ip netns exec "$CL" wg set "${CIF[$RELAYC]}" private-key "$TL_TMP/c$RELAYC.key" \
	peer "$GW_PUB" endpoint 127.0.0.1:51821 allowed-ips 10.60.0.1/32
ip -n "$CL" addr add "10.60.1.$RELAYC/32" dev "${CIF[$RELAYC]}"
ip -n "$CL" link set "${CIF[$RELAYC]}" up
tl_bg ip netns exec "$GW" "$BIN/jitwg-relay" --listen 192.168.60.1:8080 --forward 127.0.0.1:51820 \
	--hook "$TL_TMP/hook.sock" 2>"$TL_TMP/relay.log"
tl_bg ip netns exec "$CL" "$BIN/jitwg" tunnel --url ws://192.168.60.1:8080/ --listen 127.0.0.1:51821 \
	--quiet 2>"$TL_TMP/tunnel.log"
for n in $(seq 1 "$NCLIENTS") "$RELAYC"; do
	ip netns exec "$GW" "$BIN/jitwg" peer add --registry "$REG" --public-key "${CPUB[$n]}" \
		--allowed-ips "10.60.1.$n/32" >/dev/null || tl_fail "jitwg peer add failed"
	say "registered client $n  ${CPUB[$n]}  10.60.1.$n/32"
done
say "client $UNKNOWN  ${CPUB[$UNKNOWN]} is NOT registered"
say "gateway peers before jitwgd: $(ip netns exec "$GW" wg show "$GWIF" peers | wc -l)"

tl_bg ip netns exec "$GW" "$BIN/jitwgd" --interface "$GWIF" --registry "$REG" --cache "$TL_TMP/cache.db" \
	--metrics "$MET" --status-socket "$TL_TMP/status.sock" --idle-timeout "$IDLE" --grace 2 \
	--hook "$TL_TMP/hook.sock" 2>"$TL_TMP/jitwgd.log"
JPID=$TL_LAST_PID
metrics() { ip netns exec "$GW" curl -sf "http://$MET/metrics" 2>/dev/null; }
tl_wait_until 10 metrics || { cat "$TL_TMP/jitwgd.log"; tl_fail "jitwgd did not start"; }
# jitwgd's own event lines, live.
tl_bg bash -c "tail --pid=$$ -n +1 -F '$TL_TMP/jitwgd.log' 2>/dev/null | sed -u 's/^[^ ]* jitwgd\[[0-9]*\] [a-z]*: /          jitwgd | /'"
sleep 0.3

metric() { metrics | awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }'; }
show_metrics() {
	local m
	m=$(metrics) || return 0
	get() { awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }' <<<"$m"; }
	printf '%s    metrics: installed=%s stale=%s installs=%s evictions=%s handshakes_ok=%s cache{hit=%s miss=%s neg=%s} registry{ok=%s 404=%s}\n' \
		"$(stamp)" "$(get jitwg_peers_installed)" "$(get jitwg_peers_stale)" "$(get jitwg_installs_total)" \
		"$(get jitwg_evictions_total)" "$(get 'jitwg_handshakes_total{verdict="ok"}')" \
		"$(get 'jitwg_cache_total{result="hit"}')" "$(get 'jitwg_cache_total{result="miss"}')" \
		"$(get 'jitwg_cache_total{result="negative"}')" "$(get 'jitwg_registry_requests_total{status="ok"}')" \
		"$(get 'jitwg_registry_requests_total{status="not_found"}')"
}
# wait_for SECONDS CMD... : polls, printing the metrics line every 2 s.
wait_for() {
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 5; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		time_left || return 1
		[ $((i % 10)) -eq 9 ] && show_metrics
		sleep 0.2
	done
	return 1
}
ping_c() { ip netns exec "$CL" ping -n -q -c 1 -W 1 -I "${CIF[$1]}" 10.60.0.1 >/dev/null 2>&1; }
installed() { ip netns exec "$GW" wg show "$GWIF" peers | grep -qxF "${CPUB[$1]}"; }
metric_ge() { [ "$(metric "$1")" -ge "$2" ]; }
gauge_is() { [ "$(metric jitwg_peers_installed)" = "$1" ]; }
gauge_le() { [ "$(metric jitwg_peers_installed)" -le "$1" ]; }

show_metrics

# ---- 1. cold connect -------------------------------------------------------------
step "1. Clients connect cold: each first packet makes jitwgd install the peer (initiator role)"
cold=0
for n in $(seq 1 "$NCLIENTS"); do
	start=$(date +%s%N)
	if wait_for 6 ping_c "$n"; then
		say "client $n: first ping reply through the tunnel after $((($(date +%s%N) - start) / 1000000)) ms"
		cold=$((cold + 1))
	else
		say "client $n: NO tunnel"
	fi
done
[ "$cold" = "$NCLIENTS" ] && seen "all $NCLIENTS clients connected cold"

# ---- 2. gauge ----------------------------------------------------------------
step "2. The installed-peer gauge rises"
wait_for 5 gauge_is "$NCLIENTS" && seen "jitwg_peers_installed = $NCLIENTS"
show_metrics

# ---- 3. eviction ----------------------------------------------------------------
ACTIVE=$NCLIENTS
step "3. Idle peers are evicted (--idle-timeout ${IDLE}s); client $ACTIVE stays active"
( while true; do ping_c "$ACTIVE"; sleep 1; done ) &
KEEP=$!
TL_PIDS+=("$KEEP")
say "clients 1..$((NCLIENTS - 1)) go quiet; client $ACTIVE pings every second"
if wait_for $((IDLE * 3 + 10)) gauge_is 1; then
	installed "$ACTIVE" && seen "idle peers evicted, the active one kept"
fi
show_metrics

# ---- 4. returning client ----------------------------------------------------------------
step "4. A returning client is re-installed"
# After a real idle period (> 180 s) the client's session has expired and
# its next packet starts a fresh handshake; this short lab resets its peer
# to the same effect.
ip netns exec "$CL" wg set "${CIF[1]}" peer "$GW_PUB" remove
ip netns exec "$CL" wg set "${CIF[1]}" peer "$GW_PUB" endpoint 192.168.60.1:51820 allowed-ips 10.60.0.1/32
start=$(date +%s%N)
if wait_for 6 ping_c 1; then
	say "client 1 back after $((($(date +%s%N) - start) / 1000000)) ms"
	wait_for 3 gauge_is 2 && seen "returning client re-installed (gauge back to 2)"
fi
show_metrics

# ---- 5. unknown client ----------------------------------------------------------------
step "5. An unregistered client gets nothing"
ping_c "$UNKNOWN" || true
wait_for 3 metric_ge 'jitwg_registry_requests_total{status="not_found"}' 1 || true
# Its retry (a fresh initiation) is answered from the negative cache entry.
ip netns exec "$CL" wg set "${CIF[$UNKNOWN]}" peer "$GW_PUB" remove
ip netns exec "$CL" wg set "${CIF[$UNKNOWN]}" peer "$GW_PUB" endpoint 192.168.60.1:51820 allowed-ips 10.60.0.1/32
ping_c "$UNKNOWN" || true
if ! installed "$UNKNOWN" && [ "$(metric 'jitwg_registry_requests_total{status="not_found"}')" = 1 ] &&
	wait_for 3 metric_ge 'jitwg_cache_total{result="negative"}' 1; then
	seen "unknown key not installed; one 404 from the registry, its retry answered by the negative cache"
fi
show_metrics

# ---- 6. over WebSockets ----------------------------------------------------------------
step "6. A client on a UDP-blocked network: WireGuard -> jitwg tunnel -> ws:// -> jitwg-relay -> hook -> jitwgd"
if wait_for 8 ping_c "$RELAYC" && installed "$RELAYC"; then
	ep=$(ip netns exec "$GW" wg show "$GWIF" endpoints | awk -v k="${CPUB[$RELAYC]}" '$1 == k { print $2 }')
	seen "client $RELAYC connected over the relay: endpoint $ep (its relay socket), hook hand-offs $(metric jitwg_hook_received_total)"
fi
show_metrics

kill "$KEEP" 2>/dev/null || true
step "jitwg status"
"$BIN/jitwg" status --socket "$TL_TMP/status.sock" | sed 's/^/    /'

step "Summary"
want=6
for s in "${step_ok[@]}"; do printf '    %s✓%s %s\n' "$G" "$N" "$s"; done
kill -TERM "$JPID" 2>/dev/null || true
sleep 0.5
if [ "${#step_ok[@]}" -eq "$want" ]; then
	say "all $want steps seen; tearing down"
	exit 0
fi
say "only ${#step_ok[@]} of $want steps seen (duration ${DURATION}s); see above"
exit 1
