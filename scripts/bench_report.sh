#!/usr/bin/env bash
# The benchmark table and the protect-scaling plot from hvbench JSON runs.
#
#   scripts/bench_report.sh run1.json run2.json run3.json
#
# Writes docs/bench/table.md (medians over the runs, tools/hvbench/table.py)
# and docs/bench/protect_scaling.png (gnuplot; Debian: gnuplot-nox).
# BENCH_OUT=dir writes elsewhere; BENCH_SUBTITLE adds a line under the plot
# title (e.g. the commit and date of the runs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${BENCH_OUT:-$root/docs/bench}
[ $# -ge 1 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "bench_report.sh: gnuplot is missing (apt-get install gnuplot-nox)" >&2; exit 1; }
mkdir -p "$out"
python3 "$root/tools/hvbench/table.py" "$@" > "$out/table.md"
dat=$(mktemp)
trap 'rm -f "$dat"' EXIT
python3 "$root/tools/hvbench/plot_data.py" "$@" > "$dat"
subtitle=${BENCH_SUBTITLE:-"medians of $# run(s)"}
gnuplot -e "data='$dat'; out='$out/protect_scaling.png'; subtitle='${subtitle//\'/}'" "$root/tools/hvbench/plot.gp"
echo "wrote $out/table.md and $out/protect_scaling.png"
