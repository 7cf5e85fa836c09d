#!/usr/bin/env bash
# jitwgd checks its registry at start without refusing to start: a good
# setup logs "reachable, token accepted, API v1" and sets
# jitwg_registry_check_ok 1; a wrong token, no token, a /v1 base path and an
# unreachable registry each log a warning naming what to fix, set it to 0,
# and the daemon serves on (its metrics answer).
source "$(dirname "$0")/gw_common.bash"

gw_setup
printf 'good-token\n' >"$TL_TMP/reg.token"
printf 'bad-token\n' >"$TL_TMP/bad.token"
chmod 600 "$TL_TMP/reg.token" "$TL_TMP/bad.token"
gw_registry_start --token-file "$TL_TMP/reg.token"

# check NAME WANT_OK WANT_TEXT [jitwgd args]: one daemon, its check's line and gauge.
check() {
	local name=$1 ok=$2 want=$3
	shift 3
	: >"$TL_TMP/jitwgd.log"
	gw_jitwgd_start "$@"
	tl_wait_until 10 grep -q "registry .*: " "$TL_TMP/jitwgd.log" ||
		tl_fail "$name: no check logged: $(cat "$TL_TMP/jitwgd.log")"
	grep -qF -- "$want" "$TL_TMP/jitwgd.log" || tl_fail "$name: want '$want': $(cat "$TL_TMP/jitwgd.log")"
	[ "$(gw_metric jitwg_registry_check_ok)" = "$ok" ] || tl_fail "$name: jitwg_registry_check_ok $(gw_metric jitwg_registry_check_ok), want $ok"
	gw_jitwgd_stop
	tl_log "$name: check_ok $ok, '$want'"
}

check good 1 "reachable, token accepted, API v1" --token-file "$TL_TMP/reg.token"
check badtoken 0 "the token was refused (401): check --token-file" --token-file "$TL_TMP/bad.token"
check notoken 0 "the registry wants a token (401): give --token-file"
check v1path 0 "give --registry the server's root URL, without /v1" --token-file "$TL_TMP/reg.token" \
	--registry "$REG_URL/v1"
gw_registry_stop
check down 0 "unreachable (" --token-file "$TL_TMP/reg.token" --registry-timeout-ms 500
grep -q "until then only cached peers can connect" "$TL_TMP/jitwgd.log" || tl_fail "down: no consequence named"
tl_log "PASS"
