# shellcheck shell=bash
# This machine's own OS booted in a throwaway systemd-nspawn container (an
# overlay of /, private network) to run a check script under systemd, then
# powered off: deb_package.sh and first_gateway.sh. Sourced, not a test
# (run.sh runs only *.sh). Under $TL_TMP: in/ holds check.sh and what it
# reads (/jitwg-check, read-only), out/ what it writes (/jitwg-out: KEY=VALUE
# lines in out/result, logs), deb/ the packages (/jitwg-debs, read-only),
# root/ the mount point of /.

# ct_prepare DESCRIPTION -> in/, out/, root/, and the units that run
# /jitwg-check/check.sh once the container has booted and power it off after.
ct_prepare() {
	mkdir -p "$TL_TMP/in" "$TL_TMP/out" "$TL_TMP/root"
	cat >"$TL_TMP/in/check.target" <<UNIT
[Unit]
Description=$1
Requires=basic.target jitwg-check.service
After=basic.target jitwg-check.service
AllowIsolate=yes
UNIT
	cat >"$TL_TMP/in/check.service" <<UNIT
[Unit]
Description=$1 (runs the checks, then powers off)
After=basic.target
[Service]
Type=oneshot
TimeoutStartSec=600
ExecStart=/bin/bash /jitwg-check/check.sh
ExecStopPost=/bin/systemctl poweroff --no-block
UNIT
}

# ct_boot SECONDS -> boots the container and returns once it has powered off
# (or after SECONDS); nspawn's own output goes to $TL_TMP/nspawn.log.
# --capability=CAP_IPC_LOCK: without it nspawn's own seccomp filter refuses
# mlock(2) to everyone in the container (root included), which jitwgd needs
# for its key page; a real host has no such filter.
ct_boot() {
	timeout --kill-after=5 "$1" unshare -m sh -c '
		mount --bind / "$1/root" && exec systemd-nspawn -q -D "$1/root" --volatile=overlay \
			-M "jt$$" --register=no --keep-unit --link-journal=no --private-network \
			--capability=CAP_IPC_LOCK \
			--bind-ro="$1/in:/jitwg-check" --bind="$1/out:/jitwg-out" --bind-ro="$1/deb:/jitwg-debs" \
			--bind-ro="$1/in/check.target:/etc/systemd/system/jitwg-check.target" \
			--bind-ro="$1/in/check.service:/etc/systemd/system/jitwg-check.service" \
			-b systemd.unit=jitwg-check.target' sh "$TL_TMP" </dev/null >"$TL_TMP/nspawn.log" 2>&1 || true
}

# ct_release_root -> for the EXIT trap, before tl_cleanup: the container's
# root is a bind mount of / made inside its own mount namespace; should it
# ever be visible here, $TL_TMP is left in place rather than rm -rf'd
# through it.
ct_release_root() {
	if [ -d "$TL_TMP/root" ] && ! rmdir "$TL_TMP/root"; then
		tl_log "$TL_TMP/root is not empty: leaving $TL_TMP in place"
		TL_TMP=""
	fi
}

# ct_result KEY -> the last value check.sh wrote for KEY in out/result.
ct_result() { sed -n "s/^$1=//p" "$TL_TMP/out/result" 2>/dev/null | tail -n 1; }
