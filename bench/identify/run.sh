#!/usr/bin/env bash
# Identify throughput against the raw X25519 rate of the same build, with 1
# and 2 threads, as docs/PERFORMANCE.md ("identify") reports it. Not a test.
#   bench/identify/run.sh [SECONDS] [RUNS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_PER_RUN=${1:-3}
RUNS=${2:-5}
make -C "$ROOT" -s all
for ((i = 1; i <= RUNS; i++)); do
	echo "== run $i of $RUNS"
	"$ROOT/build/bin/jitwg" bench identify --threads 2 --seconds "$SECONDS_PER_RUN"
done
