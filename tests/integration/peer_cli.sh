#!/usr/bin/env bash
# `jitwg peer add|get|list|del|update|rotate|config` against a real
# jitwg-registry (SQLite): human and --json output, one-line errors with a
# non-zero exit (also del of an unknown key), paging through list, --owner,
# a config from `peer config` that wg-quick accepts (`wg-quick strip`, then
# `wg-quick up` with wireguard-go in a namespace), and config with an enroll
# token.
source "$(dirname "$0")/../lib.sh"
tl_init
command -v jq >/dev/null && command -v wg >/dev/null || { echo "needs jq and wg"; exit 77; }
JITWG=$TL_BIN/jitwg
REG=$TL_BIN/jitwg-registry
[ -x "$JITWG" ] && [ -x "$REG" ] || tl_fail "build first"

head -c 24 /dev/urandom | base64 >"$TL_TMP/token"
tl_bg "$REG" --listen 127.0.0.1:0 --db "$TL_TMP/reg.db" --token-file "$TL_TMP/token" \
	--pool 10.66.0.0/24,fd66::/64 2>"$TL_TMP/reg.log"
tl_wait_until 5 grep -q 'listening on' "$TL_TMP/reg.log" || tl_fail "registry did not start"
URL=http://127.0.0.1:$(grep -o 'port [0-9]*' "$TL_TMP/reg.log" | cut -d' ' -f2)
export JITWG_TOKEN_FILE=$TL_TMP/token
P=("$JITWG" peer)

# run_expect RC CMD... -> runs CMD, checks the exit status, keeps OUT and ERR.
run_expect() {
	local want=$1 rc=0
	shift
	"$@" >"$TL_TMP/out" 2>"$TL_TMP/err" || rc=$?
	OUT=$(cat "$TL_TMP/out")
	ERR=$(cat "$TL_TMP/err")
	[ "$rc" = "$want" ] || tl_fail "$*: exit $rc, want $want; out: $OUT; err: $ERR"
}
one_line() { [ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] || tl_fail "error is not one line: $ERR"; }

K=$(wg genkey | wg pubkey)
run_expect 0 "${P[@]}" add --registry "$URL" --public-key "$K" --allowed-ips 192.168.90.0/24,fd90::/64 \
	--gateway gw1 --expires 2040-01-01T00:00:00Z --persistent-keepalive 25
grep -q '^created' <<<"$OUT" || tl_fail "add: $OUT"
grep -q "allowed ips: 192.168.90.0/24, fd90::/64" <<<"$OUT" || tl_fail "add human output: $OUT"
run_expect 0 "${P[@]}" add --registry "$URL" --public-key "$K" --allowed-ips fd90::/64,192.168.90.0/24 \
	--gateway gw1 --expires 2040-01-01T00:00:00Z --persistent-keepalive 25
grep -q 'already registered' <<<"$OUT" || tl_fail "identical add: $OUT"
run_expect 0 "${P[@]}" get --registry "$URL" --public-key "$K" --json
[ "$(jq -r .gateway <<<"$OUT")" = gw1 ] || tl_fail "get --json: $OUT"
[ "$(jq -r .expires_at <<<"$OUT")" = 2040-01-01T00:00:00Z ] || tl_fail "get --json expires: $OUT"
run_expect 0 "${P[@]}" get --registry "$URL/" --public-key "$K"
grep -q "gateway: gw1" <<<"$OUT" || tl_fail "get human: $OUT"

# errors: one line, non-zero
run_expect 1 "${P[@]}" add --registry "$URL" --public-key "$(wg genkey | wg pubkey)" --allowed-ips 192.168.90.128/25
one_line
grep -q '409' <<<"$ERR" && grep -q 'allowed_ips' <<<"$ERR" || tl_fail "overlap error: $ERR"
run_expect 1 "${P[@]}" get --registry "$URL" --public-key "$(wg genkey | wg pubkey)"
one_line
grep -q '404' <<<"$ERR" || tl_fail "unknown peer: $ERR"
run_expect 2 "${P[@]}" add --registry "$URL" --public-key not-a-key
one_line
run_expect 2 "${P[@]}" add --registry "$URL" --public-key "$K" --allowed-ips 10.1.1.1/24
one_line
run_expect 2 "${P[@]}" add --registry "$URL" --public-key "$K" --expires tomorrow
run_expect 2 "${P[@]}" get --public-key "$K" --registry "$URL" --allowed-ips 10.0.0.0/8
run_expect 2 "${P[@]}" get --registry "$URL"
echo wrong >"$TL_TMP/badtoken"
run_expect 1 "${P[@]}" get --registry "$URL" --token-file "$TL_TMP/badtoken" --public-key "$K"
one_line
grep -q '401' <<<"$ERR" || tl_fail "bad token: $ERR"
run_expect 1 "${P[@]}" get --registry http://127.0.0.1:1 --public-key "$K"
one_line
grep -q 'cannot reach' <<<"$ERR" || tl_fail "unreachable: $ERR"

# list walks every page
for _ in 1 2 3 4 5 6; do
	run_expect 0 "${P[@]}" add --registry "$URL" --public-key "$(wg genkey | wg pubkey)"
done
run_expect 0 "${P[@]}" list --registry "$URL" --limit 2 --json
[ "$(jq '.peers | length' <<<"$OUT")" = 7 ] || tl_fail "list --json: $OUT"
[ "$(jq -r '.peers[].public_key' <<<"$OUT" | sort -u | wc -l)" = 7 ] || tl_fail "list repeats"
run_expect 0 "${P[@]}" list --registry "$URL" --limit 3
[ "$(wc -l <<<"$OUT")" = 7 ] || tl_fail "list human: $OUT"
run_expect 0 "${P[@]}" list --registry "$URL" --gateway other --json
[ "$(jq '.peers | length' <<<"$OUT")" = 6 ] || tl_fail "list --gateway: $OUT"

run_expect 0 "${P[@]}" del --registry "$URL" --public-key "$K"
grep -q deleted <<<"$OUT" || tl_fail "del: $OUT"
run_expect 1 "${P[@]}" get --registry "$URL" --public-key "$K"

# a registry that sends a bad page gets one line and exit 1, not a crash
cat >"$TL_TMP/fake.py" <<'EOF'
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = b'{"peers":[],"next_cursor":null}'
        self.send_response(200)
        self.send_header('Content-Length', str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
tl_bg python3 "$TL_TMP/fake.py" >"$TL_TMP/fake.port"
tl_wait_until 5 test -s "$TL_TMP/fake.port" || tl_fail "fake registry did not start"
run_expect 1 "${P[@]}" list --registry "http://127.0.0.1:$(cat "$TL_TMP/fake.port")"
one_line
grep -q 'invalid page' <<<"$ERR" || tl_fail "bad page: $ERR"

# ---- config --------------------------------------------------------------------
GWPRIV=$(wg genkey)
GWPUB=$(wg pubkey <<<"$GWPRIV")
IF=$(tl_ifname pc)
CONF=$TL_TMP/$IF.conf
run_expect 0 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --endpoint 127.0.0.1:51820 \
	--gateway gw1 --output "$CONF"
[ "$(stat -c %a "$CONF")" = 600 ] || tl_fail "config file mode $(stat -c %a "$CONF")"
priv=$(sed -n 's/^PrivateKey = //p' "$CONF")
pub=$(wg pubkey <<<"$priv") || tl_fail "PrivateKey is not a key"
grep -q '^Address = 10\.66\.0\.[0-9]*/32, fd66::[0-9a-f]*/128$' "$CONF" || tl_fail "Address: $(cat "$CONF")"
grep -qx "PublicKey = $GWPUB" "$CONF" || tl_fail "gateway key"
grep -qx "Endpoint = 127.0.0.1:51820" "$CONF" || tl_fail "endpoint"
grep -qx "AllowedIPs = 10.66.0.0/24, fd66::/64" "$CONF" || tl_fail "AllowedIPs from the pool: $(cat "$CONF")"
run_expect 0 "${P[@]}" get --registry "$URL" --public-key "$pub" --json
[ "$(jq -r .gateway <<<"$OUT")" = gw1 ] || tl_fail "config registered the wrong key: $OUT"
addr=$(sed -n 's/^Address = //p' "$CONF")
[ "$(jq -r '.allowed_ips | join(", ")' <<<"$OUT")" = "$addr" ] || tl_fail "Address differs from the record"
grep -q "$priv" "$TL_TMP/reg.db"* && tl_fail "private key reached the registry"
wg-quick strip "$CONF" >"$TL_TMP/stripped" 2>"$TL_TMP/strip.err" || tl_fail "wg-quick strip: $(cat "$TL_TMP/strip.err")"
grep -q "^PrivateKey = $priv" "$TL_TMP/stripped" || tl_fail "stripped config lost the key"

# with a given key: registered once, same address on a rerun; --route overrides the pool
wg genkey >"$TL_TMP/client.key"
run_expect 0 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --endpoint '[::1]:51820' \
	--private-key "$TL_TMP/client.key" --route 10.0.0.0/8,fd00::/8
c1=$OUT
grep -qx "PrivateKey = $(cat "$TL_TMP/client.key")" <<<"$c1" || tl_fail "--private-key not used"
grep -qx "AllowedIPs = 10.0.0.0/8, fd00::/8" <<<"$c1" || tl_fail "--route: $c1"
run_expect 0 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --endpoint '[::1]:51820' \
	--private-key "$TL_TMP/client.key" --route 10.0.0.0/8,fd00::/8
[ "$OUT" = "$c1" ] || tl_fail "rerun with the same key changed the config"
run_expect 2 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --endpoint ::1:51820
# the endpoint is pasted into the file: no way to add lines (PostUp) or spaces
run_expect 2 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" \
	--endpoint $'gw.example\nPostUp = touch /tmp/pwned\nx:51820'
run_expect 2 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --endpoint 'gw example:51820'
run_expect 2 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --endpoint '[::1 #]:51820'
run_expect 2 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --endpoint '[]:51820'
run_expect 2 "${P[@]}" config --registry "$URL" --gateway-public-key nope --endpoint 127.0.0.1:1
# an output that cannot be written fails before anything is registered
run_expect 0 "${P[@]}" list --registry "$URL" --json
before=$(jq '.peers | length' <<<"$OUT")
run_expect 1 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --endpoint 127.0.0.1:51820 \
	--output "$TL_TMP/no-such-dir/wg.conf"
one_line
run_expect 0 "${P[@]}" list --registry "$URL" --json
[ "$(jq '.peers | length' <<<"$OUT")" = "$before" ] || tl_fail "config registered a peer it could not write"

# ---- update, rotate, owner; del of an unknown key exits 1 ------------------------------
U=$(wg genkey | wg pubkey) U2=$(wg genkey | wg pubkey)
run_expect 0 "${P[@]}" add --registry "$URL" --public-key "$U" --allowed-ips 192.168.95.1/32 --name phone --owner carol
grep -q "owner: carol" <<<"$OUT" && grep -q "name: phone" <<<"$OUT" || tl_fail "add --name --owner: $OUT"
run_expect 0 "${P[@]}" list --registry "$URL" --owner carol --json
[ "$(jq -r '[.peers[].public_key] | join(" ")' <<<"$OUT")" = "$U" ] || tl_fail "list --owner: $OUT"
run_expect 2 "${P[@]}" list --registry "$URL" --owner 'no spaces'
run_expect 0 "${P[@]}" update --registry "$URL" --public-key "$U" --allowed-ips 192.168.95.2/32 \
	--expires 2041-01-01T00:00:00Z --name phone2 --persistent-keepalive 10
grep -q '^updated' <<<"$OUT" && grep -q "allowed ips: 192.168.95.2/32" <<<"$OUT" && grep -q "name: phone2" <<<"$OUT" ||
	tl_fail "update: $OUT"
run_expect 0 "${P[@]}" update --registry "$URL" --public-key "$U" --expires never --json
[ "$(jq -c '[.expires_at, .owner, .persistent_keepalive]' <<<"$OUT")" = '[null,"carol",10]' ] || tl_fail "update --expires never: $OUT"
run_expect 2 "${P[@]}" update --registry "$URL" --public-key "$U"
one_line
run_expect 2 "${P[@]}" update --registry "$URL" --public-key "$U" --expires soon
run_expect 1 "${P[@]}" update --registry "$URL" --public-key "$(wg genkey | wg pubkey)" --name x
one_line
grep -q 404 <<<"$ERR" || tl_fail "update unknown: $ERR"
run_expect 1 "${P[@]}" update --registry "$URL" --public-key "$U" --allowed-ips 10.66.0.2/32
grep -q 409 <<<"$ERR" || tl_fail "update overlap: $ERR"
run_expect 0 "${P[@]}" rotate --registry "$URL" --public-key "$U" --new-public-key "$U2"
grep -q '^rotated' <<<"$OUT" && grep -qF "peer $U2" <<<"$OUT" || tl_fail "rotate: $OUT"
run_expect 1 "${P[@]}" get --registry "$URL" --public-key "$U"
run_expect 0 "${P[@]}" get --registry "$URL" --public-key "$U2" --json
[ "$(jq -c '[.allowed_ips, .owner, .name]' <<<"$OUT")" = '[["192.168.95.2/32"],"carol","phone2"]' ] || tl_fail "rotated record: $OUT"
run_expect 1 "${P[@]}" rotate --registry "$URL" --public-key "$U" --new-public-key "$(wg genkey | wg pubkey)"
one_line
grep -q 404 <<<"$ERR" || tl_fail "rotate unknown: $ERR"
run_expect 2 "${P[@]}" rotate --registry "$URL" --public-key "$U2" --new-public-key "$U2"
run_expect 2 "${P[@]}" rotate --registry "$URL" --public-key "$U2"
run_expect 1 "${P[@]}" del --registry "$URL" --public-key "$U"
one_line
grep -q 'nothing was deleted' <<<"$ERR" || tl_fail "del unknown: $ERR"
grep -q deleted <<<"$OUT" && tl_fail "del of an unknown key printed deleted"

# ---- config with an enroll token (what a user is given) ---------------------------------
"$REG" token create --db "$TL_TMP/reg.db" --scope enroll --output "$TL_TMP/enroll.token" 2>/dev/null ||
	tl_fail "enroll token"
run_expect 0 "${P[@]}" config --registry "$URL" --token-file "$TL_TMP/enroll.token" --gateway-public-key "$GWPUB" \
	--endpoint 127.0.0.1:51820
grep -q '^Address = 10\.66\.0\.[0-9]*/32, fd66::[0-9a-f]*/128$' <<<"$OUT" || tl_fail "enroll config: $OUT"
grep -qx "AllowedIPs = 10.66.0.0/24, fd66::/64" <<<"$OUT" || tl_fail "enroll config reads the pool: $OUT"
run_expect 1 "${P[@]}" config --registry "$URL" --token-file "$TL_TMP/enroll.token" --gateway-public-key "$GWPUB" \
	--endpoint 127.0.0.1:51820
one_line
grep -q 403 <<<"$ERR" || tl_fail "a used enroll token: $ERR"
run_expect 1 "${P[@]}" list --registry "$URL" --token-file "$TL_TMP/enroll.token"
grep -q 403 <<<"$ERR" || tl_fail "enroll token lists: $ERR"
run_expect 1 "${P[@]}" del --registry "$URL" --token-file "$TL_TMP/enroll.token" --public-key "$U2"
grep -q 403 <<<"$ERR" || tl_fail "enroll token deletes: $ERR"

# --output never overwrites without --force, and --force keeps the file's mode
cp "$CONF" "$TL_TMP/before.conf"
run_expect 1 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --endpoint 127.0.0.1:51820 \
	--output "$CONF"
grep -qF "$CONF exists: give --force to overwrite it" <<<"$ERR" || tl_fail "existing output: $ERR"
cmp -s "$CONF" "$TL_TMP/before.conf" || tl_fail "a refused --output changed the file"
printf 'keep me\n' >"$TL_TMP/other.conf"
chmod 640 "$TL_TMP/other.conf"
run_expect 0 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --endpoint 127.0.0.1:51820 \
	--private-key "$TL_TMP/client.key" --output "$TL_TMP/other.conf" --force
[ "$(stat -c %a "$TL_TMP/other.conf")" = 640 ] || tl_fail "--force changed the mode to $(stat -c %a "$TL_TMP/other.conf")"
grep -q "^PrivateKey = " "$TL_TMP/other.conf" && ! grep -q "keep me" "$TL_TMP/other.conf" || tl_fail "--force did not overwrite"
run_expect 2 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --endpoint 127.0.0.1:1 --force
grep -qF -- "--force applies to --output FILE only" <<<"$ERR" || tl_fail "--force alone: $ERR"

# refresh: a missing --private-key FILE is created (0600); the next run reuses
# the key, and the registry answers the same record (200), so the same address
run_expect 0 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --endpoint 127.0.0.1:51820 \
	--private-key "$TL_TMP/new.key" --output "$TL_TMP/r1.conf"
[ "$(stat -c %a "$TL_TMP/new.key")" = 600 ] || tl_fail "new key file mode $(stat -c %a "$TL_TMP/new.key")"
grep -qx "PrivateKey = $(cat "$TL_TMP/new.key")" "$TL_TMP/r1.conf" || tl_fail "created key not in the config"
run_expect 0 "${P[@]}" list --registry "$URL" --json
n1=$(jq '.peers | length' <<<"$OUT")
run_expect 0 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --endpoint 127.0.0.1:51820 \
	--private-key "$TL_TMP/new.key" --output "$TL_TMP/r2.conf"
cmp -s "$TL_TMP/r1.conf" "$TL_TMP/r2.conf" || tl_fail "refresh changed the config: $(diff "$TL_TMP/r1.conf" "$TL_TMP/r2.conf")"
run_expect 0 "${P[@]}" list --registry "$URL" --json
[ "$(jq '.peers | length' <<<"$OUT")" = "$n1" ] || tl_fail "refresh registered another peer"

# MTU, DNS, keepalive; --websocket writes an MTU that fits one TCP segment
run_expect 0 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --endpoint 127.0.0.1:51820 \
	--private-key "$TL_TMP/new.key" --mtu 1280 --dns 10.66.0.1,fd66::1 --keepalive 25
grep -qx "MTU = 1280" <<<"$OUT" && grep -qx "DNS = 10.66.0.1,fd66::1" <<<"$OUT" &&
	grep -qx "PersistentKeepalive = 25" <<<"$OUT" || tl_fail "MTU/DNS/keepalive: $OUT"
run_expect 0 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --websocket wss://relay.test/ \
	--private-key "$TL_TMP/new.key"
grep -qx "MTU = 1344" <<<"$OUT" || tl_fail "--websocket MTU: $OUT"
run_expect 2 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --endpoint 127.0.0.1:1 --dns $'1.1.1.1\nPostUp = x'
grep -qF -- "--dns: want ADDR[,ADDR...]" <<<"$ERR" || tl_fail "bad --dns: $ERR"
run_expect 2 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --endpoint 127.0.0.1:1 --mtu 70000
grep -qF -- "--mtu wants 576..9000" <<<"$ERR" || tl_fail "bad --mtu: $ERR"

# --qr draws the config as qrencode -t ansiutf8 does (the same text, the same code)
if command -v qrencode >/dev/null; then
	run_expect 0 "${P[@]}" config --registry "$URL" --gateway-public-key "$GWPUB" --endpoint 127.0.0.1:51820 \
		--private-key "$TL_TMP/new.key" --output "$TL_TMP/qr.conf" --qr
	[ "$OUT" = "$(qrencode -t ansiutf8 <"$TL_TMP/qr.conf")" ] || tl_fail "--qr differs from qrencode -t ansiutf8"
	tl_log "--qr: $(wc -l <<<"$OUT") lines, the same as qrencode's"
fi

# wg-quick brings the generated config up (wireguard-go: this kernel has no WireGuard)
if command -v wireguard-go >/dev/null; then
	NS=$(tl_netns pc)
	WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go \
		ip netns exec "$NS" wg-quick up "$CONF" >"$TL_TMP/up.log" 2>&1 || tl_fail "wg-quick up: $(cat "$TL_TMP/up.log")"
	[ "$(ip netns exec "$NS" wg show "$IF" public-key)" = "$pub" ] || tl_fail "interface key"
	ip netns exec "$NS" wg show "$IF" allowed-ips | grep -q "10.66.0.0/24" || tl_fail "interface allowed ips"
	ip netns exec "$NS" wg-quick down "$CONF" >/dev/null 2>&1 || true
fi
tl_log PASS
