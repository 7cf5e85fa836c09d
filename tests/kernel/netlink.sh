#!/usr/bin/env bash
# Real-kernel test of the netlink backend: boots Debian's cloud kernel under
# TCG and runs tests/kernel/guest/netlink.sh there (device, add/update/list/
# remove against wg(8), v4/v6 endpoints, psk, update-only, a peer split
# across messages, 100k-peer dump, the initiator-role trigger).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.bash"
tl_init
kg_require
make -s -C "$TL_ROOT" kernel-tools >/dev/null 2>&1 || [ -x "$TL_BIN/nltool" ] || tl_fail "cannot build nltool"
kg_fetch_kernel
root=$TL_TMP/root
kg_rootfs "$root" "$KG_GUEST_DIR/netlink.sh"
kg_boot "$root" "$TL_TMP/console.log" "${KG_TIMEOUT:-240}" || true
kg_report "$TL_TMP/console.log" open_no_family dispatcher_no_kernel open_no_interface \
	open_not_wireguard device add_v4_psk endpoint_v6 list_peer allowedips_append \
	allowedips_replace psk_keepalive_clear update_only_missing remove split_peer_verify \
	no_handshake_without_trigger initiator_handshake initiator_keepalive_restored tunnel_ping \
	initiator_v6_keepalive initiator_keepalive_kept big_add big_dump big_wg_count big_dump_during_changes big_remove
