#!/usr/bin/env bash
# Revocation with jitwgd's default options (it follows the registry's change
# feed): a client pinging through the gateway is cut off within 5 s of
# `jitwg peer del` and stays cut off through its retries; a record expiring
# is removed at its time by jitwgd's own timer; a PATCH of allowed IPs and
# keepalive reaches the installed peer; rotation (POST .../rotate, and
# delete + add) gives the address to the new key only, with the feed and
# (phase 5, --no-follow) through the address check that asks the registry
# before a cached record takes an installed peer's address.
source "$(dirname "$0")/gw_common.bash"

# b64url KEY -> the key as the registry's URLs spell it.
b64url() { printf '%s' "$1" | tr '+/' '-_' | tr -d '='; }

reg() { ip netns exec "$GW" curl -sf -o /dev/null "$@"; }

# own_client N ADDR -> wireguard-go client N in CL whose tunnel address is
# ADDR/32 (not 10.77.1.N): a rotated key that takes another's address.
own_client() {
	local n=$1 addr=$2 ifn
	ifn=$(tl_ifname "c$n")
	tl_wg_go "$CL" "$ifn"
	wg genkey >"$TL_TMP/c$n.key"
	CLIENT_IF[$n]=$ifn
	CLIENT_PUB[$n]=$(wg pubkey <"$TL_TMP/c$n.key")
	ip netns exec "$CL" wg set "$ifn" private-key "$TL_TMP/c$n.key" \
		peer "$GW_PUB" endpoint "$GW_V4:$GW_PORT" allowed-ips 10.77.0.1/32
	ip -n "$CL" addr add "$addr/32" dev "$ifn"
	ip -n "$CL" link set "$ifn" up
}

# allowed_of N -> the gateway's allowed IPs for client N ("" when not installed).
allowed_of() {
	ip netns exec "$GW" wg show "$GWIF" allowed-ips | awk -v k="${CLIENT_PUB[$1]}" '$1 == k { $1 = ""; print }'
}

# pinger N SECONDS -> a timestamped ping through client N's tunnel in the
# background, one every 0.2 s, output in $TL_TMP/ping.N.
pinger() {
	tl_bg ip netns exec "$CL" ping -D -n -i 0.2 -W 1 -w "$2" -I "${CLIENT_IF[$1]}" 10.77.0.1 \
		>"$TL_TMP/ping.$1" 2>&1
}

# last_reply N -> unix time of the last echo reply client N got (0 = none).
last_reply() {
	awk '/bytes from/ { t = substr($1, 2, length($1) - 2) } END { print t ? t : 0 }' "$TL_TMP/ping.$1"
}

gw_setup
gw_registry_start
gw_client 1 v4
gw_register 1
gw_jitwgd_start --idle-timeout 600

# --- 1. deletion: cut off within 5 s, and stays cut off ---------------------
tl_wait_until 6 gw_ping 1 v4 || tl_fail "client 1 did not connect"
pinger 1 25
P1=$TL_LAST_PID
sleep 2
t_del=$(date +%s.%N)
ip netns exec "$GW" "$TL_BIN/jitwg" peer del --registry "$REG_URL" --public-key "${CLIENT_PUB[1]}" >/dev/null ||
	tl_fail "jitwg peer del client 1"
# The time it left the data plane, polled every 50 ms (a figure, not the assertion).
gone_at=""
for _ in $(seq 200); do
	gw_installed 1 || { gone_at=$(date +%s.%N); break; }
	sleep 0.05
done
[ -n "$gone_at" ] || tl_fail "deleted client 1 still installed 10 s after the delete"
# Its retries: wait out the ping (it keeps sending, so wireguard-go keeps initiating).
wait "$P1" 2>/dev/null || true
last=$(last_reply 1)
removed=$(awk -v a="$gone_at" -v b="$t_del" 'BEGIN { printf "%.3f", a - b }')
cutoff=$(awk -v a="$last" -v b="$t_del" 'BEGIN { printf "%.3f", a - b }')
tl_log "client 1: removed $removed s after the delete, last reply $cutoff s after it"
awk -v c="$cutoff" 'BEGIN { exit !(c < 5) }' || tl_fail "client 1 got a reply $cutoff s after its deletion"
gw_installed 1 && tl_fail "client 1 re-installed during its retries"
[ "$(grep -c "installed peer ${CLIENT_PUB[1]}" "$TL_TMP/jitwgd.log")" = 1 ] || tl_fail "client 1 installed again"
gw_ping 1 v4 && tl_fail "client 1 still reaches the gateway"
[ "$(gw_metric jitwg_registry_gone_total)" -ge 1 ] || tl_fail "revocation not counted"

# --- 2. expiry at the second, by jitwgd's own timer ------------------------
gw_client 2 v4
exp_s=$(($(date +%s) + 8))
exp=$(date -u -d "@$exp_s" +%Y-%m-%dT%H:%M:%SZ)
reg -X POST "$REG_URL/v1/peers" -H 'Content-Type: application/json' \
	-d "{\"public_key\":\"${CLIENT_PUB[2]}\",\"allowed_ips\":[\"10.77.1.2/32\"],\"expires_at\":\"$exp\"}" ||
	tl_fail "registering client 2"
tl_wait_until 6 gw_ping 2 v4 || tl_fail "client 2 did not connect"
pinger 2 14
P2=$TL_LAST_PID
gw_wait_metric 15 jitwg_expired_total -ge 1 || tl_fail "expired client 2 not removed"
wait "$P2" 2>/dev/null || true
gw_installed 2 && tl_fail "expired client 2 installed"
exp_cut=$(awk -v a="$(last_reply 2)" -v b="$exp_s" 'BEGIN { printf "%.3f", a - b }')
tl_log "client 2: last reply $exp_cut s after its expiry"
awk -v c="$exp_cut" 'BEGIN { exit !(c < 2) }' || tl_fail "client 2 got a reply $exp_cut s after it expired"
grep -q "removed peer ${CLIENT_PUB[2]}: its expiry time passed" "$TL_TMP/jitwgd.log" || tl_fail "no expiry log line"

# --- 3. rotation through the feed: K3 deleted, K4 takes 10.77.1.3 ----------
gw_client 3 v4
gw_register 3
tl_wait_until 6 gw_ping 3 v4 || tl_fail "client 3 did not connect"
reg -X DELETE "$REG_URL/v1/peers/$(b64url "${CLIENT_PUB[3]}")" || tl_fail "DELETE client 3"
own_client 4 10.77.1.3
reg -X POST "$REG_URL/v1/peers" -H 'Content-Type: application/json' \
	-d "{\"public_key\":\"${CLIENT_PUB[4]}\",\"allowed_ips\":[\"10.77.1.3/32\"]}" || tl_fail "registering client 4"
pinger 3 12                            # the old key keeps trying
tl_wait_until 6 gw_ping 4 v4 || tl_fail "rotated client 4 did not connect"
wait "$TL_LAST_PID" 2>/dev/null || true
[ "$(allowed_of 4)" = " 10.77.1.3/32" ] || tl_fail "client 4 holds '$(allowed_of 4)', not 10.77.1.3/32"
gw_installed 3 && tl_fail "old key 3 re-installed"
gw_ping 4 v4 || tl_fail "client 4 lost its address"

# --- 4. an update (PATCH) reaches the installed peer; rotation by the API --
gw_client 7 v4
gw_register 7
tl_wait_until 6 gw_ping 7 v4 || tl_fail "client 7 did not connect"
reg -X PATCH "$REG_URL/v1/peers/$(b64url "${CLIENT_PUB[7]}")" -H 'Content-Type: application/json' \
	-d '{"allowed_ips":["10.77.1.7/32","fd77::1:7/128","10.77.7.0/24"],"persistent_keepalive":15}' ||
	tl_fail "PATCH client 7"
has_update() { allowed_of 7 | grep -q 10.77.7.0/24 &&
	ip netns exec "$GW" wg show "$GWIF" persistent-keepalive | grep -q "${CLIENT_PUB[7]}.*15"; }
tl_wait_until 5 has_update || tl_fail "PATCH not applied: '$(allowed_of 7)'"
gw_ping 7 v4 || tl_fail "client 7 lost its tunnel in the update"
grep -q "updated peer ${CLIENT_PUB[7]} from the registry: allowed IPs keepalive" "$TL_TMP/jitwgd.log" ||
	tl_fail "no update log line"
# rotation: client 8 connected, rotated to client 9's key, which takes 10.77.1.8
gw_client 8 v4
gw_register 8
tl_wait_until 6 gw_ping 8 v4 || tl_fail "client 8 did not connect"
own_client 9 10.77.1.8
reg -X POST "$REG_URL/v1/peers/$(b64url "${CLIENT_PUB[8]}")/rotate" -H 'Content-Type: application/json' \
	-d "{\"public_key\":\"${CLIENT_PUB[9]}\"}" || tl_fail "rotate client 8 to 9"
tl_wait_until 5 bash -c "! ip netns exec $GW wg show $GWIF peers | grep -qxF '${CLIENT_PUB[8]}'" ||
	tl_fail "old key 8 still installed after the rotation"
pinger 8 8                             # the old key keeps trying
tl_wait_until 6 gw_ping 9 v4 || tl_fail "rotated client 9 did not connect"
wait "$TL_LAST_PID" 2>/dev/null || true
[ "$(allowed_of 9)" = " 10.77.1.8/32 fd77::1:8/128" ] || tl_fail "client 9 holds '$(allowed_of 9)'"
gw_installed 8 && tl_fail "old key 8 re-installed"
gw_jitwgd_stop

# --- 5. rotation without the feed: the address check asks the registry -----
# K5 connects; with --no-follow its deletion is not seen, so it stays
# installed and cached. K6 takes its address: jitwgd asks the registry about
# K5 (404: removed) before installing K6. K5's retries then meet a negative
# cache row, never its old record.
gw_jitwgd_start --idle-timeout 600 --no-follow
gw_client 5 v4
gw_register 5
tl_wait_until 6 gw_ping 5 v4 || tl_fail "client 5 did not connect"
reg -X DELETE "$REG_URL/v1/peers/$(b64url "${CLIENT_PUB[5]}")" || tl_fail "DELETE client 5"
sleep 1
gw_installed 5 || tl_fail "client 5 removed without the feed: this phase tests nothing"
own_client 6 10.77.1.5
reg -X POST "$REG_URL/v1/peers" -H 'Content-Type: application/json' \
	-d "{\"public_key\":\"${CLIENT_PUB[6]}\",\"allowed_ips\":[\"10.77.1.5/32\"]}" || tl_fail "registering client 6"
tl_wait_until 12 gw_ping 6 v4 || tl_fail "client 6 did not connect"
grep -q "peer ${CLIENT_PUB[6]} claims addresses installed for ${CLIENT_PUB[5]}" "$TL_TMP/jitwgd.log" ||
	tl_fail "no address check logged"
gw_installed 5 && tl_fail "old key 5 still installed"
pinger 5 12
wait "$TL_LAST_PID" 2>/dev/null || true
[ "$(last_reply 5)" = 0 ] || tl_fail "old key 5 got a reply after client 6 took its address"
gw_installed 5 && tl_fail "old key 5 took the address back"
[ "$(allowed_of 6)" = " 10.77.1.5/32" ] || tl_fail "client 6 holds '$(allowed_of 6)', not 10.77.1.5/32"
msg="PASS: delete removed the peer in $removed s, last reply $cutoff s after the delete; expiry: last reply $exp_cut s after; PATCH applied; rotation: new key holds the address (rotate, feed and address check)"
gw_jitwgd_stop
tl_log "$msg"
