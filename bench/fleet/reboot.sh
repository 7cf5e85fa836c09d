#!/usr/bin/env bash
# Reboot recovery, push vs JIT, at several registry sizes (docs/PERFORMANCE.md, "Fleet").
#
# One gateway (a JIT and a push instance with one key) on the fleet's
# PostgreSQL registry. For each N in SIZES the gateway has N registered peers,
# ACTIVE of them connected just before the reboot. The reboot empties both data
# planes (wireguard-go restarted); jitwgd restarts with its cache; push must
# reload all N peers. The active clients come back at once and retry as
# WireGuard does (every 5 s + jitter): the time until 99 % of them are
# connected again is loadgen's p99 connect time, measured from the restart.
# Then, for the push model (model.sh), REPS rounds that reload every size
# again into a fresh wireguard-go with nothing else of this bench running,
# the sizes in a rotated order each round so that a change in the machine's
# load falls on all sizes alike; each with the RSS after it and the load.
# Writes OUT/reboot.tsv (one row per N), OUT/curve-N-MODE.tsv (seconds,
# fraction connected), OUT/jit-metrics-N.txt (jitwgd's counters after the
# reboot) and OUT/reload.tsv (round, N, reload s, RSS KiB, load).
#
#   SIZES ["10000 50000 65000"]  ACTIVE [1000]  REPS [3]  OUT (required)
set -euo pipefail
source "$(dirname "$0")/lib.bash"
SIZES=${SIZES:-"10000 50000 65000"} ACTIVE=${ACTIVE:-1000} REPS=${REPS:-3}
fl_start 1
# --registry-budget 0: the warm-up connects ACTIVE never-seen clients at once, which the flood
# budget (--registry-budget, default 100) would partly hold back to their 5 s retries. The reboot
# itself is of cached keys, which the budget never holds back.
FL_JITWGD_ARGS=(--idle-timeout 600 --grace 30 --registry-timeout-ms 2000 --registry-concurrency 64 --registry-budget 0)
fl_jitwgd_start 0
printf 'registered\tactive\tpush_reload_s\tjit_restart_s\tjit_p50_ms\tjit_p99_ms\tjit_max_ms\tjit_failed\tpush_p50_ms\tpush_p99_ms\tpush_max_ms\tpush_failed\tload1\n' >"$OUT/reboot.tsv"

wg_pid() { # NS -> the wireguard-go PID in it
	local p
	for p in $(ip netns pids "$1"); do [ "$(cat "/proc/$p/comm")" = wireguard-go ] && echo "$p"; done
}
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
# curve OUTFILE -> "seconds fraction" from loadgen's progress lines (one per 0.25 s), closed by
# its final line (the slowest connect, all that connected): loadgen exits within the last 0.25 s.
curve() {
	awk -v n="$ACTIVE" '/^progress:/ { for (i = 1; i <= NF; i++) if ($i == "ok") { v = $(i + 1); sub(",", "", v) }
		t += 0.25; printf "%.2f\t%.4f\n", t, v / n }
		/^handshakes:/ { printf "%.2f\t%.4f\n", $NF / 1000, $2 / n }' "$1"
}
field() { sed -n "s/^handshakes: \([0-9]*\) ok, \([0-9]*\) failed; connect ms p50 \([0-9.]*\) p99 \([0-9.]*\) max \([0-9.]*\).*/\\$2/p" "$1"; }

loaded=0
: >"$TL_TMP/all"
for n in $SIZES; do
	# grow the registry to n (bulk) and the push gateway with it
	"$FLEETKEYS" load "$FL_DB" "$loaded" "$((n - loaded))" 1 || tl_fail "load to $n"
	fl_keys "$loaded" "$((n - loaded))" >"$TL_TMP/new"
	cat "$TL_TMP/new" >>"$TL_TMP/all"
	fl_push_install 0 "$TL_TMP/new"
	loaded=$n
	# the active set: the first ACTIVE peers, connected to both before the reboot
	head -n "$ACTIVE" "$TL_TMP/all" | awk '{ split($3, a, "/"); print $1, a[1] }' >"$TL_TMP/active"
	fl_loadgen "$TL_TMP/warm-jit" "10.200.1.1:$FL_PORT" "${FL_GWPUB[0]}" "$TL_TMP/active" --rate 2000 --attempt-time 60 || true
	fl_loadgen "$TL_TMP/warm-push" "10.200.2.1:$FL_PORT" "${FL_GWPUB[0]}" "$TL_TMP/active" --rate 2000 --attempt-time 60 || true
	tl_log "N=$n: warm-up jit $(tail -n 1 "$TL_TMP/warm-jit"); push $(tail -n 1 "$TL_TMP/warm-push")"

	# reboot both: empty data planes
	fl_jitwgd_stop 0
	fl_wg_down 0 j
	fl_wg_down 0 p
	fl_wg_up 0 j
	fl_wg_up 0 p
	t0=$(date +%s.%N)
	fl_jitwgd_start 0
	jit_restart=$(fl_calc "$(date +%s.%N) - $t0")
	( fl_loadgen "$OUT/reboot-$n-jit.out" "10.200.1.1:$FL_PORT" "${FL_GWPUB[0]}" "$TL_TMP/active" \
		--rate 0 --attempt-time 300 --progress 0.25 || true ) &
	jp=$!
	( fl_loadgen "$OUT/reboot-$n-push.out" "10.200.2.1:$FL_PORT" "${FL_GWPUB[0]}" "$TL_TMP/active" \
		--rate 0 --attempt-time 300 --progress 0.25 || true ) &
	pp=$!
	# a reboot reloads in registry order, which has nothing to do with who is active
	shuf --random-source=<(yes) "$TL_TMP/all" >"$TL_TMP/reload"
	t0=$(date +%s.%N)
	fl_push_install 0 "$TL_TMP/reload"
	reload=$(fl_calc "$(date +%s.%N) - $t0")
	wait "$jp" "$pp" || true
	# what the JIT gateway did with the burst (drops, verdicts, installs, repairs)
	fl_metrics 0 | grep -E '^jitwg_(captured|handshakes|admit_dropped|identify_queue_dropped|lookup_queue_dropped|install_queue_dropped|installs|install_confirm|cache_total|registry_requests)' \
		>"$OUT/jit-metrics-$n.txt" || true
	for m in jit push; do curve "$OUT/reboot-$n-$m.out" >"$OUT/curve-$n-$m.tsv"; done
	printf '%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$ACTIVE" "$reload" "$jit_restart" \
		"$(field "$OUT/reboot-$n-jit.out" 3)" "$(field "$OUT/reboot-$n-jit.out" 4)" "$(field "$OUT/reboot-$n-jit.out" 5)" \
		"$(field "$OUT/reboot-$n-jit.out" 2)" \
		"$(field "$OUT/reboot-$n-push.out" 3)" "$(field "$OUT/reboot-$n-push.out" 4)" "$(field "$OUT/reboot-$n-push.out" 5)" \
		"$(field "$OUT/reboot-$n-push.out" 2)" "$(cut -d' ' -f1 /proc/loadavg)" >>"$OUT/reboot.tsv"
	tl_log "N=$n: push reload ${reload}s; $(tail -n 1 "$OUT/reboot.tsv")"
done
fl_jitwgd_stop 0

# ---- the reload model's data: REPS rounds over all sizes, order rotated each round ----
printf 'round\tregistered\treload_s\twg_rss_kib\tload1\n' >"$OUT/reload.tsv"
read -r -a sizes <<<"$SIZES"
for ((r = 0; r < REPS; r++)); do
	for ((k = 0; k < ${#sizes[@]}; k++)); do
		n=${sizes[$(((k + r) % ${#sizes[@]}))]}
		head -n "$n" "$TL_TMP/all" | shuf --random-source=<(yes "$r") >"$TL_TMP/reload"
		fl_wg_down 0 p
		fl_wg_up 0 p
		t0=$(date +%s.%N)
		fl_push_install 0 "$TL_TMP/reload"
		reload=$(fl_calc "$(date +%s.%N) - $t0")
		printf '%d\t%d\t%s\t%s\t%s\n' "$((r + 1))" "$n" "$reload" "$(rss "$(wg_pid "${FL_PGW[0]}")")" \
			"$(cut -d' ' -f1 /proc/loadavg)" >>"$OUT/reload.tsv"
		tl_log "round $((r + 1)): reload of $n in ${reload}s"
	done
done
cat "$OUT/reboot.tsv" "$OUT/reload.tsv"
