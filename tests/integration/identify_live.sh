#!/usr/bin/env bash
# jitwg identify against initiations captured now, from this machine's
# wireguard-go: scripts/gen-initiations.sh writes fresh captures, keys and
# independently computed expected output into a temp dir, and every capture
# flavour and the hex file must match them exactly. The committed copies in
# tests/data (identify.sh) pin one wireguard-go version; this one follows
# whatever version is installed.
source "$(dirname "$0")/../lib.sh"
tl_init

J=$TL_BIN/jitwg
[ -x "$J" ] || { echo "build/bin/jitwg missing (make)"; exit 77; }
for t in wireguard-go wg tcpdump python3; do
	command -v "$t" >/dev/null || { echo "$t not installed"; exit 77; }
done

D=$TL_TMP/data
bash "$TL_ROOT/scripts/gen-initiations.sh" "$D" >"$TL_TMP/gen.log" 2>&1 || {
	cat "$TL_TMP/gen.log" >&2
	tl_fail "gen-initiations.sh failed"
}
for c in eth eth-nano eth-nano-be sll sll2; do
	"$J" identify --private-key "$D/gateway.key" --pcap "$D/wg-$c.pcap" >"$TL_TMP/$c.out"
	diff -u "$D/wg-$c.expected" "$TL_TMP/$c.out" || tl_fail "capture $c differs"
	[ "$(grep -c ' ok$' "$TL_TMP/$c.out")" -ge 4 ] || tl_fail "capture $c: fewer than 4 ok"
done
"$J" identify --private-key "$D/gateway.key" <"$D/initiations.hex" >"$TL_TMP/hex.out"
diff -u "$D/initiations.expected" "$TL_TMP/hex.out" || tl_fail "hex differs"
tl_log "live wireguard-go initiations identified (IPv4, IPv6, Ethernet, SLL, SLL2)"
