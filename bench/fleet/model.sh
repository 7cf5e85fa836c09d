#!/usr/bin/env bash
# The push model beyond what fits on this machine, from the measured runs:
#   - reload time and wireguard-go memory are linear in installed peers:
#     fitted on the two smaller reboot sizes, checked against the third
#     (the validation), then refitted on all three and extrapolated;
#   - push installs every registered peer: per gateway, registered / G;
#     stale = installed - active, active taken from the JIT run (its
#     installed peers track the active set).
#   bench/fleet/model.sh DOCS_FLEET_DIR
set -euo pipefail
D=${1:?usage: model.sh docs/fleet}
R=$D/reboot/reboot.tsv
M=$D/reboot/rss.tsv
S=$D/run/samples.tsv
[ -f "$R" ] && [ -f "$M" ] && [ -f "$S" ] || { echo "model.sh: run fleet.sh and reboot.sh first" >&2; exit 1; }

# fit FILE XCOL YCOL ROWS... -> "a b": least squares y = a + b x over the given data rows (1-based)
fit() {
	local f=$1 x=$2 y=$3
	shift 3
	awk -F'\t' -v x="$x" -v y="$y" -v rows=" $* " 'NR > 1 && index(rows, " " (NR - 1) " ") {
		n++; sx += $x; sy += $y; sxx += $x * $x; sxy += $x * $y }
		END { b = (n * sxy - sx * sy) / (n * sxx - sx * sx); printf "%.9g %.9g\n", (sy - b * sx) / n, b }' "$f"
}
at() { awk -F'\t' -v r="$2" -v c="$3" 'NR == r + 1 { print $c }' "$1"; }
calc() { awk "BEGIN { printf \"%.1f\", $1 }"; }

echo "push reload time (s) = a + b * registered peers (reboot.sh, wireguard-go via wg addconf)"
read -r a b < <(fit "$R" 1 3 1 2)
n3=$(at "$R" 3 1)
echo "  fitted on sizes $(at "$R" 1 1) and $(at "$R" 2 1); predicts $(calc "$a + $b * $n3") s at $n3, measured $(at "$R" 3 3) s"
read -r a b < <(fit "$R" 1 3 1 2 3)
echo "  all three: a = $(calc "$a") s, b = $(awk "BEGIN { printf \"%.3f\", $b * 1000 }") ms/peer"
for n in 200000 333333 550000; do
	echo "  predicted reload at $n peers: $(calc "$a + $b * $n") s (push recovery p99 >= reload; JIT: flat, see reboot.tsv)"
done

echo "wireguard-go RSS (KiB) = a + b * installed peers"
read -r a b < <(fit "$M" 1 2 1 2)
n3=$(at "$M" 3 1)
echo "  fitted on $(at "$M" 1 1) and $(at "$M" 2 1); predicts $(calc "$a + $b * $n3") KiB at $n3, measured $(at "$M" 3 2) KiB"
read -r a b < <(fit "$M" 1 2 1 2 3)
echo "  all three: $(calc "$b") KiB per peer"
for n in 200000 550000; do echo "  predicted at $n peers: $(calc "($a + $b * $n) / 1024") MiB"; done

echo "fleet run (run/samples.tsv): per gateway at the end of the run"
awk -F'\t' 'NR > 1 && $4 != "NA" { last[$3 "," $2] = $4 " " $5; if ($3 == "jit") { s[$2] += $4; n[$2]++ } }
	END { for (k in last) { split(k, p, ","); if (p[1] == "push") { split(last[k], v, " ")
		printf "  gw-%s push installed %d stale %d; JIT mean installed %.1f\n", p[2], v[1], v[2], s[p[2]] / n[p[2]] } } }' "$S" | sort
awk -F'\t' 'NR > 1 && $3 == "jit" && $4 != "NA" { s += $4; n++ } END { printf "  JIT mean installed per gateway over the run: %.1f (the active set)\n", s / n }' "$S"
echo "push at 1,000,000 registered over G gateways: each installs 1,000,000 / G (333,333 for G = 3),"
echo "over wireguard-go's 65,536 and past the 200,000 the kernel guest took; stale = installed - active."
