#!/usr/bin/env bash
# Revocation propagation: N peers connected to each of three gateways (the
# same N clients, registered without a gateway binding, so every gateway's
# change feed carries every deletion), two registry processes on one
# PostgreSQL database, each gateway following the feed of one of them with
# jitwgd's default options (long poll). Then N sequential deletions at RATE
# per second, alternating between the two registries; each gateway's
# jitwg_registry_gone_total (counted once the peer is out of the data plane)
# is polled as fast as the gateway answers. Propagation of deletion k to a
# gateway = the first poll showing k removals minus the time DELETE k was
# answered. Writes OUT/revoke.txt (p50/p99/max per gateway and for all).
#
#   N [1000]  RATE [20]  OUT (required)
set -euo pipefail
source "$(dirname "$0")/lib.bash"
N=${N:-1000} RATE=${RATE:-20}
PY=/usr/bin/python3
fl_start 3
FL_JITWGD_ARGS=(--idle-timeout 3600)
fl_keys 0 "$N" >"$TL_TMP/all"
# unbound: POST without "gateway"
awk -v a="$FL_REG_ADDR" '{ printf "url = \"http://%s:808%d/v1/peers\"\ndata = \"{\\\"public_key\\\":\\\"%s\\\",\\\"allowed_ips\\\":[\\\"%s\\\"]}\"\nheader = \"Content-Type: application/json\"\nwrite-out = \"%%{http_code}\\n\"\noutput = \"/dev/null\"\nnext\n", a, NR % 2 + 1, $2, $3 }' \
	"$TL_TMP/all" | sed '$d' >"$TL_TMP/reg.cfg"
bad=$(ip netns exec "$FL_REG" curl -s --no-progress-meter --parallel --parallel-max 8 -K "$TL_TMP/reg.cfg" | grep -vc '^201$' || true)
[ "$bad" = 0 ] || tl_fail "$bad registrations failed"
awk '{ split($3, a, "/"); print $1, a[1] }' "$TL_TMP/all" >"$TL_TMP/keys"
for i in 0 1 2; do fl_jitwgd_start "$i"; done
for i in 0 1 2; do
	fl_loadgen "$TL_TMP/lg$i" "10.200.1.$((i + 1)):$FL_PORT" "${FL_GWPUB[$i]}" "$TL_TMP/keys" --rate 500 --attempt-time 60 || true
	n=$(fl_metrics "$i" | awk '$1 == "jitwg_peers_installed" { print $2 }')
	tl_log "gateway $i: $n of $N installed ($(tail -n 1 "$TL_TMP/lg$i"))"
	[ "$n" -ge "$N" ] || tl_fail "gateway $i has $n peers installed"
done
# every follower caught up and parked in its long poll
sleep 2
load0=$(cut -d' ' -f1 /proc/loadavg)
dur=$((N / RATE * 4 + 60)) # an upper bound: the pollers are stopped once every gateway is empty
pids=()
for i in 0 1 2; do
	ip netns exec "${FL_JGW[$i]}" "$PY" "$TL_ROOT/bench/fleet/revoke.py" poll http://127.0.0.1:9100/metrics \
		"$TL_TMP/poll-gw$i" "$dur" &
	pids+=($!)
done
sleep 1
ip netns exec "$FL_REG" "$PY" "$TL_ROOT/bench/fleet/revoke.py" delete \
	"http://$FL_REG_ADDR:8081,http://$FL_REG_ADDR:8082" "$TL_TMP/all" "$RATE" "$TL_TMP/deletes"
load1=$(cut -d' ' -f1 /proc/loadavg)
for i in 0 1 2; do
	tl_wait_until 30 bash -c "[ \$(ip netns exec ${FL_JGW[$i]} curl -sf http://127.0.0.1:9100/metrics | awk '\$1 == \"jitwg_peers_installed\" { print \$2 }') = 0 ]" ||
		tl_log "gateway $i still has peers installed"
done
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
{
	echo "# N=$N RATE=$RATE/s, 3 gateways (long poll, default options), 2 registries on PostgreSQL; load average $load0 before, $load1 after; $(date -u +%FT%TZ) $(git -C "$TL_ROOT" rev-parse --short HEAD)"
	"$PY" "$TL_ROOT/bench/fleet/revoke.py" report "$TL_TMP/deletes" "$TL_TMP"/poll-gw0 "$TL_TMP"/poll-gw1 "$TL_TMP"/poll-gw2
} | tee "$OUT/revoke.txt"
