# jitwg: one non-recursive Makefile. Each module is a static archive so a
# binary pulls in only the objects it uses; dependencies come from pkg-config.
#
#   make                 build bin/jitwg, bin/jitwgd, bin/jitwg-registry
#   make SANITIZE=1      same with ASan + UBSan (objects go to build-san/)
#   make WERROR=1        warnings are errors (CI)
#   make test            build and run the whole suite (tests/run.sh)
#   make fuzz            libFuzzer harnesses with clang (bin/fuzz_*)
#   make deb             Debian packages in build-deb/ (debian/, scripts/deb.sh)
#   make V=1             show commands

CC      ?= cc
PREFIX  ?= /usr/local
# The release, printed by every binary's --version; debian/changelog carries
# the same number (tests/integration/deb_package.sh checks they agree).
VERSION := 0.1.0
PKGS    := libcrypto libmnl libnftnl sqlite3 libcurl libmicrohttpd json-c libpq libssl libqrencode

# ---- dependency check: a missing -dev package is named, not a link error ----
# pkg-config name -> the Debian package that ships its .pc file (scripts/deps.sh
# installs them all). cmocka is needed only for the unit tests.
PKG_DEB := libcrypto=libssl-dev libmnl=libmnl-dev libnftnl=libnftnl-dev sqlite3=libsqlite3-dev \
	libcurl=libcurl4-openssl-dev libmicrohttpd=libmicrohttpd-dev json-c=libjson-c-dev \
	libpq=libpq-dev cmocka=libcmocka-dev libssl=libssl-dev libqrencode=libqrencode-dev
PKG_NEED := $(PKGS) $(if $(filter unit test fuzz fuzz-bins,$(MAKECMDGOALS)),cmocka)
ifeq ($(filter clean,$(MAKECMDGOALS)),)
ifeq ($(shell command -v pkg-config),)
$(error pkg-config not found: apt-get install pkg-config (or run scripts/deps.sh))
endif
PKG_MISSING := $(strip $(foreach p,$(PKG_NEED),$(if $(shell pkg-config --exists $(p) && echo y),,$(p))))
ifneq ($(PKG_MISSING),)
PKG_MISSING_DEB := $(strip $(foreach p,$(PKG_MISSING),$(or $(patsubst $(p)=%,%,$(filter $(p)=%,$(PKG_DEB))),$(p))))
$(error pkg-config cannot find: $(PKG_MISSING). Install: apt-get install $(PKG_MISSING_DEB) (or run scripts/deps.sh))
endif
ifeq ($(wildcard /usr/include/wslay/wslay.h),)
$(error wslay not found (jitwg-relay's frame codec): apt-get install libwslay-dev (or run scripts/deps.sh))
endif
endif

CFLAGS  ?= -O2 -g
override CFLAGS  += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -MMD -MP -pthread
override CFLAGS  += -DJITWG_VERSION='"$(VERSION)"'
override CFLAGS  += -Isrc $(shell pkg-config --cflags $(PKGS))
override LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lpthread -lm
# Debian's libwslay-dev (relay frame codec) ships no pkg-config file.
override LDLIBS  += -lwslay
override LDFLAGS += -pthread -Wl,--as-needed

ifeq ($(WERROR),1)
override CFLAGS  += -Werror
endif
ifeq ($(SANITIZE),1)
BUILD   ?= build-san
override CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
override LDFLAGS += -fsanitize=address,undefined
else
BUILD   ?= build
endif
BIN     := $(BUILD)/bin

ifneq ($(V),1)
Q := @
endif

# ---- modules, in the order a packet meets them ------------------------------
# Each block is owned by one module; add a file here when you create it.

COMMON_SRCS := \
	src/common/log.c \
	src/common/unixsock.c \
	src/common/buf.c \
	src/common/clock.c \
	src/common/rfc3339.c \
	src/common/promtext.c \
	src/common/addrport.c \
	src/common/mhdreply.c \
	src/common/secretfile.c

WIRE_SRCS := \
	src/wire/keys.c \
	src/wire/udpip.c \
	src/wire/keyfile.c \
	src/wire/cidr.c \
	src/wire/pcap.c \
	src/wire/record.c \
	src/wire/hook.c

CRYPTO_SRCS := \
	src/crypto/blake2s.c \
	src/crypto/hmac.c \
	src/crypto/x25519.c \
	src/crypto/aead.c \
	src/crypto/siphash.c \
	src/crypto/keyedtab.c

NOISE_SRCS := \
	src/noise/initiation.c \
	src/noise/initiator.c \
	src/noise/sscache.c \
	src/noise/handshake.c \
	src/noise/transport.c

# jitwg loadgen: simulated WireGuard clients (src/loadgen/loadgen.h)
LOADGEN_SRCS := \
	src/loadgen/client.c \
	src/loadgen/loop.c \
	src/loadgen/flood.c \
	src/loadgen/sockets.c

CAPTURE_SRCS := \
	src/capture/bpf.c \
	src/capture/capture.c

# jitwgd's stages, in the order an initiation meets them (src/gateway/*/),
# then the daemon's frame (core/). main.c is the binary's entry point.
GATEWAY_SRCS := \
	src/gateway/ingest/capture.c \
	src/gateway/ingest/hook.c \
	src/gateway/admit/admit.c \
	src/gateway/admit/ephemeral.c \
	src/gateway/admit/gate.c \
	src/gateway/identify/identify.c \
	src/gateway/lookup/replay.c \
	src/gateway/lookup/cache.c \
	src/gateway/lookup/regclient.c \
	src/gateway/lookup/regcheck.c \
	src/gateway/lookup/prefetch.c \
	src/gateway/lookup/lookup.c \
	src/gateway/install/peertab.c \
	src/gateway/install/evict.c \
	src/gateway/install/install.c \
	src/gateway/install/confirm.c \
	src/gateway/install/evict-run.c \
	src/gateway/install/guard.c \
	src/gateway/install/owner.c \
	src/gateway/install/expiry.c \
	src/gateway/install/update.c \
	src/gateway/install/status.c \
	src/gateway/install/status-live.c \
	src/gateway/install/reinject.c \
	src/gateway/install/reinject-run.c \
	src/gateway/install/reinject-cookie.c \
	src/gateway/install/nftset.c \
	src/gateway/core/config.c \
	src/gateway/core/stage.c \
	src/gateway/core/metrics.c \
	src/gateway/core/httpd.c

DATAPLANE_SRCS := \
	src/dataplane/dataplane.c \
	src/dataplane/uapi.c \
	src/dataplane/uapi-parse.c \
	src/dataplane/netlink.c \
	src/dataplane/netlink-link.c \
	src/dataplane/netlink-set.c

REGISTRY_SRCS := \
	src/registry/pool.c \
	src/registry/store.c \
	src/registry/store_sql.c \
	src/registry/store_db.c \
	src/registry/store_edit.c \
	src/registry/store_token.c \
	src/registry/store_sqlite.c \
	src/registry/store_pg.c \
	src/registry/api.c \
	src/registry/api_edit.c \
	src/registry/api_token.c \
	src/registry/feedwait.c \
	src/registry/http.c \
	src/registry/metrics.c \
	src/registry/tokencli.c

# The WebSocket protocol that jitwg-relay and `jitwg tunnel` share: the
# HTTP upgrade, the frame codec (wslay), the stream framing of datagrams.
WS_SRCS := \
	src/ws/upgrade.c \
	src/ws/codec.c \
	src/ws/stream.c \
	src/ws/url.c

# jitwg-relay: the server side.
RELAY_SRCS := \
	src/relay/conn.c \
	src/relay/xff.c \
	src/relay/loop.c \
	src/relay/tls.c \
	src/relay/hook-send.c \
	src/relay/source.c \
	src/relay/io.c \
	src/relay/frames.c \
	src/relay/metrics.c

CLI_SRCS := \
	src/cli/main.c \
	src/cli/identify.c \
	src/cli/peer.c \
	src/cli/peer-edit.c \
	src/cli/token.c \
	src/cli/peer-config.c \
	src/cli/regapi.c \
	src/cli/status.c \
	src/cli/bench.c \
	src/cli/tunnel.c \
	src/cli/loadgen.c

# Binaries' own entry points (not in any archive).
JITWGD_MAIN    := src/gateway/main.c
REGISTRY_MAIN  := src/registry/main.c
RELAY_MAIN     := src/relay/main.c

# ---- archives ---------------------------------------------------------------
MODULES := common wire crypto noise loadgen capture gateway dataplane registry ws relay cli
obj = $(patsubst src/%.c,$(BUILD)/obj/%.o,$(1))

LIB_common    := $(BUILD)/libcommon.a
LIB_wire      := $(BUILD)/libwire.a
LIB_crypto    := $(BUILD)/libjcrypto.a
LIB_noise     := $(BUILD)/libnoise.a
LIB_loadgen   := $(BUILD)/libloadgen.a
LIB_capture   := $(BUILD)/libcapture.a
LIB_gateway   := $(BUILD)/libgateway.a
LIB_dataplane := $(BUILD)/libdataplane.a
LIB_registry  := $(BUILD)/libregistry.a
LIB_ws        := $(BUILD)/libws.a
LIB_relay     := $(BUILD)/librelay.a
LIB_cli       := $(BUILD)/libcli.a

$(LIB_common):    $(call obj,$(COMMON_SRCS))
$(LIB_wire):      $(call obj,$(WIRE_SRCS))
$(LIB_crypto):    $(call obj,$(CRYPTO_SRCS))
$(LIB_noise):     $(call obj,$(NOISE_SRCS))
$(LIB_loadgen):   $(call obj,$(LOADGEN_SRCS))
$(LIB_capture):   $(call obj,$(CAPTURE_SRCS))
$(LIB_gateway):   $(call obj,$(GATEWAY_SRCS))
$(LIB_dataplane): $(call obj,$(DATAPLANE_SRCS))
$(LIB_registry):  $(call obj,$(REGISTRY_SRCS))
$(LIB_ws):        $(call obj,$(WS_SRCS))
$(LIB_relay):     $(call obj,$(RELAY_SRCS))
$(LIB_cli):       $(call obj,$(CLI_SRCS))

# Link order: users before what they use.
ALL_LIBS := $(LIB_cli) $(LIB_relay) $(LIB_ws) $(LIB_loadgen) $(LIB_gateway) $(LIB_capture) $(LIB_registry) \
	$(LIB_dataplane) $(LIB_noise) $(LIB_crypto) $(LIB_wire) $(LIB_common)

$(BUILD)/%.a:
	@mkdir -p $(@D)
	$(if $(Q),@echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# ---- binaries ---------------------------------------------------------------
PROGS := $(BIN)/jitwg $(BIN)/jitwgd $(BIN)/jitwg-registry $(BIN)/jitwg-relay

all: $(PROGS)

$(BIN)/jitwg: $(ALL_LIBS)
$(BIN)/jitwgd: $(call obj,$(JITWGD_MAIN)) $(ALL_LIBS)
$(BIN)/jitwg-registry: $(call obj,$(REGISTRY_MAIN)) $(ALL_LIBS)
$(BIN)/jitwg-relay: $(call obj,$(RELAY_MAIN)) $(ALL_LIBS)

# The CLI's main lives in libcli.a; pull it in explicitly.
$(BIN)/jitwg:
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ -Wl,--whole-archive $(LIB_cli) -Wl,--no-whole-archive $(filter-out $(LIB_cli),$(ALL_LIBS)) $(LDLIBS)

$(BIN)/jitwgd $(BIN)/jitwg-registry $(BIN)/jitwg-relay:
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(ALL_LIBS) $(LDLIBS)

# ---- unit tests (cmocka): tests/unit/test_NAME.c -> $(BIN)/test_NAME ---------
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BIN)/%,$(UNIT_SRCS))

$(BIN)/test_%: tests/unit/test_%.c $(ALL_LIBS)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(LDLIBS) -lcmocka

unit: $(UNIT_BINS)

# ---- fuzzing (clang libFuzzer): tests/fuzz/fuzz_NAME.c -> bin/fuzz_NAME ------
# Built in their own tree with clang so the main build's compiler is free.
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BUILD := build-fuzz

fuzz:
	$(Q)$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" \
		LDFLAGS="-fsanitize=address,undefined" fuzz-bins

fuzz-bins: $(patsubst tests/fuzz/%.c,$(BUILD)/bin/%,$(FUZZ_SRCS))

$(BUILD)/bin/fuzz_%: tests/fuzz/fuzz_%.c $(ALL_LIBS)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  FUZZ    $@")
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(LDLIBS)

# ---- KERNEL-TOOLS: helpers for the real-kernel tests and benchmarks --------
# tests/kernel/NAME.c -> $(BIN)/NAME; they run inside the test guest.
KTOOL_SRCS := tests/kernel/nltool.c tests/kernel/wginit.c
KTOOL_BINS := $(patsubst tests/kernel/%.c,$(BIN)/%,$(KTOOL_SRCS))

$(BIN)/nltool: tests/kernel/nltool.c $(ALL_LIBS)
$(BIN)/wginit: tests/kernel/wginit.c $(ALL_LIBS)

$(KTOOL_BINS):
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(LDLIBS)

kernel-tools: $(KTOOL_BINS)
unit: $(KTOOL_BINS)
.PHONY: kernel-tools

# ---- top-level targets --------------------------------------------------------
test: all unit
	$(Q)tests/run.sh

bench: all $(BIN)/cacheflood $(BIN)/fleetkeys

# ---- BENCH-TOOLS: bench/cacheflood (the lookup stage under unknown-key floods)
# and bench/fleet/fleetkeys (the fleet's deterministic population, also the
# registry of bench/kernel/scale.sh)
$(BIN)/cacheflood: bench/cacheflood/cacheflood.c $(ALL_LIBS)
$(BIN)/fleetkeys: bench/fleet/fleetkeys.c $(ALL_LIBS)
$(BIN)/cacheflood $(BIN)/fleetkeys:
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(ALL_LIBS) $(LDLIBS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/

# Debian packages into build-deb/ (scripts/deb.sh builds from a copy of the tree).
deb:
	scripts/deb.sh build-deb

clean:
	rm -rf build build-san build-fuzz build-deb

.PHONY: all unit fuzz fuzz-bins test bench install clean deb
.DEFAULT_GOAL := all

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
