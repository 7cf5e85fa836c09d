#!/usr/bin/env bash
# jitwg-relay(8) against `jitwg-relay --help` (option names, as man_pages.sh
# does for the other binaries). SKIP while the relay is not built here.
source "$(dirname "$0")/ops_common.bash"
command -v mandoc >/dev/null || { echo "mandoc not installed (scripts/deps.sh)"; exit 77; }
[ -x "$TL_BIN/jitwg-relay" ] || { echo "SKIP: no $TL_BIN/jitwg-relay (relay not built in this tree)"; exit 77; }
tl_init
man_options "$OPS_MAN/jitwg-relay.8" OPTIONS >"$TL_TMP/man.txt"
help_options "$TL_BIN/jitwg-relay" >"$TL_TMP/help.txt"
[ -s "$TL_TMP/help.txt" ] || tl_fail "'jitwg-relay --help' names no option"
same_set "jitwg-relay.8 OPTIONS vs 'jitwg-relay --help'" "$TL_TMP/man.txt" "$TL_TMP/help.txt"
out=$("$TL_BIN/jitwg-relay" --version) || tl_fail "jitwg-relay --version failed"
[[ $out == "jitwg-relay "* ]] || tl_fail "jitwg-relay --version says '$out'"
tl_log "jitwg-relay.8 agrees with --help ($(wc -l <"$TL_TMP/help.txt") options); $out"
tl_log PASS
