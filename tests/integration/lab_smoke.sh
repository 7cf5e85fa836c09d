#!/usr/bin/env bash
# The README's main job (scripts/lab.sh) as a smoke test: it must see all
# its steps without stdin and tear down every namespace it made.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
"$ROOT/scripts/lab.sh" --no-build --duration 90 </dev/null &
pid=$!
wait "$pid"
rc=$?
# tests/lib.sh names the lab's namespaces jt<its pid>-...
if ip netns list | grep -q "^jt$pid-"; then
	echo "lab left namespaces behind:" >&2
	ip netns list | grep "^jt$pid-" >&2
	exit 1
fi
exit "$rc"
