#!/usr/bin/env bash
# crossed (kernel): the crossed-handshake stall of issue 8 on kernel
# WireGuard, in the TCG guest: kernel gateway (jitwgd --backend kernel) and
# 40 kernel clients; ROUNDS rounds of cold connects one at a time, tcpdump
# on the gateway's link. For every connect over 1 s the guest prints that
# client's packets by size (148 initiation, 92 response, 32 keepalive).
# Not a test.
#
#   bench/kernel/crossed.sh [ROUNDS [jitwgd args...]]
#   e.g. bench/kernel/crossed.sh 3 --initiate-delay-ms 0
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/tests/lib.sh"
source "$ROOT/tests/kernel/lib.bash"
TL_NAME=bench-crossed
tl_init
kg_require
command -v tcpdump >/dev/null || tl_fail "tcpdump not installed"
make -s -C "$ROOT" all kernel-tools >/dev/null || tl_fail "build failed"
kg_fetch_kernel
ROUNDS=${1:-3}
shift
files=$TL_TMP/files
mkdir -p "$files"
umask 077
wg genkey >"$files/gw.key"
echo "$ROUNDS" >"$files/rounds"
echo "$*" >"$files/args"

# The registry database, filled over the API on the host (as tests/kernel/gateway.sh).
: >"$files/clients.txt"
kg_registry_start "$files/registry.db"
for n in $(seq 1 40); do
	priv=$(wg genkey)
	pub=$(wg pubkey <<<"$priv")
	echo "$n $priv $pub" >>"$files/clients.txt"
	kg_register "$pub" "10.77.1.$n/32"
done
kg_registry_stop "$files/registry.db"

root=$TL_TMP/root
kg_rootfs "$root" "$ROOT/bench/kernel/crossed-guest.sh" "$files"/*
kg_add_elf "$root" "$(command -v tcpdump)"
kg_boot "$root" "$TL_TMP/console.log" "${KG_TIMEOUT:-900}" || true
tr -d '\r' <"$TL_TMP/console.log" | sed -n 's/^.*\(CROSSED .*\)$/\1/p'
