#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing, benchmarking and
# the lab need. Idempotent; run as root. Kept in one place so that a missing
# install step fails CI on a fresh machine instead of hiding on a dev box.
set -euo pipefail

PKGS=(
	# build
	build-essential pkg-config clang llvm libclang-rt-14-dev
	libssl-dev libmnl-dev libsqlite3-dev libcurl4-openssl-dev
	libmicrohttpd-dev libjson-c-dev libpq-dev libcmocka-dev
	libnftnl-dev nftables # jitwgd --admit-set (libnftnl) and its ruleset (nft -f)
	libqrencode-dev qrencode # jitwg peer config --qr; qrencode(1) is the tests' reference rendering
	# real WireGuard and namespaces
	wireguard-go wireguard-tools iproute2 iputils-ping tcpdump kmod
	python3 # scripts/gen-initiations.sh: the independent reader of its captures
	# registry store and load tools
	postgresql sqlite3 wrk curl jq
	# bench/fleet: the push-vs-JIT chart and the reboot curves
	gnuplot-nox
	# real-kernel tests
	qemu-system-x86 busybox-static cpio
	# jitwg-relay: frame codec; WebSocket stacks we did not write, for the
	# interop tests (Node's ws speaks the stream framing, python3-websockets
	# binary messages); certificates; throughput bench
	libwslay-dev nodejs node-ws python3-websockets openssl iperf3
	# operators' tools (issue 12): packages, man pages, units, Prometheus
	debhelper dpkg-dev lintian mandoc systemd systemd-container prometheus
)

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: must run as root (apt-get)" >&2
	exit 1
fi

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
