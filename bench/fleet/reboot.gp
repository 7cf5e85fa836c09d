# Reboot recovery: fraction of the gateway's active clients connected again
# over time since the restart, push vs JIT, one pair of curves per registry size.
#   gnuplot -e "dir='OUT'; sizes='10000 50000 65000'; out='reboot.png'" bench/fleet/reboot.gp
set terminal pngcairo size 1100,600 font "sans,10"
set output out
set datafile separator "\t"
set key bottom right
set grid
set xlabel "seconds since the gateway restarted (data plane empty)"
set ylabel "active clients connected again"
set format y "%.0f%%"
set yrange [0:105]
set title "Reboot recovery, push (reload every registered peer first) vs JIT (install what arrives)"
plot for [i=1:words(sizes)] sprintf("%s/curve-%s-push.tsv", dir, word(sizes, i)) using 1:($2*100) with lines lw 2 dt 2 lc i \
        title sprintf("push, %s registered", word(sizes, i)), \
     for [i=1:words(sizes)] sprintf("%s/curve-%s-jit.tsv", dir, word(sizes, i)) using 1:($2*100) with lines lw 3 lc i \
        title sprintf("JIT, %s registered", word(sizes, i))
