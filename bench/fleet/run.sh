#!/usr/bin/env bash
# Reproduces every fleet figure in docs/PERFORMANCE.md ("Fleet") and the
# charts in docs/fleet/, from a fresh machine:
#
#   sudo scripts/deps.sh && make && sudo bench/fleet/run.sh
#
# Measured from a fresh clone (git clone; make -j2 all: 20 s; run.sh as root) on
# the 2-vCPU machine, shared with other benches (load average 3-15):
# 805 s and 820 s in two runs (2026-11-29). Steps, with the final run's time:
#   1. fleet.sh    the push-vs-JIT chart: 3 gateways, 2 simulated days of 6 s
#                  hours, registry grown to 22,500 peers, reboot of gw-0 at
#                  hour 30                                          305 s
#   2. reboot.sh   reboot recovery at 10,000, 50,000 and 65,000 registered
#                  peers (wireguard-go's limit is 65,536), push, JIT and JIT
#                  behind the admission filter side by side, REBOOTS=2 per
#                  size, then REPS=3 rounds of reloads of every size for the
#                  model: 206 s in the final run with one reboot per size
#                  and no filter; 362 s alone since (commit effc154)  362 s
#   3. prefetch.sh cold connects with/without prefetch, registry 20 ms away
#                  and down; negative cache under retries            80 s
#   4. model.sh    the push model validated at three sizes, predicted beyond  1 s
#   5. scale.sh    the registry at 1,000,000 peers on PostgreSQL with two
#                  registries: prefetch walk per gateway, GETs per gateway with
#                  and without prefetch, GET latency meanwhile       228 s
#   6. revoke.sh   1,000 deletions' propagation to three gateways (added
#                  later: about 4 minutes alone at load 13-23, most of it
#                  connecting 1,000 clients to each gateway and 50 s of
#                  deletions at 20/s)
# Total: about 14 minutes (13 min 40 s + the build) in those runs. With step 2 as
# it is now (three instances, two reboots per size): 763 s + 12 s of build in a
# whole run from a fresh clone at commit 76c68c1 on a quieter machine (load
# average 0.4-3.3; steps 302, 217, 76, 0, 168 s; docs/fleet/run-c/); longer on a
# busier machine (step 1 is fixed by its simulated time, the rest grows with the
# load).
# docs/fleet/run.txt logs each
# step's start and load. Sizes are environment overrides of each script (see
# their headers); the defaults here are what docs/ shows. Needs root,
# wireguard-go, PostgreSQL, gnuplot, nftables (scripts/deps.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DOCS=${DOCS:-$ROOT/docs/fleet}
START=$(date +%s)
mkdir -p "$DOCS"
command -v gnuplot >/dev/null || { echo "run.sh: needs gnuplot (scripts/deps.sh installs gnuplot-nox)" >&2; exit 1; }
[ -x "$ROOT/build/bin/jitwgd" ] || make -C "$ROOT" -j2 all
RUNLOG=$DOCS/run.txt
step() {
	echo "== $* ($(($(date +%s) - START)) s so far, load average $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$RUNLOG" >&2
}
# One run writes the whole of docs/fleet: what an earlier run left there goes first.
rm -rf "$DOCS/run" "$DOCS/reboot" "$DOCS/prefetch" "$DOCS/scale" "$DOCS/model.txt" "$DOCS/revoke.txt"
{
	echo "bench/fleet/run.sh, started $(date -u +%FT%TZ) at commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)," \
		"wireguard-go $(dpkg-query -W -f '${Version}' wireguard-go 2>/dev/null), postgresql $(dpkg-query -W -f '${Version}' postgresql 2>/dev/null)"
} >"$RUNLOG"

step "1/6 fleet run (push vs JIT)"
G=${G:-3} HOUR=${HOUR:-6} DAYS=${DAYS:-2} IDLE=${IDLE:-3} REGULARS=${REGULARS:-300} ZIPF=${ZIPF:-30} \
	EPH=${EPH:-150} REBOOT_AT=${REBOOT_AT:-30} OUT="$DOCS/run" bash "$ROOT/bench/fleet/fleet.sh"
gnuplot -e "data='$DOCS/run/samples.tsv'; out='$DOCS/fleet-chart.png'; G=${G:-3}; \
	title='jitwg fleet: ${G:-3} gateways, one PostgreSQL registry (2 processes), 1 simulated hour = ${HOUR:-6} s'" \
	"$ROOT/bench/fleet/chart.gp"

step "2/6 reboot recovery"
SIZES=${SIZES:-"10000 50000 65000"}
SIZES=$SIZES ACTIVE=${ACTIVE:-1000} REBOOTS=${REBOOTS:-2} REPS=${REPS:-3} OUT="$DOCS/reboot" bash "$ROOT/bench/fleet/reboot.sh"
gnuplot -e "dir='$DOCS/reboot'; sizes='$SIZES'; reboots=${REBOOTS:-2}; out='$DOCS/reboot-recovery.png'" "$ROOT/bench/fleet/reboot.gp"

step "3/6 prefetch and negative cache"
OUT="$DOCS/prefetch" bash "$ROOT/bench/fleet/prefetch.sh"

step "4/6 model"
bash "$ROOT/bench/fleet/model.sh" "$DOCS" | tee "$DOCS/model.txt"
step "5/6 registry at fleet scale"
PEERS=${PEERS:-1000000} OUT="$DOCS/scale" bash "$ROOT/bench/fleet/scale.sh"
step "6/6 revocation propagation"
N=${REVOKE_N:-1000} RATE=${REVOKE_RATE:-20} OUT="$DOCS" bash "$ROOT/bench/fleet/revoke.sh"
# the bulky per-run logs stay out of docs/: keep the tables and curves
rm -f "$DOCS"/reboot/reboot-*.out
step "done in $(($(date +%s) - START)) s; results in $DOCS"
