#!/usr/bin/env bash
# Flood figures (issue 10): jitwgd on wireguard-go with the real registry and
# real registered clients driven by jitwg loadgen, side by side in one run:
#
#   unloaded  LEGIT fresh registered clients cold-connect, nothing else
#   junk      the same while an attacker floods (a) junk type-1 datagrams
#   keys      (b) valid initiations from random keys, one source
#   spoofed   (c) the same from sources spread over a /16
#   replay    (d) one captured initiation (a registered client's) replayed
#             from sources spread over a /16
#   storm     last (STORM=0 skips it): STORM registered clients cold-connect
#             within 10 s to the gateway, none of them installed yet:
#             p50/p99 connect, registry requests per key, jitwgd CPU
# For each: the legitimate clients' p50/p99/max and the ratio of p50 to the
# unloaded run, registry requests, jitwgd CPU seconds, jitwgd RSS and cache
# file size before and after, and data-plane peers added beyond the
# legitimate clients (the goal: 0); jitwgd's mean install time in the
# phase (capture to installed), the cookie replies the legitimate clients
# got from wireguard-go and the mac2 they sent (wireguard-go under load), and
# initiations jitwgd dropped as replayed ephemerals, and the initiations
# the nftables admission filter dropped. The attacker has its own namespace and
# veth; the legitimate clients each have their own source address
# (10.200.0.0/16). Not a test; it prints a table. Needs root, after make.
#
# The admission filter (jitwgd --admit-set, packaging/nftables/jitwg.nft):
# every phase runs once per mode in MODES, side by side in the same run
# (phase/off, phase/on), each mode with its own fresh registered clients;
# "x p50" is against the same mode's unloaded p50. jitwgd always runs with
# --admit-set and the shipped ruleset; "off" puts an accept rule in front of
# the drop (so the only difference is the drop), "on" is the ruleset as
# shipped. Before each storm the data plane's peers are removed, so both
# storms start on a gateway with 0 peers and a freshly started jitwgd.
#
# PHASES picks the phases before the storm (unloaded is their baseline);
# JITWGD_ARGS is added to jitwgd's command line (e.g. "--registry-budget 0"
# for a storm of 5,000 never-seen keys, which the default budget of 100/s
# spreads over ~50 s, past the clients' 30 s attempt time).
#
#   bench/flood/run.sh [OUT]    STORM=5000 LEGIT=200 FLOOD_S=8 MODES="off on" bench/flood/run.sh
#   PHASES=unloaded JITWGD_ARGS="--registry-budget 0" bench/flood/run.sh OUT   (storms only)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STORM=${STORM:-5000}
LEGIT=${LEGIT:-200}
LEGIT_RATE=${LEGIT_RATE:-100}
FLOOD_S=${FLOOD_S:-10}
MODES=${MODES:-off on}
PHASES=${PHASES:-unloaded junk keys spoofed replay}
JITWGD_ARGS=${JITWGD_ARGS:-}
TL_NS_PREFIX=ng-
# shellcheck source=../../tests/integration/gw_common.bash
source "$ROOT/tests/integration/gw_common.bash"
TL_NAME=flood
mkdir -p "$ROOT/bench/flood/results"
OUT=${1:-$ROOT/bench/flood/results/$(date +%Y%m%d-%H%M).txt}
J=$TL_BIN/jitwg

gw_setup
gw_attacker
# Legitimate sources: one address each, local in CL, routed from GW.
ip -n "$CL" route add local 10.200.0.0/16 dev lo
ip -n "$GW" route add 10.200.0.0/16 via "$CL_V4"
# Spoofed attacker sources are routed back to AT (replies go nowhere).
ip -n "$GW" route add 10.201.0.0/16 via 192.168.78.2
ip netns exec "$GW" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
command -v nft >/dev/null || { echo "nft not installed (scripts/deps.sh: nftables)"; exit 1; }
ip netns exec "$GW" nft -f "$ROOT/packaging/nftables/jitwg.nft"
gw_registry_start
# shellcheck disable=SC2086 # JITWGD_ARGS is a list of words
start_jitwgd() { gw_jitwgd_start --cache "$TL_TMP/cache.db" --idle-timeout 3600 --admit-set inet:jitwg:admit $JITWGD_ARGS; }
start_jitwgd

# filter off|on: off = an accept rule ahead of the drop in the shipped ruleset.
filter() {
	local h
	h=$(ip netns exec "$GW" nft -a list chain inet jitwg initiation | sed -n 's/.*"bench-off".*handle \([0-9]*\).*/\1/p')
	[ -n "$h" ] && ip netns exec "$GW" nft delete rule inet jitwg initiation handle "$h"
	[ "$1" = off ] && ip netns exec "$GW" nft insert rule inet jitwg initiation accept comment '"bench-off"'
	return 0
}
nft_dropped() { ip netns exec "$GW" nft list counter inet jitwg dropped | sed -n 's/.*packets \([0-9]*\) .*/\1/p'; }
# Removes every peer from the data plane (jitwgd forgets them at its next sweep).
clear_peers() {
	ip netns exec "$GW" wg show "$GWIF" peers | sed 's/$/ remove/; s/^/peer /' | xargs -r -n 600 ip netns exec "$GW" wg set "$GWIF"
}

# keys NAME COUNT FIRST -> $TL_TMP/NAME.keys ("KEY ADDR" lines) registered in the registry,
# tunnel addresses 10.77.x.y from index FIRST.
make_keys() {
	local name=$1 count=$2 first=$3
	ip netns exec "$GW" python3 - "$TL_TMP/$name.keys" "$count" "$first" "$REG_URL" <<'PY' >/dev/null
import base64, json, os, subprocess, sys, urllib.request
path, count, first, url = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
out = open(path, "w")
privs = subprocess.run(["bash", "-c", "for i in $(seq %d); do wg genkey; done" % count],
                       capture_output=True, text=True, check=True).stdout.split()
for i, priv in enumerate(privs):
    n = first + i
    addr = "10.77.%d.%d" % (1 + n // 250, 1 + n % 250)
    pub = subprocess.run(["wg", "pubkey"], input=priv, capture_output=True, text=True, check=True).stdout.strip()
    body = json.dumps({"public_key": pub, "allowed_ips": [addr + "/32"]}).encode()
    req = urllib.request.Request(url + "/v1/peers", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()
    out.write("%s %s\n" % (priv, addr))
PY
}

reg_requests() {
	gw_curl_metrics | awk '/^jitwg_registry_requests_total/ { s += $2 } END { print s + 0 }'
}
jitwgd_cpu() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$(pgrep -P "$JITWGD_PID" jitwgd || echo "$JITWGD_PID")/stat" 2>/dev/null || echo 0; }
jitwgd_rss() { awk '/VmRSS/ { print $2 }' "/proc/$(pgrep -P "$JITWGD_PID" jitwgd || echo "$JITWGD_PID")/status" 2>/dev/null || echo 0; }
cache_kib() { du -k "$TL_TMP"/cache.db* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }
peers() { ip netns exec "$GW" wg show "$GWIF" peers | wc -l; }

# phase NAME MODE RATE [flood args...] -> one row; keys from $TL_TMP/NAME_MODE.keys
declare -A BASE_P50
phase() {
	local name=$1 mode=$2 rate=$3 keys fpid="" r0 c0 rss0 k0 p0 line p50 p99 mx ok failed added is0 ic0 dup0 inst ck nd0
	shift 3
	keys="${name}_$mode"
	filter "$mode"
	r0=$(reg_requests) c0=$(jitwgd_cpu) rss0=$(jitwgd_rss) k0=$(cache_kib) p0=$(peers)
	is0=$(gw_metric jitwg_install_seconds_sum) ic0=$(gw_metric jitwg_install_seconds_count)
	dup0=$(gw_metric jitwg_admit_duplicate_total) nd0=$(nft_dropped)
	if [ $# -gt 0 ]; then
		tl_bg ip netns exec "$AT" "$J" loadgen --endpoint "192.168.78.1:$GW_PORT" --server-public-key "$GW_PUB" \
			--clients 0 --progress 0 --flood-duration "$FLOOD_S" "$@" >"$TL_TMP/$keys.flood" 2>&1
		fpid=$TL_LAST_PID
		tl_wait_until 120 grep -q "^flood: sending" "$TL_TMP/$keys.flood" || tl_fail "$keys flood did not start"
		sleep 1 # the flood reaches its pace
	fi
	ip netns exec "$CL" "$J" loadgen --endpoint "$GW_V4:$GW_PORT" --server-public-key "$GW_PUB" \
		--keys "$TL_TMP/$keys.keys" --rate "$rate" --source-prefix 10.200.0.0/16 --progress 0 \
		--attempt-time 30 >"$TL_TMP/$keys.out" 2>&1 || true
	[ -n "$fpid" ] && { wait "$fpid" || true; }
	line=$(tail -n 1 "$TL_TMP/$keys.out")
	read -r ok failed p50 p99 mx < <(sed -n 's/handshakes: \([0-9]*\) ok, \([0-9]*\) failed; connect ms p50 \([0-9.]*\) p99 \([0-9.]*\) max \([0-9.]*\)/\1 \2 \3 \4 \5/p' <<<"$line")
	added=$(( $(peers) - p0 - ok ))
	inst=$(awk -v s0="$is0" -v c0="$ic0" -v s1="$(gw_metric jitwg_install_seconds_sum)" -v c1="$(gw_metric jitwg_install_seconds_count)" \
		'BEGIN { if (c1 > c0) printf "%.1f", (s1 - s0) / (c1 - c0) * 1000; else print "-" }')
	ck=$(sed -n 's/.*cookie replies \([0-9]*\), mac2 sent \([0-9]*\).*/\1\/\2/p' "$TL_TMP/$keys.out")
	[ "$name" = unloaded ] && BASE_P50[$mode]=$p50
	printf '%-12s %6s %6s %9s %9s %9s %6s %8s %7s %11s %11s %7s %8s %9s %7s %9s %s\n' "$name/$mode" "$ok" "$failed" "$p50" "$p99" "$mx" \
		"$(awk -v a="$p50" -v b="${BASE_P50[$mode]:-$p50}" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }')" \
		"$(( $(reg_requests) - r0 ))" "$(awk -v a="$(jitwgd_cpu)" -v b="$c0" 'BEGIN { printf "%.2f", a - b }')" \
		"$rss0>$(jitwgd_rss)" "$k0>$(cache_kib)" "$added" "$inst" "$ck" "$(( $(gw_metric jitwg_admit_duplicate_total) - dup0 ))" \
		"$(( $(nft_dropped) - nd0 ))" \
		"$(grep -h '^flood: [0-9]' "$TL_TMP/$keys.flood" 2>/dev/null | head -n 1 | sed 's/flood: //; s/, 0 send errors//')" | tee -a "$OUT"
}

{
	echo "# flood bench $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), commit $(git -C "$ROOT" rev-parse --short HEAD)"
	echo "# storm $STORM clients, legitimate $LEGIT clients at $LEGIT_RATE/s per phase, floods $FLOOD_S s; phases $PHASES; jitwgd extra args: ${JITWGD_ARGS:-none}"
	echo "# x p50: against the same mode's unloaded p50; nft drop: initiations the admission filter dropped (0 with the filter off)"
	printf '%-12s %6s %6s %9s %9s %9s %6s %8s %7s %11s %11s %7s %8s %9s %7s %9s %s\n' phase/filter ok failed "p50 ms" "p99 ms" "max ms" "x p50" \
		"reg req" "cpu s" "rss KiB" "cache KiB" "extra" "inst ms" "cookies" "dup" "nft drop" flood
} | tee "$OUT"

# Tunnel addresses (10.77.0.0/16, index n): each mode's storm clients from
# STORM * k, then each phase's (LEGIT per phase and mode), the victim last.
n=0
for m in $MODES; do
	[ "$STORM" -gt 0 ] && make_keys "storm_$m" "$STORM" "$n"
	n=$((n + STORM))
done
for p in $PHASES; do
	for m in $MODES; do
		make_keys "${p}_$m" "$LEGIT" "$n"
		n=$((n + LEGIT))
	done
done
make_keys victim 1 "$n"
echo "# keys made $(date -u +%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"

# (d)'s packet: the victim connects once for real; its initiation, recorded, is replayed.
filter off
ip netns exec "$CL" "$J" loadgen --endpoint "$GW_V4:$GW_PORT" --server-public-key "$GW_PUB" \
	--keys "$TL_TMP/victim.keys" --progress 0 --trace "$TL_TMP/victim.trace" >/dev/null 2>&1 || true
grep -m1 '^out 01' "$TL_TMP/victim.trace" | cut -d' ' -f2 >"$TL_TMP/victim.hex"

for p in $PHASES; do
	for m in $MODES; do
		case $p in
		unloaded) phase unloaded "$m" "$LEGIT_RATE" ;;
		junk) phase junk "$m" "$LEGIT_RATE" --flood junk ;;
		keys) phase keys "$m" "$LEGIT_RATE" --flood keys --flood-keys 4096 ;;
		spoofed) phase spoofed "$m" "$LEGIT_RATE" --flood spoofed --flood-prefix 10.201.0.0/16 --flood-keys 4096 ;;
		replay) phase replay "$m" "$LEGIT_RATE" --flood replay --flood-packet "$TL_TMP/victim.hex" --flood-prefix 10.201.0.0/16 ;;
		*) tl_fail "unknown phase $p" ;;
		esac
	done
done
echo "# load average $(cut -d' ' -f1-3 /proc/loadavg) after the floods" | tee -a "$OUT"
# The storms last: they leave jitwgd busy (installs queued) for a while.
# Each starts on an empty data plane and a fresh jitwgd: a jitwgd that still
# holds the first storm's 5,000 peers in its table spent 2.5-4 more CPU-s on
# the second storm, which ran 1.5-13x slower whichever mode it was (not
# profiled; the status document, rebuilt from the whole table up to 10 times
# a second while installs land, is the likely O(peers) cost).
if [ "$STORM" -gt 0 ]; then
	for m in $MODES; do
		clear_peers
		gw_jitwgd_stop
		start_jitwgd
		sleep 2
		phase storm "$m" $((STORM / 10))
	done
fi
echo "# load average $(cut -d' ' -f1-3 /proc/loadavg) at the end" | tee -a "$OUT"
echo "# jitwgd: $(gw_curl_metrics | grep -E '^jitwg_(admit_dropped|replay_rejected|registry_requests|admit_set_[a-z]*)(_total)?[{ ]' | tr '\n' ' ')" | tee -a "$OUT"
gw_jitwgd_stop
