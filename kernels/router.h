// MoE router selection on the GPU (CPU twin: engine/cpu/cpu_router.cpp; semantics of the HF-hub
// remote code, shared docs/deepseek-architecture.md §3.5, §3.6). The fp32 logits come first
// (linear.h gemv_bf16 over the bf16 gate weight); this kernel does everything after them:
//   s = sigmoid | softmax(logits); choice = s + bias (selection only)
//   group score = top-2 sum (noaux_tc) | max (group_limited_greedy); keep topk_group groups,
//   the other groups' experts get mask_value; top_k experts by choice (ties: lower index first);
//   w = s[chosen], normalised / scaled per the V3 or V2 rule; counts[e] += 1 per selection.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace moe::kernels {

struct RouterArgs {
    const float* logits = nullptr;   // [T, E]
    const float* bias = nullptr;     // [E] or nullptr
    int64_t T = 0, E = 0, top_k = 0, n_group = 1, topk_group = 1;
    bool softmax = false;            // scoring: softmax (V2) or sigmoid (V3)
    int method = 0;                  // 0 noaux_tc, 1 greedy, 2 group_limited_greedy
    bool norm_topk_prob = false;
    bool scale_always = true;        // V3: always × routed_scaling_factor; V2: only when not normalising
    float routed_scaling_factor = 1.0f;
    float mask_value = 0.0f;
    int32_t* ids = nullptr;          // [T, top_k]
    float* weights = nullptr;        // [T, top_k]
    unsigned long long* counts = nullptr;  // [E] cumulative expert hits, or nullptr
    float* scores = nullptr;         // [T, E] receives s (training: route_from_logits), or nullptr
};

// E <= 1024, n_group <= 32.
cudaError_t router_select(const RouterArgs& args, cudaStream_t stream);

// Logits AND selection in one launch (decode): args.logits is then a workspace [T, E] the kernel
// fills from x [T, hidden] f32 and gate [E, hidden] bf16 (the same arithmetic as gemv_bf16).
// `counter` is a device word that is 0 between calls (the kernel leaves it 0).
constexpr int64_t kRouterFusedMaxTokens = 8;
constexpr int64_t kRouterFusedMaxExperts = 512;  // the selection scratch of 8 warps fits the default 48 KB
bool router_fused_supported(const RouterArgs& args, const float* x, int64_t hidden, const uint16_t* gate);
cudaError_t router_fused(const RouterArgs& args, const float* x, int64_t hidden, const uint16_t* gate,
                         unsigned* counter, cudaStream_t stream);

// ---- training (CpuBackend::route_backward, balance_loss) ---------------------------------------

// d_logits [T, E] from d_weights [T, top_k] through w_k = a · s_{id_k} (/ (Σ_k s_{id_k} + 1e-20) when
// normalised), plus d_scores [T, E] (or nullptr), then through sigmoid or softmax. Warp per token.
struct RouteBackwardArgs {
    const float* scores = nullptr;     // [T, E]
    const int32_t* ids = nullptr;      // [T, top_k]
    const float* d_weights = nullptr;  // [T, top_k]
    const float* d_scores = nullptr;   // [T, E] or nullptr
    int64_t T = 0, E = 0, top_k = 0;
    float a = 1.0f;                    // routed_scaling_factor where it applies, else 1
    bool normalised = false;
    bool softmax = false;
    float* d_logits = nullptr;         // [T, E]
};
cudaError_t route_backward(const RouteBackwardArgs& args, cudaStream_t stream);

// The sequence-wise balance loss over blocks of R rows (CpuBackend::balance_loss): per block b,
// f_i = E/(K R) · hits_i, P_i = (1/R) Σ_t s_{t,i} / Σ_j s_{t,j}; loss_b = Σ_i f_i P_i (f64, times
// coeff on the host); d_scores [T, E] = (coeff f_i / R − Σ_j coeff f_j / R · s'_{t,j}) / Σ_j s_{t,j}.
// `workspace` holds balance_workspace_floats(T, E, R) floats; block_loss [T / R] doubles.
int64_t balance_workspace_floats(int64_t T, int64_t E, int64_t R);
cudaError_t balance_loss(const float* scores, const int32_t* ids, int64_t T, int64_t E, int64_t K, int64_t R, float coeff,
                         float* workspace, double* block_loss, float* d_scores, cudaStream_t stream);

}  // namespace moe::kernels
