#!/usr/bin/env bash
# Cold connects with and without prefetch, with the registry 20 ms away
# (netem on the registry's link: every request waits one 20 ms round trip)
# and with the registry down; the registry requests each way; and the
# negative cache under retries of unknown keys (docs/PERFORMANCE.md, "Fleet").
#
# Each case starts jitwgd on an empty cache and connects K clients that the
# gateway has never seen (registered, never connected), at RATE per second.
# A fifth case repeats "20 ms away, prefetch on" with install confirmation
# off and a 2 ms initiate delay, to tell whether prefetch's p99 is the
# crossed-handshake repair of fast installs (coldconnect): the repairs each
# case made are in its row. Writes OUT/prefetch.tsv and OUT/negative.txt.
#
#   K [300]  RATE [50]  UNKNOWN [200]  OUT (required)
# Without sch_netem in the kernel the delay comes from bench/fleet/delayproxy.py (OUT/delay.txt says which).
set -euo pipefail
source "$(dirname "$0")/lib.bash"
K=${K:-300} RATE=${RATE:-50} UNKNOWN=${UNKNOWN:-200}
fl_start 1
FL_JITWGD_ARGS=(--idle-timeout 600 --registry-timeout-ms 1000)
# five sets of K never-seen clients, registered up front
fl_keys 0 "$((5 * K))" >"$TL_TMP/all"
bad=$(fl_register "$TL_TMP/all")
[ "$bad" = 0 ] || tl_fail "$bad registrations failed"
# the registry 20 ms away: netem on its link, or the delay proxy where the kernel has no sch_netem
if tc -n "$FL_REG" qdisc add dev "$FL_REGDEV" root netem delay 20ms 2>/dev/null; then
	DELAY_BY=netem
else
	tl_bg ip netns exec "$FL_REG" python3 "$TL_ROOT/bench/fleet/delayproxy.py" "$FL_REG_ADDR" 8090 "$FL_REG_ADDR" 8081 20
	tl_wait_until 10 ip netns exec "$FL_REG" curl -sf "http://$FL_REG_ADDR:8090/healthz" || tl_fail "delay proxy"
	FL_REGISTRY_URL=http://$FL_REG_ADDR:8090
	DELAY_BY=proxy
fi
t=$(ip netns exec "${FL_JGW[0]}" curl -s -o /dev/null -w '%{time_total}' "$(fl_registry_url 0)/healthz")
tl_log "registry 20 ms away by $DELAY_BY: one GET takes ${t} s"
echo "delay_by $DELAY_BY healthz_s $t" >"$OUT/delay.txt"

metric() { fl_metrics 0 | awk -v k="$1" 'index($1, k) == 1 { s += $2 } END { print s + 0 }'; }
printf 'registry\tprefetch\tjitwgd_extra\tclients\tok\tfailed\tp50_ms\tp99_ms\tmax_ms\tregistry_gets\tfeed_pages\trepaired\tload1\n' >"$OUT/prefetch.tsv"

# run_case SET REGISTRY(up|down) PREFETCH(0|1) [jitwgd args]
run_case() {
	local set=$1 reg=$2 pf=$3 line gets pages rep extra
	shift 3
	extra=${*:--}
	fl_jitwgd_stop 0
	rm -f "$TL_TMP/cache0.db" "$TL_TMP/cache0.db-wal" "$TL_TMP/cache0.db-shm"
	if [ "$pf" = 1 ]; then fl_jitwgd_start 0 --prefetch 1 "$@"; else fl_jitwgd_start 0 "$@"; fi
	if [ "$pf" = 1 ]; then
		tl_wait_until 60 bash -c "[ \$(ip netns exec ${FL_JGW[0]} curl -sf http://127.0.0.1:9100/metrics |
			awk '\$1 == \"jitwg_prefetch_synced_seconds\" { print \$2 }') -gt 0 ]" || tl_fail "prefetch did not catch up"
	fi
	[ "$reg" = up ] || fl_registries_stop
	sed -n "$((set * K + 1)),$(((set + 1) * K))p" "$TL_TMP/all" | awk '{ split($3, a, "/"); print $1, a[1] }' >"$TL_TMP/set"
	gets=$(metric jitwg_registry_requests_total)
	pages=$(metric jitwg_prefetch_requests_total)
	rep=$(metric jitwg_install_confirm_repaired_total)
	fl_loadgen "$TL_TMP/lg" "10.200.1.1:$FL_PORT" "${FL_GWPUB[0]}" "$TL_TMP/set" --rate "$RATE" --attempt-time 12 || true
	line=$(grep '^handshakes:' "$TL_TMP/lg" || echo "handshakes: 0 ok, $K failed; connect ms p50 0 p99 0 max 0")
	gets=$(($(metric jitwg_registry_requests_total) - gets))
	pages=$(($(metric jitwg_prefetch_requests_total) - pages))
	rep=$(($(metric jitwg_install_confirm_repaired_total) - rep))
	echo "$line" | sed -E "s/^handshakes: ([0-9]+) ok, ([0-9]+) failed; connect ms p50 ([0-9.]+) p99 ([0-9.]+) max ([0-9.]+).*/$reg\t$pf\t$extra\t$K\t\1\t\2\t\3\t\4\t\5\t$gets\t$pages\t$rep\t$(cut -d' ' -f1 /proc/loadavg)/" \
		>>"$OUT/prefetch.tsv"
	tl_log "registry $reg, prefetch $pf ($extra): $line; registry GETs $gets, feed pages $pages, repaired $rep"
	[ "$reg" = up ] || fl_registries_start
}
run_case 0 up 0
run_case 1 up 1
run_case 2 down 0
run_case 3 down 1
run_case 4 up 1 --confirm-ms 0 --initiate-delay-ms 2

# negative cache: UNKNOWN never-registered keys retrying (every 2 s for 20 s) -> registry requests
fl_jitwgd_stop 0
fl_jitwgd_start 0
nf0=$(metric 'jitwg_registry_requests_total{status="not_found"}')
ip netns exec "$FL_CL" "$TL_BIN/jitwg" loadgen --endpoint "10.200.1.1:$FL_PORT" --server-public-key "${FL_GWPUB[0]}" \
	--clients "$UNKNOWN" --rate 0 --rekey-timeout 2 --attempt-time 20 --progress 0 >"$TL_TMP/neg" 2>&1 || true
nf=$(($(metric 'jitwg_registry_requests_total{status="not_found"}') - nf0))
hs=$(metric 'jitwg_handshakes_total{verdict="ok"}')
echo "unknown_keys $UNKNOWN retrying_for_s 20 initiations_ok $hs registry_not_found_requests $nf per_key $(fl_calc "$nf / $UNKNOWN")" |
	tee "$OUT/negative.txt"
cat "$OUT/prefetch.tsv"
fl_jitwgd_stop 0
