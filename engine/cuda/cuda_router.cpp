// CUDA: the MoE router (kernels/router.cu; CPU twin cpu_router.cpp). f32-input logits (exact up
// to summation order, so expert choices match the reference) and a selection that also counts
// expert hits on the device for telemetry: one fused launch for few tokens (decode), else the
// logits (the GEMV kernel, or past 64 tokens an f32 GEMM) and then the selection kernel.
//
// Prefill and training: the logits of more than 64 tokens are an f32 cuBLAS GEMM against an f32
// copy of the gate (the GEMV below that); route_from_logits is the same selection kernel, also writing
// the scores; route_backward and the balance loss are f32 kernels (router.cu). balance_loss and
// expert_counts return host values, so they wait for the GPU (one sync each).
#include <string>
#include <utility>
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_storage.h"
#include "elementwise.h"
#include "linear.h"
#include "router.h"

namespace moe {

using namespace cuda;

namespace {

// Above this many tokens the logits are one f32 GEMM (cuBLAS) instead of the GEMV kernel: moonlight
// prefill 2048 spent 78 µs a layer in the GEMV (H100).
constexpr int64_t kRouterGemvMaxTokens = 64;

// Row-major logits [T, E] = x [T, H] · Gᵀ in plain f32 (CUBLAS_COMPUTE_32F: no TF32, no bf16
// rounding of x) against an f32 copy of the bf16 gate G [E, H].
void f32_gemm_logits(DeviceContext& ctx, const float* x, int64_t T, const CudaWeightStorage& g, float* logits) {
    const int64_t E = g.rows, H = g.cols;
    Scratch g32(ctx, size_t(E * H) * 4, "f32 router gate");
    MOE_CUDA_CHECK(kernels::bf16_to_f32(g.bf16(), E * H, g32.as<float>(), ctx.stream()));
    const float alpha = 1.0f, beta = 0.0f;
    MOE_CUBLAS_CHECK(cublasGemmEx(ctx.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, int(E), int(T), int(H), &alpha,
                                  g32.as<float>(), CUDA_R_32F, int(H), x, CUDA_R_32F, int(H), &beta, logits,
                                  CUDA_R_32F, int(E), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace

RouterOutput CudaBackend::route(const Tensor& x, const Weight& gate, const Tensor* bias, const RouterParams& p) {
    if (p.n_experts <= 0 || p.top_k <= 0 || p.top_k > p.n_experts) throw_invalid_argument("route: bad top_k");
    if (p.n_group <= 0 || p.n_experts % p.n_group != 0 || p.topk_group <= 0 || p.topk_group > p.n_group)
        throw_invalid_argument("route: bad n_group / topk_group");
    if (p.n_experts > 1024 || p.n_group > 32)
        throw_invalid_argument("route: the CUDA router supports up to 1024 experts in up to 32 groups");
    const int64_t T = x.rows(), E = p.n_experts, K = p.top_k;
    const CudaWeightStorage& g = weight_storage(gate);
    if (g.rows != E || g.cols != x.cols()) throw_invalid_argument("route: gate weight has the wrong shape");
    if (bias) require_shape(*bias, 1, E, "route bias");
    cudaStream_t s = ctx_->stream();

    Scratch logits(*ctx_, size_t(T * E) * 4, "router logits");

    if (!g.load_counts.get() && !ctx_->capturing()) {
        g.load_counts = DeviceBuffer(size_t(E) * 8, "router load counters");
        MOE_CUDA_CHECK(cudaMemsetAsync(g.load_counts.get(), 0, size_t(E) * 8, s));
    }
    RouterOutput out{make(T, K, DType::I32), make(T, K)};
    kernels::RouterArgs a;
    a.logits = logits.as<float>();
    a.bias = bias ? f32(*bias) : nullptr;
    a.T = T;
    a.E = E;
    a.top_k = K;
    a.n_group = p.n_group;
    a.topk_group = p.topk_group;
    a.softmax = p.scoring == ScoringFunc::Softmax;
    a.method = p.method == TopkMethod::NoauxTc ? 0 : p.method == TopkMethod::Greedy ? 1 : 2;
    a.norm_topk_prob = p.norm_topk_prob;
    a.scale_always = p.scaling == RouterScaling::Always;
    a.routed_scaling_factor = p.routed_scaling_factor;
    a.mask_value = p.group_mask_value;
    a.ids = i32(out.expert_ids);
    a.weights = f32(out.weights);
    a.counts = g.load_counts.as<unsigned long long>();
    if (kernels::router_fused_supported(a, f32(x), g.cols, g.bf16())) {  // decode: one launch
        MOE_CUDA_CHECK(kernels::router_fused(a, f32(x), g.cols, g.bf16(), ctx_->counter(DeviceContext::CounterSlot::Router), s));
        start_ids_readback(out.expert_ids);  // a batched step of more rows than the fused MoE takes
        return out;
    }
    if (T <= kRouterGemvMaxTokens || ctx_->capturing())
        MOE_CUDA_CHECK(kernels::gemv_bf16(f32(x), T, g.cols, g.bf16(), E, nullptr, logits.as<float>(), s));
    else
        f32_gemm_logits(*ctx_, f32(x), T, g, logits.as<float>());
    MOE_CUDA_CHECK(kernels::router_select(a, s));
    start_ids_readback(out.expert_ids);
    return out;
}

// ---- training ------------------------------------------------------------------------------------

namespace {

void check_router_params(const RouterParams& p) {
    if (p.n_experts <= 0 || p.top_k <= 0 || p.top_k > p.n_experts) throw_invalid_argument("route: bad top_k");
    if (p.n_group <= 0 || p.n_experts % p.n_group != 0 || p.topk_group <= 0 || p.topk_group > p.n_group)
        throw_invalid_argument("route: bad n_group / topk_group");
    if (p.n_experts > 1024 || p.n_group > 32 || p.top_k > 16)
        throw_invalid_argument("route: the CUDA router supports up to 1024 experts in up to 32 groups and top_k <= 16");
}

// The factor a and whether the chosen scores are normalised: w_k = a · s_k (/ (Σ s + 1e-20)), as the CPU.
std::pair<float, bool> weight_rule(const RouterParams& p) {
    if (p.scaling == RouterScaling::Always) return {p.routed_scaling_factor, p.norm_topk_prob};
    if (p.top_k > 1 && p.norm_topk_prob) return {1.0f, true};
    return {p.routed_scaling_factor, false};
}

}  // namespace

Tensor CudaBackend::router_logits(const Tensor& x, const Weight& gate) {
    const CudaWeightStorage& g = weight_storage(gate);
    if (x.cols() != g.cols) throw_invalid_argument("router_logits: x width does not match the gate weight");
    const int64_t T = x.rows(), E = g.rows, H = g.cols;
    cudaStream_t s = ctx_->stream();
    Tensor logits = make(T, E);
    if (T == 0) return logits;
    if (T <= kRouterGemvMaxTokens) {
        MOE_CUDA_CHECK(kernels::gemv_bf16(f32(x), T, H, g.bf16(), E, nullptr, f32(logits), s));
        return logits;
    }
    f32_gemm_logits(*ctx_, f32(x), T, g, f32(logits));
    return logits;
}

RouterOutput CudaBackend::route_from_logits(const Tensor& logits, const Tensor* bias, const RouterParams& p,
                                            Tensor& scores) {
    check_router_params(p);
    const int64_t T = logits.rows(), E = p.n_experts, K = p.top_k;
    require_shape(logits, T, E, "route_from_logits logits");
    if (bias) require_shape(*bias, 1, E, "route_from_logits bias");
    scores = make(T, E);
    RouterOutput out{make(T, K, DType::I32), make(T, K)};
    kernels::RouterArgs a;
    a.logits = f32(logits);
    a.bias = bias ? f32(*bias) : nullptr;
    a.T = T;
    a.E = E;
    a.top_k = K;
    a.n_group = p.n_group;
    a.topk_group = p.topk_group;
    a.softmax = p.scoring == ScoringFunc::Softmax;
    a.method = p.method == TopkMethod::NoauxTc ? 0 : p.method == TopkMethod::Greedy ? 1 : 2;
    a.norm_topk_prob = p.norm_topk_prob;
    a.scale_always = p.scaling == RouterScaling::Always;
    a.routed_scaling_factor = p.routed_scaling_factor;
    a.mask_value = p.group_mask_value;
    a.ids = i32(out.expert_ids);
    a.weights = f32(out.weights);
    a.scores = f32(scores);
    MOE_CUDA_CHECK(kernels::router_select(a, ctx_->stream()));
    start_ids_readback(out.expert_ids);
    return out;
}

Tensor CudaBackend::route_backward(const Tensor& scores, const RouterOutput& routing, const Tensor& d_weights,
                                   const Tensor* d_scores, const RouterParams& p) {
    const int64_t T = scores.rows(), E = p.n_experts, K = p.top_k;
    require_shape(scores, T, E, "route_backward scores");
    require_shape(routing.expert_ids, T, K, "route_backward expert_ids");
    require_shape(d_weights, T, K, "route_backward d_weights");
    if (d_scores) require_shape(*d_scores, T, E, "route_backward d_scores");
    if (E > 1024) throw_invalid_argument("route_backward: the CUDA router supports up to 1024 experts");
    const auto [a, normalised] = weight_rule(p);
    Tensor d_logits = make(T, E);
    kernels::RouteBackwardArgs args;
    args.scores = f32(scores);
    args.ids = i32(routing.expert_ids);
    args.d_weights = f32(d_weights);
    args.d_scores = d_scores ? f32(*d_scores) : nullptr;
    args.T = T;
    args.E = E;
    args.top_k = K;
    args.a = a;
    args.normalised = normalised;
    args.softmax = p.scoring == ScoringFunc::Softmax;
    args.d_logits = f32(d_logits);
    MOE_CUDA_CHECK(kernels::route_backward(args, ctx_->stream()));
    return d_logits;
}

BalanceLossResult CudaBackend::balance_loss(const Tensor& scores, const Tensor& expert_ids, int64_t R, int64_t K,
                                            float coeff) {
    const int64_t T = scores.rows(), E = scores.cols();
    require_shape(expert_ids, T, K, "balance_loss expert_ids");
    if (R <= 0 || T % R != 0) throw_invalid_argument("balance_loss: rows are not whole sequences");
    if (E > 4096) throw_invalid_argument("balance_loss: the CUDA kernels support up to 4096 experts");
    BalanceLossResult out{0.0, make(T, E)};
    if (T == 0) return out;
    cudaStream_t s = ctx_->stream();
    const int64_t blocks = T / R;
    Scratch ws(*ctx_, size_t(kernels::balance_workspace_floats(T, E, R)) * 4, "balance-loss workspace");
    Scratch block_loss(*ctx_, size_t(blocks) * 8, "balance loss per sequence");
    MOE_CUDA_CHECK(kernels::balance_loss(f32(scores), i32(expert_ids), T, E, K, R, coeff, ws.as<float>(),
                                         block_loss.as<double>(), f32(out.d_scores), s));
    std::vector<double> lb(static_cast<size_t>(blocks));
    MOE_CUDA_CHECK(cudaMemcpyAsync(lb.data(), block_loss.as<double>(), lb.size() * 8, cudaMemcpyDeviceToHost, s));
    synchronize();  // the loss is a host value
    for (double v : lb) out.loss += double(coeff) * v;
    return out;
}

std::vector<int64_t> CudaBackend::expert_counts(const Tensor& expert_ids, int64_t n_experts) {
    std::vector<int64_t> counts(size_t(n_experts), 0);
    for (int32_t id : download_i32(expert_ids)) {  // host counts: one sync
        if (id < 0 || id >= n_experts) throw_invalid_argument("expert_counts: expert id out of range");
        ++counts[size_t(id)];
    }
    return counts;
}

}  // namespace moe
