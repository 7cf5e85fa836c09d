#!/usr/bin/env bash
# The messages a newcomer meets in the first hour say what is wrong and what
# was expected, and usage errors exit 2: a port in use, --listen without a
# port, each kind of bad CIDR, an all-zero or low-order key, --log-level
# spelled as another binary spells it, swapped TLS certificate and key,
# secrets that other users can read, and a registry beyond loopback without
# a token. Servers run in a namespace of their own, so fixed ports are safe.
source "$(dirname "$0")/../lib.sh"
for b in jitwg jitwgd jitwg-registry jitwg-relay; do
	[ -x "$TL_BIN/$b" ] || { echo "build first (make)"; exit 77; }
done
command -v openssl >/dev/null || { echo "openssl(1) not installed"; exit 77; }
tl_init
ns=$(tl_netns msg)
T=$TL_TMP

# expect WANT_RC WANT_TEXT CMD... -> runs CMD (10 s at most), checks its exit
# code and that its stderr holds WANT_TEXT.
expect() {
	local want_rc=$1 want=$2 rc=0
	shift 2
	timeout 10 "$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" = "$want_rc" ] || tl_fail "$* exited $rc, want $want_rc: $(cat "$T/err")"
	grep -qF -- "$want" "$T/err" || tl_fail "$* did not say '$want': $(cat "$T/err")"
}

# bg_says TEXT CMD... -> starts the server CMD in the namespace, waits until
# its log holds TEXT, stops it.
bg_says() {
	local want=$1 pid
	shift
	: >"$T/bg.log"
	tl_bg ip netns exec "$ns" "$@" 2>"$T/bg.log"
	pid=$TL_LAST_PID
	tl_wait_until 10 grep -qF -- "$want" "$T/bg.log" || tl_fail "$* did not log '$want': $(cat "$T/bg.log")"
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# 1. The registry: a port already taken, --listen without a port.
tl_bg ip netns exec "$ns" /usr/bin/python3 -c '
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 18081)); s.listen()
time.sleep(60)'
holder=$TL_LAST_PID
tl_wait_until 10 sh -c "ip netns exec $ns ss -Hltn 'sport = :18081' | grep -q 18081" || tl_fail "port holder did not listen"
expect 1 "the port is already in use" ip netns exec "$ns" "$TL_BIN/jitwg-registry" --listen 127.0.0.1:18081 --db "$T/r.db"
expect 1 "the address is not on this host" ip netns exec "$ns" "$TL_BIN/jitwg-registry" --listen 192.0.2.1:18081 --db "$T/r.db"
kill "$holder"
expect 2 "--listen 8081: expected ADDR:PORT, e.g. 127.0.0.1:8080" "$TL_BIN/jitwg-registry" --listen 8081 --db "$T/r2.db"
[ ! -e "$T/r2.db" ] || tl_fail "a usage error created the database"
tl_log "registry: port in use, address not here (exit 1), --listen 8081 (exit 2, no database made)"

# 2. CIDRs: each mistake its own reason.
k=yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
add=("$TL_BIN/jitwg" peer add --registry http://127.0.0.1:9)
expect 2 "'10.8.0.300/32': not an IPv4 or IPv6 address" "${add[@]}" --public-key $k --allowed-ips 10.8.0.300/32
expect 2 "'10.9.0.0/33': the prefix length is over 32 (IPv4)" "${add[@]}" --public-key $k --allowed-ips 10.9.0.0/33
expect 2 "'fd00:8::zz/128': not an IPv4 or IPv6 address" "${add[@]}" --public-key $k --allowed-ips fd00:8::zz/128
expect 2 "'10.9.0.1/24': host bits must be zero" "${add[@]}" --public-key $k --allowed-ips 10.9.0.1/24
tl_log "CIDR: bad address, prefix over 32, bad IPv6, host bits: four reasons, exit 2"

# 3. Keys of small order, refused before any registry is asked (port 9 is closed).
expect 2 "is a key of small order" "${add[@]}" --public-key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= --allowed-ips 10.9.0.2/32
expect 2 "is a key of small order" "${add[@]}" --public-key 4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA= --allowed-ips 10.9.0.2/32
expect 2 "--gateway-public-key: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= is a key of small order" \
	"$TL_BIN/jitwg" peer config --registry http://127.0.0.1:9 \
	--gateway-public-key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= --endpoint 192.0.2.1:51820
tl_log "keys: all-zero and order-8 keys refused at once (exit 2)"

# 4. One --log-level spelling for every binary: the relay takes 'error' and
# 'err' and goes on to the next problem; jitwgd takes 'err' too.
for lvl in error err warning; do
	expect 2 "--listen" "$TL_BIN/jitwg-relay" --log-level $lvl --listen 8081
	expect 2 "--interface" "$TL_BIN/jitwgd" --log-level $lvl --registry http://127.0.0.1:9
done
expect 2 "expected error, warn, info or debug" "$TL_BIN/jitwg-relay" --log-level loud --listen 127.0.0.1:1
expect 2 "is not error, warn, info or debug" "$TL_BIN/jitwgd" --log-level loud --interface x --registry http://127.0.0.1:9
tl_log "--log-level: error/err/warning on jitwg-relay and jitwgd, one message for a bad one"

# 5. TLS: swapped certificate and key; a key other users can read.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=relay.test -days 2 \
	-keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
chmod 600 "$T/key.pem"
expect 1 "are --tls-cert and --tls-key swapped?" ip netns exec "$ns" "$TL_BIN/jitwg-relay" \
	--listen 127.0.0.1:18443 --tls-cert "$T/key.pem" --tls-key "$T/cert.pem"
chmod 666 "$T/key.pem"
bg_says "--tls-key $T/key.pem is readable by other users; chmod o-rwx" \
	"$TL_BIN/jitwg-relay" --listen 127.0.0.1:18443 --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
tl_log "relay: swapped cert/key named (exit 1), 0666 TLS key warned about"

# 6. Tokens and private keys other users can read; an open registry.
printf 'secret-token\n' >"$T/token"
chmod 644 "$T/token"
bg_says "--token-file $T/token is readable by other users" \
	"$TL_BIN/jitwg-registry" --listen 127.0.0.1:18080 --db "$T/reg.db" --token-file "$T/token"
bg_says "without --token-file: anyone who reaches this address" \
	"$TL_BIN/jitwg-registry" --listen 0.0.0.0:18080 --db "$T/reg.db"
: >"$T/bg.log"
tl_bg ip netns exec "$ns" "$TL_BIN/jitwg-registry" --listen 127.0.0.1:18080 --db "$T/reg.db" 2>"$T/bg.log"
tl_wait_until 10 grep -q "listening on" "$T/bg.log" || tl_fail "registry on loopback did not start"
! grep -q "without --token-file" "$T/bg.log" || tl_fail "a loopback registry was warned about"
kill "$TL_LAST_PID"
expect 1 "--token-file $T/token is readable by other users" \
	"$TL_BIN/jitwgd" --interface nosuch0 --registry http://127.0.0.1:9 --token-file "$T/token" \
	--status-socket '' --cache "$T/gw.db"
wg genkey >"$T/client.key" 2>/dev/null || openssl rand -base64 32 >"$T/client.key"
chmod 644 "$T/client.key"
expect 1 "warning: $T/client.key: the key file is readable by other users" \
	"$TL_BIN/jitwg" peer config --registry http://127.0.0.1:9 --private-key "$T/client.key" \
	--gateway-public-key $k --endpoint 192.0.2.1:51820
tl_log "0644 token (registry, jitwgd) and 0644 private key warned about; 0.0.0.0 without a token warned, loopback not"

# 7. --backend auto without access to wireguard-go's root-only socket names
# the packaged drop-in (it used to say the kernel has no WireGuard).
if command -v wireguard-go >/dev/null && command -v setpriv >/dev/null; then
	IF=$(tl_ifname m)
	tl_wg_go "$ns" "$IF"
	for backend in auto userspace; do
		expect 1 "permission denied on the UAPI socket /var/run/wireguard/$IF.sock" \
			ip netns exec "$ns" setpriv --reuid 65534 --regid 65534 --clear-groups \
			"$TL_BIN/jitwgd" --interface "$IF" --backend $backend --registry http://127.0.0.1:9 \
			--status-socket '' --cache "$T/nobody.db"
		grep -qF "/usr/share/doc/jitwgd/examples/jitwgd-userspace.conf" "$T/err" || tl_fail "drop-in not named: $(cat "$T/err")"
	done
	tl_log "--backend auto/userspace, socket not ours: the userspace drop-in is named"
fi
tl_log "PASS"
