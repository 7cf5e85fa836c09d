#!/usr/bin/env bash
# 100 clients behind one address all connect promptly: 100 wireguard-go
# interfaces in one client namespace, all sending from the same source IP
# (as behind one NAT), cold-connect at once. Admission must not engage on
# such a burst, and every client must get its tunnel.
source "$(dirname "$0")/gw_common.bash"
N=${GW_NAT_CLIENTS:-100}

gw_setup
gw_registry_start
gw_jitwgd_start

gw_clients_many "$N" peer
tl_log "$N clients ready"

# All at once: each client's first ping triggers its initiation.
start=$(date +%s%N)
pingers=()
for n in $(seq 1 "$N"); do
	( for try in 1 2 3 4 5 6 7 8; do gw_ping "$n" v4 && { echo ok >"$TL_TMP/ok.$n"; exit 0; }; done ) &
	pingers+=($!)
done
wait_all() { [ "$(ls "$TL_TMP" | grep -c '^ok\.')" -ge "$N" ]; }
tl_wait_until 15 wait_all || true
ms=$(( ($(date +%s%N) - start) / 1000000 ))
got=$(ls "$TL_TMP" | grep -c '^ok\.' || true)
wait "${pingers[@]}" 2>/dev/null || true
[ "$got" -eq "$N" ] || tl_fail "only $got of $N clients connected"
[ "$(gw_metric jitwg_admit_dropped_total)" = 0 ] || tl_fail "admission dropped $(gw_metric jitwg_admit_dropped_total) initiations"
gw_wait_metric 5 jitwg_peers_installed -eq "$N" || tl_fail "gauge is not $N"
grep "installed peer" "$TL_TMP/jitwgd.log" | sed -n "1p;\$p" | cut -c1-200 >&2
msg="PASS: $N clients behind $CL_V4 connected in $ms ms; install p(count)=$(gw_metric jitwg_install_seconds_count), sum=$(gw_metric jitwg_install_seconds_sum)s"
gw_jitwgd_stop
tl_log "$msg"
