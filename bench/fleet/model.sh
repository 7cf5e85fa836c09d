#!/usr/bin/env bash
# The push model beyond what fits on this machine, from the measured runs:
#   - reload time and wireguard-go memory are linear in installed peers.
#     reboot.sh reloads every size REPS times, back to back, in a rotated
#     order (reload.tsv); per size the minimum (the least disturbed by the
#     shared machine) and the median are taken. A line fitted on the two
#     smaller sizes predicts the largest (the validation, an extrapolation),
#     one fitted on the outer two predicts the middle; then the fit over all
#     three is extrapolated;
#   - push installs every registered peer: per gateway, registered / G;
#     stale = installed - active, active taken from the JIT run (its
#     installed peers track the active set).
#   bench/fleet/model.sh DOCS_FLEET_DIR
set -euo pipefail
D=${1:?usage: model.sh docs/fleet}
L=$D/reboot/reload.tsv
S=$D/run/samples.tsv
[ -f "$L" ] && [ -f "$S" ] || { echo "model.sh: run fleet.sh and reboot.sh first" >&2; exit 1; }

# per_size COL -> "n min median max count" per size (column COL of reload.tsv), sizes ascending
per_size() {
	awk -F'\t' -v c="$1" 'NR > 1 && $c != "" { print $2 "\t" $c }' "$L" | sort -t$'\t' -k1,1n -k2,2g |
		awk -F'\t' '{ v[$1, ++k[$1]] = $2; if (!($1 in seen)) { seen[$1] = 1; order[++m] = $1 } }
		END { for (i = 1; i <= m; i++) { n = order[i]; c = k[n]
			med = c % 2 ? v[n, (c + 1) / 2] : (v[n, c / 2] + v[n, c / 2 + 1]) / 2
			printf "%d %.6g %.6g %.6g %d\n", n, v[n, 1], med, v[n, c], c } }'
}
# fit "x y" lines on stdin -> "a b" of y = a + b x (least squares)
fit() { awk '{ n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2 }
	END { b = (n * sxy - sx * sy) / (n * sxx - sx * sx); printf "%.9g %.9g\n", (sy - b * sx) / n, b }'; }
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }
# validate TABLE STAT(3 min|4 median) UNIT SCALE -> the two checks of a two-size fit against the third
validate() {
	local t=$1 col=$2 unit=$3 scale=$4 a b x y p
	local -a n v
	mapfile -t n < <(awk '{ print $1 }' <<<"$t")
	mapfile -t v < <(awk -v c="$col" '{ print $c }' <<<"$t")
	for pair in "0 1 2" "0 2 1"; do
		read -r i j k <<<"$pair"
		read -r a b < <(printf '%s %s\n%s %s\n' "${n[$i]}" "${v[$i]}" "${n[$j]}" "${v[$j]}" | fit)
		x=${n[$k]} y=${v[$k]}
		p=$(calc "$a + $b * $x" 6)
		echo "    fitted on ${n[$i]} and ${n[$j]}: predicts $(calc "$p / $scale") $unit at $x, measured $(calc "$y / $scale") $unit ($(calc "($p - $y) / $y * 100" 1) %)"
	done
}

echo "push reload time (s) = a + b * registered peers (reboot.sh: wg addconf into a fresh wireguard-go)"
T=$(per_size 3)
echo "  per size over $(awk 'NR > 1 { print $1 }' "$L" | sort -u | wc -l) rounds (min / median / max s, load average during the rounds $(awk -F'\t' 'NR > 1 { if (!m || $5 < m) m = $5; if ($5 > M) M = $5 } END { print m "-" M }' "$L")):"
awk '{ printf "    %d: %.2f / %.2f / %.2f (n=%d, spread max/min %.2f)\n", $1, $2, $3, $4, $5, $4 / $2 }' <<<"$T"
for stat in 2:min 3:median; do
	echo "  validation on the per-size ${stat#*:}:"
	validate "$T" "${stat%%:*}" s 1
done
read -r a b < <(awk '{ print $1, $2 }' <<<"$T" | fit)
echo "  all three (min): a = $(calc "$a") s, b = $(calc "$b * 1000" 3) ms/peer"
for n in 200000 333333 550000; do
	echo "  predicted reload at $n peers: $(calc "$a + $b * $n") s (push recovery p99 >= reload; JIT: flat, see reboot.tsv)"
done
read -r a b < <(awk '{ print $1, $3 }' <<<"$T" | fit)
echo "  all three (median): a = $(calc "$a") s, b = $(calc "$b * 1000" 3) ms/peer; at 200000 / 333333 / 550000: $(calc "$a + $b * 200000") / $(calc "$a + $b * 333333") / $(calc "$a + $b * 550000") s"

echo "wireguard-go RSS (KiB) = a + b * installed peers (fresh process after the reload)"
T=$(per_size 4)
awk '{ printf "    %d: %.0f / %.0f / %.0f KiB (min / median / max, n=%d)\n", $1, $2, $3, $4, $5 }' <<<"$T"
echo "  validation on the per-size median:"
validate "$T" 3 MiB 1024
read -r a b < <(awk '{ print $1, $3 }' <<<"$T" | fit)
echo "  all three (median): $(calc "$b") KiB per peer"
for n in 200000 333333 550000; do echo "  predicted at $n peers: $(calc "($a + $b * $n) / 1024") MiB"; done

echo "fleet run (run/samples.tsv): per gateway at the end of the run"
awk -F'\t' 'NR > 1 && $4 != "NA" { last[$3 "," $2] = $4 " " $5; if ($3 == "jit") { s[$2] += $4; n[$2]++ } }
	END { for (k in last) { split(k, p, ","); if (p[1] == "push") { split(last[k], v, " ")
		printf "  gw-%s push installed %d stale %d; JIT mean installed %.1f\n", p[2], v[1], v[2], s[p[2]] / n[p[2]] } } }' "$S" | sort
awk -F'\t' 'NR > 1 && $3 == "jit" && $4 != "NA" { s += $4; n++ } END { printf "  JIT mean installed per gateway over the run: %.1f (the active set)\n", s / n }' "$S"
echo "push at 1,000,000 registered over G gateways: each installs 1,000,000 / G (333,333 for G = 3),"
echo "over wireguard-go's 65,536 and past the 200,000 the kernel guest took; stale = installed - active."

# The same run's connections (run/connects.tsv: one row per simulated hour, gateway and mode)
C=$D/run/connects.tsv
if [ -f "$C" ]; then
	echo "fleet run (run/connects.tsv): connections per mode, and the median over the hourly rows of their p50 / p99"
	for m in jit push; do
		awk -F'\t' -v m="$m" 'NR > 1 && $3 == m { n += $4; ok += $5; f += $6 } END { printf "  %s: %d connections, %d ok, %d failed;", m, n, ok, f }' "$C"
		for c in 7 8; do
			awk -F'\t' -v m="$m" -v c="$c" 'NR > 1 && $3 == m && $5 > 0 { print $c }' "$C" | sort -g |
				awk -v c="$c" '{ v[NR] = $1 } END { printf " %s %.1f ms", c == 7 ? "p50" : "p99", v[int((NR + 1) / 2)] }'
		done
		echo
	done
	# the hourly rows' stale count: JIT's largest sample, per gateway
	awk -F'\t' 'NR > 1 && $3 == "jit" && $5 != "NA" { if ($5 > m[$2]) m[$2] = $5; if ($5 > 0) z[$2]++; n[$2]++ }
		END { for (g in n) printf "  gw-%s JIT stale: max %d, nonzero in %d of %d samples\n", g, m[g], z[g], n[g] }' "$S" | sort
fi
