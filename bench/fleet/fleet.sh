#!/usr/bin/env bash
# One fleet run: G gateways, JIT and push side by side, one PostgreSQL
# registry with two jitwg-registry processes, a simulated population over
# compressed time (docs/PERFORMANCE.md, "Fleet"). Every client connection is
# sent to both the JIT and the push instance of its home gateway, so the two
# designs see the same arrivals in the same run.
#
# Environment (defaults in brackets):
#   G [3]          gateways
#   HOUR [6]       real seconds per simulated hour
#   DAYS [2]       simulated days
#   IDLE [3]       idle timeout, real seconds (jitwgd --idle-timeout; = IDLE/HOUR*60 simulated minutes)
#   REGULARS [300] regular users per gateway (Zipf-popular, daily)
#   ZIPF [20]      user k connects on a given day with probability min(1, ZIPF/k)
#   EPH [40]       CI-style ephemeral peers registered per gateway per simulated hour
#   PRELOAD [0]    peers per gateway registered before the run (bulk; never connect)
#   PREFETCH [0]   jitwgd --prefetch interval (0 = off)
#   REBOOT_AT [-1] simulated hour at which gateway 0 (both instances) reboots
#   SCALE_TTL [1]  jitwgd's cache/negative TTLs, fetch window, revalidation and stale-max scaled
#                  to simulated time (at least 1 s each); 0 = jitwgd's defaults in real seconds
#   OUT            output directory (required): samples.tsv (each gateway's /metrics, JIT and push),
#                  connects.tsv, get-latency.txt, reboot-{jit,push}.out, reboot-reload.txt, summary.txt
set -euo pipefail
source "$(dirname "$0")/lib.bash"
G=${G:-3} HOUR=${HOUR:-6} DAYS=${DAYS:-2} IDLE=${IDLE:-3} REGULARS=${REGULARS:-300} ZIPF=${ZIPF:-20}
EPH=${EPH:-40} PRELOAD=${PRELOAD:-0} PREFETCH=${PREFETCH:-0} REBOOT_AT=${REBOOT_AT:--1} SCALE_TTL=${SCALE_TTL:-1}
fl_start "$G"
HOURS=${HOURS:-$((24 * DAYS))}   # HOURS overrides DAYS (short runs)
PRE0=3000000                      # first index of preloaded peers
EPH0=$((REGULARS * G))            # first index of ephemeral peers

# ---- registered before the run: regular users (HTTP) and the preload (bulk) ----
fl_keys 0 "$((REGULARS * G))" >"$TL_TMP/regulars"
bad=$(fl_register "$TL_TMP/regulars")
[ "$bad" = 0 ] || tl_fail "$bad regular users not registered"
if [ "$PRELOAD" -gt 0 ]; then
	t=$(date +%s.%N)
	"$FLEETKEYS" load "$FL_DB" "$PRE0" "$((PRELOAD * G))" "$G" || tl_fail "preload"
	tl_log "preloaded $((PRELOAD * G)) peers in $(fl_calc "$(date +%s.%N) - $t") s"
	fl_keys "$PRE0" "$((PRELOAD * G))" >"$TL_TMP/preload"
else
	: >"$TL_TMP/preload"
fi
for ((i = 0; i < G; i++)); do
	fl_push_install "$i" "$TL_TMP/regulars"
	fl_push_install "$i" "$TL_TMP/preload"
done
cat "$TL_TMP/regulars" "$TL_TMP/preload" >"$TL_TMP/registered"

FL_JITWGD_ARGS=(--idle-timeout "$IDLE" --grace 1 --registry-timeout-ms 2000)
# jitwgd's lookup timers in simulated time: real = default * HOUR / 3600, at least 1 s (whole
# seconds only). With HOUR 6: cache TTL 300 s -> 1 s (10 simulated minutes), negative TTL 60 s ->
# 1 s, fetch window 5 s -> 1 s, revalidate 300 s -> 1 s, stale-max 1 day -> 144 s.
scaled() { awk -v x="$1" -v h="$HOUR" 'BEGIN { v = int(x * h / 3600 + 0.5); print v < 1 ? 1 : v }'; }
if [ "$SCALE_TTL" = 1 ]; then
	FL_JITWGD_ARGS+=(--cache-ttl "$(scaled 300)" --negative-ttl "$(scaled 60)" --fetch-window "$(scaled 5)"
		--revalidate "$(scaled 300)" --stale-max "$(scaled 86400)")
fi
[ "$PREFETCH" -gt 0 ] && FL_JITWGD_ARGS+=(--prefetch "$PREFETCH")
for ((i = 0; i < G; i++)); do
	fl_jitwgd_start "$i"
	fl_pushexp_start "$i" "$IDLE"
done
tl_log "jitwgd ${FL_JITWGD_ARGS[*]}"
tl_log "fleet up: $G gateways, $(wc -l <"$TL_TMP/registered") registered; $HOURS simulated hours of $HOUR s"

# ---- sampler: every gateway's /metrics (JIT: jitwgd, push: pushexporter.py), three times per simulated hour ----
T0=$(date +%s.%N)
echo "0 $T0" >"$TL_TMP/clock"
sample() {
	local i k mode now sim m inst stale req nf pf
	# simulated time from the driver's clock: hour index + the fraction of it elapsed
	now=$(date +%s.%N)
	read -r h0 t0 <"$TL_TMP/clock"
	sim=$(fl_calc "$h0 + (($now - $t0) / $HOUR > 1 ? 1 : ($now - $t0) / $HOUR)")
	for ((i = 0; i < G; i++)); do
		for k in j p; do
			if [ $k = j ]; then mode=jit; else mode=push; fi
			m=$(fl_metrics "$i" $k || true)
			inst=$(awk '$1 == "jitwg_peers_installed" { print $2 }' <<<"$m")
			stale=$(awk '$1 == "jitwg_peers_stale" { print $2 }' <<<"$m")
			req=$(awk '$1 ~ /^jitwg_registry_requests_total/ { s += $2 } END { print s + 0 }' <<<"$m")
			nf=$(awk '$1 == "jitwg_registry_requests_total{status=\"not_found\"}" { print $2 }' <<<"$m")
			pf=$(awk '$1 ~ /^jitwg_prefetch_requests_total/ { s += $2 } END { print s + 0 }' <<<"$m")
			printf '%.3f\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sim" "$i" "$mode" "${inst:-NA}" "${stale:-NA}" "$req" "${nf:-0}" "$pf" \
				"$(cut -d' ' -f1 /proc/loadavg)"
		done
	done
}
printf 'sim_hours\tgw\tmode\tinstalled\tstale\tregistry_requests\tnot_found\tprefetch_requests\tload1\n' >"$OUT/samples.tsv"
printf 'hour\tgw\tmode\tclients\tok\tfailed\tp50_ms\tp99_ms\tmax_ms\n' >"$OUT/connects.tsv"
( while :; do sample >>"$OUT/samples.tsv"; sleep "$(fl_calc "$HOUR / 3")"; done ) &
SAMPLER=$!
TL_PIDS+=("$SAMPLER")

# GET latency probe against both registries, under the fleet's load (one known key, 20/s)
probe_key=$(awk 'NR == 1 { print $2 }' "$TL_TMP/regulars" | tr '+/' '-_' | tr -d '=')
( while :; do
	for r in 1 2; do
		ip netns exec "$FL_CL" curl -s -o /dev/null -w '%{time_total}\n' \
			"http://$FL_REG_ADDR:808$r/v1/peers/$probe_key?gateway=gw-0" || true
	done
	sleep 0.1
done ) >"$OUT/get-latency.txt" &
TL_PIDS+=("$!")

# loadgen_pair HOUR GW KEYSFILE TAG -> the same clients against the JIT and the push instance
declare -a LG_PIDS=()   # every loadgen of the run
loadgen_pair() {
	local h=$1 i=$2 keys=$3 tag=$4 n rate mode ep
	n=$(wc -l <"$keys")
	[ "$n" -gt 0 ] || return 0
	rate=$(fl_calc "$n / ($HOUR / 2) < 1 ? 1 : $n / ($HOUR / 2)")
	for mode in jit push; do
		if [ "$mode" = jit ]; then ep=10.200.1.$((i + 1)):$FL_PORT; else ep=10.200.2.$((i + 1)):$FL_PORT; fi
		( fl_loadgen "$TL_TMP/lg-$tag-$i-$mode" "$ep" "${FL_GWPUB[$i]}" "$keys" --rate "$rate" \
			--attempt-time "$((HOUR * 2))" || true
		  line=$(grep '^handshakes:' "$TL_TMP/lg-$tag-$i-$mode" || echo "handshakes: 0 ok, $n failed; connect ms p50 0 p99 0 max 0")
		  echo "$line" | sed -E "s/^handshakes: ([0-9]+) ok, ([0-9]+) failed; connect ms p50 ([0-9.]+) p99 ([0-9.]+) max ([0-9.]+).*/$h\t$i\t$mode\t$n\t\1\t\2\t\3\t\4\t\5/" \
			>>"$OUT/connects.tsv" ) &
		LG_PIDS+=("$!")
	done
}

# regulars_today DAY GW -> "priv ip hour" of the regular users of GW who connect that day
regulars_today() {
	awk -v d="$1" -v g="gw-$2" -v z="$ZIPF" -v G="$G" '
		BEGIN { srand(d * 7919 + substr(g, 4) + 1) }
		$4 == g { k = int((NR - 1) / G) + 1; p = z / k; if (p > 1) p = 1
			  h = (k * 2654435761) % 24   # the usual hour of this user
			  if (rand() < p) { split($3, a, "/"); print $1, a[1], h } }' "$TL_TMP/regulars"
}

# reboot GW -> both instances lose their data plane; push reloads every registered peer first.
# The clients that come back are $TL_TMP/reboot-keys (the caller copies the previous hour's).
reboot_gateway() {
	local i=$1 t0 t1 n
	n=$(wc -l <"$TL_TMP/reboot-keys")
	tl_log "reboot gateway $i: $n active clients, $(awk -v g="gw-$i" '$4 == g' "$TL_TMP/registered" | wc -l) registered"
	fl_metrics "$i" >"$TL_TMP/prereboot-$i.prom" || true   # its counters restart with it: kept for the summary
	fl_jitwgd_stop "$i"
	fl_wg_down "$i" j
	fl_wg_down "$i" p
	fl_wg_up "$i" j
	fl_wg_up "$i" p
	# The clients come back all at once and retry as WireGuard does (every 5 s). JIT: jitwgd
	# starts (its cache survives) and installs what arrives; push: reload every registered peer.
	t0=$(date +%s.%N)
	fl_jitwgd_start "$i"
	t1=$(date +%s.%N)
	( fl_loadgen "$OUT/reboot-jit.out" "10.200.1.$((i + 1)):$FL_PORT" "${FL_GWPUB[$i]}" "$TL_TMP/reboot-keys" \
		--rate 0 --attempt-time 60 --progress 0.25 || true ) &
	local jp=$!
	( fl_loadgen "$OUT/reboot-push.out" "10.200.2.$((i + 1)):$FL_PORT" "${FL_GWPUB[$i]}" "$TL_TMP/reboot-keys" \
		--rate 0 --attempt-time 120 --progress 0.25 || true ) &
	local pp=$!
	echo "jit_start_s $(fl_calc "$t1 - $t0")" >"$OUT/reboot-reload.txt"
	t0=$(date +%s.%N)
	fl_push_install "$i" "$TL_TMP/registered"
	t1=$(date +%s.%N)
	echo "push_reload_s $(fl_calc "$t1 - $t0") peers $(awk -v g="gw-$i" '$4 == g' "$TL_TMP/registered" | wc -l)" >>"$OUT/reboot-reload.txt"
	wait "$jp" "$pp" || true
}

: >"$TL_TMP/registered.new"
for ((h = 0; h < HOURS; h++)); do
	tick=$(date +%s.%N)
	echo "$h $tick" >"$TL_TMP/clock.new"
	mv "$TL_TMP/clock.new" "$TL_TMP/clock"
	day=$((h / 24))
	# new CI peers of this hour, registered (HTTP) and, for push, installed at once
	from=$((EPH0 + h * EPH * G))
	fl_keys "$from" "$((EPH * G))" >"$TL_TMP/eph"
	bad=$(fl_register "$TL_TMP/eph")
	[ "$bad" = 0 ] || tl_log "hour $h: $bad registrations failed"
	cat "$TL_TMP/eph" >>"$TL_TMP/registered"
	for ((i = 0; i < G; i++)); do fl_push_install "$i" "$TL_TMP/eph"; done
	if [ "$h" = "$REBOOT_AT" ]; then
		# The previous hour's clients, copied here: the loop below rewrites active-0 for this
		# hour while the reboot runs (copied inside, the reboot raced it and could take this
		# hour's never-seen clients instead).
		cp "$TL_TMP/active-0" "$TL_TMP/reboot-keys"
		reboot_gateway 0 &   # the rest of the fleet carries on meanwhile
		LG_PIDS+=("$!")
	fi
	for ((i = 0; i < G; i++)); do
		[ $((h % 24)) = 0 ] && regulars_today "$day" "$i" >"$TL_TMP/today-$i"
		{ awk -v hh=$((h % 24)) '$3 == hh { print $1, $2 }' "$TL_TMP/today-$i"
		  awk -v g="gw-$i" '$4 == g { split($3, a, "/"); print $1, a[1] }' "$TL_TMP/eph"; } >"$TL_TMP/conn-$h-$i"
		cp "$TL_TMP/conn-$h-$i" "$TL_TMP/active-$i"   # who is active when the next hour starts
		loadgen_pair "$h" "$i" "$TL_TMP/conn-$h-$i" "$h"
	done
	rest=$(fl_calc "$tick + $HOUR - $(date +%s.%N)")
	[ "${rest:0:1}" = - ] || sleep "$rest"
done
for p in "${LG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
# a quiet period past the idle timeout: JIT drains to nothing, push keeps everything
echo "$HOURS $(date +%s.%N)" >"$TL_TMP/clock"
sleep "$((IDLE + 3))"
sample >>"$OUT/samples.tsv"
kill "$SAMPLER" 2>/dev/null || true

# ---- summary ----
elapsed=$(fl_calc "$(date +%s.%N) - $T0")
{
	echo "G=$G HOUR=$HOUR DAYS=$DAYS IDLE=$IDLE REGULARS=$REGULARS ZIPF=$ZIPF EPH=$EPH PRELOAD=$PRELOAD PREFETCH=$PREFETCH SCALE_TTL=$SCALE_TTL"
	echo "jitwgd ${FL_JITWGD_ARGS[*]}"
	echo "load_average_end $(cut -d' ' -f1-3 /proc/loadavg); load1 over the samples: $(awk -F'\t' 'NR > 1 { s += $9; n++; if ($9 > m) m = $9 } END { printf "mean %.1f max %.1f", s / n, m }' "$OUT/samples.tsv")"
	echo "registered_total $(wc -l <"$TL_TMP/registered")"
	echo "elapsed_s $elapsed"
	# counters of each jitwgd, summed over a restart (the reboot)
	ctr() { awk -v k="$1" 'index($1, k) == 1 { s += $2 } END { print s + 0 }' <<<"$m"; }
	for ((i = 0; i < G; i++)); do
		m=$(fl_metrics "$i"; cat "$TL_TMP/prereboot-$i.prom" 2>/dev/null || true)
		req=$(ctr jitwg_registry_requests_total)
		echo "gw$i registry_requests $req ($(fl_calc "$req / $elapsed") /s)" \
			"not_found $(ctr 'jitwg_registry_requests_total{status="not_found"}')" \
			"prefetch_requests $(ctr jitwg_prefetch_requests_total)" \
			"installs $(ctr jitwg_installs_total)" \
			"cache_hit $(ctr 'jitwg_cache_total{result="hit"}')" \
			"cache_miss $(ctr 'jitwg_cache_total{result="miss"}')" \
			"evictions $(ctr jitwg_evictions_total)" \
			"budget_dropped $(ctr jitwg_lookup_budget_dropped_total)"
	done
	sort -n "$OUT/get-latency.txt" | awk '{ v[NR] = $1 } END { if (NR) printf "registry_get_s n %d p50 %.4f p99 %.4f max %.4f\n", NR, v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1], v[NR] }'
	cat "$OUT/reboot-reload.txt" 2>/dev/null || true
	for m in jit push; do
		[ -f "$OUT/reboot-$m.out" ] && echo "reboot_$m $(grep '^handshakes:' "$OUT/reboot-$m.out")"
	done
} | tee "$OUT/summary.txt"
for ((i = 0; i < G; i++)); do fl_jitwgd_stop "$i"; done
