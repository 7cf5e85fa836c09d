# Guest scenario: jitwgd --backend kernel end to end, with the real registry
# (its database prepared on the host: 300 peers, 41 of them our clients) and
# kernel WireGuard on both sides. Busybox ash; files from the host in /files.
. /lib/kg.sh
[ "$1" = pre ] && exit 0

F=/files
GW_PORT=51820
REG=127.0.0.1:8080
MET=127.0.0.1:9100
NCLIENTS=$(wc -l <$F/clients.txt)   # 41: clients 1..40 connect, 41 is the replay key
umask 077

mk_ns gw
mk_ns cl
mk_veth gw vg 192.168.77.1/24,fdaa::1/64 cl vc 192.168.77.2/24,192.168.77.3/24,fdaa::2/64
mk_wg gw wg0 $F/gw.key $GW_PORT 10.77.0.1/16
$IP -n gw addr add fd77::1/64 dev wg0 nodad
GWPUB=$($WG pubkey <$F/gw.key)

# ---- control plane and daemon ------------------------------------------------
cp $F/registry.db /tmp/registry.db
nsx gw jitwg-registry --listen $REG --db /tmp/registry.db >/tmp/registry.log 2>&1 &
wait_until 20 nsx gw wget -q -O /dev/null "http://$REG/healthz" || result registry_start fail

metrics() { nsx gw wget -q -O - "http://$MET/metrics" 2>/dev/null; }
metric() { metrics | awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }'; }
wait_metric() { # SECONDS NAME OP VALUE
	wm_i=0
	while [ $wm_i -lt $(($1 * 5)) ]; do
		wm_v=$(metric "$2")
		[ "${wm_v%.*}" "$3" "$4" ] && return 0
		sleep 0.2
		wm_i=$((wm_i + 1))
	done
	return 1
}
JPID=
start_jitwgd() { # extra args... (no function in front of &: $! must be jitwgd)
	$IP netns exec gw jitwgd --interface wg0 --backend "${BACKEND:-kernel}" --registry "http://$REG" \
		--cache /tmp/cache.db --metrics $MET --status-socket /tmp/status.sock "$@" \
		>>/tmp/jitwgd.log 2>&1 &
	JPID=$!
	wait_until 20 metrics
}
stop_jitwgd() {
	kill -TERM "$JPID" 2>/dev/null
	wait_until 10 sh -c "! kill -0 $JPID 2>/dev/null"
	r=$?
	kill -9 "$JPID" 2>/dev/null
	wait "$JPID" 2>/dev/null
	return $r
}
kernel_peers() { nsx gw $WG show wg0 peers; }
kernel_count() { kernel_peers | wc -l; }
dump_logs() {
	echo "---- jitwgd.log"
	tail -n 40 /tmp/jitwgd.log
	echo "---- metrics"
	metrics | grep -v '^#' | grep -v ' 0$'
}

# ---- clients: kernel WireGuard interfaces in cl, one shared source address --
# clients.txt: "N PRIVATE PUBLIC"; client N has 10.77.1.N and fd77::1:N.
while read -r n priv pub; do
	echo "$priv" >/tmp/c$n.key
	echo "$pub" >/tmp/c$n.pub
done <$F/clients.txt
client_peer() { # N [v6]
	ep=192.168.77.1:$GW_PORT
	[ "$2" = v6 ] && ep="[fdaa::1]:$GW_PORT"
	nsx cl $WG set wc$1 peer "$GWPUB" endpoint "$ep" allowed-ips 10.77.0.1/32,fd77::1/128
}
client_reset() { # N [v6]: forget the session, so the next packet starts a handshake
	nsx cl $WG set wc$1 peer "$GWPUB" remove
	client_peer "$@"
}
ping_c() { # N [v6] [wait]
	if [ "$2" = v6 ]; then
		nsx cl ping -6 -c 1 -W "${3:-1}" -I wc$1 fd77::1
	else
		nsx cl ping -c 1 -W "${3:-1}" -I wc$1 10.77.0.1
	fi
}
n=1
while [ $n -le 40 ]; do
	$IP -n cl link add wc$n type wireguard
	nsx cl $WG set wc$n private-key /tmp/c$n.key listen-port $((52000 + n))
	$IP -n cl addr add 10.77.1.$n/32 dev wc$n
	$IP -n cl addr add fd77::1:$n/128 dev wc$n nodad
	$IP -n cl link set wc$n up
	$IP -n cl -6 route add fd77::1/128 dev wc$n metric $((1000 + n))
	if [ $n = 2 ]; then client_peer $n v6; else client_peer $n; fi
	n=$((n + 1))
done

if ! start_jitwgd --idle-timeout 600 --reinject=false; then
	result jitwgd_start fail "$(tail -n 5 /tmp/jitwgd.log | tr '\n' ' ')"
	exit 1
fi
echo "INFO $(grep -m 1 -i 'kernel' /tmp/jitwgd.log)"
[ "$(kernel_count)" = 0 ] && [ "$(metric jitwg_peers_installed)" = 0 ] && result cold_gateway pass ||
	result cold_gateway fail "$(kernel_count) peers"

# ---- cold connect with role inversion (--reinject=false) ----------------------
# Without inversion the first handshake can only complete on the client's
# retry, 5 s after its first initiation; with it, well before.
t0=$(now_ms)
if wait_until 5 ping_c 1; then
	ms=$(($(now_ms) - t0))
	[ $ms -lt 4500 ] && result cold_connect_v4 pass "$ms ms" || result cold_connect_v4 fail "$ms ms: no inversion?"
else
	result cold_connect_v4 fail "no reply in 5 s"
fi
t0=$(now_ms)
if wait_until 5 ping_c 2 v6; then
	ms=$(($(now_ms) - t0))
	[ $ms -lt 4500 ] && result cold_connect_v6 pass "$ms ms" || result cold_connect_v6 fail "$ms ms"
else
	result cold_connect_v6 fail "no reply in 5 s"
fi
ep=$(nsx gw $WG show wg0 endpoints | awk -v k="$(cat /tmp/c2.pub)" '$1 == k { print $2 }')
[ "$ep" = "[fdaa::2]:52002" ] && result endpoint_v6_source pass || result endpoint_v6_source fail "$ep"
[ "$(metric jitwg_initiations_sent_total)" -ge 2 ] && result initiations_sent pass ||
	result initiations_sent fail "$(metric jitwg_initiations_sent_total)"

# ---- 40 of 300 registered connect: exactly those 40 in the kernel -------------
t0=$(now_ms)
n=3
pids=
while [ $n -le 40 ]; do
	ping_c $n x 4 >/dev/null 2>&1 &
	pids="$pids $!"
	n=$((n + 1))
done
for p in $pids; do wait "$p"; done
n=1
missing=
while [ $n -le 40 ]; do
	wait_until 8 ping_c $n x 1 || missing="$missing $n"
	n=$((n + 1))
done
echo "INFO 40 clients connected in $(($(now_ms) - t0)) ms"
[ -z "$missing" ] && result forty_connect pass || result forty_connect fail "not connected:$missing"
n=1
: >/tmp/want
while [ $n -le 40 ]; do
	cat /tmp/c$n.pub >>/tmp/want
	n=$((n + 1))
done
sort /tmp/want >/tmp/want.s
kernel_peers | sort >/tmp/have.s
if cmp -s /tmp/want.s /tmp/have.s; then
	result forty_exact pass "$(wc -l </tmp/have.s) peers"
else
	result forty_exact fail "kernel has $(wc -l </tmp/have.s) peers, $(comm -13 /tmp/want.s /tmp/have.s | wc -l) unexpected"
fi
wait_metric 5 jitwg_peers_installed -eq 40 && result forty_gauge pass ||
	result forty_gauge fail "gauge $(metric jitwg_peers_installed)"

# ---- deletion revokes: the change feed, default options -------------------------
# Client 3 is connected; deleted in the registry it leaves the kernel within
# seconds, and its retries (a fresh handshake, forced) do not bring it back.
D=3
DPUB=$(cat /tmp/c$D.pub)
d_gone() { ! kernel_peers | grep -qxF "$DPUB"; }
t0=$(now_ms)
nsx gw jitwg peer del --registry "http://$REG" --public-key "$DPUB" >/dev/null 2>&1
if wait_until 5 d_gone; then
	result delete_revokes pass "$(($(now_ms) - t0)) ms"
else
	result delete_revokes fail "still installed 5 s after the delete"
fi
client_reset $D
if ping_c $D x 3 || ping_c $D x 3 || ! d_gone; then
	result delete_stays_revoked fail "reply or re-install after the delete"
else
	result delete_stays_revoked pass "$(metric jitwg_registry_gone_total) revoked"
fi

# ---- replay -------------------------------------------------------------------
# R (client 41) is registered. M1 is a valid initiation from R, seen once
# from R's address A, which installs R. M2, newer, also from A, is consumed
# by the kernel as well (R is installed by then), so both the daemon and the
# kernel have a timestamp newer than M1. M1 again, from B, must then neither
# move R's endpoint nor, once R is gone, install it. (The kernel on its own
# would accept an initiation older than any it has consumed itself: see
# kernel_unseen_initiation in netlink.sh and docs/ARCHITECTURE.md.)
R=41
RPUB=$(cat /tmp/c$R.pub)
A=192.168.77.2:40041
B=192.168.77.3:40042
GWEP=192.168.77.1:$GW_PORT
r_ep() { nsx gw $WG show wg0 endpoints | awk -v k="$RPUB" '$1 == k { print $2 }'; }
r_installed() { kernel_peers | grep -qxF "$RPUB"; }
wginit make /tmp/c$R.key "$GWPUB" /tmp/m1 age 2
nsx cl wginit send /tmp/m1 $A $GWEP
if wait_until 8 r_installed && [ "$(r_ep)" = $A ]; then
	result replay_setup pass
else
	result replay_setup fail "R not installed at $A ($(r_ep))"
fi
# M0 is older than M1 and was never sent: to the daemon a replay, to the
# kernel possibly fresh (if it never consumed M1, its state is empty and it
# takes M0, moving the endpoint). Either way R must end up at A again.
wginit make /tmp/c$R.key "$GWPUB" /tmp/m0 age 30
sleep 1.2 # past the kernel's 20 ms per-peer initiation limit, generously
nsx cl wginit send /tmp/m0 $B $GWEP
sleep 3
echo "INFO unseen stale initiation: endpoint_restores_total=$(metric jitwg_endpoint_restores_total)"
[ "$(r_ep)" = $A ] && result replay_unseen_endpoint_kept pass || result replay_unseen_endpoint_kept fail "endpoint $(r_ep)"
sleep 1.2
wginit make /tmp/c$R.key "$GWPUB" /tmp/m2
nsx cl wginit send /tmp/m2 $A $GWEP
sleep 1
rej0=$(metric jitwg_replay_rejected_total)
nsx cl wginit send /tmp/m1 $B $GWEP
sleep 3
[ "$(r_ep)" = $A ] && result replay_moves_no_endpoint pass || result replay_moves_no_endpoint fail "endpoint $(r_ep)"
wait_metric 3 jitwg_replay_rejected_total -gt "$rej0" && result replay_counted pass ||
	result replay_counted fail "replay_rejected_total $(metric jitwg_replay_rejected_total)"
# Gone from the kernel (as after an eviction), the replay must not bring it back.
nsx gw $WG set wg0 peer "$RPUB" remove
nsx cl wginit send /tmp/m1 $B $GWEP
sleep 3
r_installed && result replay_installs_nothing fail "R reinstalled" || result replay_installs_nothing pass
# Control: a fresh initiation from B is honoured (so the replay was refused
# for its timestamp, not because nothing got through).
wginit make /tmp/c$R.key "$GWPUB" /tmp/m3
nsx cl wginit send /tmp/m3 $B $GWEP
wait_until 8 r_installed && [ "$(r_ep)" = $B ] && result fresh_initiation_installs pass ||
	result fresh_initiation_installs fail "R at $(r_ep)"
nsx gw $WG set wg0 peer "$RPUB" remove

# ---- restart adoption -----------------------------------------------------------
before=$(kernel_count)
stop_jitwgd && result stop_sigterm pass || result stop_sigterm fail
[ "$(kernel_count)" = "$before" ] && result stop_keeps_peers pass || result stop_keeps_peers fail "$(kernel_count) of $before"
t0=$(now_ms)
# This time with --backend auto: no UAPI socket, so it must pick the kernel.
if BACKEND=auto start_jitwgd --idle-timeout 600; then
	grep -q 'interface wg0 (kernel)' /tmp/jitwgd.log && result auto_picks_kernel pass || result auto_picks_kernel fail
	echo "INFO restart to metrics in $(($(now_ms) - t0)) ms with $before peers installed"
	wait_metric 5 jitwg_peers_installed -eq "$before" && result restart_adopts pass "$before peers" ||
		result restart_adopts fail "gauge $(metric jitwg_peers_installed), kernel $before"
	# Adopted, not reinstalled (a client's own rekey could count an update, so
	# the ready line is the witness rather than installs_total).
	grep -q "ready in .* $before peers adopted" /tmp/jitwgd.log && wait_until 5 ping_c 1 &&
		wait_until 5 ping_c 2 v6 && result restart_tunnels_kept pass ||
		result restart_tunnels_kept fail "installs $(metric jitwg_installs_total)"
else
	result restart_adopts fail "jitwgd did not restart"
fi

# ---- eviction, then re-install ------------------------------------------------------
stop_jitwgd
start_jitwgd --idle-timeout 3 --grace 1
t0=$(now_ms)
no_peers() { [ "$(kernel_count)" = 0 ]; }
if wait_until 30 no_peers; then
	result evict_idle pass "$(($(now_ms) - t0)) ms for $before peers"
else
	result evict_idle fail "$(kernel_count) peers left"
fi
[ "$(metric jitwg_evictions_total)" -ge "$before" ] && [ "$(metric jitwg_peers_installed)" = 0 ] &&
	result evict_metrics pass || result evict_metrics fail "evictions $(metric jitwg_evictions_total)"
client_reset 1
t0=$(now_ms)
if wait_until 5 ping_c 1; then
	result reinstall_after_evict pass "$(($(now_ms) - t0)) ms"
else
	result reinstall_after_evict fail
fi

# ---- re-injection (the default): kernel WireGuard answers the client's own initiation
# Clients 1 (IPv4) and 2 (IPv6) come back to a gateway without their peers:
# jitwgd re-injects each captured initiation, the kernel answers it and the
# gateway initiates nothing (the counters are the new process's). Client 1's
# record now has a persistent keepalive: the kernel gets it only once the
# copy is consumed, since turning it on makes the kernel initiate, which
# would cross the copy (one initiation captured per client, no more).
stop_jitwgd
nsx gw jitwg peer update --registry "http://$REG" --public-key "$(cat /tmp/c1.pub)" --persistent-keepalive 25 \
	>/dev/null 2>&1 || result reinject_keepalive fail "registry update"
nsx gw $WG set wg0 peer "$(cat /tmp/c1.pub)" remove peer "$(cat /tmp/c2.pub)" remove
client_reset 1
client_reset 2 v6
start_jitwgd --idle-timeout 600
if wait_until 5 ping_c 1 && wait_until 5 ping_c 2 v6; then
	result reinject_connect pass
else
	result reinject_connect fail "$(metric jitwg_install_reinjected_total) re-injected"
fi
wait_metric 3 jitwg_install_reinjected_total -ge 2
[ "$(metric jitwg_install_reinjected_total)" -ge 2 ] && [ "$(metric jitwg_initiations_sent_total)" = 0 ] &&
	[ "$(metric jitwg_replay_rejected_total)" = 0 ] && result reinject_answered pass ||
	result reinject_answered fail "re-injected $(metric jitwg_install_reinjected_total), initiations $(metric jitwg_initiations_sent_total), replays $(metric jitwg_replay_rejected_total)"
c1_keepalive() { nsx gw $WG show wg0 persistent-keepalive | awk -v k="$(cat /tmp/c1.pub)" '$1 == k { print $2 }'; }
c1_keepalive_on() { [ "$(c1_keepalive)" = 25 ]; }
if wait_until 3 c1_keepalive_on && [ "$(metric jitwg_captured_total)" = 2 ]; then
	result reinject_keepalive pass
else
	result reinject_keepalive fail "keepalive $(c1_keepalive), captured $(metric jitwg_captured_total)"
fi

# ---- under load: the kernel's cookie replies, seen leaving
# One valid initiation replayed 5,000 times a second from spoofed sources
# (192.168.99.0/24, routed back to cl) keeps the kernel's handshake queue
# past its mark (512; each replay costs it a DH before the timestamp
# check), while jitwgd drops the replays before decoding (seen ephemeral):
# the kernel answers them with cookie replies, and the capture's egress tap
# (open during the burst) sees them leave. Client 1 comes back meanwhile;
# reported, not asserted: whether its copy went with a cookie (that depends
# on the guest kernel being under load at that moment) and its connect time.
stop_jitwgd
nsx gw $WG set wg0 peer "$(cat /tmp/c1.pub)" remove
$IP -n gw route add 192.168.99.0/24 via 192.168.77.2
start_jitwgd --idle-timeout 600
nsx cl jitwg loadgen --endpoint 192.168.77.1:$GW_PORT --server-public-key "$GWPUB" --clients 0 \
	--flood replay --flood-prefix 192.168.99.0/24 --flood-rate 5000 --flood-duration 30 --progress 0 \
	>/tmp/flood.log 2>&1 &
FPID=$!
if wait_metric 20 jitwg_capture_cookies_total -ge 100; then
	result cookie_tap pass "$(metric jitwg_capture_cookies_total) cookie replies seen"
else
	result cookie_tap fail "captured $(metric jitwg_captured_total), egress open $(metric jitwg_capture_egress_open), cookie replies $(metric jitwg_capture_cookies_total)"
fi
# Client 1 comes back as a userspace client (jitwg loadgen with its key):
# the guest's kernel WireGuard clients share the gateway's kernel, whose
# "under load" state is one for all its interfaces, so wc1 would itself
# refuse the gateway's response.
echo "$(cat /tmp/c1.key) 10.77.1.1" >/tmp/c1.lg
nsx cl jitwg loadgen --endpoint 192.168.77.1:$GW_PORT --server-public-key "$GWPUB" --keys /tmp/c1.lg \
	--ping 10.77.0.1 --progress 0 >/tmp/lg1.log 2>&1
lg=$(grep -E '^connect ms|^timeouts' /tmp/lg1.log | tr '\n' ' ')
if grep -q '^handshakes: 1 ok' /tmp/lg1.log; then
	result cookie_connect pass "$lg; copies sent with a cookie $(metric jitwg_install_reinject_cookied_total), gateway initiations $(metric jitwg_initiations_sent_total)"
else
	result cookie_connect fail "$lg $(tail -n 2 /tmp/lg1.log | tr '\n' ' ')"
fi
kill "$FPID" 2>/dev/null
wait "$FPID" 2>/dev/null
stop_jitwgd || result final_stop fail
echo "INFO jitwgd log lines: $(wc -l </tmp/jitwgd.log)"
[ -n "$KG_VERBOSE" ] || grep -q 'fail' /tmp/results 2>/dev/null && sed 's/^/LOG /' /tmp/jitwgd.log
