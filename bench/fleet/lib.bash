# shellcheck shell=bash
# The fleet topology, shared by bench/fleet/*.sh and tests/integration/fleet_smoke.sh.
#
# Namespaces are named fl-<pid>-NAME (this bench's prefix):
#   hub      a bridge every other namespace hangs off (10.200.0.0/16)
#   reg      PostgreSQL (unix socket) and two jitwg-registry processes,
#            10.200.0.2:8081 and :8082, on one database
#   jgwI     JIT gateway I: wireguard-go, jitwgd (own cache), 10.200.1.(I+1)
#   pgwI     push gateway I (the old design, bench only): wireguard-go whose
#            peers the driver installs at registration, 10.200.2.(I+1), and
#            pushexporter.py serving its /metrics
#   fgwI     with FL_FILTER=1 only: a third instance of gateway I, JIT behind
#            the nftables admission filter (packaging/nftables/jitwg.nft loaded
#            in its namespace, jitwgd --admit-set inet:jitwg:admit), 10.200.3.(I+1)
#   cl       the clients: jitwg loadgen, 10.200.9.1
#
# Gateway I's JIT and push instances share one key, so a client of home I
# uses the same configuration against both. Both serve /metrics on
# 127.0.0.1:9100 in their namespace (jitwgd; pushexporter.py for push) and
# are scraped the same way (fl_metrics). Everything is registered with
# tests/lib.sh and removed by its EXIT trap.

# shellcheck source=../../tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../tests/lib.sh"
# shellcheck source=../../tests/pg.bash
source "$(dirname "${BASH_SOURCE[0]}")/../../tests/pg.bash"

umask 077
FL_PORT=51820
FL_REG_ADDR=10.200.0.2
FLEETKEYS=""
declare -a FL_JGW FL_PGW FL_JIF FL_PIF FL_JPID FL_GWPUB FL_REGPID FL_FGW FL_FIF FL_FPID
FL_JITWGD_ARGS=()
FL_FILTER=${FL_FILTER:-0}

# fl_calc EXPR -> EXPR evaluated by awk (floating point; ?: allowed), no bc needed.
fl_calc() { awk "BEGIN { printf \"%.6f\\n\", $1 }"; }

fl_need() {
	command -v wireguard-go >/dev/null || { echo "wireguard-go not installed"; exit 77; }
	[ -x "$TL_BIN/jitwgd" ] && [ -x "$TL_BIN/jitwg" ] || { echo "build first (make)"; exit 77; }
	local pgbin=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
	[ -x "$pgbin/initdb" ] && id postgres >/dev/null 2>&1 || { echo "PostgreSQL server not installed"; exit 77; }
}

# fl_start G -> the common start of every fleet bench: OUT made absolute, checks, temp dir,
# tools built, the topology with G gateways.
fl_start() {
	OUT=${OUT:?set OUT to a directory}
	mkdir -p "$OUT"
	OUT=$(cd "$OUT" && pwd)
	fl_need
	tl_init
	fl_build_tools
	fl_setup "$1"
}

# fl_build_tools -> builds bench/fleet/fleetkeys.c (make's bench tools; needs the static libraries).
fl_build_tools() {
	FLEETKEYS=$TL_ROOT/build/bin/fleetkeys
	make -s -C "$TL_ROOT" build/bin/fleetkeys >/dev/null || tl_fail "cannot build fleetkeys"
}

# fl_netns NAME / fl_ifname TAG -> tl_netns / tl_ifname with this bench's prefix: netns
# "fl-<pid>-NAME" with lo up; WireGuard interface "fl<TAG><pid>" (<= 15 chars; its UAPI socket
# is machine-wide, hence the PID). Recorded for tl_cleanup, which removes both.
fl_netns() {
	local n=fl-$$-$1
	ip netns add "$n" && echo "$n" >>"$TL_TMP/.netns" && ip -n "$n" link set lo up && echo "$n"
}
fl_ifname() { printf 'fl%s%s\n' "$1" "$(($$ % 100000))" | cut -c1-15 | tee -a "$TL_TMP/.ifaces"; }

# fl_attach NS ADDR -> a veth from NS (ADDR/16) to the hub bridge.
fl_attach() {
	local ns=$1 addr=$2 tag
	tag=$(printf '%x' "$((RANDOM * 32768 + RANDOM))")
	ip link add "fla$tag" netns "$ns" type veth peer name "flb$tag" netns "$FL_HUB"
	ip -n "$ns" addr add "$addr/16" dev "fla$tag"
	ip -n "$ns" link set "fla$tag" up
	ip -n "$FL_HUB" link set "flb$tag" master br0 up
	FL_LASTDEV=fla$tag
}

# fl_pg_start -> a private PostgreSQL cluster in $TL_TMP/pg (tests/pg.bash: unix socket
# only); sets FL_DB. Stopped by the EXIT trap.
fl_pg_start() {
	trap 'rc=$?; tl_pg_stop; (exit $rc); tl_cleanup' EXIT
	tl_pg_start "$TL_TMP/pg" -c fsync=off -c synchronous_commit=off -c max_connections=200 ||
		tl_fail "postgres did not start"
	FL_DB=$TL_PG_URL
}

# fl_setup G -> hub, registry namespace with PostgreSQL and two registries, G JIT + G push gateways, clients.
fl_setup() {
	local g=$1 i key
	FL_G=$g
	FL_HUB=$(fl_netns hub)
	ip -n "$FL_HUB" link add br0 type bridge
	ip -n "$FL_HUB" link set br0 up
	FL_REG=$(fl_netns reg)
	fl_attach "$FL_REG" "$FL_REG_ADDR"
	FL_REGDEV=$FL_LASTDEV
	FL_CL=$(fl_netns cl)
	fl_attach "$FL_CL" 10.200.9.1
	fl_pg_start
	fl_registries_start
	for ((i = 0; i < g; i++)); do
		key=$TL_TMP/gw$i.key
		wg genkey >"$key"
		FL_GWPUB[$i]=$(wg pubkey <"$key")
		FL_JGW[$i]=$(fl_netns "j$i")
		fl_attach "${FL_JGW[$i]}" "10.200.1.$((i + 1))"
		FL_PGW[$i]=$(fl_netns "p$i")
		fl_attach "${FL_PGW[$i]}" "10.200.2.$((i + 1))"
		fl_wg_up "$i" j
		fl_wg_up "$i" p
		if [ "$FL_FILTER" = 1 ]; then
			FL_FGW[$i]=$(fl_netns "f$i")
			fl_attach "${FL_FGW[$i]}" "10.200.3.$((i + 1))"
			fl_nft_load "$i"
			fl_wg_up "$i" f
		fi
	done
}

# fl_nft_load I -> the shipped admission filter in gateway I's filtered instance, with its
# WireGuard port the only element of @wgports. It stays across reboots of the data plane (the
# namespace does); each jitwgd start flushes and rebuilds @admit4/@admit6.
fl_nft_load() {
	local ns=${FL_FGW[$1]}
	command -v nft >/dev/null || tl_fail "nft not installed (scripts/deps.sh: nftables)"
	ip netns exec "$ns" nft -f "$TL_ROOT/packaging/nftables/jitwg.nft" || tl_fail "cannot load jitwg.nft"
	ip netns exec "$ns" nft flush set inet jitwg wgports
	ip netns exec "$ns" nft add element inet jitwg wgports "{ $FL_PORT }"
}

# fl_nft_counter I NAME -> packets counted by the filter's named counter (admitted, dropped).
fl_nft_counter() {
	ip netns exec "${FL_FGW[$1]}" nft list counter inet jitwg "$2" | sed -n 's/.*packets \([0-9]*\) .*/\1/p'
}

# fl_registries_start / fl_registries_stop -> the two jitwg-registry processes (FL_REGPID)
fl_registries_start() {
	local i
	for i in 1 2; do
		tl_bg ip netns exec "$FL_REG" "$TL_BIN/jitwg-registry" --listen "$FL_REG_ADDR:808$i" --db "$FL_DB" \
			--threads 4 >/dev/null 2>>"$TL_TMP/registry$i.log"
		FL_REGPID[$i]=$TL_LAST_PID
	done
	for i in 1 2; do
		tl_wait_until 20 ip netns exec "$FL_REG" curl -sf "http://$FL_REG_ADDR:808$i/healthz" ||
			{ cat "$TL_TMP/registry$i.log" >&2; tl_fail "registry $i did not start"; }
	done
}

fl_registries_stop() {
	local i
	for i in 1 2; do
		kill "${FL_REGPID[$i]}" 2>/dev/null || true
		wait "${FL_REGPID[$i]}" 2>/dev/null || true
	done
}

# fl_wg_up I j|p|f -> (re)starts gateway I's wireguard-go, empty, with the gateway key.
fl_wg_up() {
	local i=$1 kind=$2 ns ifn
	case $kind in j) ns=${FL_JGW[$i]} ;; f) ns=${FL_FGW[$i]} ;; *) ns=${FL_PGW[$i]} ;; esac
	ifn=$(fl_ifname "$kind$i")
	tl_wg_go "$ns" "$ifn"
	ip netns exec "$ns" wg set "$ifn" private-key "$TL_TMP/gw$i.key" listen-port "$FL_PORT"
	ip -n "$ns" addr add 10.127.255.254/32 dev "$ifn"
	ip -n "$ns" link set "$ifn" up
	case $kind in j) FL_JIF[$i]=$ifn ;; f) FL_FIF[$i]=$ifn ;; *) FL_PIF[$i]=$ifn ;; esac
}

# fl_wg_down I j|p|f -> stops gateway I's wireguard-go (its peers are gone, as after a reboot).
fl_wg_down() {
	local i=$1 kind=$2 ns ifn pid
	case $kind in
	j) ns=${FL_JGW[$i]} ifn=${FL_JIF[$i]} ;;
	f) ns=${FL_FGW[$i]} ifn=${FL_FIF[$i]} ;;
	*) ns=${FL_PGW[$i]} ifn=${FL_PIF[$i]} ;;
	esac
	local -a pids=()
	for pid in $(ip netns pids "$ns"); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = wireguard-go ] && kill "$pid" && pids+=("$pid")
	done
	tl_wait_until 10 bash -c "! test -S /var/run/wireguard/$ifn.sock" || rm -f "/var/run/wireguard/$ifn.sock"
	# gone, not only its socket: a new one must be the only wireguard-go in the namespace
	for pid in "${pids[@]}"; do tl_wait_until 10 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true; done
	ip -n "$ns" link del "$ifn" 2>/dev/null || true
}

# fl_registry_url I -> gateway I's registry (the two are shared round-robin; FL_REGISTRY_URL overrides).
fl_registry_url() { echo "${FL_REGISTRY_URL:-http://$FL_REG_ADDR:808$(($1 % 2 + 1))}"; }

# fl_jitwgd_start I [args] -> jitwgd on JIT gateway I (FL_JITWGD_ARGS first, then args).
# I given as fI: on gateway I's filtered instance (FL_FILTER=1), with --admit-set
# inet:jitwg:admit and its own cache (cachefI.db), log and PID (FL_FPID[I]).
fl_jitwgd_start() {
	local i=$1 ns ifn tag
	shift
	if [ "${i#f}" != "$i" ]; then
		i=${i#f} tag=f${i#f} ns=${FL_FGW[${i#f}]} ifn=${FL_FIF[${i#f}]}
		set -- --admit-set inet:jitwg:admit "$@"
	else
		tag=$i ns=${FL_JGW[$i]} ifn=${FL_JIF[$i]}
	fi
	tl_bg ip netns exec "$ns" "$TL_BIN/jitwgd" --interface "$ifn" --registry "$(fl_registry_url "$i")" \
		--gateway "gw-$i" --cache "$TL_TMP/cache$tag.db" --metrics 127.0.0.1:9100 --status-socket "" \
		--admit-threshold 100000000 "${FL_JITWGD_ARGS[@]}" "$@" >/dev/null 2>>"$TL_TMP/jitwgd$tag.log"
	if [ "$tag" = "$i" ]; then FL_JPID[$i]=$TL_LAST_PID; else FL_FPID[$i]=$TL_LAST_PID; fi
	tl_wait_until 15 ip netns exec "$ns" curl -sf http://127.0.0.1:9100/metrics ||
		{ tail -n 20 "$TL_TMP/jitwgd$tag.log" >&2; tl_fail "jitwgd $tag did not start"; }
}

# fl_jitwgd_stop I|fI -> stops the jitwgd fl_jitwgd_start started there.
fl_jitwgd_stop() {
	local i=${1#f} pid
	if [ "$i" = "$1" ]; then pid=${FL_JPID[$i]:-}; FL_JPID[$i]=""; else pid=${FL_FPID[$i]:-}; FL_FPID[$i]=""; fi
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	wait "$pid" 2>/dev/null || true
}

# fl_pushexp_start I IDLE -> pushexporter.py for push gateway I (its /metrics, idle timeout IDLE s).
fl_pushexp_start() {
	local i=$1 ns=${FL_PGW[$1]}
	tl_bg ip netns exec "$ns" python3 "$TL_ROOT/bench/fleet/pushexporter.py" "${FL_PIF[$i]}" "$2" 127.0.0.1 9100 \
		>/dev/null 2>>"$TL_TMP/pushexp$i.log"
	tl_wait_until 15 ip netns exec "$ns" curl -sf http://127.0.0.1:9100/metrics ||
		{ tail -n 20 "$TL_TMP/pushexp$i.log" >&2; tl_fail "push exporter $i did not start"; }
}

# fl_metrics I [j|p|f] -> gateway I's /metrics text: JIT (jitwgd, the default), push
# (pushexporter.py) or the filtered JIT instance (its jitwgd).
fl_metrics() {
	local ns=${FL_JGW[$1]}
	[ "${2:-j}" = p ] && ns=${FL_PGW[$1]}
	[ "${2:-j}" = f ] && ns=${FL_FGW[$1]}
	ip netns exec "$ns" curl -sf --max-time 5 http://127.0.0.1:9100/metrics
}

# fl_keys FROM N -> "priv pub ip gw" lines of clients FROM..FROM+N-1.
fl_keys() { "$FLEETKEYS" keys "$1" "$2" "$FL_G"; }

# fl_register FILE -> POSTs every "priv pub ip gw" line of FILE, spread over both registries.
# Prints the count of non-201 answers (0 when all were created).
fl_register() {
	local f=$1 cfg=$TL_TMP/reg.$RANDOM
	awk -v a="$FL_REG_ADDR" '{ printf "url = \"http://%s:808%d/v1/peers\"\ndata = \"{\\\"public_key\\\":\\\"%s\\\",\\\"allowed_ips\\\":[\\\"%s\\\"],\\\"gateway\\\":\\\"%s\\\"}\"\nheader = \"Content-Type: application/json\"\nwrite-out = \"%%{http_code}\\n\"\noutput = \"/dev/null\"\nnext\n", a, NR % 2 + 1, $2, $3, $4 }' "$f" | sed '$d' >"$cfg"
	[ -s "$cfg" ] || { echo 0; return; }
	ip netns exec "$FL_REG" curl -s --no-progress-meter --parallel --parallel-max 8 -K "$cfg" | grep -vc '^201$' || true
	rm -f "$cfg"
}

# fl_push_install I FILE -> installs FILE's peers of home gateway I on push gateway I (in chunks).
fl_push_install() {
	local i=$1 f=$2 conf=$TL_TMP/push.$RANDOM
	awk -v g="gw-$i" '$4 == g { printf "[Peer]\nPublicKey = %s\nAllowedIPs = %s\n", $2, $3 }' "$f" >"$conf"
	[ -s "$conf" ] && ip netns exec "${FL_PGW[$i]}" wg addconf "${FL_PIF[$i]}" "$conf"
	rm -f "$conf"
}

# fl_loadgen OUT ENDPOINT GWPUB KEYSFILE [loadgen args] -> runs loadgen in cl on the "priv ip" file.
fl_loadgen() {
	local out=$1 ep=$2 pub=$3 keys=$4
	shift 4
	ip netns exec "$FL_CL" "$TL_BIN/jitwg" loadgen --endpoint "$ep" --server-public-key "$pub" \
		--keys "$keys" --progress 0 "$@" >"$out" 2>&1
}
