# Guest side of bench/kernel/burst.sh (busybox ash): bench/burst's bursts on
# kernel WireGuard. Prints "BENCH key value..." lines, the table as "BURST"
# lines (bench/burst's columns) and every loadgen's output as "RAW RATE RUN
# MODE line". All figures are from a TCG guest.
#
# /files: gw.key; keys ("PRIVATE TUNNEL-IP", COUNT clients); registry.db
# (jitwg-registry on SQLite, the same COUNT peers); pre.conf (them as a wg
# config); params ("COUNT RUNS MODES..."); rates ("RATE...").
#
# Namespace gw: one kernel interface per mode, one private key: jit (51820,
# jitwgd with default options), inv (51822, jitwgd --reinject=false; only with
# MODES "inv") and pre (51821, every peer from pre.conf). Namespace cl: the
# loadgens, each mode's clients from their own /16 (one address per client:
# the kernel's under-load rate limit is per source address).
. /lib/kg.sh
[ "$1" = pre ] && exit 0

F=/files
read -r COUNT RUNS MODES <$F/params
RATES=$(cat $F/rates)
GWPUB=$($WG pubkey <$F/gw.key)
ulimit -n 65536
out() { echo "BURST $*"; }
port() { case $1 in jit) echo 51820 ;; pre) echo 51821 ;; inv) echo 51822 ;; esac; }
net() { case $1 in jit) echo 10.201 ;; inv) echo 10.202 ;; pre) echo 10.203 ;; esac; }
met() { case $1 in jit) echo 127.0.0.1:9100 ;; inv) echo 127.0.0.1:9101 ;; esac; }
margs() { [ "$1" = inv ] && echo --reinject=false; }

# The TCG slowdown first, on an idle guest: the X25519 loop of `jitwg bench
# identify` (OpenSSL, the same binary as on the host).
bench x25519_guest "$(jitwg bench identify --threads 1 --seconds 3 2>&1 | awk '/^x25519/ { print "per_cpu_s=" $5 " wall=" $6 }' | sed 's|/s||g')"

mk_ns gw
mk_ns cl
mk_veth gw vg 192.168.77.1/24 cl vc 192.168.77.2/24
for m in jit inv pre; do
	$IP -n cl route add local "$(net $m).0.0/16" dev lo
	$IP -n gw route add "$(net $m).0.0/16" via 192.168.77.2
done
nsx gw sysctl -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null 2>&1

# wg_fresh MODE -> that interface as a reboot leaves it: the key and its port, no peers.
wg_fresh() {
	$IP -n gw link del "$1" 2>/dev/null
	mk_wg gw "$1" $F/gw.key "$(port "$1")" ""
}

# not through nsx: a backgrounded shell function is a subshell, and $! would
# name it rather than the daemon
$IP netns exec gw jitwg-registry --listen 127.0.0.1:8080 --db $F/registry.db >/tmp/reg.log 2>&1 &
RPID=$!
wait_until 60 nsx gw wget -q -O /dev/null http://127.0.0.1:8080/healthz ||
	{ bench error registry did not start "$(tail -n 3 /tmp/reg.log)"; exit 1; }

# jmetric MODE KEY -> that jitwgd's counter
jmetric() {
	nsx gw wget -q -O - "http://$(met "$1")/metrics" 2>/dev/null |
		awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) exit 1 }'
}
# jit_start MODE -> its jitwgd on its own cache, in the background, ready.
# --cache-ttl 3600: the warm-up's records stay fresh through the whole run
# (TCG makes it longer than the default 300 s), so every run is served from
# the cache as on the host.
jit_start() {
	# shellcheck disable=SC2046 # margs is a word or nothing
	$IP netns exec gw jitwgd --interface "$1" --backend kernel --registry http://127.0.0.1:8080 \
		--cache "/tmp/$1.db" --metrics "$(met "$1")" --status-socket '' --registry-budget 0 \
		--idle-timeout 3600 --cache-ttl 3600 $(margs "$1") >>"/tmp/jitwgd-$1.log" 2>&1 &
	eval "JPID_$1=$!"
	wait_until 30 jmetric "$1" jitwg_installs_total ||
		{ bench error "jitwgd $1 did not start" "$(tail -n 3 "/tmp/jitwgd-$1.log" | tr '\n' ' ')"; exit 1; }
}
jit_stop() {
	eval "p=\${JPID_$1:-}"
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	eval "JPID_$1="
}
# restart_gw MODE -> jitwgd stopped, the interface deleted and re-created empty, jitwgd restarted on its cache
restart_gw() {
	jit_stop "$1"
	wg_fresh "$1"
	jit_start "$1"
}
# lg MODE RATE ATTEMPT LIMIT OUTFILE -> one loadgen against that gateway, at most LIMIT s
lg() {
	timeout "$4" $IP netns exec cl jitwg loadgen --endpoint "192.168.77.1:$(port "$1")" \
		--server-public-key "$GWPUB" --keys $F/keys --rate "$2" --source-prefix "$(net "$1").0.0/16" \
		--progress 0 --attempt-time "$3" >"$5" 2>&1
}
# stats OUTFILE -> "ok failed p50 p99 max retries cookies" (bench/burst's)
stats() {
	hs=$(sed -n 's/^handshakes: \([0-9]*\) ok, \([0-9]*\) failed; connect ms p50 \([0-9.]*\) p99 \([0-9.]*\) max \([0-9.]*\).*/\1 \2 \3 \4 \5/p' "$1" | tail -n 1)
	ex=$(sed -n 's/^timeouts [0-9]*, retries \([0-9]*\), cookie replies \([0-9]*\),.*/\1 \2/p' "$1" | tail -n 1)
	echo "${hs:-0 0 - - -} ${ex:-- -}"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'; }
row() {
	printf '%-5s %3s %5s %-4s %5s %5s %9s %9s %9s %7s %7s %6s %6s %9s %9s\n' "$@"
}

# ---- warm-up: every key fetched into each jitwgd's cache -----------------------------
# At most 3 rounds, until one connects all COUNT clients (each then has a
# cached record; a client that failed a round connects in the next).
for m in $MODES; do
	wg_fresh "$m"
	jit_start "$m"
	w=1
	while [ $w -le 3 ]; do
		lg "$m" 100 120 $((COUNT / 100 + 180)) "/tmp/warm-$m"
		# shellcheck disable=SC2046 # stats prints words
		set -- $(stats "/tmp/warm-$m")
		bench warmup "mode=$m round=$w ok=$1 failed=$2 p50_ms=$3 p99_ms=$4 retries=$6 cookies=$7" \
			"installs=$(jmetric "$m" jitwg_installs_total)"
		[ "$1" = "$COUNT" ] && break
		w=$((w + 1))
	done
done
wg_fresh pre
nsx gw $WG addconf pre $F/pre.conf
bench pre_installed "peers=$(nsx gw $WG show pre peers | wc -l)"

# ---- the bursts ---------------------------------------------------------------------
out "$(row rate run load mode ok fail p50_ms p99_ms max_ms retries cookies inits reinj p50/pre p99/pre)"
misses=
for m in $MODES; do eval "MISS_$m=0"; done
for rate in $RATES; do
	# the loadgens' bound: the arrivals, the clients' 30 s, and slack
	limit=$(((rate > 0 ? COUNT / rate : 0) + 90))
	run=1
	while [ $run -le "$RUNS" ]; do
		for m in $MODES; do restart_gw "$m"; done
		sleep 1
		load=$(cut -d' ' -f1 /proc/loadavg)
		pids=
		for m in pre $MODES; do
			lg "$m" "$rate" 30 "$limit" "/tmp/r-$m" &
			pids="$pids $!"
		done
		# shellcheck disable=SC2086 # the pids are words
		wait $pids
		# shellcheck disable=SC2046 # stats prints words
		set -- $(stats /tmp/r-pre)
		pre50=$3 pre99=$4
		for m in pre $MODES; do
			# shellcheck disable=SC2046
			set -- $(stats "/tmp/r-$m")
			inits=- reinj=-
			if [ "$m" != pre ]; then
				inits=$(jmetric "$m" jitwg_initiations_sent_total || echo 0)
				reinj=$(jmetric "$m" jitwg_install_reinjected_total || echo 0)
				miss=$(jmetric "$m" 'jitwg_cache_total{result="miss"}' || echo 0)
				eval "MISS_$m=\$((MISS_$m + $miss))"
			fi
			out "$(row "$rate" "$run" "$load" "$m" "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$inits" "$reinj" \
				"$(ratio "$3" "$pre50")" "$(ratio "$4" "$pre99")")"
			sed "s/^/RAW $rate $run $m /" "/tmp/r-$m"
		done
		run=$((run + 1))
	done
done
for m in $MODES; do eval "misses=\"$misses $m=\$MISS_$m\""; done
out "# cache misses in the runs (initiations not served from a fresh cached record):$misses; guest load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
for m in $MODES; do jit_stop "$m"; done
kill -TERM $RPID
wait $RPID
echo "BENCH done"
