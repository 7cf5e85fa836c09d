#!/usr/bin/env bash
# The data-plane admission filter (jitwgd --admit-set, the ruleset in
# packaging/nftables/jitwg.nft), with real wireguard-go, the real registry,
# wireguard-go clients and jitwg loadgen clients, in namespaces of its own:
#  - bad --admit-set values are refused with a clear error, and a start that
#    fails on a missing set leaves nothing behind (set, cache, socket);
#  - at start the set is emptied and rebuilt from the data plane;
#  - a registered client cold-connects although the rule drops its
#    initiation (jitwgd's capture sees it, the data plane initiates), its
#    endpoint is in the set (IPv4 and IPv6), and a second initiation of the
#    installed peer passes the rule;
#  - a client that moves to a new source port reconnects (new element, old
#    one gone);
#  - an unknown-key flood from another namespace is dropped by the rule and
#    wireguard-go sends no cookie replies to legitimate loadgen clients
#    connecting meanwhile;
#  - after idle eviction the element is gone and the client reconnects;
#  - with the ruleset deleted, failed writes are counted and jitwgd carries
#    on; after the ruleset is loaded again, SIGHUP refills the sets.
# Steps 2-8 run role inversion (--reinject=false), which the roaming step's
# counts rely on; step 9 connects a client with the default, re-injection,
# whose copy passes the rule.
TL_NS_PREFIX=ng-
source "$(dirname "$0")/gw_common.bash"
command -v nft >/dev/null || { echo "nft not installed (scripts/deps.sh: nftables)"; exit 77; }
RULES="$TL_ROOT/packaging/nftables/jitwg.nft"

gw_setup
gw_attacker
ip netns exec "$GW" nft -f "$RULES" 2>"$TL_TMP/nft.err" || { cat "$TL_TMP/nft.err"; echo "nftables unavailable in this kernel"; exit 77; }
gw_registry_start

ng_set() { ip netns exec "$GW" nft list set inet jitwg "$1"; }
ng_counter() { ip netns exec "$GW" nft list counter inet jitwg "$1" | sed -n 's/.*packets \([0-9]*\) .*/\1/p'; }
# Not grep -q: under pipefail, nft killed by SIGPIPE would turn a match into a failure.
ng_has() { ng_set "$1" | grep -- "$2" >/dev/null; }
ng_lacks() { ! ng_set "$1" | grep -- "$2" >/dev/null; }
ng_port() { ip netns exec "$CL" wg show "${CLIENT_IF[$1]}" listen-port; }
# ng_fresh N [v6] -> client N forgets its session: its next packet starts a new initiation.
ng_fresh() {
	local ep="$GW_V4:$GW_PORT"
	[ "${2:-v4}" = v6 ] && ep="[$GW_V6]:$GW_PORT"
	ip netns exec "$CL" wg set "${CLIENT_IF[$1]}" peer "$GW_PUB" remove
	ip netns exec "$CL" wg set "${CLIENT_IF[$1]}" peer "$GW_PUB" endpoint "$ep" allowed-ips 10.77.0.1/32,fd77::1/128
}
# ng_jitwgd_fails RC PATTERN ARGS... -> jitwgd run in the foreground exits RC saying PATTERN.
ng_jitwgd_fails() {
	local want=$1 pat=$2 rc=0
	shift 2
	ip netns exec "$GW" timeout 10 "$TL_BIN/jitwgd" --interface "$GWIF" --registry "$REG_URL" \
		--cache "$TL_TMP/bad.db" --status-socket "$TL_TMP/bad.sock" "$@" >"$TL_TMP/bad.out" 2>&1 || rc=$?
	[ "$rc" = "$want" ] || { cat "$TL_TMP/bad.out" >&2; tl_fail "jitwgd $*: exit $rc, want $want"; }
	grep -q -- "$pat" "$TL_TMP/bad.out" || { cat "$TL_TMP/bad.out" >&2; tl_fail "jitwgd $*: no '$pat'"; }
	tl_log "refused: $(grep -- "$pat" "$TL_TMP/bad.out" | head -n 1)"
}

# 1. Bad values: clear errors; a failed start touches nothing.
ip netns exec "$GW" nft add element inet jitwg admit4 '{ 192.0.2.1 . 9 timeout 1h }'
ng_jitwgd_fails 2 "is not three fields" --admit-set inet:jitwg
ng_jitwgd_fails 2 "family other than inet" --admit-set bridge:jitwg:admit
ng_jitwgd_fails 2 "no valid set prefix" --admit-set 'inet:jitwg:ad;mit'
ng_jitwgd_fails 2 "needs jitwgd to answer" --admit-set inet:jitwg:admit --no-initiate
ng_jitwgd_fails 1 "nftables set inet jitwg nosuch4 not found" --admit-set inet:jitwg:nosuch
ng_jitwgd_fails 1 "nftables set inet nosuch admit4 not found" --admit-set inet:nosuch:admit
ng_has admit4 "192.0.2.1 . 9" || tl_fail "a failed start changed the set"
[ ! -e "$TL_TMP/bad.db" ] && [ ! -e "$TL_TMP/bad.sock" ] || tl_fail "a failed start left its cache or socket"

# 2. Start: the set is rebuilt from the data plane (empty here).
gw_jitwgd_start --admit-set inet:jitwg:admit --idle-timeout 8 --reinject=false
grep -q "admission set inet:jitwg:admit" "$TL_TMP/jitwgd.log" || tl_fail "ready line does not name the set"
ng_lacks admit4 "192.0.2.1" || tl_fail "start-up did not flush the set"

# 3. Cold connect through the filter, IPv4 and IPv6.
gw_client 1 v4
gw_client 2 v6
gw_register 1
gw_register 2
d0=$(ng_counter dropped)
tl_wait_until 6 gw_ping 1 v4 || tl_fail "client 1 (IPv4) did not connect through the filter"
tl_wait_until 6 gw_ping 2 v6 || tl_fail "client 2 (IPv6) did not connect through the filter"
P1=$(ng_port 1) P2=$(ng_port 2)
ng_has admit4 "$CL_V4 . $P1" || { ng_set admit4 >&2; tl_fail "client 1's endpoint is not in admit4"; }
ng_has admit6 "$CL_V6 . $P2" || { ng_set admit6 >&2; tl_fail "client 2's endpoint is not in admit6"; }
d1=$(ng_counter dropped)
[ "$d1" -gt "$d0" ] || tl_fail "the rule dropped no first initiation ($d0 -> $d1)"
grep -q "installed peer ${CLIENT_PUB[1]} endpoint $CL_V4:$P1 .*initiating" "$TL_TMP/jitwgd.log" ||
	tl_fail "client 1 was not installed in the initiator role"
tl_log "cold connects through the filter: $((d1 - d0)) first initiations dropped by the rule, both endpoints admitted"

# 4. A second initiation of an installed peer (rekey, restarted client) passes the rule.
a0=$(ng_counter admitted)
ng_fresh 1
tl_wait_until 6 gw_ping 1 v4 || tl_fail "client 1's second handshake failed"
a1=$(ng_counter admitted) d2=$(ng_counter dropped)
[ "$a1" -gt "$a0" ] || tl_fail "the installed peer's initiation was not admitted ($a0 -> $a1)"
[ "$d2" = "$d1" ] || tl_fail "the installed peer's initiation was dropped ($d1 -> $d2)"
tl_log "second initiation of an installed peer: admitted ($a0 -> $a1), none dropped"

# 5. Roaming: a new source port is a new endpoint; the first initiation from
# it is dropped, jitwgd moves the element and the data plane initiates. The
# peer still has the session of step 4, younger than any sweep: the data
# plane must initiate anyway, so the client never needs its 5 s retry, which
# the rule would count as admitted (the element has moved by then).
NEWP=$((P1 + 1000))
a2=$(ng_counter admitted)
ip netns exec "$CL" wg set "${CLIENT_IF[1]}" listen-port "$NEWP"
ng_fresh 1
t0=$(date +%s%N)
tl_wait_until 6 gw_ping 1 v4 || tl_fail "client 1 did not reconnect from its new port"
ms=$((($(date +%s%N) - t0) / 1000000))
a3=$(ng_counter admitted) d3=$(ng_counter dropped)
[ "$a3" = "$a2" ] || tl_fail "the roamed client needed a second initiation ($a2 -> $a3 admitted): the data plane did not initiate"
[ "$d3" -gt "$d2" ] || tl_fail "the roamed client's first initiation was not dropped ($d2 -> $d3)"
ng_has admit4 "$CL_V4 . $NEWP" || { ng_set admit4 >&2; tl_fail "the new endpoint is not in the set"; }
ng_lacks admit4 "$CL_V4 . $P1 " || { ng_set admit4 >&2; tl_fail "the old endpoint is still in the set"; }
[ "$(gw_endpoint 1)" = "$CL_V4:$NEWP" ] || tl_fail "the data plane's endpoint is $(gw_endpoint 1)"
tl_log "roamed to port $NEWP: reconnected in $ms ms, element moved"

# 6. Flood of unknown keys from AT while registered loadgen clients cold-connect.
N=20
: >"$TL_TMP/lg.keys"
for n in $(seq 101 $((100 + N))); do
	wg genkey >"$TL_TMP/k$n"
	CLIENT_PUB[$n]=$(wg pubkey <"$TL_TMP/k$n")
	gw_register "$n"
	echo "$(cat "$TL_TMP/k$n") 10.77.1.$n" >>"$TL_TMP/lg.keys"
done
d0=$(ng_counter dropped)
tl_bg ip netns exec "$AT" timeout 30 "$TL_BIN/jitwg" loadgen --endpoint "192.168.78.1:$GW_PORT" \
	--server-public-key "$GW_PUB" --clients 0 --progress 0 --flood keys --flood-duration 5 >"$TL_TMP/flood.out" 2>&1
FP=$TL_LAST_PID
tl_wait_until 20 grep -q "^flood: sending" "$TL_TMP/flood.out" || tl_fail "flood did not start"
ip netns exec "$CL" timeout 60 "$TL_BIN/jitwg" loadgen --endpoint "$GW_V4:$GW_PORT" --server-public-key "$GW_PUB" \
	--keys "$TL_TMP/lg.keys" --rate 10 --ping 10.77.0.1 --progress 0 --attempt-time 30 >"$TL_TMP/lg.out" 2>&1 ||
	{ cat "$TL_TMP/lg.out" >&2; tl_fail "loadgen clients failed under the flood"; }
wait "$FP" || true
grep -q "^handshakes: $N ok, 0 failed" "$TL_TMP/lg.out" && grep -q "^pings: $N ok, 0 failed$" "$TL_TMP/lg.out" ||
	{ cat "$TL_TMP/lg.out" >&2; tl_fail "not every loadgen client connected and carried an echo"; }
read -r nc nm < <(sed -n 's/.*cookie replies \([0-9]*\), mac2 sent \([0-9]*\).*/\1 \2/p' "$TL_TMP/lg.out")
[ "${nc:-x}" = 0 ] || { cat "$TL_TMP/lg.out" >&2; tl_fail "wireguard-go sent ${nc:-?} cookie replies under the flood"; }
sent=$(sed -n 's/^flood: \([0-9]*\) packets.*/\1/p' "$TL_TMP/flood.out")
[ -n "$sent" ] || { cat "$TL_TMP/flood.out" >&2; tl_fail "the flood printed no summary"; }
d1=$(ng_counter dropped)
[ "$((d1 - d0))" -ge "$((sent * 9 / 10))" ] || tl_fail "the rule dropped $((d1 - d0)) of $sent flood packets"
kill -0 "$JITWGD_PID" || tl_fail "jitwgd died"
tl_log "flood: $sent unknown-key initiations, $((d1 - d0)) dropped by the rule; $(tail -n 1 "$TL_TMP/lg.out"); cookie replies 0"

# 7. Idle eviction: the element goes with the peer; the client comes back.
tl_wait_until 30 bash -c "! ip netns exec $GW wg show $GWIF peers | grep -qxF '${CLIENT_PUB[1]}'" ||
	tl_fail "client 1 was not evicted"
tl_wait_until 5 ng_lacks admit4 "$CL_V4 . $NEWP" || { ng_set admit4 >&2; tl_fail "evicted peer's element is still in the set"; }
tl_log "evicted: element gone"
ng_fresh 1
tl_wait_until 6 gw_ping 1 v4 || tl_fail "client 1 did not reconnect after eviction"
ng_has admit4 "$CL_V4 . $NEWP" || tl_fail "the reconnected client's endpoint is not in the set"
[ "$(gw_metric jitwg_admit_set_errors_total)" = 0 ] || tl_fail "admission set errors: $(gw_metric jitwg_admit_set_errors_total)"

# 8. The ruleset goes away under jitwgd: the failed write is counted, jitwgd
# carries on; the ruleset comes back (empty sets) and SIGHUP refills them.
ip netns exec "$GW" nft delete table inet jitwg
kill -HUP "$JITWGD_PID"
gw_wait_metric 10 jitwg_admit_set_errors_total -ge 1 || tl_fail "a write to a missing set was not counted"
grep -q "admission set: writing .* failed" "$TL_TMP/jitwgd.log" || tl_fail "the failed write was not logged"
ip netns exec "$GW" nft -f "$RULES"
ng_lacks admit4 "$CL_V4 . $NEWP" || tl_fail "a reloaded ruleset should start empty"
kill -HUP "$JITWGD_PID"
tl_wait_until 10 ng_has admit4 "$CL_V4 . $NEWP" || { ng_set admit4 >&2; tl_fail "SIGHUP did not refill the set"; }
kill -0 "$JITWGD_PID" || tl_fail "jitwgd died"
tl_log "ruleset removed: $(gw_metric jitwg_admit_set_errors_total) write(s) failed and counted; reloaded + SIGHUP: set refilled"
msg="set elements $(gw_metric jitwg_admit_set_elements), writes $(gw_metric jitwg_admit_set_writes_total), rule dropped $(ng_counter dropped), admitted $(ng_counter admitted)"
gw_jitwgd_stop

# 9. The default, re-injection: the rule drops a new client's first
# initiation, jitwgd installs the peer, writes its endpoint into the set and
# then re-injects the initiation, which passes the rule (counted admitted)
# and which the data plane answers: no initiation of the data plane's own.
gw_jitwgd_start --admit-set inet:jitwg:admit --idle-timeout 600
gw_client 3 v4
gw_register 3
a0=$(ng_counter admitted)
tl_wait_until 6 gw_ping 3 v4 || tl_fail "client 3 did not connect through the filter with re-injection"
gw_wait_metric 5 jitwg_install_reinjected_total -eq 1 || tl_fail "want 1 re-injection"
[ "$(gw_metric jitwg_initiations_sent_total)" = 0 ] || tl_fail "the data plane was made to initiate"
[ "$(ng_counter admitted)" -gt "$a0" ] || tl_fail "the re-injected copy was not admitted by the rule"
gw_jitwgd_stop
tl_log "PASS: $msg; re-injection through the filter: connected, copy admitted"
