# Guest scenario: WireGuard over WebSockets with kernel WireGuard on both
# sides and jitwgd --backend kernel --hook. Busybox ash; files in /files.
. /lib/kg.sh
[ "$1" = pre ] && exit 0

F=/files
REG=127.0.0.1:8080
MET=127.0.0.1:9100
umask 077

mk_ns gw
mk_ns cl
mk_veth gw vg 192.168.77.1/24 cl vc 192.168.77.2/24
mk_wg gw wg0 $F/gw.key 51820 10.77.0.1/16
GWPUB=$($WG pubkey <$F/gw.key)
metric() { nsx gw wget -q -O - "http://$MET/metrics" 2>/dev/null | awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'; }

cp $F/registry.db /tmp/registry.db
nsx gw jitwg-registry --listen $REG --db /tmp/registry.db >/tmp/registry.log 2>&1 &
$IP netns exec gw jitwg-relay --listen 192.168.77.1:8443 --forward 127.0.0.1:51820 --hook /tmp/hook.sock \
	>/tmp/relay.log 2>&1 &
RPID=$!
wait_until 20 nsx gw wget -q -O /dev/null "http://$REG/healthz" || result registry_start fail
$IP netns exec gw jitwgd --interface wg0 --backend kernel --registry "http://$REG" --cache /tmp/cache.db \
	--metrics $MET --status-socket /tmp/status.sock --hook /tmp/hook.sock >>/tmp/jitwgd.log 2>&1 &
wait_until 20 nsx gw wget -q -O /dev/null "http://$MET/metrics"
check relay_start sh -c "test -S /tmp/hook.sock && kill -0 $RPID"

# client: kernel WireGuard whose only endpoint is the local tunnel
mk_wg cl wc1 $F/c1.key 52001 10.77.1.1/32
nsx cl $WG set wc1 peer "$GWPUB" endpoint 127.0.0.1:51821 allowed-ips 10.77.0.1/32
nsx cl jitwg tunnel --url ws://192.168.77.1:8443/ --listen 127.0.0.1:51821 >/tmp/tunnel.log 2>&1 &
wait_until 20 grep -q connected /tmp/tunnel.log

t0=$(now_ms)
if wait_until 15 nsx cl ping -c 1 -W 1 -I wc1 10.77.0.1; then
	result relay_cold_connect pass "$(($(now_ms) - t0)) ms"
else
	result relay_cold_connect fail
	tail -n 20 /tmp/jitwgd.log /tmp/relay.log /tmp/tunnel.log
fi
gw_has_peer() { nsx gw $WG show wg0 peers | grep -q .; }
check relay_installed_in_kernel gw_has_peer
ep=$(nsx gw $WG show wg0 endpoints | awk '{ print $2 }')
case $ep in 127.*) result relay_endpoint_is_relay_socket pass "$ep" ;; *) result relay_endpoint_is_relay_socket fail "$ep" ;; esac
hr=$(metric jitwg_hook_received_total)
cap=$(metric jitwg_captured_total)
if [ "${hr:-0}" -ge 1 ] && [ "${cap:-1}" = 0 ]; then
	result relay_hook_not_captured pass "hook $hr, captured $cap"
else
	result relay_hook_not_captured fail "hook $hr, captured $cap"
fi
check relay_traffic nsx cl ping -c 5 -i 0.2 -W 1 -I wc1 10.77.0.1
