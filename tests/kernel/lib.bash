# shellcheck shell=bash
# Host side of the real-kernel tests: fetch Debian's cloud kernel, build a
# minimal initramfs around a guest scenario, boot it under TCG and collect
# the scenario's "RESULT name pass|fail [detail]" lines from the console.
# Source after tests/lib.sh; call tl_init first.
#
# Kernel cache: $KG_CACHE (default build/kernel/), reused between runs and
# shared by the benchmarks; it holds the unpacked package, never /boot.

KG_CACHE=${KG_CACHE:-$TL_ROOT/build/kernel}
KG_GUEST_DIR=$TL_ROOT/tests/kernel/guest

kg_log() { tl_log "$@"; }

# Skips (exit 77) when the host cannot run the guest at all.
kg_require() {
	local t
	for t in qemu-system-x86_64 busybox cpio depmod apt-get dpkg gzip ldd; do
		command -v "$t" >/dev/null 2>&1 || { tl_log "SKIP: $t not installed (scripts/deps.sh)"; exit 77; }
	done
	# Captured first: grep -q closing the pipe early would trip pipefail.
	t=$(busybox --list 2>/dev/null || true)
	grep -qx insmod <<<"$t" || { tl_log "SKIP: busybox has no insmod"; exit 77; }
	t=$(ldd "$(command -v busybox)" 2>&1 || true)
	grep -q 'not a dynamic' <<<"$t" ||
		{ tl_log "SKIP: busybox is not static (install busybox-static)"; exit 77; }
}

# Resolves linux-image-cloud-amd64 to its versioned package, downloads and
# unpacks it once into $KG_CACHE, and runs depmod there (the package ships
# no modules.dep). Sets KG_KVER, KG_VMLINUZ, KG_MODDIR.
kg_fetch_kernel() {
	local pkg deb tmp
	mkdir -p "$KG_CACHE"
	exec 8>"$KG_CACHE/.lock"
	flock -w 600 8 || tl_fail "kernel cache lock busy"
	if [ ! -f "$KG_CACHE/ready" ]; then
		kg_resolve() {
			apt-cache depends linux-image-cloud-amd64 2>/dev/null |
				awk '/Depends: linux-image-[0-9]/ && !p { print $2; p = 1 }'
		}
		pkg=$(kg_resolve)
		if [ -z "$pkg" ]; then # a fresh machine may have no package lists yet
			timeout 300 apt-get update -q >/dev/null 2>&1 || true
			pkg=$(kg_resolve)
		fi
		[ -n "$pkg" ] || tl_fail "cannot resolve linux-image-cloud-amd64 to a versioned package"
		tmp=$(mktemp -d "$KG_CACHE/dl.XXXXXX")
		kg_log "downloading $pkg"
		(cd "$tmp" && timeout 300 apt-get download -q "$pkg" >/dev/null 2>&1) ||
			{ rm -rf "$tmp"; tl_fail "apt-get download $pkg failed"; }
		deb=$(ls "$tmp"/*.deb)
		rm -rf "$KG_CACHE/root"
		dpkg -x "$deb" "$KG_CACHE/root" || { rm -rf "$tmp"; tl_fail "dpkg -x failed"; }
		rm -rf "$tmp"
		KG_KVER=$(ls "$KG_CACHE/root/lib/modules" | head -n 1)
		depmod -b "$KG_CACHE/root" "$KG_KVER" || tl_fail "depmod failed"
		echo "$KG_KVER" >"$KG_CACHE/ready"
	fi
	KG_KVER=$(cat "$KG_CACHE/ready")
	KG_VMLINUZ=$KG_CACHE/root/boot/vmlinuz-$KG_KVER
	KG_MODDIR=$KG_CACHE/root/lib/modules/$KG_KVER
	flock -u 8
	exec 8>&-
	[ -f "$KG_VMLINUZ" ] || tl_fail "no kernel image in $KG_CACHE (remove $KG_CACHE/ready)"
}

# kg_modules NAME... -> prints module paths (relative to $KG_MODDIR) in
# load order: dependencies first, each once. modules.dep lists a module's
# dependencies so that loading them right to left works.
kg_modules() {
	local m line deps want=() seen=" " out=() d i
	for m in "$@"; do
		line=$(grep -E "/$m\\.ko(\\.xz|\\.zst|\\.gz)?:" "$KG_MODDIR/modules.dep" | head -n 1)
		[ -n "$line" ] || continue # built in
		deps=(${line#*:})
		for ((i = ${#deps[@]} - 1; i >= 0; i--)); do want+=("${deps[i]}"); done
		want+=("${line%%:*}")
	done
	for d in "${want[@]}"; do
		case $seen in *" $d "*) continue ;; esac
		seen+="$d "
		out+=("$d")
	done
	printf '%s\n' "${out[@]}"
}

# kg_add_elf ROOT FILE [DEST] -> copies an executable (to DEST in the guest,
# default its own path) with the shared libraries and dynamic loader it
# needs (ldd), keeping their paths.
kg_add_elf() {
	local root=$1 f=$2 dest=${3:-$2} lib
	[ -e "$f" ] || tl_fail "missing binary $f"
	mkdir -p "$root$(dirname "$dest")"
	cp -L "$f" "$root$dest"
	for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

# kg_rootfs ROOT SCENARIO [FILE...] -> a guest root: busybox, the real ip
# and wg, the WireGuard and veth modules, our binaries, the guest library
# and the scenario (as /scenario). Extra FILEs are copied as /files/NAME.
# KG_EXTRA_MODULES names more modules to load (with their dependencies).
kg_rootfs() {
	local root=$1 scenario=$2 m f bb
	shift 2
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,run,tmp,etc,files,lib/modules,var/run,root}
	bb=$(command -v busybox)
	cp "$bb" "$root/bin/busybox"
	# Modules, decompressed when needed (busybox insmod takes plain .ko).
	: >"$root/lib/modules/order"
	while read -r m; do
		f=$root/lib/modules/$(basename "${m%.xz}")
		f=${f%.zst}
		f=${f%.gz}
		case $m in
		*.xz) xz -dc "$KG_MODDIR/$m" >"$f" ;;
		*.zst) zstd -qdc "$KG_MODDIR/$m" >"$f" ;;
		*.gz) gzip -dc "$KG_MODDIR/$m" >"$f" ;;
		*) cp "$KG_MODDIR/$m" "$f" ;;
		esac
		basename "$f" >>"$root/lib/modules/order"
	done < <(kg_modules wireguard veth ${KG_EXTRA_MODULES:-})
	grep -q wireguard "$root/lib/modules/order" || tl_fail "wireguard.ko not found in $KG_MODDIR"
	kg_add_elf "$root" "$(command -v ip)"
	kg_add_elf "$root" "$(command -v wg)"
	# Ours go to /usr/local/bin: the build tree may sit under /tmp, which the
	# guest mounts a tmpfs over.
	for f in jitwgd jitwg jitwg-registry nltool wginit; do
		if [ -x "$TL_BIN/$f" ]; then kg_add_elf "$root" "$TL_BIN/$f" "/usr/local/bin/$f"; fi
	done
	printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
	printf 'hosts: files\n' >"$root/etc/nsswitch.conf"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
	cp "$KG_GUEST_DIR/init" "$root/init"
	cp "$KG_GUEST_DIR/lib.sh" "$root/lib/kg.sh"
	cp "$scenario" "$root/scenario"
	chmod 0755 "$root/init" "$root/scenario"
	for f in "$@"; do cp "$f" "$root/files/"; done
}

# kg_boot ROOT LOG TIMEOUT [CPUS] [MEM_MB] -> packs ROOT, boots it, waits
# (bounded) for the guest to power off. The console goes to LOG. Returns
# non-zero if qemu had to be killed.
kg_boot() {
	local root=$1 log=$2 limit=$3 cpus=${4:-2} mem=${5:-1024} initrd rc=0
	initrd=$TL_TMP/initrd.$$.$RANDOM.gz
	(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1 >"$initrd") ||
		tl_fail "cpio failed"
	kg_log "booting $KG_KVER under TCG (initramfs $(du -m "$initrd" | cut -f1) MiB, limit ${limit}s)"
	tl_bg timeout --kill-after=5 "$limit" qemu-system-x86_64 -accel tcg -cpu max -smp "$cpus" \
		-m "$mem" -nographic -no-reboot -kernel "$KG_VMLINUZ" -initrd "$initrd" \
		-append "console=ttyS0 quiet panic=-1 kg.timeout=$((limit > 40 ? limit - 20 : limit))" </dev/null >"$log" 2>&1
	wait "$TL_LAST_PID" || rc=$?
	rm -f "$initrd"
	[ $rc -eq 124 ] && kg_log "guest timed out after ${limit}s"
	return $rc
}

# kg_report LOG EXPECTED... -> prints the guest's RESULT lines, fails the
# test when any result failed or an expected one is missing.
kg_report() {
	local log=$1 name bad=0 line
	shift
	# The firmware's escape sequences may precede the first line.
	tr -d '\r' <"$log" | grep -o 'RESULT .*' >"$log.results" || true
	while read -r line; do
		kg_log "${line#RESULT }"
	done <"$log.results"
	tr -d '\r' <"$log" | grep -o 'INFO .*' | while read -r line; do kg_log "$line"; done || true
	if grep -q '^RESULT [^ ]* fail' "$log.results"; then bad=1; fi
	for name in "$@"; do
		if ! grep -q "^RESULT $name \(pass\|fail\)" "$log.results"; then
			kg_log "missing result: $name"
			bad=1
		fi
	done
	if [ $bad -ne 0 ]; then
		kg_log "---- guest console (tail) ----"
		tr -d '\r' <"$log" | tail -n 150 >&2
		# Last, so that a runner showing only the tail still shows them.
		kg_log "---- failed or missing ----"
		grep '^RESULT [^ ]* fail' "$log.results" >&2 || true
		for name in "$@"; do
			grep -q "^RESULT $name " "$log.results" || echo "missing $name" >&2
		done
		return 1
	fi
	return 0
}

# kg_need_bins BIN...: SKIP (exit 77) unless each jitwg binary is built and
# curl, which fills the guest's registry database on the host, is installed.
kg_need_bins() {
	local b
	for b in "$@"; do
		[ -x "$TL_BIN/$b" ] || { tl_log "SKIP: build first (make)"; exit 77; }
	done
	command -v curl >/dev/null || { tl_log "SKIP: curl not installed"; exit 77; }
}

# The guest's registry database is made on the host, over the registry's own
# API. kg_registry_start DB starts jitwg-registry on DB in a namespace of its
# own and sets KG_REG (that namespace) and REG_URL; kg_register PUB CIDR...
# registers one peer; kg_registry_stop DB stops the registry and leaves DB
# whole, without -wal/-shm, ready to ship into the guest.
kg_registry_start() {
	local port=$((20000 + RANDOM % 20000))
	KG_REG=$(tl_netns reg)
	REG_URL=http://127.0.0.1:$port
	tl_bg ip netns exec "$KG_REG" "$TL_BIN/jitwg-registry" --listen "127.0.0.1:$port" --db "$1" \
		2>"$TL_TMP/registry.log"
	KG_REG_PID=$TL_LAST_PID
	tl_wait_until 10 ip netns exec "$KG_REG" curl -sf "$REG_URL/healthz" || tl_fail "registry did not start"
}

kg_register() {
	local pub=$1 ips
	shift
	ips=$(printf '"%s",' "$@")
	ip netns exec "$KG_REG" curl -sf -o /dev/null -H 'Content-Type: application/json' \
		-d "{\"public_key\":\"$pub\",\"allowed_ips\":[${ips%,}]}" "$REG_URL/v1/peers" ||
		tl_fail "registering $pub failed"
}

kg_registry_stop() {
	kill -TERM "$KG_REG_PID"
	wait "$KG_REG_PID" 2>/dev/null || true
	rm -f "$1-shm"
	[ ! -s "$1-wal" ] || tl_fail "registry left a WAL behind"
	rm -f "$1-wal"
}
