#!/usr/bin/env bash
# The cache file under a flood of valid initiations for unknown keys
# (bench/cacheflood/cacheflood.c; not a test). Prints one line per round.
#   bench/cacheflood/run.sh [ROUNDS [UNKNOWN_PER_ROUND [KNOWN]]]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
make -s -C "$ROOT" build/bin/cacheflood
exec "$ROOT/build/bin/cacheflood" "$@"
