#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine, as root: installs what
# it needs, builds (warnings are errors), builds the sanitizer and fuzz
# trees, then runs every suite. Closing line: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh
make -j2 WERROR=1 all unit
make -j2 WERROR=1 SANITIZE=1 unit
make -j2 fuzz
exec tests/run.sh "$@"
