#!/usr/bin/env bash
# bench/fuzz: every libFuzzer harness to depth, one after the other: each
# runs for SECONDS (or until RUNS executions), on a copy of its seed corpus
# (tests/fuzz/corpus/NAME) so the seeds stay small; prints one line per
# harness with executions, exec/s, coverage (libFuzzer's cov: edges, ft:
# features) and the corpus it grew. A crash is kept in OUT/NAME/ and
# printed with the command that copies it into tests/fuzz/corpus/NAME as a
# regression seed; the script then exits 1. Not part of tests/run.sh (the
# suite's fuzz section is a short smoke run).
#
#   bench/fuzz/run.sh [SECONDS] [HARNESS...]     (after make fuzz; default 60 s, all)
#   RUNS=10000000 bench/fuzz/run.sh 3600 ws_frame ws_stream ws_upgrade
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_EACH=${1:-60}
shift || true
RUNS=${RUNS:--1}
OUT=${OUT:-$ROOT/build-fuzz/deep}
BIN=$ROOT/build-fuzz/bin
[ -d "$BIN" ] || { echo "build first: make fuzz" >&2; exit 2; }
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in "$BIN"/fuzz_*; do [ -x "$f" ] && names+=("${f##*/fuzz_}"); done
fi
echo "# $(date -u +%FT%TZ) $(git -C "$ROOT" rev-parse --short HEAD) load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-12s %12s %10s %8s %8s %8s %s\n' harness executions exec/s cov ft corpus result
rc=0
for n in "${names[@]}"; do
	f=$BIN/fuzz_$n
	[ -x "$f" ] || { echo "$n: no harness $f" >&2; rc=2; continue; }
	mkdir -p "$OUT/$n/corpus" "$OUT/$n/crashes"
	[ -d "$ROOT/tests/fuzz/corpus/$n" ] && cp -n "$ROOT/tests/fuzz/corpus/$n"/* "$OUT/$n/corpus/" 2>/dev/null
	"$f" -max_total_time="$SECONDS_EACH" -runs="$RUNS" -print_final_stats=1 \
		-artifact_prefix="$OUT/$n/crashes/" "$OUT/$n/corpus" >"$OUT/$n/log" 2>&1
	st=$?
	execs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$OUT/$n/log")
	speed=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$OUT/$n/log")
	last=$(grep -E '^#[0-9]+' "$OUT/$n/log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	result=ok
	if [ $st -ne 0 ] || ls "$OUT/$n/crashes"/* >/dev/null 2>&1; then
		result="CRASH: cp $OUT/$n/crashes/* tests/fuzz/corpus/$n/"
		rc=1
	fi
	printf '%-12s %12s %10s %8s %8s %8s %s\n' "$n" "${execs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" \
		"$(ls "$OUT/$n/corpus" | wc -l)" "$result"
done
exit $rc
