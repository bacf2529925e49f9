#!/usr/bin/env python3
"""Data for the protect-scaling plot, from one or more `hvbench --json` runs.

    python3 tools/hvbench/plot_data.py run1.json run2.json ... > scaling.dat

One row per mapping count N found in the runs (the `_at_N` cases):

    N  protect_shim  protect_raw  rewalk_shim  rewalk_raw   (microseconds)

protect_* come from protect_page_toggle_at_N (one hv_vm_protect of a page
vs a raw 4 KiB slot add), rewalk_* from protect_refault_at_N (the guest's
2 MiB write-walk after one toggle vs the raw VM's steady walk). Each figure
is the median over the runs in which the case was ok; a missing one is NaN,
which gnuplot leaves out.
"""
import json
import re
import statistics
import sys

SERIES = (("protect_page_toggle_at_", "protect"), ("protect_refault_at_", "rewalk"))


def main(paths):
    values = {}  # (N, series, side) -> [ns per run]
    for path in paths:
        with open(path) as f:
            for r in json.load(f):
                for prefix, series in SERIES:
                    m = re.fullmatch(re.escape(prefix) + r"(\d+)", r["case"])
                    if not m or r.get("status", "ok") != "ok":
                        continue
                    n = int(m.group(1))
                    for side, key in (("shim", "shim_ns"), ("raw", "native_ns")):
                        if r.get(key) is not None:
                            values.setdefault((n, series, side), []).append(r[key])
    counts = sorted({n for n, _, _ in values})
    if not counts:
        sys.exit("plot_data.py: no protect_page_toggle_at_N / protect_refault_at_N results in " + " ".join(paths))
    print("# N protect_shim_us protect_raw_us rewalk_shim_us rewalk_raw_us (medians over runs)")
    for n in counts:
        row = [str(n)]
        for series in ("protect", "rewalk"):
            for side in ("shim", "raw"):
                v = values.get((n, series, side))
                row.append(f"{statistics.median(v) / 1e3:.3f}" if v else "NaN")
        print(" ".join(row))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
