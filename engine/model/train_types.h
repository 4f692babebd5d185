// Plain types of the Backend's training ops (backend.h, "training" section): what a training
// forward saves for its backward, and the gradient sets backward ops accumulate into.
//
// Gradient tensors are F32 with the shape of what they belong to and are ACCUMULATED (+=), so
// micro-batches and a parameter used twice (the MTP layer's shared embedding) sum naturally; the
// caller zeroes them once per optimiser step. A null gradient pointer means "frozen": the op skips
// that product entirely.
#pragma once

#include <cstdint>

#include "model/tensor.h"

namespace moe {

// Attention over whole training sequences (no KV cache). Row r attends to rows
// seg_start[r] .. r (causal inside its segment: a packed sample, or a whole sequence), so a batch
// of B sequences is one [B*T, ...] tensor whose segments never cross a sequence.
struct AttentionDims {
    int64_t n_heads = 0;     // query heads
    int64_t n_kv_heads = 0;  // key/value heads (== n_heads for MLA's expanded form; fewer for GQA)
    int64_t qk_dim = 0;      // per-head query/key width (MLA: qk_nope + qk_rope)
    int64_t v_dim = 0;       // per-head value width
    float scale = 0;         // softmax scale (includes YaRN's mscale correction for MLA)
};

// What attention_train keeps for its backward.
struct AttentionSaved {
    Tensor out;  // [T, n_heads * v_dim]
    Tensor lse;  // [T, n_heads] log-sum-exp of each row's scaled scores (softmax recomputed from it)
};

struct AttentionGrads {
    Tensor dq;  // [T, n_heads * qk_dim]
    Tensor dk;  // [T, n_kv_heads * qk_dim]
    Tensor dv;  // [T, n_kv_heads * v_dim]
};

// SwiGLU FFN gradients (dense MLP or shared expert): shapes of FfnWeights.
struct FfnGrads {
    Tensor gate;  // [inter, hidden]
    Tensor up;    // [inter, hidden]
    Tensor down;  // [hidden, inter]
};

// Routed experts stacked as training keeps them: expert e owns rows [e*inter, (e+1)*inter) of
// gate/up and rows [e*hidden, (e+1)*hidden) of down (the hub's per-expert tensors are those slices).
struct ExpertGrads {
    Tensor gate;  // [E * inter, hidden]
    Tensor up;    // [E * inter, hidden]
    Tensor down;  // [E * hidden, inter]
};

// LoRA on one projection W [out, in]: y += scale · (x Aᵀ) Bᵀ with A [r, in], B [out, r].
// Dropout (rate `dropout`, keyed by `seed`) applies to the x that enters A only.
struct LoraWeights {
    Tensor a;  // [r, in]
    Tensor b;  // [out, r]
    float scale = 1.0f;  // alpha / r
    float dropout = 0.0f;
    uint64_t seed = 0;
    bool empty() const { return a.empty(); }
};
struct LoraGrads {
    Tensor a;  // [r, in]
    Tensor b;  // [out, r]
};

// LoRA on every routed expert's projections, stacked per expert like ExpertGrads: A of expert e
// is rows [e*r, (e+1)*r), B of expert e rows [e*out, (e+1)*out). The MoE path applies x·Aᵀ then
// ·Bᵀ per expert group and never forms a dense per-expert delta.
struct ExpertLora {
    LoraWeights gate;  // a [E*r, hidden], b [E*inter, r]
    LoraWeights up;    // a [E*r, hidden], b [E*inter, r]
    LoraWeights down;  // a [E*r, inter],  b [E*hidden, r]
    int64_t rank = 0;
};
struct ExpertLoraGrads {
    LoraGrads gate, up, down;
};

// Cross-entropy of one block of rows.
struct CrossEntropyResult {
    double loss_sum = 0;  // Σ over rows with a target of −log softmax(logits)[target] (unscaled)
    int64_t n_valid = 0;  // rows with a target
    Tensor d_logits;      // [T, V] = scale · (softmax − onehot) on rows with a target, 0 elsewhere
};

// The sequence-wise balance loss of one MoE layer (see docs/training.md for the formula).
struct BalanceLossResult {
    double loss = 0;   // coeff · Σ_sequences Σ_i f_i P_i
    Tensor d_scores;   // [T, E] gradient w.r.t. the router scores s (not the logits)
};

// One AdamW step (PyTorch semantics; docs/training.md).
struct AdamWStep {
    float lr = 0;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 0;
    float grad_scale = 1;  // the global-norm clipping coefficient, applied to g first
    int64_t step = 1;      // 1-based, for the bias corrections
};

}  // namespace moe
