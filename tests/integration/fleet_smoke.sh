#!/usr/bin/env bash
# A short fleet run (bench/fleet/fleet.sh at small sizes: 2 gateways, 6
# simulated hours of 4 s, a reboot of gateway 0 in the middle) that asserts
# the properties the fleet chart shows, never its timings:
#   - under JIT, installed (and so stale) peers stay within the active set:
#     clients that connected in the current or previous simulated hour (plus
#     the rebooted gateway's returning clients); after the quiet period past
#     the idle timeout, nothing is installed;
#   - under push, installed peers only grow, end at every registered peer of
#     the gateway, and all of them are stale after the quiet period;
#   - the rebooted JIT gateway reconnects every one of its active clients;
#   - both kinds of gateway are scraped from their own /metrics (at most two
#     misses: the rebooted jitwgd is down for a moment).
source "$(dirname "$0")/../lib.sh"
command -v wireguard-go >/dev/null || { echo "wireguard-go not installed"; exit 77; }
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL server not installed (scripts/deps.sh)"; exit 77; }
tl_init
OUT=$TL_TMP/out
G=2 HOUR=4 HOURS=6 IDLE=2 REGULARS=30 ZIPF=10 EPH=10 REBOOT_AT=3 OUT=$OUT \
	timeout 170 bash "$TL_ROOT/bench/fleet/fleet.sh" >"$TL_TMP/run.log" 2>&1 ||
	{ tail -n 30 "$TL_TMP/run.log" >&2; tl_fail "fleet run failed"; }
S=$OUT/samples.tsv
C=$OUT/connects.tsv
[ "$(wc -l <"$S")" -gt 20 ] || tl_fail "too few samples: $(wc -l <"$S")"
# both kinds scraped from their own /metrics (jitwgd; pushexporter.py for push) at every sample
na=$(awk -F'\t' 'NR > 1 && ($4 == "NA" || $5 == "NA")' "$S" | wc -l)
[ "$na" -le 2 ] || tl_fail "$na samples without a /metrics answer"

# JIT within the active set: connects of hour h and h-1 (ok or not), plus the reboot's clients
reboot_n=$(sed -n 's/^handshakes: \([0-9]*\) ok, \([0-9]*\) failed.*/\1 \2/p' "$OUT/reboot-jit.out" | awk '{ print $1 + $2 }')
[ -n "$reboot_n" ] || tl_fail "no reboot result"
bad=$(awk -F'\t' -v rb="$reboot_n" -v H=6 '
	FNR == 1 { next }
	FILENAME == ARGV[1] { if ($3 == "jit") n[$1 "," $2] += $4; next }
	$3 == "jit" && $4 != "NA" {
		h = int($1); if (h >= H) h = H - 1
		bound = n[h "," $2] + n[(h - 1) "," $2] + ($2 == 0 ? rb : 0)
		if ($4 > bound || $5 > bound) print "hour " $1 " gw " $2 ": installed " $4 " stale " $5 " > active " bound
	}' "$C" "$S")
[ -z "$bad" ] || tl_fail "JIT beyond the active set: $bad"

# the final sample (after the quiet period): JIT empty, push holds everything, all stale
for g in 0 1; do
	jit=$(awk -F'\t' -v g=$g '$2 == g && $3 == "jit"' "$S" | tail -n 1 | cut -f4,5)
	[ "$jit" = "0	0" ] || tl_fail "gw$g JIT not drained after the idle timeout: installed/stale $jit"
	push=$(awk -F'\t' -v g=$g '$2 == g && $3 == "push"' "$S" | tail -n 1 | cut -f4,5)
	reg=$((30 + 10 * 6))   # REGULARS + EPH * HOURS
	[ "$push" = "$reg	$reg" ] || tl_fail "gw$g push at the end: installed/stale $push, want $reg $reg"
	# push only grows (gw1; gw0 was rebooted and reloaded)
	if [ $g = 1 ]; then
		awk -F'\t' '$2 == 1 && $3 == "push" { if ($4 < last) { print "shrank at " $1; exit 1 } last = $4 }' "$S" ||
			tl_fail "push installed shrank"
	fi
done
first=$(awk -F'\t' '$2 == 1 && $3 == "push"' "$S" | head -n 1 | cut -f4)
[ "$first" -lt "$reg" ] || tl_fail "push did not grow: $first -> $reg"

# the rebooted JIT gateway got every active client back
grep -q "^handshakes: $reboot_n ok, 0 failed" "$OUT/reboot-jit.out" || tl_fail "reboot: $(tail -n 1 "$OUT/reboot-jit.out")"
[ "$reboot_n" -gt 0 ] || tl_fail "reboot had no active clients"
tl_log "PASS: $(grep -c . "$S") samples; push grew $first -> $reg per gateway; JIT drained to 0;" \
	"reboot reconnected $reboot_n/$reboot_n ($(grep '^reboot_' "$OUT/summary.txt" | sed 's/handshakes: //' | tr '\n' ' '))"
