#!/usr/bin/env python3
"""Sums an Nsight Compute CSV (--metrics gpu__time_duration.sum --csv) per kernel name: calls,
total and mean time, share, largest first. Usage: ncu_summary.py ncu.csv [--top 50]"""
import argparse
import csv
import collections
import io
import sys


def rows(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    start = text.find('"ID"')  # ncu prints its own lines before the CSV
    if start < 0:
        sys.exit(f"{path}: no CSV header (\"ID\",...) found")
    return csv.DictReader(io.StringIO(text[start:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--top", type=int, default=50)
    a = ap.parse_args()
    total = collections.Counter()
    calls = collections.Counter()
    for r in rows(a.csv):
        if r.get("Metric Name") != "gpu__time_duration.sum":
            continue
        unit = r.get("Metric Unit", "ns")
        v = float(r["Metric Value"].replace(",", ""))
        scale = {"ns": 1e-6, "usecond": 1e-3, "us": 1e-3, "msecond": 1.0, "ms": 1.0, "nsecond": 1e-6}.get(unit, 1e-6)
        name = r["Kernel Name"].split("(")[0][:90]
        total[name] += v * scale
        calls[name] += 1
    grand = sum(total.values())
    print(f"{len(total)} kernels, {sum(calls.values())} launches, {grand:.2f} ms of kernel time")
    print(f"{'ms':>9} {'share':>6} {'calls':>6} {'ms/call':>8}  kernel")
    for name, ms in total.most_common(a.top):
        print(f"{ms:9.2f} {100 * ms / grand:5.1f}% {calls[name]:6d} {ms / calls[name]:8.4f}  {name}")


if __name__ == "__main__":
    main()
