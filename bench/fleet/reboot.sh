#!/usr/bin/env bash
# Reboot recovery, push vs JIT vs JIT behind the admission filter, at several
# registry sizes (docs/PERFORMANCE.md, "Fleet").
#
# One gateway on the fleet's PostgreSQL registry, as three instances with one
# key: push, JIT, and JIT with the nftables admission filter (FL_FILTER=1 in
# lib.bash: packaging/nftables/jitwg.nft in its namespace, jitwgd --admit-set
# inet:jitwg:admit). For each N in SIZES the gateway has N registered peers,
# ACTIVE of them connected just before the reboot. The reboot empties the three
# data planes (wireguard-go restarted); both jitwgds restart with their caches
# (the filtered one rebuilds its sets: empty); push must reload all N peers.
# The active clients come back at once to all three side by side and retry as
# WireGuard does (every 5 s + jitter): the time until 99 % of them are
# connected again is loadgen's p99 connect time, measured from the restart.
# REBOOTS reboots per size (warm-up, reboot, measure), for the spread.
# Then, for the push model (model.sh), REPS rounds that reload every size
# again into a fresh wireguard-go with nothing else of this bench running,
# the sizes in a rotated order each round so that a change in the machine's
# load falls on all sizes alike; each with the RSS after it and the load.
# Writes OUT/reboot.tsv (one row per N and reboot; the columns up to load1 as
# before, then the filtered instance's, the cookie replies the clients got from
# each data plane, install confirmation's counts for both JIT instances and the
# filter's counters), OUT/curve-N-MODE-R.tsv (MODE push, jit, filter; seconds,
# fraction connected), OUT/metrics-N-R-jit.txt and metrics-N-R-filter.txt
# (each jitwgd's counters after reboot R) and OUT/reload.tsv (round, N, reload
# s, RSS KiB, load).
#
# Each client has its own source address (loadgen --source-prefix; one /16 per instance, routed to
# the clients' namespace), as returning users do. ONE_SOURCE=1 puts all of them behind the clients'
# one address, as the runs before 2026-12-07 did: a data plane under load then throttles them
# together (wireguard-go: 20 handshake messages/s per source address, burst 5), which turned a
# cookie-replied burst into 5 s retries for everyone behind it.
#
# MEASURE names the instances whose clients come back after each reboot (default all three). With
# fewer, the others are still rebooted but get no clients, and push reloads only when it is named: a
# real gateway reboots alone, while side by side the three instances share the machine's cores (push's
# reload among them). The columns of an instance not measured are empty.
#
#   SIZES ["10000 50000 65000"]  ACTIVE [1000]  REBOOTS [2]  REPS [3]  JITWGD_ARGS []  MEASURE ["jit filter push"]
#   ONE_SOURCE [0]  OUT (required)
set -euo pipefail
source "$(dirname "$0")/lib.bash"
SIZES=${SIZES:-"10000 50000 65000"} ACTIVE=${ACTIVE:-1000} REPS=${REPS:-3} REBOOTS=${REBOOTS:-2}
MEASURE=${MEASURE:-"jit filter push"}
measured() { [[ " $MEASURE " == *" $1 "* ]]; }
FL_FILTER=1
fl_start 1
# per-client source addresses: 10.201/16 to JIT, 10.202/16 to push, 10.203/16 to JIT + filter
declare -A SRC=([jit]=10.201.0.0/16 [push]=10.202.0.0/16 [filter]=10.203.0.0/16)
src_args() { # INSTANCE -> loadgen's source option, if any
	[ "${ONE_SOURCE:-0}" = 1 ] || echo "--source-prefix ${SRC[$1]}"
}
if [ "${ONE_SOURCE:-0}" != 1 ]; then
	for m in jit push filter; do
		ip -n "$FL_CL" route add local "${SRC[$m]}" dev lo
	done
	ip -n "${FL_JGW[0]}" route add "${SRC[jit]}" via 10.200.9.1
	ip -n "${FL_PGW[0]}" route add "${SRC[push]}" via 10.200.9.1
	ip -n "${FL_FGW[0]}" route add "${SRC[filter]}" via 10.200.9.1
fi
# --registry-budget 0: the warm-up connects ACTIVE never-seen clients at once, which the flood
# budget (--registry-budget, default 100) would partly hold back to their 5 s retries. The reboot
# itself is of cached keys, which the budget never holds back.
# JITWGD_ARGS: more options for both jitwgds (e.g. --reinject=false, to measure role inversion).
FL_JITWGD_ARGS=(--idle-timeout 600 --grace 30 --registry-timeout-ms 2000 --registry-concurrency 64 --registry-budget 0
	${JITWGD_ARGS:-})
fl_jitwgd_start 0
fl_jitwgd_start f0
printf 'registered\tactive\tpush_reload_s\tjit_restart_s\tjit_p50_ms\tjit_p99_ms\tjit_max_ms\tjit_failed\tpush_p50_ms\tpush_p99_ms\tpush_max_ms\tpush_failed\tload1' >"$OUT/reboot.tsv"
printf '\treboot\tfilter_restart_s\tfilter_p50_ms\tfilter_p99_ms\tfilter_max_ms\tfilter_failed\tjit_cookies\tfilter_cookies\tpush_cookies' >>"$OUT/reboot.tsv"
printf '\tjit_confirmed\tjit_repaired\tjit_given_up\tfilter_confirmed\tfilter_repaired\tfilter_given_up\tnft_dropped\tnft_admitted\n' >>"$OUT/reboot.tsv"

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
cookies() { sed -n 's/.*cookie replies \([0-9]*\),.*/\1/p' "$1" | tail -n 1; }
metric() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

loaded=0
: >"$TL_TMP/all"
for n in $SIZES; do
	# grow the registry to n (bulk) and the push gateway with it
	"$FLEETKEYS" load "$FL_DB" "$loaded" "$((n - loaded))" 1 || tl_fail "load to $n"
	fl_keys "$loaded" "$((n - loaded))" >"$TL_TMP/new"
	cat "$TL_TMP/new" >>"$TL_TMP/all"
	fl_push_install 0 "$TL_TMP/new"
	loaded=$n
	# the active set: the first ACTIVE peers, connected to all three before each reboot
	head -n "$ACTIVE" "$TL_TMP/all" | awk '{ split($3, a, "/"); print $1, a[1] }' >"$TL_TMP/active"
	for ((r = 1; r <= REBOOTS; r++)); do
		for m in jit:1 filter:3 push:2; do
			: >"$TL_TMP/warm-${m%:*}"
			measured "${m%:*}" || continue
			# shellcheck disable=SC2046 # src_args is one option and its value, or nothing
			fl_loadgen "$TL_TMP/warm-${m%:*}" "10.200.${m#*:}.1:$FL_PORT" "${FL_GWPUB[0]}" "$TL_TMP/active" \
				--rate 2000 --attempt-time 60 $(src_args "${m%:*}") || true
		done
		tl_log "N=$n reboot $r: warm-up jit $(tail -n 1 "$TL_TMP/warm-jit"); filter $(tail -n 1 "$TL_TMP/warm-filter"); push $(tail -n 1 "$TL_TMP/warm-push")"

		# reboot all three: empty data planes; the filter's table stays, jitwgd empties its sets
		fl_jitwgd_stop 0
		fl_jitwgd_stop f0
		for k in j p f; do fl_wg_down 0 "$k"; done
		for k in j p f; do fl_wg_up 0 "$k"; done
		nd0=$(fl_nft_counter 0 dropped) na0=$(fl_nft_counter 0 admitted)
		t0=$(date +%s.%N)
		fl_jitwgd_start 0
		jit_restart=$(fl_calc "$(date +%s.%N) - $t0")
		t0=$(date +%s.%N)
		fl_jitwgd_start f0
		filter_restart=$(fl_calc "$(date +%s.%N) - $t0")
		pids=()
		for m in jit:1 filter:3 push:2; do
			measured "${m%:*}" || { : >"$OUT/reboot-$n-$r-${m%:*}.out"; continue; }
			# shellcheck disable=SC2046
			( fl_loadgen "$OUT/reboot-$n-$r-${m%:*}.out" "10.200.${m#*:}.1:$FL_PORT" "${FL_GWPUB[0]}" "$TL_TMP/active" \
				--rate 0 --attempt-time 300 --progress 0.25 $(src_args "${m%:*}") || true ) &
			pids+=($!)
		done
		# a reboot reloads in registry order, which has nothing to do with who is active
		shuf --random-source=<(yes "$r") "$TL_TMP/all" >"$TL_TMP/reload"
		reload=
		if measured push; then
			t0=$(date +%s.%N)
			fl_push_install 0 "$TL_TMP/reload"
			reload=$(fl_calc "$(date +%s.%N) - $t0")
		fi
		wait "${pids[@]}" || true
		# what each JIT gateway did with the burst (drops, verdicts, installs, repairs, the filter's set)
		fl_metrics 0 | grep -E '^jitwg_(captured|capture_cookies|handshakes|admit_dropped|identify_queue_dropped|lookup_queue_dropped|install_queue_dropped|installs|install_confirm|install_seconds|install_reinject|initiations_sent|cache_total|registry_requests)' \
			>"$OUT/metrics-$n-$r-jit.txt" || true
		fl_metrics 0 f | grep -E '^jitwg_(captured|capture_cookies|handshakes|admit_dropped|identify_queue_dropped|lookup_queue_dropped|install_queue_dropped|installs|install_confirm|install_seconds|install_reinject|initiations_sent|cache_total|registry_requests|admit_set)' \
			>"$OUT/metrics-$n-$r-filter.txt" || true
		for m in jit filter push; do curve "$OUT/reboot-$n-$r-$m.out" >"$OUT/curve-$n-$m-$r.tsv"; done
		j=$OUT/reboot-$n-$r-jit.out f=$OUT/reboot-$n-$r-filter.out p=$OUT/reboot-$n-$r-push.out
		mj=$OUT/metrics-$n-$r-jit.txt mf=$OUT/metrics-$n-$r-filter.txt
		{
			printf '%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$n" "$ACTIVE" "$reload" "$jit_restart" \
				"$(field "$j" 3)" "$(field "$j" 4)" "$(field "$j" 5)" "$(field "$j" 2)" \
				"$(field "$p" 3)" "$(field "$p" 4)" "$(field "$p" 5)" "$(field "$p" 2)" "$(cut -d' ' -f1 /proc/loadavg)"
			printf '\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$r" "$filter_restart" \
				"$(field "$f" 3)" "$(field "$f" 4)" "$(field "$f" 5)" "$(field "$f" 2)" "$(cookies "$j")" "$(cookies "$f")" "$(cookies "$p")"
			printf '\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
				"$(metric "$mj" jitwg_install_confirm_confirmed_total)" "$(metric "$mj" jitwg_install_confirm_repaired_total)" \
				"$(metric "$mj" jitwg_install_confirm_given_up_total)" "$(metric "$mf" jitwg_install_confirm_confirmed_total)" \
				"$(metric "$mf" jitwg_install_confirm_repaired_total)" "$(metric "$mf" jitwg_install_confirm_given_up_total)" \
				"$(($(fl_nft_counter 0 dropped) - nd0))" "$(($(fl_nft_counter 0 admitted) - na0))"
		} >>"$OUT/reboot.tsv"
		tl_log "N=$n reboot $r: push reload ${reload}s; $(tail -n 1 "$OUT/reboot.tsv")"
	done
done
fl_jitwgd_stop 0
fl_jitwgd_stop f0

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
