#!/usr/bin/env bash
# Real-kernel end-to-end test of jitwgd --backend kernel: boots Debian's cloud
# kernel under TCG and runs tests/kernel/guest/gateway.sh there with the real
# jitwg-registry. Cases: cold connect (IPv4, IPv6) with role inversion, 40 of
# 300 registered clients connecting (exactly 40 peers in the kernel), a
# deletion revoking a connected client (the change feed), replay, restart
# adoption, eviction and re-install, re-injection, and under a flood the
# kernel's cookie replies seen leaving.
#
# The registry's database is filled here on the host (300 POSTs to a
# jitwg-registry in a namespace of ours) and shipped in the initramfs: the
# same HTTP API, without 300 process starts under TCG.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.bash"
tl_init
kg_require
kg_need_bins jitwgd jitwg-registry
make -s -C "$TL_ROOT" kernel-tools >/dev/null 2>&1 || [ -x "$TL_BIN/wginit" ] || tl_fail "cannot build kernel tools"
kg_fetch_kernel

files=$TL_TMP/files
mkdir -p "$files"
umask 077
wg genkey >"$files/gw.key"

# 41 clients with keys (40 connect, 41 is the replay subject), 259 others.
: >"$files/clients.txt"
: >"$TL_TMP/reqs"
add_req() { # PUB AIP4 AIP6
	[ -s "$TL_TMP/reqs" ] && echo next >>"$TL_TMP/reqs"
	printf 'url = "%s/v1/peers"\nrequest = "POST"\nheader = "Content-Type: application/json"\n' "$REG_URL" >>"$TL_TMP/reqs"
	printf 'data = "{\\"public_key\\":\\"%s\\",\\"allowed_ips\\":[\\"%s\\",\\"%s\\"]}"\n' "$1" "$2" "$3" >>"$TL_TMP/reqs"
	printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' >>"$TL_TMP/reqs"
}
kg_registry_start "$files/registry.db"
for n in $(seq 1 41); do
	priv=$(wg genkey)
	pub=$(wg pubkey <<<"$priv")
	echo "$n $priv $pub" >>"$files/clients.txt"
	add_req "$pub" "10.77.1.$n/32" "fd77::1:$n/128"
done
for n in $(seq 42 300); do
	pub=$(head -c 32 /dev/urandom | base64)
	add_req "$pub" "10.77.$((2 + n / 250)).$((n % 250))/32" "fd77::2:$n/128"
done
codes=$(ip netns exec "$KG_REG" curl -s -K "$TL_TMP/reqs") || tl_fail "registering peers failed"
ok=$(grep -c '^20[01]$' <<<"$codes" || true)
[ "$ok" = 300 ] || tl_fail "registry accepted $ok of 300 peers"
kg_registry_stop "$files/registry.db"

root=$TL_TMP/root
kg_rootfs "$root" "$KG_GUEST_DIR/gateway.sh" "$files"/*
kg_boot "$root" "$TL_TMP/console.log" "${KG_TIMEOUT:-300}" || true
kg_report "$TL_TMP/console.log" cold_gateway cold_connect_v4 cold_connect_v6 endpoint_v6_source \
	initiations_sent forty_connect forty_exact forty_gauge delete_revokes delete_stays_revoked replay_setup replay_unseen_endpoint_kept replay_moves_no_endpoint \
	replay_counted replay_installs_nothing fresh_initiation_installs stop_sigterm stop_keeps_peers \
	auto_picks_kernel restart_adopts restart_tunnels_kept evict_idle evict_metrics reinstall_after_evict \
	reinject_connect reinject_answered reinject_keepalive cookie_tap cookie_connect
