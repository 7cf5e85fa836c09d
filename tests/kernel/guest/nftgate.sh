# Guest scenario: the admission filter in front of kernel WireGuard, jitwgd
# --backend kernel --admit-set, the real registry (database from the host:
# client 1). Busybox ash; files from the host in /files.
. /lib/kg.sh
[ "$1" = pre ] && exit 0

F=/files
GW_PORT=51820
REG=127.0.0.1:8080
MET=127.0.0.1:9100
umask 077

mk_ns gw
mk_ns cl
mk_veth gw vg 192.168.77.1/24 cl vc 192.168.77.2/24
mk_wg gw wg0 $F/gw.key $GW_PORT 10.77.0.1/16
GWPUB=$($WG pubkey <$F/gw.key)
if nsx gw /usr/sbin/nft -f $F/jitwg.nft >/tmp/nft.out 2>&1; then
	result nft_ruleset pass
else
	result nft_ruleset fail "$(tr '\n' ' ' </tmp/nft.out)"
	exit 1
fi
counter() { nsx gw /usr/sbin/nft list counter inet jitwg "$1" | sed -n 's/.*packets \([0-9]*\) .*/\1/p'; }
admit4() { nsx gw /usr/sbin/nft list set inet jitwg admit4; }

cp $F/registry.db /tmp/registry.db
nsx gw jitwg-registry --listen $REG --db /tmp/registry.db >/tmp/registry.log 2>&1 &
wait_until 20 nsx gw wget -q -O /dev/null "http://$REG/healthz" || result registry_start fail
metrics() { nsx gw wget -q -O - "http://$MET/metrics" 2>/dev/null; }
metric() { metrics | awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'; }
$IP netns exec gw jitwgd --interface wg0 --backend kernel --registry "http://$REG" --cache /tmp/cache.db \
	--metrics $MET --status-socket /tmp/status.sock --admit-set inet:jitwg:admit --idle-timeout 600 \
	>>/tmp/jitwgd.log 2>&1 &
if wait_until 30 metrics; then
	result jitwgd_start pass
else
	result jitwgd_start fail "$(tail -n 5 /tmp/jitwgd.log | tr '\n' ' ')"
	exit 1
fi

mk_wg cl wc1 $F/c1.key 52001 10.77.1.1/32
client_peer() { nsx cl $WG set wc1 peer "$GWPUB" endpoint 192.168.77.1:$GW_PORT allowed-ips 10.77.0.1/32; }
ping1() { nsx cl ping -c 1 -W 2 -I wc1 10.77.0.1; }
client_peer

# Cold connect: the rule drops the first initiation, jitwgd (capture) installs
# the peer and re-injects the initiation, whose copy passes the rule (its
# endpoint is in the set by then); under TCG that takes about a second.
t0=$(now_ms)
if wait_until 15 ping1; then
	result nft_cold_connect pass "$(($(now_ms) - t0)) ms"
else
	result nft_cold_connect fail "$(tail -n 5 /tmp/jitwgd.log | tr '\n' ' ')"
fi
[ "$(counter dropped)" -ge 1 ] && result nft_first_dropped pass "$(counter dropped)" ||
	result nft_first_dropped fail "$(counter dropped)"
admit4 | grep -q "192.168.77.2 . 52001" && result nft_element pass || result nft_element fail "$(admit4 | tr '\n' ' ')"

# A second initiation of the installed peer (a rekey, a restarted client) passes the rule.
a0=$(counter admitted)
nsx cl $WG set wc1 peer "$GWPUB" remove
client_peer
if wait_until 15 ping1 && [ "$(counter admitted)" -gt "$a0" ]; then
	result nft_second_initiation_admitted pass "admitted $a0 -> $(counter admitted)"
else
	result nft_second_initiation_admitted fail "admitted $a0 -> $(counter admitted)"
fi

# Type-1 junk from another endpoint: dropped by the rule, nothing installed.
d0=$(counter dropped)
nsx cl jitwg loadgen --endpoint 192.168.77.1:$GW_PORT --server-public-key "$GWPUB" --clients 0 \
	--flood junk --flood-duration 2 --progress 0 >/tmp/flood.out 2>&1
sent=$(sed -n 's/^flood: \([0-9]*\) packets.*/\1/p' /tmp/flood.out)
d1=$(counter dropped)
if [ -n "$sent" ] && [ "$sent" -gt 0 ] && [ $((d1 - d0)) -ge "$sent" ]; then
	result nft_flood_dropped pass "$sent sent, $((d1 - d0)) dropped"
else
	result nft_flood_dropped fail "${sent:-?} sent, $((d1 - d0)) dropped: $(tr '\n' ' ' </tmp/flood.out)"
fi
n=$(nsx gw $WG show wg0 peers | wc -l)
[ "$n" = 1 ] && result nft_flood_installs_nothing pass || result nft_flood_installs_nothing fail "$n peers"
[ "$(metric jitwg_admit_set_errors_total)" = 0 ] && result nft_no_write_errors pass ||
	result nft_no_write_errors fail "$(metric jitwg_admit_set_errors_total)"
echo "INFO $(metrics | grep '^jitwg_admit_set' | tr '\n' ' ')"
