#!/usr/bin/python3
"""Acceptance of MTP drafts per domain, before and after: two `bench --speculative --json` reports.

  plot_mtp_acceptance.py BEFORE.json AFTER.json --png OUT.png

Per domain (the prompts' labels) and over all prompts: drafts accepted / drafted at draft position 1,
mean accepted length, and the greedy-exactness of both runs. Needs Debian's python3-matplotlib.
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def per_domain(report):
    """{domain: (accepted, drafted, steps)} at position 1, plus "all"."""
    out = {}
    for p in report["prompts"]:
        c = p["speculative"]
        a, d, s = out.get(p["label"], (0, 0, 0))
        out[p["label"]] = (a + c["accepted_per_position"][0], d + c["drafted_per_position"][0], s + c["steps"])
    a = sum(v[0] for v in out.values())
    d = sum(v[1] for v in out.values())
    s = sum(v[2] for v in out.values())
    out["all"] = (a, d, s)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--png", required=True)
    a = ap.parse_args()
    reports = [json.load(open(p)) for p in (a.before, a.after)]
    rates = [per_domain(r) for r in reports]
    domains = [d for d in rates[0] if d != "all"] + ["all"]
    fig, ax = plt.subplots(figsize=(8, 4), dpi=110)
    width = 0.38
    for i, (label, colour) in enumerate([("before", "tab:gray"), ("after MTP-head self-distillation", "tab:green")]):
        ys = [rates[i][d][0] / max(rates[i][d][1], 1) for d in domains]
        ax.bar([x + (i - 0.5) * width for x in range(len(domains))], ys, width, label=label, color=colour)
    ax.set_xticks(range(len(domains)), domains)
    ax.set_ylim(0, 1)
    ax.set_ylabel("drafts accepted (position 1)")
    ax.set_title("Demo model, held-out chat prompts: MTP draft acceptance per domain")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(a.png)
    print("| domain | acceptance before | after | mean accepted length before | after | drafts (before / after) |")
    print("|---|---:|---:|---:|---:|---:|")
    for d in domains:
        (a0, d0, s0), (a1, d1, s1) = rates[0][d], rates[1][d]
        print(f"| {d} | {a0 / max(d0, 1):.3f} | **{a1 / max(d1, 1):.3f}** | {(a0 + s0) / max(s0, 1):.3f} | "
              f"{(a1 + s1) / max(s1, 1):.3f} | {d0} / {d1} |")
    for name, r in zip(("before", "after"), reports):
        print(f"\n{name}: greedy_exact {r.get('greedy_exact')}, speculative {r['speculative_tokens_per_second']:.1f} "
              f"vs plain {r['plain_tokens_per_second']:.1f} tokens/s (CPU, {r['decode_tokens']} tokens a prompt)")


if __name__ == "__main__":
    main()
