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
#  5. purge them: no file, directory, unit link or user of theirs is left.
# jitwg-relay is built and checked only when src/relay/ exists; otherwise that
# part is reported and the test exits 77 (SKIP) after checking the rest.
source "$(dirname "$0")/../lib.sh"

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
	dpkg --purge "${PKGS[@]}" >"$TL_TMP/purge.log" 2>&1
}
# Also on failure: purge what was installed, then tl_cleanup (with this exit
# status). The container's root is a bind mount of / made inside its own mount
# namespace; should it ever be visible here, never rm -rf through it.
on_exit() {
	local rc=$?
	set +e
	purge_all
	if [ -d "$TL_TMP/root" ] && ! rmdir "$TL_TMP/root"; then
		tl_log "$TL_TMP/root is not empty: leaving $TL_TMP in place"
		TL_TMP=""
	fi
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
tl_log "installed: units verified and enabled, binaries answer --version $VERSION and --help"

# 4. a kernel-only host: this OS booted in a container
[ ! -e /run/wireguard ] || tl_log "(the host has /run/wireguard; the container does not)"
mkdir -p "$TL_TMP/root" "$TL_TMP/out"
# The control unit: the shipped one plus the old line. It must not share the
# state and runtime directories or restart: its every failure would remove
# /run/jitwg under the real unit's feet.
sed 's|^ReadWritePaths=.*||; s|^\[Service\]|[Service]\nReadWritePaths=/run/wireguard|;
     s|^Restart=.*|Restart=no|; /^RuntimeDirectory/d; /^StateDirectory/d' \
	/lib/systemd/system/jitwgd.service >"$TL_TMP/jitwgd-rwpaths.service"
cat >"$TL_TMP/check.target" <<'UNIT'
[Unit]
Description=jitwg package check
Requires=basic.target jitwg-check.service
After=basic.target jitwg-check.service
AllowIsolate=yes
UNIT
cat >"$TL_TMP/check.service" <<'UNIT'
[Unit]
Description=jitwg package check (runs the checks, then powers off)
After=basic.target
[Service]
Type=oneshot
ExecStart=/bin/bash /jitwg-check/check.sh
ExecStopPost=/bin/systemctl poweroff --no-block
UNIT
cat >"$TL_TMP/check.sh" <<'SCRIPT'
#!/bin/bash
# Runs inside the container; writes KEY=VALUE lines to /jitwg-out/result.
exec >/jitwg-out/check.log 2>&1
set -x
r=/jitwg-out/result
echo "run_wireguard=$([ -e /run/wireguard ] && echo yes || echo no)" >>$r
printf 'LISTEN=127.0.0.1:8080\nDB=/var/lib/jitwg-registry/registry.db\nOPTIONS=--threads 2\n' >/etc/jitwg/registry.env
systemctl start jitwg-registry.service
for i in $(seq 50); do curl -sf http://127.0.0.1:8080/healthz >/dev/null && break; sleep 0.1; done
echo "registry_active=$(systemctl is-active jitwg-registry.service)" >>$r
echo "registry_healthz=$(curl -sf http://127.0.0.1:8080/healthz)" >>$r
echo "registry_user=$(ps -o user= -p "$(systemctl show -p MainPID --value jitwg-registry.service)")" >>$r
curl -sf http://127.0.0.1:8080/metrics >/jitwg-out/registry.metrics
echo "registry_promtool=$(promtool check metrics </jitwg-out/registry.metrics >/dev/null 2>&1 && echo ok || echo bad)" >>$r
sed 's|^registry = .*|registry = http://127.0.0.1:8080|' /etc/jitwg/jitwgd.conf.example >/etc/jitwg/jitwgd.conf
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
systemctl reload jitwgd.service
sleep 0.5
echo "after_reload=$(systemctl is-active jitwgd.service)" >>$r
journalctl -b -u jitwgd.service -o cat --no-pager >/jitwg-out/jitwgd.journal
echo "done=1" >>$r
SCRIPT
cp "$TL_TMP/jitwgd-rwpaths.service" "$TL_TMP/check.target" "$TL_TMP/check.service" "$TL_TMP/check.sh" "$TL_TMP/out/" 2>/dev/null
mkdir -p "$TL_TMP/in" && mv "$TL_TMP/out/"* "$TL_TMP/in/"
# --capability=CAP_IPC_LOCK: without it nspawn's own seccomp filter refuses
# mlock(2) to everyone in the container (root included), which jitwgd needs
# for its key page; a real host has no such filter.
start=$(date +%s)
timeout --kill-after=5 120 unshare -m sh -c '
	mount --bind / "$1/root" && exec systemd-nspawn -q -D "$1/root" --volatile=overlay \
		-M "jt$$" --register=no --keep-unit --link-journal=no --private-network \
		--capability=CAP_IPC_LOCK \
		--bind-ro="$1/in:/jitwg-check" --bind="$1/out:/jitwg-out" \
		--bind-ro="$1/in/check.target:/etc/systemd/system/jitwg-check.target" \
		--bind-ro="$1/in/check.service:/etc/systemd/system/jitwg-check.service" \
		-b systemd.unit=jitwg-check.target' sh "$TL_TMP" </dev/null >"$TL_TMP/nspawn.log" 2>&1 || true
tl_log "container booted, checked and powered off in $(( $(date +%s) - start )) s"
res() { sed -n "s/^$1=//p" "$TL_TMP/out/result" 2>/dev/null | tail -n 1; }
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
