#!/usr/bin/env bash
# docs/FIRST-GATEWAY.md, run as written, so the walkthrough cannot rot.
# Its fenced ```sh blocks that start with "# on the gateway", "# on alice's
# laptop" or "# on bob's laptop" are extracted in order and run unchanged:
# the packages are built (scripts/deb.sh), then this machine's own OS is
# booted in a throwaway container (systemd-nspawn, overlay of /, private
# network: as deb_package.sh does) where the gateway blocks run as root in
# /root with the .debs there, and alice's and bob's blocks run in network
# namespaces of their own (also in /root: the files the gateway hands over
# are "copied" by being there). alice reaches the gateway over UDP; bob's
# namespace drops UDP to it, so his ping goes through the relay. The data
# plane is wireguard-go (this kernel has no WireGuard). Blocks marked
# otherwise (kernel-WireGuard alternatives, "not yet in this version") are
# counted and listed, not run.
source "$(dirname "$0")/../lib.sh"
# shellcheck source=container.bash
source "$(dirname "$0")/container.bash"

for t in dpkg-buildpackage systemd-nspawn wireguard-go wg-quick sqlite3 nft openssl curl; do
	command -v "$t" >/dev/null || { echo "$t not installed (scripts/deps.sh)"; exit 77; }
done
[ -f "$TL_ROOT/src/relay/main.c" ] || { echo "no jitwg-relay in this tree"; exit 77; }
# The container's lower layer is this machine's /: deb_package.sh installs and
# purges the same packages there, so never run beside it.
exec 9>/run/lock/deb-package-test.lock
flock -w 240 9 || { echo "SKIP: deb_package.sh has held the machine for 4 minutes"; exit 77; }
if dpkg-query -W -f='${Status}\n' jitwg jitwgd jitwg-registry jitwg-relay 2>/dev/null | grep -q "ok installed"; then
	echo "jitwg packages are installed on this machine: the walkthrough starts without them"; exit 77
fi
tl_init
DOC=$TL_ROOT/docs/FIRST-GATEWAY.md

# 1. The blocks, in order: NN-ACTOR.sh for those run, a list of the others.
ct_prepare "jitwg walkthrough check"
trap 'rc=$?; set +e; ct_release_root; (exit $rc); tl_cleanup' EXIT
mkdir -p "$TL_TMP/in/blocks"
awk -v dir="$TL_TMP/in/blocks" -v skipped="$TL_TMP/skipped.txt" '
	/^```sh$/ { inb = 1; first = 1; n++; body = ""; next }
	inb && /^```$/ {
		inb = 0
		if (actor != "") { f = sprintf("%s/%02d-%s.sh", dir, n, actor); printf "%s", body >f; close(f) }
		else print n ": " head >>skipped
		next
	}
	inb && first {
		first = 0; head = $0; actor = ""
		if ($0 == "# on the gateway") actor = "gateway"
		else if ($0 == "# on alice'\''s laptop") actor = "alice"
		else if ($0 == "# on bob'\''s laptop") actor = "bob"
	}
	inb { body = body $0 "\n" }' "$DOC"
ran=$(find "$TL_TMP/in/blocks" -name '*.sh' | wc -l)
[ "$ran" -ge 10 ] || tl_fail "only $ran runnable blocks found in $DOC"
for a in gateway alice bob; do
	compgen -G "$TL_TMP/in/blocks/*-$a.sh" >/dev/null || tl_fail "no block for $a in $DOC"
done
tl_log "$ran blocks to run; not run: $(tr '\n' ';' <"$TL_TMP/skipped.txt" 2>/dev/null)"

# 2. The packages.
start=$(date +%s)
"$TL_ROOT/scripts/deb.sh" "$TL_TMP/deb" >"$TL_TMP/build.log" 2>&1 || { tail -n 40 "$TL_TMP/build.log"; tl_fail "package build failed"; }
tl_log "packages built in $(( $(date +%s) - start )) s"

# 3. Inside the container: the users' networks, then every block in order.
cat >"$TL_TMP/in/check.sh" <<'SCRIPT'
#!/bin/bash
exec >/jitwg-out/check.log 2>&1
r=/jitwg-out/result
GW_ADDR=192.168.60.1
netns() { # NAME GW_SIDE_IF NET
	ip netns add "$1"
	ip -n "$1" link set lo up
	ip link add "$2" type veth peer name eth0 netns "$1"
	ip addr add "$3.1/24" dev "$2" && ip link set "$2" up
	ip -n "$1" addr add "$3.2/24" dev eth0 && ip -n "$1" link set eth0 up
}
netns alice ga 192.168.60
netns bob gb 192.168.61
ip -n bob route add 192.168.60.0/24 via 192.168.61.1
# bob's network drops UDP to the gateway: only the relay's wss:// gets through
ip netns exec bob nft -f - <<'NFT'
table inet block { chain out { type filter hook output priority 0; ip daddr 192.168.60.1 udp dport 51820 drop; } }
NFT
# Service actions from maintainer scripts run as on a real host (images ship
# a policy-rc.d that forbids them; this container's copy of / is ours).
rm -f /usr/sbin/policy-rc.d
cp /jitwg-debs/*.deb /root/
for f in /jitwg-check/blocks/*.sh; do
	b=$(basename "$f" .sh)
	actor=${b#*-}
	echo "== $b"
	case $actor in
	gateway) (cd /root && GW_ADDR=$GW_ADDR timeout 120 bash -eo pipefail "$f") ;;
	*) ip netns exec "$actor" env GW_ADDR=$GW_ADDR bash -c 'cd /root && exec timeout 120 bash -eo pipefail "$1"' _ "$f" ;;
	esac >"/jitwg-out/$b.log" 2>&1
	rc=$?
	echo "block $b exit $rc"
	if [ "$rc" != 0 ]; then
		echo "failed=$b" >>$r
		journalctl -b -o cat --no-pager -u jitwgd -u jitwg-registry -u jitwg-relay >/jitwg-out/journal.log
		break
	fi
	echo "ok=$b" >>$r
done
echo "done=1" >>$r
SCRIPT
start=$(date +%s)
ct_boot 400
tl_log "container booted, walked through and powered off in $(( $(date +%s) - start )) s"

# 4. Every block ran and exited 0.
failed=$(ct_result failed)
if [ -n "$failed" ]; then
	echo "---- block $failed:"; cat "$TL_TMP/in/blocks/$failed.sh"
	echo "---- its output:"; tail -n 40 "$TL_TMP/out/$failed.log"
	echo "---- the daemons:"; tail -n 40 "$TL_TMP/out/journal.log"
	tl_fail "block $failed of $DOC failed"
fi
[ "$(ct_result done)" = 1 ] || { tail -n 30 "$TL_TMP/nspawn.log"; tail -n 30 "$TL_TMP/out/check.log"; tl_fail "the walkthrough did not finish"; }
ok=$(grep -c '^ok=' "$TL_TMP/out/result")
[ "$ok" = "$ran" ] || tl_fail "$ok of $ran blocks ran"
grep -q "bytes from 10.8.0.1" "$TL_TMP/out/"*-alice.log || tl_fail "alice's ping got no answer"
grep -q "bytes from 10.8.0.1" "$TL_TMP/out/"*-bob.log || tl_fail "bob's ping got no answer"
tl_log "all $ran blocks ran as written: alice pinged over UDP, bob (UDP to the gateway dropped) over wss://"
tl_log PASS
