# Reboot recovery: fraction of the gateway's active clients connected again
# over time since the restart, push vs JIT vs JIT behind the admission filter,
# one panel per registry size, one line per mode and reboot (reboot.sh's REBOOTS).
#   gnuplot -e "dir='OUT'; sizes='10000 50000 65000'; reboots=2; out='reboot.png'" bench/fleet/reboot.gp
if (!exists("reboots")) reboots = 2
set terminal pngcairo size 1500,560 font "sans,10"
set output out
set datafile separator "\t"
set grid
set format y "%.0f%%"
set yrange [0:105]
set xrange [0:*]
set key bottom right
modes = "push jit filter"
name(m) = (m == 1 ? "push (reload all first)" : (m == 2 ? "JIT" : "JIT + admission filter"))
colour(m) = (m == 1 ? "#d62728" : (m == 2 ? "#1f77b4" : "#2ca02c"))
set multiplot layout 1, words(sizes) title "Reboot recovery: active clients (1,000) connected again since the gateway restarted (data plane empty)"
do for [s = 1:words(sizes)] {
	set title sprintf("%s registered", word(sizes, s))
	set xlabel "seconds since the restart"
	if (s == 1) { set ylabel "active clients connected again" } else { unset ylabel }
	plot for [m = 1:3] for [r = 1:reboots] sprintf("%s/curve-%s-%s-%d.tsv", dir, word(sizes, s), word(modes, m), r) \
		using 1:($2*100) with lines lw (r == 1 ? 2.5 : 1.5) dt r lc rgb colour(m) \
		title (s == 1 ? sprintf("%s, reboot %d", name(m), r) : "")
}
unset multiplot
