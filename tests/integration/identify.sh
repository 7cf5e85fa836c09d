#!/usr/bin/env bash
# jitwg identify against the committed wireguard-go captures (tests/data,
# made by scripts/gen-initiations.sh): every capture and the hex file must
# give exactly the expected lines; bad key files and bad captures must give
# one clear line on stderr and a non-zero exit, after any lines already due.
source "$(dirname "$0")/../lib.sh"
tl_init

D=$TL_ROOT/tests/data
J=$TL_BIN/jitwg
[ -x "$J" ] || { echo "build/bin/jitwg missing (make)"; exit 77; }
# a checkout gives the key 0644, which jitwg rightly warns about (one stderr line
# per error is asserted below): use a private copy
KEY=$TL_TMP/gateway.key
install -m 0600 "$D/gateway.key" "$KEY"
fails=0
check() { # NAME EXPECTED-FILE ACTUAL-FILE
	if diff -u "$2" "$3" >"$TL_TMP/diff"; then
		tl_log "ok: $1"
	else
		tl_log "FAIL: $1"
		cat "$TL_TMP/diff" >&2
		fails=$((fails + 1))
	fi
}
# expect_error NAME PATTERN CMD... : non-zero exit, exactly one stderr line matching PATTERN
expect_error() {
	local name=$1 pat=$2 rc=0
	shift 2
	"$@" >"$TL_TMP/out" 2>"$TL_TMP/err" </dev/null || rc=$?
	if [ "$rc" -eq 0 ] || [ "$(wc -l <"$TL_TMP/err")" -ne 1 ] || ! grep -qE "$pat" "$TL_TMP/err"; then
		tl_log "FAIL: $name (exit $rc)"
		cat "$TL_TMP/err" >&2
		fails=$((fails + 1))
	else
		tl_log "ok: $name: $(cat "$TL_TMP/err")"
	fi
}

# Real initiations in every capture flavour.
for c in eth eth-nano eth-nano-be sll sll2; do
	"$J" identify --private-key "$KEY" --pcap "$D/wg-$c.pcap" >"$TL_TMP/$c.out"
	check "pcap $c" "$D/wg-$c.expected" "$TL_TMP/$c.out"
done
"$J" identify --private-key "$KEY" --pcap - <"$D/wg-eth.pcap" >"$TL_TMP/stdin.out"
check "pcap from stdin" "$D/wg-eth.expected" "$TL_TMP/stdin.out"

# Hex mode: valid, tampered (every verdict), and lines that are no payload.
"$J" identify --private-key "$KEY" <"$D/initiations.hex" >"$TL_TMP/hex.out"
check "hex" "$D/initiations.expected" "$TL_TMP/hex.out"
for v in ok bad-format bad-mac1 bad-static bad-timestamp; do
	grep -q " $v\$" "$D/initiations.expected" || { tl_log "FAIL: no $v case"; fails=$((fails + 1)); }
done
# The last line needs no newline; empty input gives no output.
printf '%s' "$(head -n 1 "$D/initiations.hex")" | "$J" identify --private-key "$KEY" >"$TL_TMP/nonl.out"
head -n 1 "$D/initiations.expected" >"$TL_TMP/nonl.want"
check "hex without final newline" "$TL_TMP/nonl.want" "$TL_TMP/nonl.out"
"$J" identify --private-key "$KEY" </dev/null >"$TL_TMP/empty.out"
check "empty stdin" /dev/null "$TL_TMP/empty.out"

# Another responder's key: every real initiation fails mac1.
wg genkey >"$TL_TMP/other.key" 2>/dev/null
"$J" identify --private-key "$TL_TMP/other.key" --pcap "$D/wg-eth.pcap" | awk '{print $3}' | sort -u >"$TL_TMP/other.out"
printf 'bad-format\nbad-mac1\n' >"$TL_TMP/other.want"
check "wrong responder key" "$TL_TMP/other.want" "$TL_TMP/other.out"

# Bad key files.
expect_error "missing key" "^jitwg identify: $TL_TMP/nokey: No such file or directory\$" \
	"$J" identify --private-key "$TL_TMP/nokey"
mkdir "$TL_TMP/dir.key"
expect_error "key is a directory" "dir.key: .+" "$J" identify --private-key "$TL_TMP/dir.key"
: >"$TL_TMP/empty.key"
expect_error "empty key" "empty.key: .+" "$J" identify --private-key "$TL_TMP/empty.key"
echo "not a key" >"$TL_TMP/bad.key"
expect_error "malformed key" "bad.key: .+" "$J" identify --private-key "$TL_TMP/bad.key"
head -c 43 "$KEY" >"$TL_TMP/short.key"
expect_error "short key" "short.key: .+" "$J" identify --private-key "$TL_TMP/short.key"
{ cat "$KEY"; cat "$KEY"; } >"$TL_TMP/double.key"
expect_error "two keys" "double.key: .+" "$J" identify --private-key "$TL_TMP/double.key"
# Usage errors: exit 2, the reason on the first line, then the usage.
for args in "" "--private-key $KEY extra" "--bogus"; do
	rc=0
	# shellcheck disable=SC2086
	"$J" identify $args >/dev/null 2>"$TL_TMP/err" </dev/null || rc=$?
	if [ "$rc" -ne 2 ] || ! head -n 1 "$TL_TMP/err" | grep -qE "required|unexpected argument|bad option"; then
		tl_log "FAIL: usage error '$args' (exit $rc)"
		fails=$((fails + 1))
	fi
done

# Bad captures.
P=$D/wg-eth.pcap
expect_error "missing capture" "nocap.pcap: No such file or directory\$" \
	"$J" identify --private-key "$KEY" --pcap "$TL_TMP/nocap.pcap"
head -c 10 "$P" >"$TL_TMP/hdr.pcap"
expect_error "truncated file header" "hdr.pcap: truncated pcap file header \(10 of 24 bytes\)" \
	"$J" identify --private-key "$KEY" --pcap "$TL_TMP/hdr.pcap"
: >"$TL_TMP/zero.pcap"
expect_error "empty capture" "zero.pcap: truncated pcap file header" \
	"$J" identify --private-key "$KEY" --pcap "$TL_TMP/zero.pcap"
{ printf 'GIF89a'; tail -c +7 "$P"; } >"$TL_TMP/magic.pcap"
expect_error "bad magic" "magic.pcap: not a pcap capture \(bad magic number 47494638\)" \
	"$J" identify --private-key "$KEY" --pcap "$TL_TMP/magic.pcap"
{ printf '\x0a\x0d\x0d\x0a'; tail -c +5 "$P"; } >"$TL_TMP/ng.pcap"
expect_error "pcapng" "ng.pcap: pcapng is not supported" \
	"$J" identify --private-key "$KEY" --pcap "$TL_TMP/ng.pcap"
{ head -c 20 "$P"; printf '\x69\x00\x00\x00'; tail -c +25 "$P"; } >"$TL_TMP/link.pcap"
expect_error "unknown link type" "link.pcap: unsupported link type 105" \
	"$J" identify --private-key "$KEY" --pcap "$TL_TMP/link.pcap"
size=$(stat -c %s "$P")
head -c $((size - 5)) "$P" >"$TL_TMP/cut.pcap"
expect_error "truncated record" "cut.pcap: record [0-9]+: truncated record \([0-9]+ of [0-9]+ bytes\)" \
	"$J" identify --private-key "$KEY" --pcap "$TL_TMP/cut.pcap"
# The lines for the records before the cut are still printed.
head -n -1 "$D/wg-eth.expected" >"$TL_TMP/cut.want"
"$J" identify --private-key "$KEY" --pcap "$TL_TMP/cut.pcap" >"$TL_TMP/cut.out" 2>/dev/null || true
check "lines before a truncated record" "$TL_TMP/cut.want" "$TL_TMP/cut.out"
{ cat "$P"; head -c 7 "$P"; } >"$TL_TMP/rhdr.pcap"
expect_error "truncated record header" "rhdr.pcap: record [0-9]+: truncated record header \(7 of 16 bytes\)" \
	"$J" identify --private-key "$KEY" --pcap "$TL_TMP/rhdr.pcap"
{ head -c 24 "$P"; printf '\0\0\0\0\0\0\0\0\xff\xff\xff\x7f\xff\xff\xff\x7f'; } >"$TL_TMP/huge.pcap"
expect_error "absurd record length" "huge.pcap: record 1: captured length 2147483647 is larger than" \
	"$J" identify --private-key "$KEY" --pcap "$TL_TMP/huge.pcap"
expect_error "capture is a directory" "dir.key: .+" \
	"$J" identify --private-key "$KEY" --pcap "$TL_TMP/dir.key"

[ "$fails" -eq 0 ] || tl_fail "$fails checks failed"
tl_log "all identify checks passed"
