#!/usr/bin/python3
"""MaxVio over steps of two fine-tune runs (tools/demo/bias_demo.sh): a PNG and a Markdown table.

  plot_bias_demo.py HISTORY_A HISTORY_B --labels A B --png OUT.png

Each HISTORY is a run's history.jsonl (step events: layers{"<layer>": {maxvio, load, bias}}).
MaxVio = max load / mean load - 1 over the routed experts of a layer in one optimiser step.
Needs Debian's python3-matplotlib (hence /usr/bin/python3).
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def maxvio_by_layer(path):
    """{layer: [(step, maxvio)]} from the step events of one history."""
    series = {}
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            if e.get("event") != "step" or e.get("skipped"):
                continue
            for layer, v in e["layers"].items():
                series.setdefault(int(layer), []).append((e["step"], v["maxvio"]))
    return series


def mean_over_layers(series):
    steps = [s for s, _ in next(iter(series.values()))]
    return steps, [sum(series[l][i][1] for l in series) / len(series) for i in range(len(steps))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("histories", nargs=2)
    ap.add_argument("--labels", nargs=2, required=True)
    ap.add_argument("--png", required=True)
    a = ap.parse_args()
    runs = [maxvio_by_layer(h) for h in a.histories]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), dpi=110)
    colours = ["tab:blue", "tab:red"]
    for series, label, colour in zip(runs, a.labels, colours):
        for layer, points in sorted(series.items()):
            axes[0].plot([s for s, _ in points], [v for _, v in points], color=colour, alpha=0.35, lw=0.8)
        steps, mean = mean_over_layers(series)
        axes[0].plot(steps, mean, color=colour, lw=2.2, label=f"{label} (mean of {len(series)} MoE layers)")
        axes[1].plot(steps, mean, color=colour, lw=2.2, label=label)
    axes[0].set_title("MaxVio per MoE layer (thin) and their mean (thick)")
    axes[1].set_title("mean MaxVio over layers")
    for ax in axes:
        ax.set_xlabel("optimiser step")
        ax.set_ylabel("MaxVio = max load / mean load − 1")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Demo model, full fine-tune on code only: routing-bias update on and off")
    fig.tight_layout()
    fig.savefig(a.png)
    # Per-step MaxVio of ~1000 tokens is noisy: the table averages windows of 10 steps.
    print("| steps | " + " | ".join(f"mean MaxVio, {l}" for l in a.labels) + " |")
    print("|---|" + "---:|" * len(a.labels))
    means = [dict(zip(*mean_over_layers(s))) for s in runs]
    last = max(means[0])
    for first in range(1, last + 1, 10):
        window = [s for s in range(first, min(first + 9, last) + 1) if s in means[0]]
        cells = [sum(m[s] for s in window) / len(window) for m in means]
        print(f"| {window[0]}–{window[-1]} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")

if __name__ == "__main__":
    main()
