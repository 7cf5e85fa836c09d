#!/usr/bin/env bash
# A reboot's burst (docs/PERFORMANCE.md, "Bursts"): COUNT returning clients
# whose keys are in jitwgd's cache, each from its own address, come back at
# RATE arrivals/s to an empty wireguard-go data plane, side by side with the
# same clients on a wireguard-go that has all of them pre-installed.
#
# One gateway namespace holds three wireguard-go interfaces with one private
# key: "jit" (port 51820, jitwgd with default options: the client's own
# initiation is handed back to the data plane), "inv" (port 51822, a second
# jitwgd with --reinject=false, role inversion: the data plane initiates) and "pre" (port 51821, every
# peer installed with `wg addconf`, no jitwgd). One registry (SQLite), one
# cache per jitwgd, filled by a warm-up. Each run "reboots" both JIT
# gateways (wireguard-go restarted empty, jitwgd restarted on its cache) and
# then starts three `jitwg loadgen`s at once, one per gateway, with the same
# keys, from three /16s of client addresses (one address per client), so
# the three see the same machine load. Per run and mode: connected, failed,
# connect p50/p99/max (ms, from each client's first initiation), retransmit
# rounds (loadgen "retries"), cookie replies, and the gateway's initiations
# and re-injections, and of those the copies sent again with a cookie ("again"; jitwgd's
# counters); ratios jit/pre and inv/pre of p50
# and p99; load1 before the run.
#
# CAPTURE=1: tcpdump of the jit and pre ports during each run, into OUT's
# directory as cap-RATE-RUN.pcap; bench/burst/split.py splits each connect
# into jitwgd's share (arrival to the copy) and the data plane's (copy to
# response), beside the pre-installed data plane's own answer time.
# PROFILE=1: `perf record -e cpu-clock -g` of the jit jitwgd during each run,
# into OUT's directory as perf-RATE-RUN.data (software clock: this host has no
# hardware counters).
# PRELOAD=N: every gateway's data plane already holds N other peers (random
# keys outside the registry, on 10.250.0.0/16 and up) when the burst comes,
# as when clients fail over to a busy gateway; the JIT gateways get them
# again after each restart, and jitwgd adopts them.
# MODES picks which run side by side (pre is always there as the reference):
# "jit inv" by default; "jit" or "inv" alone halve the bench's own load.
# FILTER=1 puts the jit gateway behind the nftables admission filter
# (packaging/nftables/jitwg.nft, its port 51820 only; jitwgd --admit-set), as
# docs/OPERATIONS.md "Admission filter" deploys it: the clients' own first
# initiations no longer reach that data plane, only the copies do. The
# filter's dropped/admitted counters of each run follow its lines in OUT.
#
#   COUNT [1000]  RATES ["500 2000"]  RUNS [5]  MODES ["jit inv"]  FILTER [0]  bench/burst/run.sh [OUT]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
COUNT=${COUNT:-1000}
RATES=${RATES:-"500 2000"}
RUNS=${RUNS:-5}
MODES=${MODES:-"jit inv"}
FILTER=${FILTER:-0}
PRELOAD=${PRELOAD:-0}
TL_NS_PREFIX=bb-
# shellcheck source=../../tests/integration/gw_common.bash
source "$ROOT/tests/integration/gw_common.bash"
TL_NAME=burst
mkdir -p "$ROOT/bench/burst/results"
OUT=${1:-$ROOT/bench/burst/results/$(date +%Y%m%d-%H%M).txt}
J=$TL_BIN/jitwg

gw_setup
JIT_IF=$GWIF
INV_IF=$(tl_ifname i)
PRE_IF=$(tl_ifname p)
declare -A PORT=([jit]=51820 [inv]=51822 [pre]=51821) IFN=([jit]=$JIT_IF [inv]=$INV_IF [pre]=$PRE_IF)
declare -A NET=([jit]=10.201 [inv]=10.202 [pre]=10.203) WGPID JPID JMET
for m in jit inv pre; do
	ip -n "$CL" route add local "${NET[$m]}.0.0/16" dev lo
	ip -n "$GW" route add "${NET[$m]}.0.0/16" via "$CL_V4"
done
ip netns exec "$GW" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
JIT_ARGS=()
if [ "$FILTER" = 1 ]; then
	ip netns exec "$GW" nft -f "$ROOT/packaging/nftables/jitwg.nft"
	JIT_ARGS=(--admit-set inet:jitwg:admit)
fi
# nftc NAME -> the filter's named counter's packets (0 without the filter)
nftc() {
	[ "$FILTER" = 1 ] || { echo 0; return; }
	ip netns exec "$GW" nft list counter inet jitwg "$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

# wg_up MODE -> (re)starts that gateway's wireguard-go, empty, with the key and its port.
wg_up() {
	local m=$1
	if [ -n "${WGPID[$m]:-}" ]; then
		kill "${WGPID[$m]}" 2>/dev/null || true
		wait "${WGPID[$m]}" 2>/dev/null || true
		tl_wait_until 10 bash -c "! ip -n $GW link show ${IFN[$m]} >/dev/null 2>&1" || tl_fail "${IFN[$m]} did not go"
	fi
	if [ "$m" = jit ] && [ -z "${WGPID[$m]:-}" ]; then
		WGPID[$m]=$(for p in $(ip netns pids "$GW"); do [ "$(cat "/proc/$p/comm")" != wireguard-go ] || echo "$p"; done | head -n 1)
		return 0
	fi
	tl_wg_go "$GW" "${IFN[$m]}"
	WGPID[$m]=$TL_LAST_PID
	ip netns exec "$GW" wg set "${IFN[$m]}" private-key "$TL_TMP/gw.key" listen-port "${PORT[$m]}"
	ip -n "$GW" link set "${IFN[$m]}" up
	[ "$PRELOAD" = 0 ] || ip netns exec "$GW" wg addconf "${IFN[$m]}" "$TL_TMP/preload.conf"
}
if [ "$PRELOAD" != 0 ]; then
	/usr/bin/python3 - "$PRELOAD" >"$TL_TMP/preload.conf" <<'PY'
import base64, os, sys
for n in range(int(sys.argv[1])):
    print("[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32" % (
        base64.b64encode(os.urandom(32)).decode(), 250 + n // 65536, n // 256 % 256, n % 256))
PY
fi

# jitwgd_up MODE [args] -> (re)starts that gateway's jitwgd on its own cache.
jitwgd_up() {
	local m=$1
	shift
	if [ -n "${JPID[$m]:-}" ]; then
		kill -TERM "${JPID[$m]}" 2>/dev/null || true
		wait "${JPID[$m]}" 2>/dev/null || true
	fi
	local port
	for _ in 1 2 3 4 5; do # a port nothing in the namespace listens on (a stopped jitwgd's may linger)
		port=$((20000 + RANDOM % 20000))
		ip netns exec "$GW" ss -Htln "sport = :$port" | grep -q . || break
	done
	JMET[$m]="127.0.0.1:$port"
	tl_bg ip netns exec "$GW" "$TL_BIN/jitwgd" --interface "${IFN[$m]}" --registry "$REG_URL" \
		--cache "$TL_TMP/$m.db" --metrics "${JMET[$m]}" --status-socket "$TL_TMP/$m.sock" \
		--idle-timeout 3600 --registry-budget 0 "$@" 2>>"$TL_TMP/jitwgd-$m.log"
	JPID[$m]=$TL_LAST_PID
	tl_wait_until 10 jmetric "$m" jitwg_installs_total >/dev/null || { tail -n 20 "$TL_TMP/jitwgd-$m.log" >&2; tl_fail "jitwgd $m did not start"; }
}
jmetric() { ip netns exec "$GW" curl -sf "http://${JMET[$1]}/metrics" | awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) exit 1 }'; }

gw_registry_start
wg_up jit
wg_up inv
wg_up pre

# COUNT keys, registered, and installed on "pre".
ip netns exec "$GW" /usr/bin/python3 - "$TL_TMP/keys" "$COUNT" "$REG_URL" "$TL_TMP/pre.conf" <<'PY' >/dev/null
import json, subprocess, sys, urllib.request
path, count, url, conf = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
privs = subprocess.run(["bash", "-c", "for i in $(seq %d); do wg genkey; done" % count],
                       capture_output=True, text=True, check=True).stdout.split()
with open(path, "w") as out, open(conf, "w") as pre:
    for n, priv in enumerate(privs):
        addr = "10.77.%d.%d" % (1 + n // 250, 1 + n % 250)
        pub = subprocess.run(["wg", "pubkey"], input=priv, capture_output=True, text=True, check=True).stdout.strip()
        body = json.dumps({"public_key": pub, "allowed_ips": [addr + "/32"]}).encode()
        req = urllib.request.Request(url + "/v1/peers", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()
        out.write("%s %s\n" % (priv, addr))
        pre.write("[Peer]\nPublicKey = %s\nAllowedIPs = %s/32\n" % (pub, addr))
PY
ip netns exec "$GW" wg addconf "$PRE_IF" "$TL_TMP/pre.conf"

for m in $MODES; do
	if [ "$m" = inv ]; then jitwgd_up inv --reinject=false; else jitwgd_up jit "${JIT_ARGS[@]}"; fi
done
# lg MODE RATE OUTFILE -> one loadgen against that gateway
lg() {
	ip netns exec "$CL" "$J" loadgen --endpoint "$GW_V4:${PORT[$1]}" --server-public-key "$GW_PUB" \
		--keys "$TL_TMP/keys" --rate "$2" --source-prefix "${NET[$1]}.0.0/16" --progress 0 \
		--attempt-time 30 >"$3" 2>&1 || true
}
# Warm-up: every key is fetched into both caches (and the "pre" sockets are exercised).
# all MODE:RATE:OUTFILE... -> those loadgens at once (wait for them only: the daemons are jobs too)
all() {
	local a pids=()
	for a in "$@"; do
		IFS=: read -r m r f <<<"$a"
		lg "$m" "$r" "$f" &
		pids+=($!)
	done
	wait "${pids[@]}"
}
set --
for m in $MODES; do set -- "$@" "$m:2000:$TL_TMP/warm-$m"; done
all "$@"

stats() { # OUTFILE -> "ok failed p50 p99 max retries cookies"
	local f=$1 hs ex
	hs=$(sed -n 's/^handshakes: \([0-9]*\) ok, \([0-9]*\) failed; connect ms p50 \([0-9.]*\) p99 \([0-9.]*\) max \([0-9.]*\).*/\1 \2 \3 \4 \5/p' "$f" | tail -n 1)
	ex=$(sed -n 's/^timeouts [0-9]*, retries \([0-9]*\), cookie replies \([0-9]*\),.*/\1 \2/p' "$f" | tail -n 1)
	echo "${hs:-0 0 - - -} ${ex:-- -}"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'; }

{
	echo "# bench/burst at $(git -C "$ROOT" rev-parse --short HEAD), $COUNT clients, $(nproc) CPUs, $(date -u +%FT%TZ), modes $MODES, filter $FILTER"
	printf '%-5s %3s %5s %-4s %5s %5s %9s %9s %9s %7s %7s %6s %6s %6s %9s %9s\n' rate run load mode ok fail p50_ms p99_ms max_ms retries cookies inits reinj again p50/pre p99/pre
} | tee -a "$OUT"
for rate in $RATES; do
	for run in $(seq 1 "$RUNS"); do
		set -- "pre:$rate:$TL_TMP/r-pre"
		for m in $MODES; do
			wg_up "$m"
			if [ "$m" = inv ]; then jitwgd_up inv --reinject=false; else jitwgd_up jit "${JIT_ARGS[@]}"; fi
			set -- "$@" "$m:$rate:$TL_TMP/r-$m"
		done
		sleep 1
		load=$(cut -d' ' -f1 /proc/loadavg)
		nd0=$(nftc dropped) na0=$(nftc admitted)
		ppid=""
		if [ -n "${PROFILE:-}" ] && [ -n "${JPID[jit]:-}" ]; then
			perf record -q -e cpu-clock -g -p "${JPID[jit]}" -o "$(dirname "$OUT")/perf-$rate-$run.data" >/dev/null 2>&1 &
			ppid=$!
			sleep 0.5
		fi
		cpid=""
		if [ -n "${CAPTURE:-}" ]; then
			ip netns exec "$GW" tcpdump -i any -n -q -w "$(dirname "$OUT")/cap-$rate-$run.pcap" -B 16384 \
				"udp port ${PORT[jit]} or udp port ${PORT[pre]}" >/dev/null 2>&1 &
			cpid=$!
			sleep 0.5
		fi
		all "$@"
		[ -z "$cpid" ] || { sleep 0.3; kill -INT "$cpid"; wait "$cpid" || true; }
		[ -z "$ppid" ] || { kill -INT "$ppid"; wait "$ppid" || true; }
		read -r _ _ pre50 pre99 _ _ _ < <(stats "$TL_TMP/r-pre")
		for m in pre $MODES; do
			read -r ok fail p50 p99 mx rt ck < <(stats "$TL_TMP/r-$m")
			inits=- reinj=- again=-
			if [ "$m" != pre ]; then
				inits=$(jmetric "$m" jitwg_initiations_sent_total || echo 0)
				reinj=$(jmetric "$m" jitwg_install_reinjected_total || echo 0)
				again=$(jmetric "$m" jitwg_install_reinject_cookied_total || echo 0)
			fi
			printf '%-5s %3s %5s %-4s %5s %5s %9s %9s %9s %7s %7s %6s %6s %6s %9s %9s\n' "$rate" "$run" "$load" "$m" "$ok" "$fail" \
				"$p50" "$p99" "$mx" "$rt" "$ck" "$inits" "$reinj" "$again" "$(ratio "$p50" "$pre50")" "$(ratio "$p99" "$pre99")"
		done | tee -a "$OUT"
		[ "$FILTER" != 1 ] || echo "# filter, rate $rate run $run: dropped $(($(nftc dropped) - nd0)), admitted $(($(nftc admitted) - na0))" | tee -a "$OUT"
	done
done
cp "$TL_TMP"/jitwgd-*.log "$TL_TMP"/r-*  "$(dirname "$OUT")/" 2>/dev/null || true
echo "# done $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"
