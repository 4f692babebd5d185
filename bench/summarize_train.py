#!/usr/bin/env python3
"""Prints the table of one training benchmark run: `moe-engine bench-train --json` + the PyTorch +
transformers baselines (bench/hf_train_reference.py), with the ratios ours / transformers.

  python3 bench/summarize_train.py out/bench_train.json out/hf_train_lora-moonlight.json out/hf_train_full-100m.json
"""
import json
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def gib(b):
    return b / 2 ** 30


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"


def rows(ours, hf):
    """One table line per shape: (cells...)."""
    out = []
    for r in ours.get("runs", []):
        name = r["shape"]
        h = hf.get(name, {})
        if "error" in r:
            out.append((name, f"error: {r['error']}: {r.get('detail', '')}"))
            if h.get("error"):
                out.append(("", f"transformers error: {h['error']}"))
            continue
        mem = r["measured_memory"]["peak_bytes"]
        plan = r["plan_vs_measured"]
        line = [name,
                f"{r['tokens_per_s']:.0f}", f"{h['tokens_per_s']:.0f}" if "tokens_per_s" in h else "-",
                ratio(r["tokens_per_s"], h.get("tokens_per_s")),
                f"{100 * r['mfu']:.1f}%", f"{100 * h['mfu']:.1f}%" if "mfu" in h else "-",
                f"{gib(mem):.1f}", f"{gib(h['peak_bytes']):.1f}" if "peak_bytes" in h else "-",
                ratio(mem, h.get("peak_bytes")),
                f"{gib(plan['plan_peak_bytes']):.1f} ({100 * plan['relative_error']:+.0f}%)",
                f"{r['losses'][0]:.3f}->{r['losses'][-1]:.3f}",
                f"{h['losses'][0]:.3f}->{h['losses'][-1]:.3f}" if h.get("losses") else "-"]
        out.append(tuple(line))
        if h.get("error"):
            out.append(("", f"transformers error: {h['error']}"))
    return out


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    ours = load(sys.argv[1])
    hf = {}
    for p in sys.argv[2:]:
        r = load(p)
        if r and "shape" in r:
            hf[r["shape"]] = r
    if not ours:
        print("no bench-train report")
        return 0
    print(f"device: {ours['device']}; measured bf16 GEMM {ours['gemm_bf16_tflops']:.0f} TFLOP/s (MFU peak)")
    hdr = ("shape", "tok/s ours", "tok/s HF", "ours/HF", "MFU ours", "MFU HF", "GiB ours", "GiB HF", "mem ours/HF",
           "plan GiB (vs ours)", "loss ours", "loss HF")
    table = [hdr] + rows(ours, hf)
    widths = [max(len(r[i]) for r in table if len(r) == len(hdr)) for i in range(len(hdr))]
    for r in table:
        if len(r) != len(hdr):
            print("  ".join(r))
            continue
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if r is hdr:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))
    for r in ours.get("runs", []):
        if "error" in r:
            continue
        notes = []
        if not r["losses_finite"]:
            notes.append("ours: loss NOT FINITE")
        elif not r["loss_decreased"]:
            notes.append("ours: loss did not decrease")
        if not r["plan_vs_measured"]["within_10_percent"]:
            notes.append("memory plan off by more than 10%")
        for n in hf.get(r["shape"], {}).get("notes", []):
            notes.append("HF: " + n)
        if notes:
            print(f"{r['shape']}: " + "; ".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
