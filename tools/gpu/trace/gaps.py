#!/usr/bin/env python3
"""Where the GPU sits idle in one step of a trace written by cupti_trace.cpp.

    python3 tools/gpu/trace/gaps.py trace.csv [--marker adamw] [--top 30]

A step is the span between the ends of the last two kernels whose name contains --marker (the
optimiser's kernel runs once at the end of every training step; --index picks another span, e.g.
one prefill forward between two `embedding` kernels). Prints the step's wall time, the
time the GPU was busy (kernels, copies, memsets: the union of their intervals), the idle time, the
idle time by the device operation that started late, the largest gaps with the CUDA runtime calls
the host made during each, and the host's runtime calls in the step (count and time).
"""
import argparse
import collections
import csv
import signal


def load(path):
    dev, host = [], []
    with open(path) as f:
        for r in csv.DictReader(f):
            rec = (int(r["start_ns"]), int(r["end_ns"]), r["name"])
            (host if r["kind"] == "runtime" else dev).append(rec)
    dev.sort()
    host.sort()
    return dev, host


def step_window(dev, marker, index=-1):
    ends = []
    for s, e, n in dev:  # launches of the marker less than 1 ms apart belong to one step
        if marker in n.lower():
            if ends and s - ends[-1] < 1_000_000:
                ends[-1] = e
            else:
                ends.append(e)
    if len(ends) < 2:
        raise SystemExit(f"fewer than two kernels named like '{marker}': run at least two steps")
    spans = list(zip(ends, ends[1:]))
    print(f"{len(spans)} spans between '{marker}' kernels, ms: " + " ".join(f"{(b - a) / 1e6:.1f}" for a, b in spans))
    return spans[index]


def gaps_in(dev, t0, t1):
    """(gap_start, gap_end, previous op, next op) for every idle stretch inside [t0, t1]."""
    out, busy_end, prev = [], t0, "(step start)"
    for s, e, n in dev:
        if e <= t0 or s >= t1:
            continue
        if s > busy_end:
            out.append((busy_end, s, prev, n))
        if e > busy_end:
            busy_end, prev = e, n
    if busy_end < t1:
        out.append((busy_end, t1, prev, "(step end)"))
    return out


def host_calls(host, a, b):
    return [n for s, e, n in host if s < b and e > a]


def kernel_key(name):
    if name.startswith("nvjet") or "xmma" in name:  # cuBLAS: one line per layout
        return "cuBLAS " + name.rsplit("_", 1)[-1]
    return name


def print_kernel_time(dev, t0, t1, top):
    # A kernel launched with programmatic dependent launch starts while its predecessor runs and
    # waits for it: its time counts from the end of everything before it (one stream).
    total, count = collections.defaultdict(int), collections.Counter()
    done = t0
    for s, e, n in sorted(d for d in dev if d[0] >= t0 and d[1] <= t1):
        total[kernel_key(n)] += max(0, e - max(s, done))
        count[kernel_key(n)] += 1
        done = max(done, e)
    print(f"\ndevice time by operation ({sum(total.values()) / 1e6:.2f} ms in all, top {top}):")
    for n, t in sorted(total.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {t / 1e6:7.2f} ms {count[n]:5d}x  {n[:110]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--marker", default="adamw")  # kernel names are demangled, namespaces kept
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--index", type=int, default=-1, help="which span between marker kernels (default: the last)")
    ap.add_argument("--kernels", type=int, default=0, help="also list the N device operations with the most time")
    args = ap.parse_args()
    dev, host = load(args.trace)
    t0, t1 = step_window(dev, args.marker.lower(), args.index)
    wall = (t1 - t0) / 1e6
    gaps = gaps_in(dev, t0, t1)
    idle = sum(b - a for a, b, _, _ in gaps) / 1e6
    n_ops = sum(1 for s, e, _ in dev if s >= t0 and e <= t1)
    print(f"step: {wall:.2f} ms wall, GPU busy {wall - idle:.2f} ms, idle {idle:.2f} ms in {len(gaps)} gaps, {n_ops} device ops")
    for lo in (2, 5, 20, 100):
        sel = [b - a for a, b, _, _ in gaps if b - a >= lo * 1000]
        print(f"  gaps >= {lo:3d} us: {len(sel):5d}, {sum(sel) / 1e6:7.2f} ms")

    by_next = collections.defaultdict(lambda: [0, 0])
    for a, b, _, n in gaps:
        by_next[n][0] += b - a
        by_next[n][1] += 1
    print("\nidle time by the device operation that started after it (top 25):")
    for n, (t, c) in sorted(by_next.items(), key=lambda kv: -kv[1][0])[:25]:
        print(f"  {t / 1e6:7.2f} ms {c:5d}x  {n[:110]}")

    print(f"\nlargest {args.top} gaps:")
    for a, b, p, n in sorted(gaps, key=lambda g: g[0] - g[1])[: args.top]:
        calls = collections.Counter(host_calls(host, a, b))
        what = ", ".join(f"{k}x{v}" for k, v in calls.most_common(4))
        print(f"  {(b - a) / 1e3:8.1f} us at +{(a - t0) / 1e6:7.2f} ms  after {p[:50]}  before {n[:50]}  host: {what}")

    if args.kernels:
        print_kernel_time(dev, t0, t1, args.kernels)

    calls = collections.defaultdict(lambda: [0, 0])
    for s, e, n in host:
        if s >= t0 and e <= t1:
            calls[n][0] += e - s
            calls[n][1] += 1
    print("\nhost runtime calls in the step (top 15 by time):")
    for n, (t, c) in sorted(calls.items(), key=lambda kv: -kv[1][0])[:15]:
        print(f"  {t / 1e6:7.2f} ms {c:6d}x  {n}")


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `gaps.py … | head` ends quietly
    main()
