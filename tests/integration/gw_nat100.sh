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

# Start every wireguard-go first, then configure: far faster than one by one.
for n in $(seq 1 "$N"); do
	CLIENT_IF[$n]=$(tl_ifname "c$n")
	WG_PROCESS_FOREGROUND=1 tl_bg ip netns exec "$CL" wireguard-go "${CLIENT_IF[$n]}" >/dev/null 2>&1
done
for n in $(seq 1 "$N"); do
	tl_wait_until 20 test -S "/var/run/wireguard/${CLIENT_IF[$n]}.sock" || tl_fail "wireguard-go $n did not start"
done
for n in $(seq 1 "$N"); do
	wg genkey >"$TL_TMP/c$n.key"
	CLIENT_PUB[$n]=$(wg pubkey <"$TL_TMP/c$n.key")
	ip netns exec "$CL" wg set "${CLIENT_IF[$n]}" private-key "$TL_TMP/c$n.key" \
		peer "$GW_PUB" endpoint "$GW_V4:$GW_PORT" allowed-ips 10.77.0.1/32
	ip -n "$CL" addr add "10.77.1.$n/32" dev "${CLIENT_IF[$n]}"
	ip -n "$CL" link set "${CLIENT_IF[$n]}" up
	gw_register "$n"
done
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
