# shellcheck shell=bash
# Shared helpers for the shell tests. Source it, then call tl_init.
#
# Every namespace, process and temp dir made through these helpers is
# removed by an EXIT trap, also when the test fails. Names carry the test's
# PID so concurrent tests never collide: note that the UAPI socket
# /var/run/wireguard/<if>.sock is NOT per network namespace, so interface
# names must be unique machine-wide too (use tl_ifname).

set -euo pipefail

TL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TL_BIN=${JITWG_BIN:-$TL_ROOT/build/bin}
TL_NETNS=()
TL_PIDS=()
TL_IFACES=()
TL_TMP=""
TL_NAME=$(basename "$0" .sh)

tl_log() { printf '[%s] %s\n' "$TL_NAME" "$*" >&2; }
tl_fail() { tl_log "FAIL: $*"; exit 1; }

tl_cleanup() {
	local rc=$? p n
	for p in "${TL_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${TL_PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
	done
	# Names made inside $(...) live in a subshell: they are recorded in files.
	[ -n "$TL_TMP" ] && [ -f "$TL_TMP/.netns" ] && mapfile -t -O "${#TL_NETNS[@]}" TL_NETNS <"$TL_TMP/.netns"
	[ -n "$TL_TMP" ] && [ -f "$TL_TMP/.ifaces" ] && mapfile -t -O "${#TL_IFACES[@]}" TL_IFACES <"$TL_TMP/.ifaces"
	for n in "${TL_NETNS[@]}"; do
		# Kill anything still running inside before deleting it.
		ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$n" 2>/dev/null || true
	done
	for n in "${TL_IFACES[@]}"; do rm -f "/var/run/wireguard/$n.sock"; done
	[ -n "$TL_TMP" ] && rm -rf "$TL_TMP"
	exit "$rc"
}

tl_init() {
	[ "$(id -u)" -eq 0 ] || { tl_log "needs root (network namespaces)"; exit 1; }
	TL_TMP=$(mktemp -d "/tmp/jitwg-$TL_NAME.XXXXXX")
	trap tl_cleanup EXIT
	trap 'exit 130' INT TERM
}

# tl_netns NAME -> creates netns "jt<pid>-NAME" with lo up, prints its name.
# A test may set TL_NS_PREFIX (default jt) to tell its namespaces apart.
tl_netns() {
	local n="${TL_NS_PREFIX:-jt}$$-$1"
	ip netns add "$n"
	TL_NETNS+=("$n")
	echo "$n" >>"$TL_TMP/.netns"
	ip -n "$n" link set lo up
	echo "$n"
}

# tl_ifname TAG -> a unique interface name (<= 15 chars) for this test.
tl_ifname() {
	local n
	n=$(printf 'w%s%s' "$1" "$(( $$ % 100000 ))")
	n=${n:0:15}
	TL_IFACES+=("$n")
	echo "$n" >>"$TL_TMP/.ifaces"
	echo "$n"
}

# tl_bg CMD... -> runs CMD in the background, remembers its PID for cleanup.
# The caller reads the PID from $TL_LAST_PID (not $!, which a subshell hides).
tl_bg() {
	"$@" &
	TL_LAST_PID=$!
	TL_PIDS+=("$TL_LAST_PID")
}

# tl_wait_until SECONDS CMD... -> polls CMD every 0.1 s; returns 1 on timeout.
tl_wait_until() {
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# tl_veth NS_A NS_B IF_A IF_B -> connects two namespaces with a veth pair.
tl_veth() {
	ip link add "$3" netns "$1" type veth peer name "$4" netns "$2"
	ip -n "$1" link set "$3" up
	ip -n "$2" link set "$4" up
}

# tl_wg_go NS IFNAME -> starts wireguard-go in NS in the foreground (so the
# PID is ours) and waits for its UAPI socket.
tl_wg_go() {
	WG_PROCESS_FOREGROUND=1 tl_bg ip netns exec "$1" wireguard-go "$2" >/dev/null 2>&1
	tl_wait_until 10 test -S "/var/run/wireguard/$2.sock" || tl_fail "wireguard-go $2 did not start"
}
