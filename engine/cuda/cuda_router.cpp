// CUDA: the MoE router (kernels/router.cu; CPU twin cpu_router.cpp). f32-input logits (exact up
// to summation order, so expert choices match the reference) and a selection that also counts
// expert hits on the device for telemetry: one fused launch for few tokens (decode), else the
// GEMV kernel and then the selection kernel.
#include <string>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_storage.h"
#include "linear.h"
#include "router.h"

namespace moe {

using namespace cuda;

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
        return out;
    }
    MOE_CUDA_CHECK(kernels::gemv_bf16(f32(x), T, g.cols, g.bf16(), E, nullptr, logits.as<float>(), s));
    MOE_CUDA_CHECK(kernels::router_select(a, s));
    return out;
}

}  // namespace moe
