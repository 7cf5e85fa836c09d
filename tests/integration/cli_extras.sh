#!/usr/bin/env bash
# What operators expect of the command line: --version on every binary (the
# Makefile's VERSION), the bash completion of jitwg (commands, nested
# commands and options, read from --help), and `jitwg status` in colour only
# on a terminal (JITWG_COLOR_MODE overrides) and as JSON with --json. The
# status document comes from a stand-in socket served by this test.
source "$(dirname "$0")/ops_common.bash"
[ -x "$TL_BIN/jitwg" ] || { echo "build first (make)"; exit 77; }
command -v script >/dev/null || { echo "script(1) (util-linux) not installed"; exit 77; }
tl_init

want=$(sed -n 's/^VERSION *:= *//p' "$TL_ROOT/Makefile")
for b in jitwg jitwgd jitwg-registry jitwg-relay; do
	[ -x "$TL_BIN/$b" ] || { [ "$b" = jitwg-relay ] && continue; tl_fail "$b not built"; }
	out=$("$TL_BIN/$b" --version) || tl_fail "$b --version failed"
	[ "$out" = "$b $want" ] || tl_fail "$b --version says '$out', want '$b $want'"
done
tl_log "--version: $want on every binary"

# Completion, as bash calls it.
complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	PATH="$TL_BIN:$PATH" _jitwg
	echo "${COMPREPLY[*]}"
}
cmds=$("$TL_BIN/jitwg" --help | _jitwg_section_words | tr '\n' ' ')
got=$(complete_words jitwg "")
for c in $cmds --help --version; do [[ " $got " == *" $c "* ]] || tl_fail "completion of 'jitwg ' lacks $c (got: $got)"; done
[ "$(complete_words jitwg st)" = status ] || tl_fail "'jitwg st' does not complete to status"
got=$(complete_words jitwg peer "")
for c in add get list del config; do [[ " $got " == *" $c "* ]] || tl_fail "'jitwg peer ' lacks $c (got: $got)"; done
got=$(complete_words jitwg status --)
[ "$got" = "--interface --json --socket --help" ] || tl_fail "'jitwg status --' completes to '$got'"
got=$(complete_words jitwg peer config --gateway-)
[ "$got" = "--gateway-public-key" ] || tl_fail "'jitwg peer config --gateway-' completes to '$got'"
touch "$TL_TMP/key.priv"
got=$(cd "$TL_TMP" && complete_words jitwg identify --private-key key.)
[ "$got" = "key.priv" ] || tl_fail "--private-key does not complete file names (got '$got')"
tl_log "completion: commands ($cmds), nested commands, options and file names"

# A stand-in status socket answering one canned document per connection.
doc='{"interface":"wgt0","backend":"userspace","public_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","listen_port":51820,"initiate":true,"idle_timeout":600,"now":1000,"counters":{"captured":3,"handshakes_ok":2},"peers":[{"public_key":"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=","endpoint":"192.0.2.1:5000","allowed_ips":["10.0.0.2/32"],"latest_handshake":990,"rx_bytes":100,"tx_bytes":2048,"installed_at":900}]}'
sock="$TL_TMP/status.sock"
tl_bg python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(8); s.settimeout(30)
for _ in range(20):
    try:
        c, _ = s.accept()
    except socket.timeout:
        break
    c.sendall(sys.argv[2].encode()); c.close()
' "$sock" "$doc"
tl_wait_until 5 test -S "$sock" || tl_fail "stand-in status socket did not appear"

esc=$'\x1b'
plain=$("$TL_BIN/jitwg" status --socket "$sock") || tl_fail "jitwg status failed"
[[ $plain != *"$esc"* ]] || tl_fail "colour escapes in piped output"
grep -qx "interface: wgt0" <<<"$plain" || tl_fail "piped output lacks 'interface: wgt0': $plain"
grep -qx "  transfer: 100 B received, 2.00 KiB sent" <<<"$plain" || tl_fail "piped output lacks the transfer line"
# On a terminal (script(1) gives it a pty): colour.
tty_out=$(TERM=xterm script -qec "$TL_BIN/jitwg status --socket $sock" /dev/null </dev/null)
[[ $tty_out == *"$esc[1m"* ]] || tl_fail "no colour on a terminal: $tty_out"
[[ $tty_out == *"$esc[32m"*wgt0* ]] || tl_fail "interface not green on a terminal"
tty_out=$(TERM=xterm JITWG_COLOR_MODE=never script -qec "$TL_BIN/jitwg status --socket $sock" /dev/null </dev/null)
[[ $tty_out != *"$esc"* ]] || tl_fail "JITWG_COLOR_MODE=never still colours"
tty_out=$(TERM=dumb script -qec "$TL_BIN/jitwg status --socket $sock" /dev/null </dev/null)
[[ $tty_out != *"$esc"* ]] || tl_fail "TERM=dumb still colours"
forced=$(JITWG_COLOR_MODE=always "$TL_BIN/jitwg" status --socket "$sock")
[[ $forced == *"$esc[33m"* ]] || tl_fail "JITWG_COLOR_MODE=always does not colour (peer yellow)"
# --json: the daemon's document, parseable, never coloured.
json=$(TERM=xterm script -qec "$TL_BIN/jitwg status --socket $sock --json" /dev/null </dev/null | tr -d '\r')
[[ $json != *"$esc"* ]] || tl_fail "--json output coloured"
[ "$(jq -r '.peers[0].endpoint' <<<"$json")" = 192.0.2.1:5000 ] || tl_fail "--json is not the daemon's document: $json"
tl_log "status: plain when piped, coloured on a terminal (never/dumb/always honoured), --json parses"
tl_log PASS
