#!/usr/bin/env bash
# Real-kernel interop of jitwg loadgen: boots Debian's cloud kernel under
# TCG and runs tests/kernel/guest/loadgen.sh there: loadgen clients against
# kernel WireGuard with pre-installed peers, as initiators and as
# responders (the kernel initiates on the persistent-keepalive edge), each
# session carrying one ICMP echo through the tunnel.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.bash"
tl_init
kg_require
[ -x "$TL_BIN/jitwg" ] || { tl_log "SKIP: build first (make)"; exit 77; }
kg_fetch_kernel
root=$TL_TMP/root
kg_rootfs "$root" "$KG_GUEST_DIR/loadgen.sh"
kg_boot "$root" "$TL_TMP/console.log" "${KG_TIMEOUT:-180}" || true
kg_report "$TL_TMP/console.log" loadgen_kernel_initiator loadgen_kernel_responder loadgen_kernel_role_inversion
