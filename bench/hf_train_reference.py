#!/usr/bin/env python3
"""PyTorch + HF transformers on the two runs of `moe-engine bench-train`, in the same GPU run, for a
side-by-side ratio (bench/summarize_train.py). Same shapes, sequence length, batch, hyper-parameters
and timing rules; JSON like bench-train's (--json). One process per shape: run it once per --shape.

  lora-moonlight  the moonlight-16b-a3b config, random bf16 weights on the GPU, frozen. LoRA (rank 16,
                  alpha 32, A uniform +-1/sqrt(in), B zero; no PEFT package) as two small matmuls
                  around every attention projection, the shared experts' projections and the routed
                  experts: transformers 5 stores those fused (mlp.experts.gate_up_proj [E, 2I, H],
                  down_proj [E, H, I]), so the experts module is replaced by one that runs the same
                  frozen fused weights with grouped GEMMs over the tokens sorted by expert and adds,
                  per expert, (x A_e^T) B_e^T through grouped GEMMs too: no dense per-expert delta
                  exists. Adapters are fp32 parameters cast to bf16 in the forward (their fp32 values
                  are the masters), AdamW (fused) on them.
  full-100m       the ~100M DeepSeek-V3-shaped config from scratch. bf16 parameters with fp32 master
                  copies: the backward runs in bf16, the gradients are copied into the fp32 masters,
                  clipped, stepped by torch.optim.AdamW (fused), and copied back to bf16.
                  transformers' DeepSeek-V3 has no MTP module and no balance loss / routing-bias
                  update: this run has neither (the engine's run trains one MTP module with
                  lambda 0.3 and the balance loss, i.e. more work per step).

A step = forward with labels (HF's shifted mean cross-entropy) + backward + clip (global norm 1.0) +
AdamW, then torch.cuda.synchronize(); warm-up steps, then the median of the timed steps. The batch is
one random batch of token ids repeated every step (the loss falls as the model fits it). Memory:
torch.cuda.max_memory_allocated() after the first step and over the run (and the reserved peak).
MFU: model FLOPs (bench/train_shapes.py, the engine's formula) / step time / the bf16 GEMM rate
measured here (torch.matmul 8192^3, median of 10).
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
import transformers
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM
from transformers.activations import ACT2FN

import train_shapes

BF16 = torch.bfloat16


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def measure_gemm_tflops(n=8192, reps=10):
    a = torch.randn(n, n, device="cuda", dtype=BF16)
    b = torch.randn(n, n, device="cuda", dtype=BF16)
    times = []
    for i in range(reps + 2):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        torch.matmul(a, b)
        e.record()
        e.synchronize()
        if i >= 2:
            times.append(s.elapsed_time(e) * 1e-3)
    del a, b
    return 2.0 * n ** 3 / median(times) / 1e12


# ---- grouped GEMM over tokens sorted by expert ---------------------------------------------------

def _gmm_loop(x, w, offs):
    """x [S, in] sorted by expert, w [E, in, out], offs [E] cumulative ends -> [S, out] (one host sync)."""
    outs, start = [], 0
    for e, end in enumerate(offs.tolist()):
        if end > start:
            outs.append(x[start:end] @ w[e])
        start = end
    return torch.cat(outs) if outs else x.new_zeros(0, w.shape[-1])


def _gmm_torch(x, w, offs):
    if hasattr(F, "grouped_mm"):
        return F.grouped_mm(x, w, offs=offs)
    return torch._grouped_mm(x, w, offs=offs)


def pick_gmm():
    """torch's grouped GEMM when it runs forward and backward here (bf16, CUDA), else a per-expert loop."""
    if not (hasattr(F, "grouped_mm") or hasattr(torch, "_grouped_mm")):
        return _gmm_loop, "per-expert loop (no torch grouped_mm)"
    try:
        x = torch.randn(48, 64, device="cuda", dtype=BF16, requires_grad=True)
        w = torch.randn(4, 64, 32, device="cuda", dtype=BF16, requires_grad=True)
        offs = torch.tensor([16, 16, 32, 48], device="cuda", dtype=torch.int32)
        y = _gmm_torch(x, w.transpose(1, 2).contiguous().transpose(1, 2), offs)
        y.float().sum().backward()
        ref = _gmm_loop(x.detach(), w.detach(), offs)
        if not torch.allclose(y.detach().float(), ref.float(), rtol=2e-2, atol=2e-1):
            raise RuntimeError("grouped_mm disagrees with the per-expert loop")
        return _gmm_torch, "torch grouped_mm"
    except Exception as e:  # noqa: BLE001 - any failure means: use the loop
        print(f"  grouped_mm unusable here ({type(e).__name__}: {e}); per-expert loop", flush=True)
        return _gmm_loop, "per-expert loop (grouped_mm failed its check)"


# ---- LoRA ------------------------------------------------------------------------------------------

def lora_pair(n_in, n_out, rank, device, experts=None):
    """A uniform +-1/sqrt(in), B zero (the engine's and PEFT's init); fp32 masters. Per expert (grouped
    GEMM layout [E, in, out]): A [E, in, r], B [E, r, out]."""
    shape_a = (rank, n_in) if experts is None else (experts, n_in, rank)
    shape_b = (n_out, rank) if experts is None else (experts, rank, n_out)
    bound = 1 / math.sqrt(n_in)
    a = nn.Parameter(torch.empty(shape_a, device=device, dtype=torch.float32).uniform_(-bound, bound))
    b = nn.Parameter(torch.zeros(shape_b, device=device, dtype=torch.float32))
    return a, b


class LoraLinear(nn.Module):
    """y = base(x) + scale * (x A^T) B^T around a frozen nn.Linear."""

    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.lora_A, self.lora_B = lora_pair(base.in_features, base.out_features, rank, base.weight.device)

    def forward(self, x):
        xb = x.to(BF16)
        return self.base(x) + self.scale * F.linear(F.linear(xb, self.lora_A.to(BF16)), self.lora_B.to(BF16))


class LoraExperts(nn.Module):
    """transformers 5's fused routed experts (gate_up_proj [E, 2I, H], down_proj [E, H, I], frozen) with
    LoRA on each expert's gate, up and down projections, all as grouped GEMMs over the (token, expert)
    slots sorted by expert. Same call as the module it replaces: (hidden [T, H], top_k_index [T, K],
    top_k_weights [T, K]) -> [T, H]."""

    def __init__(self, base, rank, alpha, gmm, act):
        super().__init__()
        self.base = base
        self.gmm = gmm
        self.act = act
        E, two_i, H = base.gate_up_proj.shape
        self.E, self.I, self.r, self.scale = E, two_i // 2, rank, alpha / rank
        # gate and up have an adapter each; their A's side by side: [E, H, 2r]
        dev = base.gate_up_proj.device
        a_gate, self.gate_B = lora_pair(H, self.I, rank, dev, E)
        a_up, self.up_B = lora_pair(H, self.I, rank, dev, E)
        self.gate_up_A = nn.Parameter(torch.cat([a_gate.data, a_up.data], dim=2))
        self.down_A, self.down_B = lora_pair(self.I, H, rank, dev, E)

    def forward(self, hidden_states, top_k_index, top_k_weights):
        T, H = hidden_states.shape
        K = top_k_index.shape[-1]
        expert_ids = top_k_index.reshape(-1)
        perm = torch.argsort(expert_ids, stable=True)
        inv_perm = torch.argsort(perm)
        token_idx = torch.arange(T, device=hidden_states.device).repeat_interleave(K)[perm]
        offs = torch.cumsum(torch.bincount(expert_ids, minlength=self.E), 0).to(torch.int32)
        x = hidden_states[token_idx].to(BF16)  # [S, H] grouped by expert

        gate_up = self.gmm(x, self.base.gate_up_proj.transpose(1, 2), offs)  # [S, 2I]
        z = self.gmm(x, self.gate_up_A.to(BF16), offs)  # [S, 2r]
        d_gate = self.gmm(z[:, :self.r].contiguous(), self.gate_B.to(BF16), offs)
        d_up = self.gmm(z[:, self.r:].contiguous(), self.up_B.to(BF16), offs)
        gate, up = gate_up.chunk(2, dim=-1)
        h = self.act(gate + self.scale * d_gate) * (up + self.scale * d_up)  # [S, I]
        out = self.gmm(h, self.base.down_proj.transpose(1, 2), offs)  # [S, H]
        out = out + self.scale * self.gmm(self.gmm(h, self.down_A.to(BF16), offs), self.down_B.to(BF16), offs)
        out = out.float() * top_k_weights.reshape(-1)[perm].float().unsqueeze(-1)
        return out[inv_perm].view(T, K, H).sum(dim=1).to(hidden_states.dtype)


def attach_lora(model, rank, alpha, targets, gmm):
    """Wraps the targets the engine's LoraSpec names; returns a description of what was wrapped."""
    wrapped = {"linear": 0, "fused_experts": 0, "expert_linear": 0}
    act = ACT2FN[model.config.hidden_act]
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if isinstance(child, nn.Linear):
                in_attn = ".self_attn." in f".{full}" and "attention" in targets
                in_shared = ".shared_experts." in f".{full}." and "shared_experts" in targets
                in_expert = ".mlp.experts." in f".{full}." and "experts" in targets  # transformers 4.x ModuleList
                if in_attn or in_shared or in_expert:
                    setattr(module, child_name, LoraLinear(child, rank, alpha))
                    wrapped["expert_linear" if in_expert else "linear"] += 1
            elif (child_name == "experts" and "experts" in targets and isinstance(getattr(child, "gate_up_proj", None),
                                                                                   torch.Tensor)
                  and child.gate_up_proj.dim() == 3):
                setattr(module, child_name, LoraExperts(child, rank, alpha, gmm, act))
                wrapped["fused_experts"] += 1
    if "experts" in targets and not (wrapped["fused_experts"] or wrapped["expert_linear"]):
        raise RuntimeError("found no routed experts to adapt in this transformers version's model")
    return wrapped


# ---- the runs --------------------------------------------------------------------------------------

def build(cfg, attn, experts_impl):
    cfg = dict(cfg)
    model_type = cfg.pop("model_type")
    config = AutoConfig.for_model(model_type, **cfg)
    config.use_cache = False
    torch.manual_seed(0)
    kwargs = dict(dtype=BF16, attn_implementation=attn)
    with torch.device("cuda"):
        try:
            model = AutoModelForCausalLM.from_config(config, experts_implementation=experts_impl, **kwargs)
        except (TypeError, ValueError) as e:
            print(f"  experts_implementation={experts_impl} not accepted ({e}); transformers' default", flush=True)
            model = AutoModelForCausalLM.from_config(config, **kwargs)
    return model, config


class MasterAdamW:
    """bf16 parameters, fp32 masters: grads copied up, clipped, AdamW on the masters, values copied down."""

    def __init__(self, params, hp):
        self.params = [p for p in params if p.requires_grad]
        self.masters = [p.detach().float().clone().requires_grad_(True) for p in self.params]
        self.clip = hp["clip"]
        self.opt = torch.optim.AdamW(self.masters, lr=hp["lr"], betas=hp["betas"], eps=hp["eps"],
                                     weight_decay=hp["weight_decay"], fused=True)

    def step(self):
        for m, p in zip(self.masters, self.params):
            m.grad = p.grad.float() if p.grad is not None else torch.zeros_like(m)
            p.grad = None
        torch.nn.utils.clip_grad_norm_(self.masters, self.clip)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            for m, p in zip(self.masters, self.params):
                p.copy_(m)


class PlainAdamW:
    """fp32 parameters (the LoRA adapters): clip + fused AdamW."""

    def __init__(self, params, hp):
        self.params = [p for p in params if p.requires_grad]
        self.clip = hp["clip"]
        self.opt = torch.optim.AdamW(self.params, lr=hp["lr"], betas=hp["betas"], eps=hp["eps"],
                                     weight_decay=hp["weight_decay"], fused=True)

    def step(self):
        torch.nn.utils.clip_grad_norm_(self.params, self.clip)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)


def run(name, seq_len, batch, steps, warmup, checkpoint_layers, attn, experts_impl, seed):
    spec = train_shapes.shape(name)
    cfg, mode, hp = spec["config"], spec["mode"], spec["adamw"]
    out = {"shape": name, "model": spec["model"], "mode": mode, "transformers": transformers.__version__,
           "torch": torch.__version__, "device": torch.cuda.get_device_name(), "attn": attn, "seq_len": seq_len,
           "batch": batch, "tokens_per_step": seq_len * batch, "checkpoint_layers": checkpoint_layers,
           "adamw": {**hp, "betas": list(hp["betas"])}, "notes": []}
    gemm = measure_gemm_tflops()
    out["gemm_bf16_tflops"] = gemm
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()

    gmm, gmm_kind = pick_gmm()
    if experts_impl == "grouped_mm" and gmm is _gmm_loop:
        out["notes"].append("grouped_mm unusable here: transformers' eager experts instead")
        experts_impl = "eager"
    t0 = time.perf_counter()
    model, config = build(cfg, attn, experts_impl)
    out["experts_implementation"] = getattr(model.config, "_experts_implementation", None)
    if mode == "lora":
        lora = spec["lora"]
        for p in model.parameters():
            p.requires_grad_(False)
        out["lora"] = lora
        out["lora_wrapped"] = attach_lora(model, lora["rank"], lora["alpha"], lora["targets"], gmm)
        out["lora_experts_gemm"] = gmm_kind
        out["precision"] = "bf16 frozen weights; fp32 LoRA adapters cast to bf16 in the forward; fp32 AdamW"
        optimizer = PlainAdamW(model.parameters(), hp)
    else:
        out["precision"] = "bf16 parameters and compute, fp32 master copies and AdamW state"
        out["notes"].append("no MTP module, balance loss or routing-bias update (transformers' DeepSeek-V3 has "
                            "none); the engine's full-100m run has all three")
        optimizer = MasterAdamW(model.parameters(), hp)
    if checkpoint_layers:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    torch.cuda.synchronize()
    out["init_s"] = time.perf_counter() - t0

    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    out["parameters"] = {"total": total - (trainable if mode == "lora" else 0),
                         "trainable": trainable if mode == "full" else 0,
                         "lora": trainable if mode == "lora" else 0}
    flops = train_shapes.step_flops(cfg, mode, seq_len, batch, spec["lora"], mtp_modules=0)
    out["flops_per_step"] = flops
    print(f"  hf {name}: {total / 1e6:.2f}M parameters ({trainable / 1e6:.2f}M trained), init {out['init_s']:.1f} s",
          flush=True)

    g = torch.Generator(device="cuda").manual_seed(seed)
    ids = torch.randint(0, cfg["vocab_size"], (batch, seq_len), device="cuda", generator=g)
    seconds, losses = [], []
    for i in range(warmup + steps):
        torch.cuda.synchronize()
        t = time.perf_counter()
        loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        torch.cuda.synchronize()
        seconds.append(time.perf_counter() - t)
        if i == 0:
            out["peak_bytes_first_step"] = torch.cuda.max_memory_allocated()
        print(f"  hf {name} step {i + 1}{' (warm-up)' if i < warmup else ''}: {seconds[-1] * 1e3:.1f} ms "
              f"loss {losses[-1]:.4f}", flush=True)
    step_s = median(seconds[warmup:])
    out.update(step_seconds=seconds, median_step_s=step_s, tokens_per_s=batch * seq_len / step_s,
               model_tflops=flops["total"] / step_s / 1e12, losses=losses,
               losses_finite=all(math.isfinite(x) for x in losses),
               loss_decreased=all(math.isfinite(x) for x in losses) and losses[-1] < losses[0],
               peak_bytes=torch.cuda.max_memory_allocated(), reserved_peak_bytes=torch.cuda.max_memory_reserved())
    out["mfu"] = out["model_tflops"] / gemm
    print(f"  hf {name}: {step_s * 1e3:.1f} ms/step, {out['tokens_per_s']:.0f} tokens/s, MFU {100 * out['mfu']:.1f}%, "
          f"peak {out['peak_bytes'] / 2 ** 30:.2f} GiB, loss {losses[0]:.4f} -> {losses[-1]:.4f}", flush=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", required=True, choices=sorted(train_shapes.TRAIN_SHAPES))
    ap.add_argument("--seq-len", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--checkpoint-layers", action="store_true")
    ap.add_argument("--attn", default="sdpa")
    ap.add_argument("--experts-implementation", default="grouped_mm")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    try:
        res = run(a.shape, a.seq_len, a.batch, a.steps, a.warmup, a.checkpoint_layers, a.attn,
                  a.experts_implementation, a.seed)
    except Exception as e:  # report, don't hide: the summary shows the error
        res = {"shape": a.shape, "error": f"{type(e).__name__}: {e}"}
        print(f"  hf {a.shape}: {res['error']}", file=sys.stderr, flush=True)
    with open(a.json + ".tmp", "w") as f:
        json.dump(res, f, indent=2)
    os.replace(a.json + ".tmp", a.json)


if __name__ == "__main__":
    main()
