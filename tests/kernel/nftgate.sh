#!/usr/bin/env bash
# The nftables admission filter (jitwgd --admit-set, packaging/nftables/
# jitwg.nft) in front of kernel WireGuard: Debian's cloud kernel under TCG
# runs tests/kernel/guest/nftgate.sh with nf_tables loaded, kernel WireGuard
# on both sides and the real registry. Cases: the ruleset loads; a
# registered client cold-connects although the rule drops its first
# initiation; its endpoint is in the set; a second initiation of the
# installed peer passes; a junk flood is dropped by the rule with nothing
# installed; no set write failed. Budget: about 90 s.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.bash"
tl_init
kg_require
kg_need_bins jitwgd jitwg jitwg-registry
command -v nft >/dev/null || { tl_log "SKIP: nft not installed (scripts/deps.sh: nftables)"; exit 77; }
kg_fetch_kernel

files=$TL_TMP/files
mkdir -p "$files"
umask 077
wg genkey >"$files/gw.key"
priv=$(wg genkey)
echo "$priv" >"$files/c1.key"
cp "$TL_ROOT/packaging/nftables/jitwg.nft" "$files/jitwg.nft"

kg_registry_start "$files/registry.db"
kg_register "$(wg pubkey <<<"$priv")" 10.77.1.1/32
kg_registry_stop "$files/registry.db"

root=$TL_TMP/root
# The guest has no modprobe: nf_tables, and nft_objref for the named
# counters, which a real system autoloads.
KG_EXTRA_MODULES="nf_tables nft_objref" kg_rootfs "$root" "$KG_GUEST_DIR/nftgate.sh" "$files"/*
grep -q nf_tables "$root/lib/modules/order" || grep -q '^CONFIG_NF_TABLES=y' "$KG_CACHE/root/boot/config-$KG_KVER" ||
	tl_fail "nf_tables.ko not found in $KG_MODDIR"
kg_add_elf "$root" "$(command -v nft)" /usr/sbin/nft
kg_boot "$root" "$TL_TMP/console.log" "${KG_TIMEOUT:-180}" || true
kg_report "$TL_TMP/console.log" nft_ruleset jitwgd_start nft_cold_connect nft_first_dropped nft_element \
	nft_second_initiation_admitted nft_flood_dropped nft_flood_installs_nothing nft_no_write_errors
