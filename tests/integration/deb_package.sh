#!/usr/bin/env bash
# The Debian packages, end to end (docs/OPERATIONS.md, "Packages"):
#  1. build them with dpkg-buildpackage (scripts/deb.sh, a copy of the tree);
#  2. lintian: no error and no warning (infos are explained in the docs);
#  3. install them on this machine; the installed units pass
#     `systemd-analyze verify`; every binary answers --version (the package's
#     version) and --help; the system users exist; units are enabled, inert;
#  4. boot this machine's own OS in a container (systemd-nspawn, a throwaway
#     overlay of /, private network) shaped like a kernel-only host: no
#     /run/wireguard, no wireguard-go. There: jitwg-registry.service starts
#     from registry.env and serves /healthz and /metrics (promtool-clean);
#     jitwgd.service gets past systemd's sandbox set-up and fails only in
#     jitwgd itself (no wg0 here), as user jitwgd; and the same unit with the
#     old `ReadWritePaths=/run/wireguard` fails with 226/NAMESPACE, which is
#     the defect the shipped unit no longer has; then, as a userspace host
#     (wireguard-go, the packaged drop-in), jitwgd.service reaches READY
#     under its whole sandbox, serves /metrics and `jitwg status`, reloads;
#     the shipped examples work as shipped: each daemon reads its own token
#     (jitwgd a gateway token from `jitwg-registry token create`, 0640
#     root:jitwgd), jitwgd's registry check passes, the pool hands out
#     10.8.0.2 to an enroll token; start
#     lines name the version; an upgrade restarts jitwgd; purging the
#     registry keeps its database and says so;
#  5. purge them (JITWG_PURGE_DATABASE=yes): no file, directory, unit link
#     or user of theirs is left.
# jitwg-relay is built and checked only when src/relay/ exists; otherwise that
# part is reported and the test exits 77 (SKIP) after checking the rest.
source "$(dirname "$0")/../lib.sh"
# shellcheck source=container.bash
source "$(dirname "$0")/container.bash"

for t in dpkg-buildpackage lintian systemd-analyze systemd-nspawn promtool; do
	command -v "$t" >/dev/null || { echo "$t not installed (scripts/deps.sh)"; exit 77; }
done
# One at a time per machine: the packages, their users and units are
# machine-wide, so a second run (another checkout's suite) would install over
# and purge under this one. Waits for the other run, or SKIPs.
exec 9>/run/lock/deb-package-test.lock
flock -w 240 9 || { echo "SKIP: another deb_package.sh has held the machine for 4 minutes"; exit 77; }
if dpkg-query -W -f='${Status}\n' jitwg jitwgd jitwg-registry jitwg-relay 2>/dev/null | grep -q "ok installed"; then
	echo "jitwg packages are installed on this machine: not touching them"; exit 77
fi
tl_init

VERSION=$(cd "$TL_ROOT" && dpkg-parsechangelog -S Version)
PKGS=(jitwg jitwgd jitwg-registry)
BINS=(/usr/bin/jitwg /usr/sbin/jitwgd /usr/sbin/jitwg-registry)
UNITS=(jitwgd.service jitwg-registry.service)
USERS=(jitwgd jitwg-registry)
relay=0
if [ -f "$TL_ROOT/src/relay/main.c" ]; then
	relay=1
	USERS+=(jitwg-relay)   # its group jitwg-hook is in the footprint below
	PKGS+=(jitwg-relay)
	BINS+=(/usr/sbin/jitwg-relay)
	UNITS+=(jitwg-relay.service)
fi

installed=0
purge_all() {
	[ "$installed" = 1 ] || return 0
	installed=0
	JITWG_PURGE_DATABASE=yes dpkg --purge "${PKGS[@]}" >"$TL_TMP/purge.log" 2>&1
}
# Also on failure: purge what was installed, then tl_cleanup (with this exit
# status).
on_exit() {
	local rc=$?
	set +e
	purge_all
	ct_release_root
	(exit "$rc")
	tl_cleanup
}
trap on_exit EXIT

# Every path on this file system that names jitwg, but for the trees a test
# run or a checkout makes itself, and man's page cache (/var/cache/man: man-db
# formats pages there on its own and drops those whose source is gone).
footprint() {
	find / -xdev \( -path /proc -o -path /sys -o -path /tmp -o -path /work -o -path "$TL_ROOT" \
		-o -path /var/tmp -o -path /root -o -path /var/cache/man \) -prune -o -iname '*jitwg*' -print 2>/dev/null | sort
	local u
	for u in "${USERS[@]}" jitwg-hook; do getent passwd "$u" >/dev/null && echo "user $u"; getent group "$u" >/dev/null && echo "group $u"; done
	return 0
}
footprint >"$TL_TMP/before.txt"

# 1. build
start=$(date +%s)
"$TL_ROOT/scripts/deb.sh" "$TL_TMP/deb" >"$TL_TMP/build.log" 2>&1 || { tail -n 40 "$TL_TMP/build.log"; tl_fail "package build failed"; }
tl_log "built ${PKGS[*]} $VERSION in $(( $(date +%s) - start )) s"
for p in "${PKGS[@]}"; do
	[ -f "$TL_TMP/deb/${p}_${VERSION}_$(dpkg --print-architecture).deb" ] || tl_fail "no package $p"
done

# 2. lintian
lintian --fail-on error,warning --pedantic -I "$TL_TMP"/deb/*.changes >"$TL_TMP/lintian.log" 2>&1 \
	|| { cat "$TL_TMP/lintian.log"; tl_fail "lintian reports errors or warnings"; }
tl_log "lintian: $(grep -c '^E:' "$TL_TMP/lintian.log") errors, $(grep -c '^W:' "$TL_TMP/lintian.log") warnings, $(grep -c '^[IP]:' "$TL_TMP/lintian.log") infos/pedantic"

# 3. install
installed=1
debs=()
for p in "${PKGS[@]}"; do debs+=("$TL_TMP/deb/${p}_${VERSION}_$(dpkg --print-architecture).deb"); done
dpkg -i "${debs[@]}" >"$TL_TMP/install.log" 2>&1 || { cat "$TL_TMP/install.log"; tl_fail "dpkg -i failed"; }
for u in "${UNITS[@]}"; do
	[ -f "/lib/systemd/system/$u" ] || tl_fail "$u not installed"
	[ -L "/etc/systemd/system/multi-user.target.wants/$u" ] || tl_fail "$u not enabled"
done
( cd /lib/systemd/system && systemd-analyze verify "${UNITS[@]}" jitwg-tunnel@.service ) >"$TL_TMP/verify.log" 2>&1 \
	|| { cat "$TL_TMP/verify.log"; tl_fail "systemd-analyze verify failed on the installed units"; }
[ -s "$TL_TMP/verify.log" ] && { cat "$TL_TMP/verify.log"; tl_fail "systemd-analyze verify complained"; }
for b in "${BINS[@]}"; do
	out=$("$b" --version) || tl_fail "$b --version failed"
	[ "$out" = "${b##*/} $VERSION" ] || tl_fail "$b --version says '$out', want '${b##*/} $VERSION'"
	"$b" --help >/dev/null || tl_fail "$b --help failed"
done
for u in "${USERS[@]}"; do
	getent passwd "$u" >/dev/null || tl_fail "system user $u missing"
done
[ -f /etc/jitwg/jitwgd.conf.example ] && [ ! -e /etc/jitwg/jitwgd.conf ] || tl_fail "example config not as expected"
[ -f /usr/share/bash-completion/completions/jitwg ] || tl_fail "bash completion missing"
mans=(jitwg.8 jitwgd.8 jitwgd.conf.5 jitwg-registry.8)
[ "$relay" = 1 ] && mans+=(jitwg-relay.8)
for m in "${mans[@]}"; do
	f=$(find /usr/share/man -name "$m.gz" | head -n 1)
	[ -n "$f" ] || tl_fail "man page $m not installed"
	zcat "$f" | mandoc -T lint -W warning >/dev/null || tl_fail "installed $m is not lint-clean"
done
# Every document a unit names is installed.
for u in "${UNITS[@]}" jitwg-tunnel@.service; do
	for d in $(sed -n 's/^Documentation=//p' "/lib/systemd/system/$u"); do
		case $d in
		man:*) m=${d#man:}; n=${m%(*}; sec=${m#*(}; sec=${sec%)}
			[ -n "$(find /usr/share/man -name "$n.$sec.gz" | head -n 1)" ] || tl_fail "$u names $d, not installed" ;;
		file://*) [ -f "${d#file://}" ] || tl_fail "$u names $d, not installed" ;;
		*) tl_fail "$u: Documentation=$d is neither man: nor file:" ;;
		esac
	done
done
tl_log "installed: units verified and enabled, binaries answer --version $VERSION and --help"

# 4. a kernel-only host: this OS booted in a container
[ ! -e /run/wireguard ] || tl_log "(the host has /run/wireguard; the container does not)"
ct_prepare "jitwg package check"
# The control unit: the shipped one plus the old line. It must not share the
# state and runtime directories or restart: its every failure would remove
# /run/jitwg under the real unit's feet.
sed 's|^ReadWritePaths=.*||; s|^\[Service\]|[Service]\nReadWritePaths=/run/wireguard|;
     s|^Restart=.*|Restart=no|; /^RuntimeDirectory/d; /^StateDirectory/d' \
	/lib/systemd/system/jitwgd.service >"$TL_TMP/in/jitwgd-rwpaths.service"
cat >"$TL_TMP/in/check.sh" <<'SCRIPT'
#!/bin/bash
# Runs inside the container; writes KEY=VALUE lines to /jitwg-out/result.
exec >/jitwg-out/check.log 2>&1
set -x
r=/jitwg-out/result
echo "run_wireguard=$([ -e /run/wireguard ] && echo yes || echo no)" >>$r
# The packaged examples as shipped, each daemon with its own token
# (docs/OPERATIONS.md "Tokens on a packaged host"): the registry's admin
# token, then, once the registry has made its database, jitwgd's gateway token.
cp /etc/jitwg/registry.env.example /etc/jitwg/registry.env
(umask 027; head -c 32 /dev/urandom | base64 >/etc/jitwg/registry.token)
chgrp jitwg-registry /etc/jitwg/registry.token
auth="Authorization: Bearer $(cat /etc/jitwg/registry.token)"
systemctl start jitwg-registry.service
for i in $(seq 50); do curl -sf http://127.0.0.1:8080/healthz >/dev/null && break; sleep 0.1; done
jitwg-registry token create --db /var/lib/jitwg-registry/registry.db --scope gateway \
	--output /etc/jitwg/gateway.token --group jitwgd
echo "gateway_token=$(stat -c '%a %U:%G' /etc/jitwg/gateway.token)" >>$r
echo "db_owner=$(stat -c '%U' /var/lib/jitwg-registry/registry.db*| sort -u | tr '\n' ' ')" >>$r
echo "registry_active=$(systemctl is-active jitwg-registry.service)" >>$r
echo "registry_healthz=$(curl -sf http://127.0.0.1:8080/healthz)" >>$r
echo "registry_user=$(ps -o user= -p "$(systemctl show -p MainPID --value jitwg-registry.service)")" >>$r
curl -sf -H "$auth" http://127.0.0.1:8080/metrics >/jitwg-out/registry.metrics
echo "registry_version_logged=$(journalctl -b -u jitwg-registry.service -o cat --no-pager | grep -cF "$(jitwg-registry --version) listening")" >>$r
echo "registry_promtool=$(promtool check metrics </jitwg-out/registry.metrics >/dev/null 2>&1 && echo ok || echo bad)" >>$r
cp /etc/jitwg/jitwgd.conf.example /etc/jitwg/jitwgd.conf
systemctl start jitwgd.service
sleep 1
echo "jitwgd_status=$(systemctl show -p ExecMainStatus --value jitwgd.service)" >>$r
systemctl stop jitwgd.service  # ends its Restart= loop before phase 2
journalctl -b -u jitwgd.service -o cat --no-pager >/jitwg-out/jitwgd.journal
cp /jitwg-check/jitwgd-rwpaths.service /run/systemd/system/jitwgd-rwpaths.service
systemctl daemon-reload
systemctl start jitwgd-rwpaths.service
sleep 1
echo "rwpaths_status=$(systemctl show -p ExecMainStatus --value jitwgd-rwpaths.service)" >>$r
if [ -f /lib/systemd/system/jitwg-relay.service ]; then
	printf 'LISTEN=127.0.0.1:8081\nOPTIONS=--metrics 127.0.0.1:9587 --max-connections 64\n' >/etc/jitwg/relay.env
	systemctl start jitwg-relay.service
	for i in $(seq 50); do curl -sf http://127.0.0.1:9587/metrics >/jitwg-out/relay.metrics && break; sleep 0.1; done
	echo "relay_active=$(systemctl is-active jitwg-relay.service)" >>$r
	echo "relay_user=$(ps -o user= -p "$(systemctl show -p MainPID --value jitwg-relay.service)")" >>$r
	echo "relay_promtool=$(promtool check metrics </jitwg-out/relay.metrics >/dev/null 2>&1 && echo ok || echo bad)" >>$r
fi
# Phase 2, a userspace host: wireguard-go makes wg0 (and /run/wireguard); with
# the packaged drop-in, jitwgd.service must reach READY under its full
# sandbox (user, capabilities, seccomp filter) and serve metrics and status.
WG_PROCESS_FOREGROUND=1 wireguard-go wg0 >/jitwg-out/wireguard-go.log 2>&1 &
for i in $(seq 50); do [ -S /run/wireguard/wg0.sock ] && break; sleep 0.1; done
wg genkey >/run/wg0.key
wg set wg0 private-key /run/wg0.key listen-port 51820 && ip link set wg0 up
mkdir -p /etc/systemd/system/jitwgd.service.d
cp /usr/share/doc/jitwgd/examples/jitwgd-userspace.conf /etc/systemd/system/jitwgd.service.d/
systemctl daemon-reload
systemctl reset-failed jitwgd.service
timeout 30 systemctl start jitwgd.service
echo "userspace_active=$(systemctl is-active jitwgd.service)" >>$r
echo "userspace_user=$(ps -o user= -p "$(systemctl show -p MainPID --value jitwgd.service)")" >>$r
curl -sf http://127.0.0.1:9586/metrics >/jitwg-out/jitwgd.metrics
echo "jitwgd_promtool=$(promtool check metrics </jitwg-out/jitwgd.metrics >/dev/null 2>&1 && echo ok || echo bad)" >>$r
echo "status_key=$(jitwg status --interface wg0 --json | jq -r .public_key)" >>$r
echo "wg_key=$(wg show wg0 public-key)" >>$r
for i in $(seq 50); do grep -q '^jitwg_registry_check_ok 1' /jitwg-out/jitwgd.metrics && break; sleep 0.1; curl -sf http://127.0.0.1:9586/metrics >/jitwg-out/jitwgd.metrics; done
echo "registry_check=$(sed -n 's/^jitwg_registry_check_ok //p' /jitwg-out/jitwgd.metrics)" >>$r
echo "jitwgd_version_logged=$(journalctl -b -u jitwgd.service -o cat --no-pager | grep -cF "$(jitwgd --version) ready")" >>$r
# The registry's pool as shipped, to a user's enroll token: the first client
# gets 10.8.0.2 (10.8.0.1 is the gateway's).
jitwg-registry token create --db /var/lib/jitwg-registry/registry.db --scope enroll --output /run/enroll.token
jitwg peer config --registry http://127.0.0.1:8080 --token-file /run/enroll.token \
	--gateway-public-key "$(wg show wg0 public-key)" --endpoint 192.0.2.1:51820 >/jitwg-out/client.conf
echo "client_address=$(sed -n 's/^Address = //p' /jitwg-out/client.conf)" >>$r
systemctl reload jitwgd.service
sleep 0.5
echo "after_reload=$(systemctl is-active jitwgd.service)" >>$r
journalctl -b -u jitwgd.service -o cat --no-pager >/jitwg-out/jitwgd.journal
# An upgrade (the same packages again) restarts the running daemon. A
# policy-rc.d that forbids service actions (build and container images ship
# one) would keep dpkg from it: this container's copy of / is ours to change.
rm -f /usr/sbin/policy-rc.d
pid=$(systemctl show -p MainPID --value jitwgd.service)
dpkg -i /jitwg-debs/*.deb >/jitwg-out/upgrade.log 2>&1
for i in $(seq 50); do [ "$(systemctl is-active jitwgd.service)" = active ] && break; sleep 0.1; done
echo "upgrade_restarted=$([ "$(systemctl show -p MainPID --value jitwgd.service)" != "$pid" ] && echo yes || echo no)" >>$r
echo "after_upgrade=$(systemctl is-active jitwgd.service)" >>$r
# Purge keeps the registry's database unless asked, and says so.
systemctl stop jitwg-registry.service
dpkg --purge jitwg-registry >/jitwg-out/purge-registry.log 2>&1
echo "purge_kept_db=$([ -f /var/lib/jitwg-registry/registry.db ] && echo yes || echo no)" >>$r
echo "purge_said=$(grep -c 'kept the registry.s database' /jitwg-out/purge-registry.log)" >>$r
echo "done=1" >>$r
SCRIPT
start=$(date +%s)
ct_boot 180
tl_log "container booted, checked and powered off in $(( $(date +%s) - start )) s"
res() { ct_result "$@"; }
show_container() { tail -n 30 "$TL_TMP/nspawn.log"; cat "$TL_TMP/out/check.log" "$TL_TMP/out/result" 2>/dev/null | tail -n 60; }
[ "$(res done)" = 1 ] || { show_container; tl_fail "the container checks did not finish"; }
[ "$(res run_wireguard)" = no ] || tl_fail "the container has /run/wireguard: not a kernel-only host"
[ "$(res registry_active)" = active ] || { show_container; tl_fail "jitwg-registry.service is not active"; }
[ "$(res registry_healthz)" = '{"status":"ok"}' ] || tl_fail "registry /healthz: $(res registry_healthz)"
[ "$(res registry_user)" = jitwg-registry ] || tl_fail "registry runs as '$(res registry_user)'"
[ "$(res registry_promtool)" = ok ] || tl_fail "promtool check metrics failed on the packaged registry"
s=$(res jitwgd_status)
[ -n "$s" ] && [ "$s" != 226 ] && [ "$s" != 0 ] || { show_container; tl_fail "jitwgd.service status '$s': want jitwgd's own failure (no wg0), not 226/NAMESPACE"; }
grep -q "jitwgd" "$TL_TMP/out/jitwgd.journal" && grep -qi "wg0" "$TL_TMP/out/jitwgd.journal" \
	|| { cat "$TL_TMP/out/jitwgd.journal"; tl_fail "jitwgd did not run and name its missing interface"; }
[ "$(res rwpaths_status)" = 226 ] || tl_fail "control unit with ReadWritePaths=/run/wireguard: status '$(res rwpaths_status)', want 226"
if [ "$relay" = 1 ]; then
	[ "$(res relay_active)" = active ] || { show_container; tl_fail "jitwg-relay.service is not active"; }
	[ "$(res relay_user)" = jitwg-relay ] || tl_fail "relay runs as '$(res relay_user)'"
	[ "$(res relay_promtool)" = ok ] || tl_fail "promtool check metrics failed on the packaged relay"
	tl_log "relay unit active as jitwg-relay, /metrics promtool-clean"
fi
[ "$(res userspace_active)" = active ] || { show_container; cat "$TL_TMP/out/jitwgd.journal"; tl_fail "jitwgd.service with wireguard-go and the drop-in is not active"; }
[ "$(res userspace_user)" = jitwgd ] || tl_fail "jitwgd runs as '$(res userspace_user)'"
[ "$(res jitwgd_promtool)" = ok ] || tl_fail "promtool check metrics failed on the packaged jitwgd"
[ -n "$(res wg_key)" ] && [ "$(res status_key)" = "$(res wg_key)" ] || tl_fail "jitwg status under the unit: key '$(res status_key)', wg says '$(res wg_key)'"
[ "$(res after_reload)" = active ] || tl_fail "jitwgd.service not active after systemctl reload"
[ "$(res gateway_token)" = "640 root:jitwgd" ] || tl_fail "gateway.token from token create: '$(res gateway_token)', want 640 root:jitwgd"
[ "$(res db_owner)" = "jitwg-registry " ] || tl_fail "token create as root left registry.db* owned by '$(res db_owner)'"
[ "$(res registry_check)" = 1 ] || { cat "$TL_TMP/out/jitwgd.journal"; tl_fail "jitwgd's registry check with the packaged token layout: '$(res registry_check)'"; }
[ "$(res jitwgd_version_logged)" -ge 1 ] && [ "$(res registry_version_logged)" -ge 1 ] || tl_fail "a start line without the version"
case $(res client_address) in "10.8.0.2/32, fd00:8::2/128") ;; *) tl_fail "packaged pool: client got '$(res client_address)', want 10.8.0.2/32, fd00:8::2/128";; esac
[ "$(res upgrade_restarted)" = yes ] && [ "$(res after_upgrade)" = active ] || { cat "$TL_TMP/out/upgrade.log"; tl_fail "upgrade: restarted '$(res upgrade_restarted)', then '$(res after_upgrade)'"; }
[ "$(res purge_kept_db)" = yes ] && [ "$(res purge_said)" = 1 ] || { cat "$TL_TMP/out/purge-registry.log"; tl_fail "purge of jitwg-registry: kept db '$(res purge_kept_db)', said so '$(res purge_said)'"; }
tl_log "packaged examples: each daemon reads its own token (gateway.token $(res gateway_token), gateway scope), registry check ok, pool gives $(res client_address); versions logged; upgrade restarts jitwgd; purge keeps the registry's database and says so"
tl_log "userspace host: jitwgd.service READY as jitwgd under the full sandbox, metrics promtool-clean, jitwg status and reload work"
tl_log "kernel-only host: registry unit active as jitwg-registry; jitwgd unit ran jitwgd (exit $s: $(grep -i wg0 "$TL_TMP/out/jitwgd.journal" | head -n 1)); old ReadWritePaths unit: 226/NAMESPACE"

# 5. purge
purge_all || { cat "$TL_TMP/purge.log"; tl_fail "dpkg --purge failed"; }
footprint >"$TL_TMP/after.txt"
if ! diff -u "$TL_TMP/before.txt" "$TL_TMP/after.txt"; then
	tl_fail "purge left the above behind"
fi
tl_log "purged: nothing left behind ($(wc -l <"$TL_TMP/before.txt") jitwg paths before and after)"
if [ "$relay" = 0 ]; then
	echo "SKIP: jitwg-relay not in this tree (src/relay/ missing): its package was not built; the rest passed"
	exit 77
fi
tl_log PASS
