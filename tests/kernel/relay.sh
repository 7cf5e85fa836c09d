#!/usr/bin/env bash
# WireGuard over WebSockets on the kernel backend: Debian's cloud kernel
# under TCG runs tests/kernel/guest/relay.sh: kernel WireGuard on both sides,
# the client's traffic through `jitwg tunnel` -> jitwg-relay -> the hook ->
# jitwgd --backend kernel with the real registry. Cases: cold connect over the
# relay (peer installed in the kernel with the relay socket as endpoint), the
# initiation not captured a second time on lo, the tunnel carrying traffic.
# Budget: about 90 s.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.bash"
tl_init
kg_require
kg_need_bins jitwgd jitwg jitwg-registry jitwg-relay
kg_fetch_kernel

files=$TL_TMP/files
mkdir -p "$files"
umask 077
wg genkey >"$files/gw.key"
priv=$(wg genkey)
echo "$priv" >"$files/c1.key"

# The registry's database, filled here (one client) and shipped to the guest.
kg_registry_start "$files/registry.db"
kg_register "$(wg pubkey <<<"$priv")" 10.77.1.1/32
kg_registry_stop "$files/registry.db"

root=$TL_TMP/root
kg_rootfs "$root" "$KG_GUEST_DIR/relay.sh" "$files"/*
kg_add_elf "$root" "$TL_BIN/jitwg-relay" /usr/local/bin/jitwg-relay
kg_boot "$root" "$TL_TMP/console.log" "${KG_TIMEOUT:-150}" || true
kg_report "$TL_TMP/console.log" relay_start relay_cold_connect relay_installed_in_kernel \
	relay_endpoint_is_relay_socket relay_hook_not_captured relay_traffic
