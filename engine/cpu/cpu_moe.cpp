// CPU: SwiGLU FFN and the routed-expert mixture (kernels/moe.cu, tests/model/moe_test.cpp).
//   ffn(x)  = down(silu(gate x) * up x)
//   moe(x)  = Σ_k w_k · Expert_{id_k}(x)       accumulated in fp32, expert by expert
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "cpu/cpu_storage.h"

namespace moe {

using namespace cpu;

namespace {

float silu(float v) {
    return v / (1.0f + std::exp(-v));
}

// x [n, hidden] -> out [n, hidden] through one SwiGLU FFN.
void ffn_rows(const float* x, int64_t n, const FfnWeights& w, float* out) {
    const CpuWeightStorage& gate = weight_storage(w.gate);
    const CpuWeightStorage& up = weight_storage(w.up);
    const CpuWeightStorage& down = weight_storage(w.down);
    if (up.rows != gate.rows || down.cols != gate.rows || up.cols != gate.cols || down.rows != gate.cols)
        throw_invalid_argument("ffn: gate/up/down shapes do not fit together");
    const int64_t inter = gate.rows;
    std::vector<float> g(size_t(n * inter)), u(size_t(n * inter));
    matmul_wt(x, n, gate, g.data());
    matmul_wt(x, n, up, u.data());
    for (size_t i = 0; i < g.size(); ++i) g[i] = silu(g[i]) * u[i];
    matmul_wt(g.data(), n, down, out);
}

}  // namespace

Tensor CpuBackend::ffn(const Tensor& x, const FfnWeights& w) {
    if (x.cols() != w.gate.cols()) throw_invalid_argument("ffn: x width does not match the gate weight");
    Tensor out = make_tensor(x.rows(), x.cols());
    ffn_rows(f32(x), x.rows(), w, f32(out));
    return out;
}

Tensor CpuBackend::moe_experts(const Tensor& x, const RouterOutput& routing, const ExpertSet& set) {
    const auto* s = dynamic_cast<const CpuExpertSetStorage*>(set.storage.get());
    if (!s) throw_invalid_argument("moe_experts: expert set does not belong to the CPU backend");
    const int64_t T = x.rows(), H = x.cols(), K = routing.expert_ids.cols();
    require_shape(routing.expert_ids, T, K, "moe_experts expert_ids");
    require_shape(routing.weights, T, K, "moe_experts weights");
    const int32_t* ids = i32(routing.expert_ids);
    const float* weights = f32(routing.weights);
    const float* px = f32(x);

    // Which (token, weight) pairs go to each expert, in token order.
    const int64_t E = int64_t(s->experts.size());
    std::vector<std::vector<std::pair<int64_t, float>>> assigned(static_cast<size_t>(E));
    for (int64_t t = 0; t < T; ++t)
        for (int64_t k = 0; k < K; ++k) {
            const int32_t e = ids[t * K + k];
            if (e < 0 || e >= E)
                throw_invalid_argument("moe_experts: expert id " + std::to_string(e) + " out of range");
            assigned[size_t(e)].push_back({t, weights[t * K + k]});
        }

    Tensor out = make_tensor(T, H);
    float* po = f32(out);
    std::vector<float> xs, ys;
    for (int64_t e = 0; e < E; ++e) {
        const auto& tokens = assigned[size_t(e)];
        if (tokens.empty()) continue;
        const int64_t n = int64_t(tokens.size());
        xs.resize(size_t(n * H));
        ys.resize(size_t(n * H));
        for (int64_t i = 0; i < n; ++i) std::copy_n(px + tokens[size_t(i)].first * H, H, xs.data() + i * H);
        ffn_rows(xs.data(), n, s->experts[size_t(e)], ys.data());
        for (int64_t i = 0; i < n; ++i) {
            const auto [t, w] = tokens[size_t(i)];
            for (int64_t j = 0; j < H; ++j) po[t * H + j] += w * ys[size_t(i * H + j)];
        }
    }
    return out;
}

}  // namespace moe
