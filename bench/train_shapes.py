#!/usr/bin/env python3
"""The two runs of `moe-engine bench-train` (engine/cuda/bench/train_shapes.cpp) for PyTorch: their
configs, hyper-parameters, and the model-FLOP count of one step (engine/train/memory_plan.h,
kStepFlopsFormula), so the HF baseline reports MFU the same way. No torch needed here.
"""
import copy

from model_shapes import SHAPES as INFERENCE_SHAPES

# The same values as kFull100mConfig (engine/cuda/bench/train_shapes.cpp).
FULL_100M = dict(
    model_type="deepseek_v3", hidden_size=512, intermediate_size=1536, moe_intermediate_size=192,
    num_hidden_layers=12, num_attention_heads=8, num_key_value_heads=8, q_lora_rank=256, kv_lora_rank=128,
    qk_nope_head_dim=64, qk_rope_head_dim=32, v_head_dim=64, n_routed_experts=16, n_shared_experts=1,
    num_experts_per_tok=4, n_group=4, topk_group=2, topk_method="noaux_tc", scoring_func="sigmoid",
    norm_topk_prob=True, routed_scaling_factor=2.5, first_k_dense_replace=1, moe_layer_freq=1,
    num_nextn_predict_layers=1, rms_norm_eps=1e-6, rope_theta=10000.0, max_position_embeddings=4096,
    vocab_size=32000, tie_word_embeddings=False, hidden_act="silu", attention_bias=False)

TRAIN_SHAPES = {
    "lora-moonlight": dict(
        model="moonlight-16b-a3b", mode="lora", config=INFERENCE_SHAPES["moonlight-16b-a3b"],
        lora=dict(rank=16, alpha=32.0, targets=["attention", "shared_experts", "experts"]),
        adamw=dict(lr=2e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0, clip=1.0)),
    "full-100m": dict(
        model="deepseek-v3-100m", mode="full", config=FULL_100M, lora=None,
        adamw=dict(lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, clip=1.0)),
}


def shape(name):
    return copy.deepcopy(TRAIN_SHAPES[name])


def _layer_matmuls(c, layer):
    """(name, in, out, routed) of every matmul weight of one decoder layer."""
    d, H = c["hidden_size"], c["num_attention_heads"]
    qk = c["qk_nope_head_dim"] + c["qk_rope_head_dim"]
    ms = []
    if c.get("q_lora_rank"):
        ms += [("self_attn.q_a_proj", d, c["q_lora_rank"], False),
               ("self_attn.q_b_proj", c["q_lora_rank"], H * qk, False)]
    else:
        ms += [("self_attn.q_proj", d, H * qk, False)]
    ms += [("self_attn.kv_a_proj_with_mqa", d, c["kv_lora_rank"] + c["qk_rope_head_dim"], False),
           ("self_attn.kv_b_proj", c["kv_lora_rank"], H * (c["qk_nope_head_dim"] + c["v_head_dim"]), False),
           ("self_attn.o_proj", H * c["v_head_dim"], d, False)]
    moe = c.get("n_routed_experts") and layer >= c.get("first_k_dense_replace", 0) and \
        layer % c.get("moe_layer_freq", 1) == 0
    if not moe:
        I = c["intermediate_size"]
        return ms + [("mlp.gate_proj", d, I, False), ("mlp.up_proj", d, I, False), ("mlp.down_proj", I, d, False)]
    I, S = c["moe_intermediate_size"], c.get("n_shared_experts") or 0
    ms += [("mlp.gate", d, c["n_routed_experts"], False)]
    ms += [("mlp.experts.gate_proj", d, I, True), ("mlp.experts.up_proj", d, I, True),
           ("mlp.experts.down_proj", I, d, True)]
    if S:
        ms += [("mlp.shared_experts.gate_proj", d, I * S, False), ("mlp.shared_experts.up_proj", d, I * S, False),
               ("mlp.shared_experts.down_proj", I * S, d, False)]
    return ms


def lora_applies(targets, name):
    """LoraSpec::applies_to for the projections above (engine/train/trainable_source.cpp)."""
    if ".experts." in "." + name + ".":
        return "experts" in targets
    if "shared_experts." in name:
        return "shared_experts" in targets
    if name.startswith("self_attn."):
        return "attention" in targets or name.split(".")[-1] in targets
    if name == "mlp.gate":
        return False
    return "mlp" in targets or name.split(".")[-1] in targets


def step_flops(c, mode, seq_len, batch, lora=None, mtp_modules=0):
    """Model FLOPs of one step: trained weights 6 x 2-flop... see kStepFlopsFormula. Returns a dict."""
    L, d, V = c["num_hidden_layers"], c["hidden_size"], c["vocab_size"]
    share = c["num_experts_per_tok"] / c["n_routed_experts"] if c.get("n_routed_experts") else 1.0
    f_base = 3 if mode == "full" else 2
    out = dict(matmul_trained=0.0, matmul_frozen=0.0, lora=0.0, attention=0.0)
    key = "matmul_trained" if mode == "full" else "matmul_frozen"
    H = c["num_attention_heads"]
    qk, v = c["qk_nope_head_dim"] + c["qk_rope_head_dim"], c["v_head_dim"]
    for layer in range(L + mtp_modules):
        t = seq_len if layer < L else seq_len - (layer - L) - 1
        rows = batch * t
        # the MTP module's eh_proj and (shared) head, then its block
        extra = [("eh_proj", 2 * d, d, False), ("head", d, V, False)] if layer >= L else []
        for name, n_in, n_out, routed in _layer_matmuls(c, layer) + extra:
            experts = c["n_routed_experts"] if routed else 1
            a = n_in * n_out * experts * (share if routed else 1.0)
            out[key] += f_base * 2 * a * rows
            if lora and lora_applies(lora["targets"], name):
                out["lora"] += 6 * lora["rank"] * (n_in + n_out) * experts * (share if routed else 1.0) * rows
        out["attention"] += 12.0 * H * (qk + v) / 2.0 * batch * t * (t + 1) / 2.0
    out[key] += f_base * 2 * V * d * batch * seq_len  # lm_head (an embedding lookup is no matmul)
    out["total"] = sum(out.values())
    return out
