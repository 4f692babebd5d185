#!/usr/bin/env python3
"""HF transformers on the same shapes as `moe-engine bench`, in the same GPU run, for a side-by-side ratio.

Each model is built from the same config values with random weights (bf16, on the GPU), then timed:
  prefill: one forward of T random tokens (logits of the last row only), median of --repeats after a warm-up;
  decode:  prefill a context of N random tokens, then --decode-tokens greedy steps with the KV cache,
           reading the sampled id back every step (the same per-token host sync the engine does).
Writes JSON (--json). One process per model keeps GPU memory clean: run it once per --model.
"""
import argparse
import json
import sys
import time

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

from model_shapes import SHAPES


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def build(name, attn):
    cfg = dict(SHAPES[name])
    model_type = cfg.pop("model_type")
    config = AutoConfig.for_model(model_type, **cfg)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16, attn_implementation=attn)
    model.eval()
    torch.cuda.synchronize()
    return model, config, time.perf_counter() - t0


@torch.no_grad()
def run(name, prefill, contexts, decode_tokens, repeats, attn, budget_s):
    start = time.perf_counter()
    model, config, init_s = build(name, attn)
    vocab = config.vocab_size
    out = {"model": name, "transformers": transformers.__version__, "torch": torch.__version__, "attn": attn,
           "device": torch.cuda.get_device_name(), "init_s": init_s,
           "params": sum(p.numel() for p in model.parameters()), "prefill": [], "decode": []}
    g = torch.Generator(device="cuda").manual_seed(1)
    for T in prefill:
        ids = torch.randint(0, vocab, (1, T), device="cuda", generator=g)
        times = []
        for i in range(repeats + 1):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            model(ids, use_cache=False, logits_to_keep=1)
            torch.cuda.synchronize()
            if i:
                times.append(time.perf_counter() - t0)
        s = median(times)
        out["prefill"].append({"tokens": T, "seconds": s, "tokens_per_s": T / s})
        print(f"  hf {name} prefill {T}: {s * 1e3:.1f} ms, {T / s:.0f} tok/s", flush=True)
    for n in contexts:
        if time.perf_counter() - start > budget_s:
            print(f"  hf {name} decode ctx {n}: skipped (time budget {budget_s:.0f} s spent)", flush=True)
            continue
        ids = torch.randint(0, vocab, (1, n), device="cuda", generator=g)
        res = model(ids, use_cache=True, logits_to_keep=1)
        past, tok = res.past_key_values, res.logits[:, -1:].argmax(-1)
        for _ in range(3):  # warm-up steps
            res = model(tok, past_key_values=past, use_cache=True)
            past, tok = res.past_key_values, res.logits[:, -1:].argmax(-1)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(decode_tokens):
            res = model(tok, past_key_values=past, use_cache=True)
            past, tok = res.past_key_values, res.logits[:, -1:].argmax(-1)
            tok.item()  # the per-token host read, as the engine does
        s = time.perf_counter() - t0
        out["decode"].append({"context": n, "new_tokens": decode_tokens, "seconds": s,
                              "tokens_per_s": decode_tokens / s})
        print(f"  hf {name} decode ctx {n}: {decode_tokens / s:.1f} tok/s", flush=True)
        del past, res
        torch.cuda.empty_cache()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, choices=sorted(SHAPES))
    ap.add_argument("--prefill", default="512,2048")
    ap.add_argument("--contexts", default="512,4096")
    ap.add_argument("--decode-tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--attn", default="sdpa")
    ap.add_argument("--budget-s", type=float, default=100.0, help="skip further decode runs after this many seconds")
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    ints = lambda s: [int(x) for x in s.split(",") if x]
    try:
        res = run(a.model, ints(a.prefill), ints(a.contexts), a.decode_tokens, a.repeats, a.attn, a.budget_s)
    except Exception as e:  # report, don't hide: the table shows the error
        res = {"model": a.model, "error": f"{type(e).__name__}: {e}"}
        print(f"  hf {a.model}: {res['error']}", file=sys.stderr, flush=True)
    with open(a.json, "w") as f:
        json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
