#!/usr/bin/env python3
"""Markdown table from one or more `hvbench --json` files (repeated runs).

    python3 tools/hvbench/table.py run1.json run2.json run3.json

For each case: the median over runs of shim_ns, native_ns and ratio, and the
spread of the ratio (min-max over runs). Cases that were skipped or failed in
any run say so.
"""
import json
import statistics
import sys


def fmt_ns(ns):
    if ns is None:
        return "-"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.2f} {unit}"
    return f"{ns:.0f} ns"


def main(paths):
    runs = [json.load(open(p)) for p in paths]
    order, by_case = [], {}
    for run in runs:
        for r in run:
            if r["case"] not in by_case:
                order.append(r["case"])
                by_case[r["case"]] = []
            by_case[r["case"]].append(r)
    print(f"| case | shim | native | ratio (median of {len(runs)}) | ratio spread | status |")
    print("|---|---:|---:|---:|---:|---|")
    for case in order:
        rs = by_case[case]
        def med(key):
            vals = [r[key] for r in rs if r.get(key) is not None]
            return statistics.median(vals) if vals else None
        ratios = [r["ratio"] for r in rs if r.get("ratio") is not None]
        spread = f"{min(ratios):.2f}–{max(ratios):.2f}" if len(ratios) > 1 else "-"
        ratio = f"{statistics.median(ratios):.2f}" if ratios else "-"
        statuses = sorted({r.get("status", "ok").split(":")[0] for r in rs})
        status = ", ".join(statuses)
        if status != "ok":
            detail = next(r["status"] for r in rs if r.get("status", "ok") != "ok")
            status = detail.replace("|", "/")
        print(f"| `{case}` | {fmt_ns(med('shim_ns'))} | {fmt_ns(med('native_ns'))} | {ratio} | {spread} | {status} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
