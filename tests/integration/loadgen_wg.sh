#!/usr/bin/env bash
# jitwg loadgen against a real wireguard-go gateway with pre-installed
# peers, in both roles and both address families, and one workload run
# (hold with periodic data, silence, return). Every session carries one
# ICMP echo through the tunnel to the gateway's tunnel address and decrypts
# the reply, which proves the transport keys on both sides. Then the mac2
# path: a replay flood puts wireguard-go under load, so it answers the
# legitimate clients with cookie replies, and their retransmits (with mac2)
# complete the handshake.
source "$(dirname "$0")/../lib.sh"
command -v wireguard-go >/dev/null || { echo "wireguard-go not installed"; exit 77; }
[ -x "$TL_BIN/jitwg" ] || { echo "build first (make)"; exit 77; }
tl_init
umask 077

N=${LOADGEN_TEST_CLIENTS:-16}
PORT=51820
GW=$(tl_netns gw)
CL=$(tl_netns cl)
tl_veth "$GW" "$CL" "vg$$" "vc$$"
ip -n "$GW" addr add 192.168.79.1/24 dev "vg$$"
ip -n "$CL" addr add 192.168.79.2/24 dev "vc$$"
ip -n "$GW" addr add fd79::1/64 dev "vg$$" nodad
ip -n "$CL" addr add fd79::2/64 dev "vc$$" nodad
GWIF=$(tl_ifname lg)
tl_wg_go "$GW" "$GWIF"
wg genkey >"$TL_TMP/gw.key"
GW_PUB=$(wg pubkey <"$TL_TMP/gw.key")
ip netns exec "$GW" wg set "$GWIF" private-key "$TL_TMP/gw.key" listen-port "$PORT"
ip -n "$GW" addr add 10.79.0.1/16 dev "$GWIF"
ip -n "$GW" link set "$GWIF" up

# Clients: key and tunnel address per line, as --keys reads them.
: >"$TL_TMP/keys"
for i in $(seq 1 "$N"); do
	k=$(wg genkey)
	echo "$k 10.79.1.$i" >>"$TL_TMP/keys"
	echo "$(echo "$k" | wg pubkey) 10.79.1.$i" >>"$TL_TMP/pubs"
done

# install_peers [ENDPOINT_HOST BASE_PORT] -> every client as a peer
install_peers() {
	local args=() i=0 pub addr
	while read -r pub addr; do
		i=$((i + 1))
		args+=(peer "$pub" allowed-ips "$addr/32")
		[ $# -eq 2 ] && args+=(endpoint "$1:$(($2 + i - 1))")
	done <"$TL_TMP/pubs"
	ip netns exec "$GW" wg set "$GWIF" "${args[@]}"
}

remove_peers() {
	local args=() pub addr
	while read -r pub addr; do args+=(peer "$pub" remove); done <"$TL_TMP/pubs"
	ip netns exec "$GW" wg set "$GWIF" "${args[@]}"
}

# check OUTFILE WHAT [noping] -> all N ok and (unless noping) N pings ok
check() {
	local out=$1 what=$2 last
	last=$(tail -n 1 "$out")
	echo "$last" | grep -q "^handshakes: $N ok, 0 failed; connect ms p50 [0-9.]* p99 [0-9.]* max [0-9.]*$" ||
		{ cat "$out" >&2; tl_fail "$what: $last"; }
	[ "${3:-}" = noping ] || grep -q "^pings: $N ok, 0 failed$" "$out" ||
		{ cat "$out" >&2; tl_fail "$what: pings"; }
	tl_log "$what: $last"
}

LG=(ip netns exec "$CL" timeout 60 "$TL_BIN/jitwg" loadgen --server-public-key "$GW_PUB"
	--keys "$TL_TMP/keys" --ping 10.79.0.1 --progress 0 --attempt-time 20)

# 1. Initiator role over IPv4 and IPv6.
install_peers
"${LG[@]}" --role initiator --endpoint "192.168.79.1:$PORT" >"$TL_TMP/init4.out" ||
	{ cat "$TL_TMP/init4.out" >&2; tl_fail "initiator role over IPv4 failed"; }
check "$TL_TMP/init4.out" "initiator, IPv4"
remove_peers
install_peers
"${LG[@]}" --role initiator --endpoint "[fd79::1]:$PORT" >"$TL_TMP/init6.out" ||
	{ cat "$TL_TMP/init6.out" >&2; tl_fail "initiator role over IPv6 failed"; }
check "$TL_TMP/init6.out" "initiator, IPv6"
remove_peers

# Workload: hold 1.5 s with an echo (data) every 0.5 s, go silent 1 s,
# come back once with a new handshake: two connects and two echoes each.
install_peers
"${LG[@]}" --role initiator --endpoint "192.168.79.1:$PORT" --hold 1.5 --keepalive 0.5 --data --return 1 \
	>"$TL_TMP/work.out" || { cat "$TL_TMP/work.out" >&2; tl_fail "hold/data/return workload failed"; }
grep -q "^handshakes: $((2 * N)) ok, 0 failed;" "$TL_TMP/work.out" && grep -q "^returns $N$" "$TL_TMP/work.out" &&
	grep -q "^pings: $((2 * N)) ok, 0 failed$" "$TL_TMP/work.out" ||
	{ cat "$TL_TMP/work.out" >&2; tl_fail "workload: not two connects and two echoes per client"; }
replies=$(sed -n 's/^data: [0-9]* echoes sent while connected, \([0-9]*\) replies$/\1/p' "$TL_TMP/work.out")
[ "${replies:-0}" -ge "$N" ] || { cat "$TL_TMP/work.out" >&2; tl_fail "workload: periodic echoes not answered"; }
tl_log "workload: $(tail -n 1 "$TL_TMP/work.out"), $replies periodic echo replies"
remove_peers

# 2. Responder role: the clients wait on known ports; the gateway initiates
# when a peer's persistent keepalive goes 0 -> on (jitwgd's role inversion).
BASE=41000
tl_bg "${LG[@]}" --role responder --endpoint "192.168.79.1:$PORT" --base-port "$BASE" \
	--source-prefix 192.168.79.2/32 >"$TL_TMP/resp.out" 2>"$TL_TMP/resp.err"
LGPID=$TL_LAST_PID
tl_wait_until 10 bash -c "ip netns exec $CL ss -Hun | grep -c ':$((BASE + N - 1)) ' | grep -q 1" ||
	tl_fail "responder clients did not bind"
install_peers 192.168.79.2 "$BASE"
args=()
while read -r pub addr; do args+=(peer "$pub" persistent-keepalive 25); done <"$TL_TMP/pubs"
ip netns exec "$GW" wg set "$GWIF" "${args[@]}"
wait "$LGPID" || { cat "$TL_TMP/resp.out" "$TL_TMP/resp.err" >&2; tl_fail "responder role failed"; }
check "$TL_TMP/resp.out" "responder"
grep -q "gateway initiations answered $N$" "$TL_TMP/resp.out" || { cat "$TL_TMP/resp.out" >&2; tl_fail "responder: not every session came from a gateway initiation"; }
remove_peers

# 3. Under load: a replay flood from 256 source ports makes wireguard-go
# answer with cookie replies; the clients' retransmits carry mac2 and
# complete. A 1 s retransmit timer (instead of 5 s) keeps the test short.
install_peers
"${LG[@]}" --role initiator --endpoint "192.168.79.1:$PORT" --rate 50 --rekey-timeout 1 \
	--flood replay --flood-duration 6 >"$TL_TMP/load.out" 2>&1 ||
	{ cat "$TL_TMP/load.out" >&2; tl_fail "clients under load failed"; }
# The flood also fills wireguard-go's data path: some echoes are lost there.
check "$TL_TMP/load.out" "under load" noping
cookies=$(sed -n 's/.*cookie replies \([0-9]*\), mac2 sent \([0-9]*\).*/\1 \2/p' "$TL_TMP/load.out")
read -r nc nm <<<"$cookies"
[ "${nc:-0}" -gt 0 ] && [ "${nm:-0}" -gt 0 ] || { cat "$TL_TMP/load.out" >&2; tl_fail "no cookie reply or no mac2 under load"; }
tl_log "PASS: $N clients per run; under load $nc cookie replies, $nm initiations with mac2"
