# Protect cost and guest re-walk cost against the number of mappings.
#   gnuplot -e "data='scaling.dat'; out='protect_scaling.png'; subtitle='…'" tools/hvbench/plot.gp
# data: the columns tools/hvbench/plot_data.py writes.
if (!exists("subtitle")) subtitle = ""
set terminal pngcairo size 1200,520 font "sans,11"
set output out
set multiplot layout 1,2 title "hvshim vs raw KVM against installed mappings\n".subtitle
set logscale xy
set xlabel "other mappings installed (N)"
set ylabel "µs (log scale)"
set grid xtics ytics mxtics mytics
set key top left
set xrange [0.5:*]
set format y "%g"
set title "hv\\_vm\\_protect of one 4 KiB page"
plot data using 1:2 with linespoints lw 2 pt 7 title "shim: hv\\_vm\\_protect (median)", \
     data using 1:3 with linespoints lw 2 pt 5 dt 2 title "raw: 4 KiB memslot add"
set title "guest write-walk of 2 MiB after one toggle"
plot data using 1:4 with linespoints lw 2 pt 7 title "shim: re-walk after toggle", \
     data using 1:5 with linespoints lw 2 pt 5 dt 2 title "raw: steady walk"
unset multiplot
