# Chart of bench/kernel/scale.sh's TSV (docs/PERFORMANCE.md, "Kernel WireGuard
# at 550,000 registered peers"):
#   gnuplot -e "tsv='RESULT.txt.tsv'; out='docs/kernel/scale.png'; active=1000" bench/kernel/scale.gp
# Left: the reboot as the clients see it (time until 99 % are back) and the
# gateway's own reload / ready time, against registered peers. Middle: the
# kernel slab each design holds. Right: per-operation costs against the
# number of peers in the kernel's table (push holds all registered peers;
# JIT holds the active set, plotted at x = active).
if (!exists("active")) active = 1000
set terminal pngcairo size 1500,480 font ",10"
set output out
set datafile separator "\t"
set datafile missing "nan"
set key top left
set grid
set logscale x
set format x "%.0s%c"
set multiplot layout 1,3 title "Kernel WireGuard under TCG: push vs JIT up to 550,000 registered peers (".active." active clients)"

set title "reboot until 99 % of active clients are back"
set xlabel "registered peers"
set ylabel "seconds"
set logscale y
set xrange [70000:800000]
set yrange [0.1:5000]
plot tsv using 1:3 skip 1 with linespoints lw 2 title "push: reboot to 99 %", \
     tsv using 1:2 skip 1 with linespoints dt 2 title "push: reload of all peers", \
     tsv using 1:6 skip 1 with linespoints lw 2 title "JIT (re-injection, the default): reboot to 99 %", \
     tsv using 1:5 skip 1 with linespoints title "JIT --reinject=false (role inversion): reboot to 99 %", \
     tsv using 1:($4/1000) skip 1 with linespoints dt 2 title "JIT: jitwgd ready"

set title "kernel slab held after the reboot"
set ylabel "MiB"
set yrange [1:3000]
plot tsv using 1:7 skip 1 with linespoints lw 2 title "push", \
     tsv using 1:8 skip 1 with linespoints lw 2 title "JIT"

set title "other operations against the kernel's table (p50)"
set xlabel "peers in the kernel"
set ylabel "ms"
set xrange [300:1000000]
set yrange [0.01:100000]
plot tsv using 1:9 skip 1 with linespoints lw 2 title "wg show dump (push tables)", \
     tsv using (active):10 skip 1 with points pt 7 ps 1.5 title "wg show dump (JIT table)", \
     tsv using 1:11 skip 1 with linespoints title "add one peer (push)", \
     tsv using 1:13 skip 1 with linespoints title "remove one peer (push)", \
     tsv using 1:15 skip 1 with linespoints title "installed client's handshake (push)", \
     tsv using (active):16 skip 1 with points pt 5 title "installed client's handshake (JIT)"
unset multiplot
