#!/usr/bin/env python3
"""How domain-specialised a model's routing is, from a training run's per-domain evaluation loads.

  domain_divergence.py HISTORY.jsonl [--steps 0 -1]

For each chosen eval event (0 = the first: the model before training, here a random initialisation
of the same architecture and tokenizer; -1 = the last) and each MoE layer: the Jensen–Shannon
divergence (base 2, so 0 = identical, 1 = disjoint experts) between one domain's expert-load
distribution and that of all other domains' held-out tokens pooled, per domain, and their mean.
Prints Markdown tables. Standard library only.
"""
import argparse
import json
import math


def normalised(v):
    s = float(sum(v))
    return [x / s for x in v] if s > 0 else [0.0] * len(v)


def js_divergence(p, q):
    m = [(a + b) / 2 for a, b in zip(p, q)]

    def kl(a, b):
        return sum(x * math.log2(x / y) for x, y in zip(a, b) if x > 0)

    return (kl(p, m) + kl(q, m)) / 2


def divergences(eval_event):
    """{layer: {domain: JS(domain, others pooled)}}"""
    domains = eval_event["domains"]
    names = sorted(domains)
    layers = sorted({int(l) for d in domains.values() for l in d["load"]})
    out = {}
    for layer in layers:
        row = {}
        for name in names:
            mine = domains[name]["load"][str(layer)]
            others = [sum(domains[o]["load"][str(layer)][i] for o in names if o != name) for i in range(len(mine))]
            row[name] = js_divergence(normalised(mine), normalised(others))
        out[layer] = row
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("history")
    ap.add_argument("--steps", nargs="+", type=int, default=[0, -1], help="eval indices (0 first, -1 last)")
    a = ap.parse_args()
    with open(a.history) as f:
        evals = [e for e in map(json.loads, f) if e.get("event") == "eval"]
    for index in a.steps:
        e = evals[index]
        table = divergences(e)
        names = sorted(e["domains"])
        print(f"\n**eval at step {e['step']}** — JS divergence (bits) of each domain's expert load from the other domains' pooled\n")
        print("| MoE layer | " + " | ".join(names) + " | mean |")
        print("|---:|" + "---:|" * (len(names) + 1))
        means = []
        for layer, row in table.items():
            mean = sum(row.values()) / len(row)
            means.append(mean)
            print(f"| {layer} | " + " | ".join(f"{row[n]:.4f}" for n in names) + f" | **{mean:.4f}** |")
        print(f"| all | " + " | ".join(f"{sum(table[l][n] for l in table) / len(table):.4f}" for n in names)
              + f" | **{sum(means) / len(means):.4f}** |")


if __name__ == "__main__":
    main()
