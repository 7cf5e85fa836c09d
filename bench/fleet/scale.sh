#!/usr/bin/env bash
# The registry at fleet scale with prefetch (docs/PERFORMANCE.md, "Fleet"):
# PEERS registered peers (bulk-loaded, spread over G gateways) on PostgreSQL
# behind two registries. Gateways 0..G-2 run --prefetch, the last one does
# not. Measures how long each prefetching gateway takes to walk its share of
# the feed from 0 and what its cache holds; then CLIENTS never-seen clients
# per gateway connect at RATE/s: registry GETs per gateway both ways, connect
# times, peers installed (the data plane holds what connected, not the
# prefetched share), and a GET latency probe against both registries meanwhile.
# With G >= 3 and ISOLATE=1, gateway G-2 prefetches too but with install
# confirmation off and a 2 ms initiate delay (--confirm-ms 0
# --initiate-delay-ms 2), side by side with gateway 0: if its p99 falls to the
# no-prefetch gateway's, prefetch's higher p99 is the crossed-handshake repair
# of fast installs (coldconnect), not the prefetched cache (its size, its
# write lock, the prefetch thread's CPU), which the two share.
# Writes OUT/scale.txt.
#
#   PEERS [1000000]  G [3]  CLIENTS [1000]  RATE [100]  ISOLATE [1]  OUT (required)
set -euo pipefail
source "$(dirname "$0")/lib.bash"
PEERS=${PEERS:-1000000} G=${G:-3} CLIENTS=${CLIENTS:-1000} RATE=${RATE:-100} ISOLATE=${ISOLATE:-1}
fl_start "$G"
declare -a g0=()
metric() { fl_metrics "$1" | awk -v k="$2" 'index($1, k) == 1 { s += $2 } END { print s + 0 }'; }
# A group with a redirection runs in this shell (no pipe for the daemons to hold open, FL_JPID kept).
{
	t=$(date +%s.%N)
	"$FLEETKEYS" sql 0 "$PEERS" "$G" | runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -h "$TL_PGDIR" \
		-p "$TL_PGPORT" jitwg >/dev/null || tl_fail "bulk load"
	echo "bulk_load peers $PEERS s $(fl_calc "$(date +%s.%N) - $t") load_average $(cut -d' ' -f1-3 /proc/loadavg)"
	FL_JITWGD_ARGS=(--idle-timeout 600 --registry-timeout-ms 2000)
	t=$(date +%s.%N)
	for ((i = 0; i < G; i++)); do
		if [ "$i" -ge $((G - 1)) ]; then
			fl_jitwgd_start "$i"
		elif [ "$ISOLATE" = 1 ] && [ "$G" -ge 3 ] && [ "$i" = $((G - 2)) ]; then
			fl_jitwgd_start "$i" --prefetch 1 --confirm-ms 0 --initiate-delay-ms 2
		else
			fl_jitwgd_start "$i" --prefetch 1
		fi
	done
	for ((i = 0; i < G - 1; i++)); do
		tl_wait_until 900 bash -c "[ \$(ip netns exec ${FL_JGW[$i]} curl -sf http://127.0.0.1:9100/metrics |
			awk '\$1 == \"jitwg_prefetch_synced_seconds\" { print \$2 }') -gt 0 ]" || tl_fail "gw$i did not catch up"
		echo "gw$i prefetch_walk_s $(fl_calc "$(date +%s.%N) - $t") pages $(metric "$i" jitwg_prefetch_requests_total)" \
			"puts $(metric "$i" 'jitwg_prefetch_changes_total{op="put"}')" \
			"cache_file_mib $(fl_calc "$(cat "$TL_TMP/cache$i.db"* | wc -c) / 1048576")" \
			"load_average $(cut -d' ' -f1-3 /proc/loadavg)"
	done
	# GET probe against both registries while the clients connect
	probe_key=$(fl_keys 7 1 | awk '{ print $2 }' | tr '+/' '-_' | tr -d '=')
	( for _ in $(seq 600); do
		for r in 1 2; do
			ip netns exec "$FL_CL" curl -s -o /dev/null -w '%{time_total}\n' \
				"http://$FL_REG_ADDR:808$r/v1/peers/$probe_key" || true
		done
		sleep 0.05
	done ) >"$TL_TMP/probe" &
	probe=$!
	declare -a lg=()
	for ((i = 0; i < G; i++)); do
		# never-seen clients of home gateway i, spread over the whole registry
		awk -v n="$CLIENTS" -v g="$G" -v i="$i" -v p="$PEERS" 'BEGIN { s = int(p / g / n); if (s < 1) s = 1
			for (k = 0; k < n; k++) print (k * s) * g + i }' | while read -r idx; do fl_keys "$idx" 1; done |
			awk '{ split($3, a, "/"); print $1, a[1] }' >"$TL_TMP/clients$i"
		g0[$i]=$(metric "$i" jitwg_registry_requests_total)
		( fl_loadgen "$TL_TMP/lg$i" "10.200.1.$((i + 1)):$FL_PORT" "${FL_GWPUB[$i]}" "$TL_TMP/clients$i" \
			--rate "$RATE" --attempt-time 30 || true ) &
		lg+=("$!")
	done
	for p in "${lg[@]}"; do wait "$p" || true; done
	echo "connects_done load_average $(cut -d' ' -f1-3 /proc/loadavg)"
	kill "$probe" 2>/dev/null || true
	wait "$probe" 2>/dev/null || true
	for ((i = 0; i < G; i++)); do
		mode=off
		[ "$i" -lt $((G - 1)) ] && mode=on
		[ "$ISOLATE" = 1 ] && [ "$G" -ge 3 ] && [ "$i" = $((G - 2)) ] && mode="on(--confirm-ms 0 --initiate-delay-ms 2)"
		echo "gw$i prefetch $mode" \
			"registry_gets $(($(metric "$i" jitwg_registry_requests_total) - g0[$i]))" \
			"installed $(metric "$i" jitwg_peers_installed)" \
			"cache_hits $(metric "$i" 'jitwg_cache_total{result="hit"}')" \
			"repaired $(metric "$i" jitwg_install_confirm_repaired_total)" \
			"budget_dropped $(metric "$i" jitwg_lookup_budget_dropped_total)" \
			"$(grep '^handshakes:' "$TL_TMP/lg$i")"
	done
	sort -n "$TL_TMP/probe" | awk '{ v[NR] = $1 } END { if (NR) printf "registry_get_s (%d peers, postgres, 2 registries) n %d p50 %.4f p99 %.4f max %.4f\n", '"$PEERS"', NR, v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1], v[NR] }'
	echo "postgres_db_mib $(runuser -u postgres -- psql -h "$TL_PGDIR" -p "$TL_PGPORT" -Atc "SELECT pg_database_size('jitwg') / 1048576" jitwg)"
} >"$OUT/scale.txt"
cat "$OUT/scale.txt"
for ((i = 0; i < G; i++)); do fl_jitwgd_stop "$i"; done
