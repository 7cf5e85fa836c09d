#!/usr/bin/env bash
# Runs the test suites and prints one closing line "N passed, N failed".
#
#   tests/run.sh [unit|san|fuzz|integration|kernel]...   (default: all)
#
# A suite is one unit-test binary, one fuzz harness's smoke run or one shell
# test script. Shell tests exit 0 for pass, 77 for skip, anything else fails.
# Logs of failing suites are printed in full; passing ones only by name.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SECTIONS=("$@")
[ ${#SECTIONS[@]} -eq 0 ] && SECTIONS=(unit san fuzz integration kernel)
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
LOGDIR=$(mktemp -d /tmp/jitwg-tests.XXXXXX)
trap 'rm -rf "$LOGDIR"' EXIT
pass=0 fail=0 skip=0 failed=()

run_suite() {
	local name=$1 rc start end
	shift
	local log="$LOGDIR/$(echo "$name" | tr '/ ' '__').log"
	start=$(date +%s)
	timeout --kill-after=10 "${SUITE_TIMEOUT:-600}" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	end=$(date +%s)
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		printf 'PASS  %-48s %4ss\n' "$name" $((end - start))
	elif [ $rc -eq 77 ]; then
		skip=$((skip + 1))
		printf 'SKIP  %-48s %s\n' "$name" "$(tail -n 1 "$log")"
	else
		fail=$((fail + 1))
		failed+=("$name")
		printf 'FAIL  %-48s %4ss (exit %d)\n' "$name" $((end - start)) $rc
		sed 's/^/    | /' "$log" | tail -n 80
	fi
}

for s in "${SECTIONS[@]}"; do
	case $s in
	unit)
		for t in build/bin/test_*; do [ -x "$t" ] && run_suite "unit/${t##*/}" "$t"; done ;;
	san)
		for t in build-san/bin/test_*; do [ -x "$t" ] && run_suite "san/${t##*/}" "$t"; done ;;
	fuzz)
		for f in build-fuzz/bin/fuzz_*; do
			[ -x "$f" ] || continue
			n=${f##*/}; n=${n#fuzz_}
			corpus=()
			[ -d "tests/fuzz/corpus/$n" ] && corpus=("tests/fuzz/corpus/$n")
			work=$(mktemp -d "$LOGDIR/corpus.XXXX")
			# libFuzzer's own exit code for a crash is 77, which run_suite
			# reads as SKIP: a finding must be a failure.
			run_suite "fuzz/$n (${FUZZ_SECONDS}s)" "$f" -max_total_time="$FUZZ_SECONDS" \
				-error_exitcode=1 -timeout_exitcode=1 \
				-print_final_stats=1 -artifact_prefix="$work/" "$work" "${corpus[@]}"
		done ;;
	integration|kernel)
		for t in tests/"$s"/*.sh; do [ -f "$t" ] && run_suite "$s/${t##*/}" bash "$t"; done ;;
	*)
		echo "run.sh: unknown section '$s'" >&2; exit 2 ;;
	esac
done

echo
[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[@]}"
if [ $skip -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ $fail -eq 0 ]
