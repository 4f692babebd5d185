// The training forms of the graph's layer kinds (the same weights structs the inference graphs
// use: model/deepseek_weights.h, model/qwen2_weights.h): each *_fwd runs the layer over a whole
// micro-batch and keeps what its *_bwd needs in a Saved struct; each *_bwd takes the gradient of the
// layer's output, accumulates the parameters' gradients (ParameterStore lookups: frozen weights
// have none) and returns the gradient of the layer's input. Backward functions take the saved
// activations explicitly — no tape (llm.c's habit).
//
// Rows: a micro-batch of n_seq sequences × seq_len rows is one [N, width] tensor; attention stays
// inside each row's segment (seg_start) and RoPE uses each row's own position (packed samples
// restart at 0), so sequences and packed samples never see each other.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "model/backend.h"
#include "model/deepseek_weights.h"
#include "model/qwen2_weights.h"
#include "train/parameters.h"

namespace moe::train {

// The rows of one micro-batch on the backend.
struct BatchRows {
    int64_t n_seq = 0, seq_len = 0;
    std::vector<int32_t> tokens;  // [N] host
    Tensor positions;             // [N, 1] I32
    Tensor seg_start;             // [N, 1] I32, absolute row index where the row's segment starts
    int64_t rows() const { return n_seq * seq_len; }
};

// What every layer function needs beside its weights.
struct LayerContext {
    Backend& be;
    const ParameterStore& params;
    float eps = 1e-6f;  // the model's rms_norm_eps
    // Activation recomputation: layers keep only their input and rerun forward before backward.
    bool checkpoint_layers = false;
    // The routed experts' forward keeps its products for the backward (Backend::ExpertRows) instead
    // of the backward recomputing them: more memory, no second forward of the experts.
    bool keep_expert_rows = false;
};

// ---- linear (+ bias, + LoRA) and RMSNorm ------------------------------------------------------
// y [T, out] = x Wᵀ (+ b) (+ scale · (drop(x) Aᵀ) Bᵀ when the weight has a LoRA adapter).
Tensor linear_fwd(const LayerContext& c, const Tensor& x, const Weight& w, const Tensor* bias = nullptr);
// Accumulates dW, db and the adapter's dA, dB; returns dx [T, in].
Tensor linear_bwd(const LayerContext& c, const Tensor& x, const Weight& w, const Tensor* bias, const Tensor& dy);
// Two projections of one x without bias (q | kv_a, gate | up): y_i = linear_fwd(x, w_i), and the
// backward's Σ_i dx_i. Where both carry a LoRA adapter without dropout they run as one group op
// (Backend::linear_lora_group: x rounded to bf16 once, the dx terms accumulated in place).
std::pair<Tensor, Tensor> linear_pair_fwd(const LayerContext& c, const Tensor& x, const Weight& w0, const Weight& w1);
Tensor linear_pair_bwd(const LayerContext& c, const Tensor& x, const Weight& w0, const Tensor& dy0, const Weight& w1,
                       const Tensor& dy1);
// dx of rmsnorm(x, weight, eps) for dy; accumulates dweight when the weight trains.
Tensor rmsnorm_bwd(const LayerContext& c, const Tensor& x, const Tensor& weight, float eps, const Tensor& dy);

// ---- SwiGLU FFN (dense MLP, shared expert) -----------------------------------------------------
struct FfnSaved {
    Tensor x, g, u, h;  // input [T, d]; gate/up outputs and silu(g)·u [T, inter]
};
Tensor ffn_fwd(const LayerContext& c, const Tensor& x, const FfnWeights& w, FfnSaved& s);
Tensor ffn_bwd(const LayerContext& c, const FfnWeights& w, const FfnSaved& s, const Tensor& dy);

// ---- MLA attention (DeepSeek) -------------------------------------------------------------------
struct MlaShape {
    MlaDims dims;
    const RopeTable* rope = nullptr;
    float latent_eps = 1e-6f;  // q_a_layernorm / kv_a_layernorm (HF builds them without eps)
};
struct MlaSaved {
    Tensor x;                // [T, d] the normed input
    Tensor q_a, q_a_normed;  // [T, q_lora] (q_lora only)
    Tensor q;                // [T, H * qk_head] roped
    Tensor ckv;              // [T, kv_lora + rope] kv_a output
    Tensor latent;           // [T, kv_lora] normed latent
    Tensor k, v;             // expanded [T, H * qk_head], [T, H * v_head]
    AttentionSaved attn;
};
Tensor mla_fwd(const LayerContext& c, const MlaShape& m, const BatchRows& rows, const Tensor& x, const MlaWeights& w,
               MlaSaved& s);
Tensor mla_bwd(const LayerContext& c, const MlaShape& m, const BatchRows& rows, const MlaWeights& w, const MlaSaved& s,
               const Tensor& dy);

// ---- GQA attention (Qwen2) ----------------------------------------------------------------------
struct GqaShape {
    GqaDims dims;
    const RopeTable* rope = nullptr;
};
struct GqaSaved {
    Tensor x, q, k, v;  // normed input; roped q/k; v
    AttentionSaved attn;
};
Tensor gqa_fwd(const LayerContext& c, const GqaShape& g, const BatchRows& rows, const Tensor& x,
               const GqaLayerWeights& w, GqaSaved& s);
Tensor gqa_bwd(const LayerContext& c, const GqaShape& g, const BatchRows& rows, const GqaLayerWeights& w,
               const GqaSaved& s, const Tensor& dy);

// ---- MoE block (router + balance loss + routed experts + shared expert) ------------------------
struct MoeShape {
    RouterParams router;
    int64_t rows_per_sequence = 0;  // the balance loss is per sequence
    float balance_coeff = 0.0f;     // α / (sequences in the optimiser step); 0: no balance loss
};
struct MoeSaved {
    Tensor x;                 // [T, d]
    Tensor scores;            // [T, E] bias-free router scores
    RouterOutput routing;     // ids + weights [T, K]
    Tensor d_scores;          // balance-loss gradient w.r.t. the scores (empty when α = 0)
    double balance_loss = 0;  // this micro-batch's share of the layer's balance loss
    FfnSaved shared;
    std::shared_ptr<ExpertRows> expert_rows;  // what the backend kept (LayerContext::keep_expert_rows), or null
};
Tensor moe_fwd(const LayerContext& c, const MoeShape& m, const Tensor& x, const MoeWeights& w, MoeSaved& s);
Tensor moe_bwd(const LayerContext& c, const MoeShape& m, const MoeWeights& w, const MoeSaved& s, const Tensor& dy);

}  // namespace moe::train
