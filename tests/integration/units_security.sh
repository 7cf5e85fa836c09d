#!/usr/bin/env bash
# The shipped systemd units keep their sandbox: `systemd-analyze security
# --offline=true` scores at most what docs/OPERATIONS.md states (jitwgd 1.8,
# registry 1.1, relay 1.4, tunnel 1.8), jitwgd runs as its own user with
# exactly CAP_NET_ADMIN and CAP_NET_RAW, and no unit names a path in
# ReadWritePaths= without the '-' that lets it start where the path is
# missing (the kernel-only-host defect; deb_package.sh boots the real case).
source "$(dirname "$0")/ops_common.bash"
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed"; exit 77; }
tl_init
U=$TL_ROOT/packaging/systemd
declare -A max=([jitwgd.service]=1.8 [jitwg-registry.service]=1.1 [jitwg-relay.service]=1.4 [jitwg-tunnel@.service]=1.8)
for u in "${!max[@]}"; do
	f=$U/$u
	[ -f "$f" ] || tl_fail "$u missing"
	score=$(systemd-analyze security --offline=true "$f" 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
	[ -n "$score" ] || tl_fail "no score for $u"
	awk -v s="$score" -v m="${max[$u]}" 'BEGIN { exit !(s <= m) }' || tl_fail "$u scores $score, above ${max[$u]}"
	grep -E '^ReadWritePaths=' "$f" | tr ' ' '\n' | sed 's/^ReadWritePaths=//' | grep -Eq '^/' \
		&& tl_fail "$u: ReadWritePaths= path without '-'"
	tl_log "$u: exposure $score (at most ${max[$u]})"
done
grep -qx 'User=jitwgd' "$U/jitwgd.service" || tl_fail "jitwgd.service not as user jitwgd"
grep -qx 'AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW' "$U/jitwgd.service" || tl_fail "jitwgd.service capabilities changed"
grep -qx 'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW' "$U/jitwgd.service" || tl_fail "jitwgd.service bounding set changed"
for k in ProtectProc=invisible ProcSubset=pid PrivateMounts=yes; do
	grep -qx "$k" "$U/jitwgd.service" || tl_fail "jitwgd.service lacks $k"
done
tl_log PASS
