# Installed and stale peers per gateway over simulated time, push vs JIT,
# from the samples.tsv a fleet run writes: each gateway's own /metrics scraped
# during the run (jitwgd for JIT, bench/fleet/pushexporter.py for push).
#   gnuplot -e "data='DIR/samples.tsv'; out='chart.png'; G=3; title='...'" bench/fleet/chart.gp
if (!exists("title")) title = "jitwg fleet"
if (!exists("G")) G = 3
set terminal pngcairo size 1200,900 font "sans,10"
set output out
set datafile separator "\t"
set key top left
set grid
set xlabel "simulated hours"
set ylabel "peers on the gateway"
series(mode, g) = sprintf("< awk -F'\t' '$3 == \"%s\" && $2 == %d && $4 != \"NA\"' %s", mode, g, data)
set multiplot layout 2,1 title title
set title "push (installed at registration, never removed) vs JIT (installed on first handshake, evicted when idle)"
plot for [g=0:G-1] series("push", g) using 1:4 with lines lw 2 lc g+1 title sprintf("push gw-%d installed", g), \
     for [g=0:G-1] series("push", g) using 1:5 with lines dt 2 lc g+1 title sprintf("push gw-%d stale", g), \
     for [g=0:G-1] series("jit", g) using 1:4 with lines lw 3 lc g+4 title sprintf("JIT gw-%d installed", g), \
     for [g=0:G-1] series("jit", g) using 1:5 with points pt 7 ps 0.5 lc g+4 title sprintf("JIT gw-%d stale", g)
set title "JIT alone (same run, own scale): installed follows the active set, stale rounds to none"
plot for [g=0:G-1] series("jit", g) using 1:4 with lines lw 2 lc g+4 title sprintf("JIT gw-%d installed", g), \
     for [g=0:G-1] series("jit", g) using 1:5 with linespoints pt 7 ps 0.5 dt 2 lc g+4 title sprintf("JIT gw-%d stale", g)
unset multiplot
