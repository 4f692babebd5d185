// CUDA: SwiGLU FFN and the routed-expert mixture (kernels/moe.cu; CPU twin cpu_moe.cpp).
//
// T <= kFusedMaxTokens: the fused decode kernels read the expert ids on the device and stream
// only the chosen experts' rows (no host round trip; CUDA-graph safe); moe_block runs the router,
// the routed experts and the shared expert as three kernels.
// Prefill: the ids come to the host once per layer (a sync, fine outside decode), tokens are
// grouped by expert (gate|up stacked in one GEMM, then down), either into padded slots run as one
// batched cuBLAS GEMM per projection or, for very uneven routing, one GEMM per active expert over
// its exact rows (moe_prefill); a combine kernel adds w_k · y_k per token in k order.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_storage.h"
#include "elementwise.h"
#include "moe.h"

namespace moe {

using namespace cuda;

namespace {
constexpr int64_t kFusedMaxTokens = 2;

// Prefill gate/up GEMMs write bf16 (their only reader, the SwiGLU, rounds its output to bf16 for
// the down GEMM anyway): half the bytes written and read back. MOE_PREFILL_F32_GATE_UP=1 keeps the
// f32 outputs (A/B runs, tests).
bool bf16_gate_up() {
    const char* v = std::getenv("MOE_PREFILL_F32_GATE_UP");
    return !(v && v[0] == '1');
}

// h [rows, inter] bf16 = silu(g) u from the gate/up GEMM outputs gu [rows, 2 inter] (f32 or bf16).
cudaError_t swiglu_to_bf16(const void* gu, bool gu_bf16, int64_t rows, int64_t inter, uint16_t* h, cudaStream_t s) {
    return gu_bf16 ? kernels::silu_mul_bf16_to_bf16(static_cast<const uint16_t*>(gu), rows, inter, h, s)
                   : kernels::silu_mul_to_bf16(static_cast<const float*>(gu), rows, inter, h, s);
}

void set_routed(kernels::MoeDecodeArgs& a, const RouterOutput& routing, const CudaExpertSetStorage& es) {
    a.ids = i32(routing.expert_ids);
    a.weights = f32(routing.weights);
    a.top_k = routing.expert_ids.cols();
    a.inter = es.inter;
    a.gate_up = es.gate_up.as<uint16_t>();
    a.down = es.down.as<uint16_t>();
}

void set_shared(kernels::MoeDecodeArgs& a, const FfnWeights& w, int64_t inter) {
    const CudaWeightStorage& gate = weight_storage(w.gate);
    const CudaWeightStorage& up = weight_storage(w.up);
    const CudaWeightStorage& down = weight_storage(w.down);
    if (gate.rows != inter || up.rows != inter || up.cols != gate.cols || down.cols != inter || down.rows != gate.cols)
        throw_invalid_argument("ffn: gate/up/down shapes do not fit together");
    a.s_gate = gate.bf16();
    a.s_up = up.bf16();
    a.s_down = down.bf16();
    a.shared_inter = inter;
}
}  // namespace

// The fused decode kernels over whatever experts `a` names; out [T, hidden] is overwritten.
void CudaBackend::run_moe_decode(const Tensor& x, kernels::MoeDecodeArgs& a, Tensor& out) {
    a.x = f32(x);
    a.T = x.rows();
    a.hidden = x.cols();
    Scratch h(*ctx_, size_t(kernels::moe_decode_hidden_floats(a)) * 4, "expert hidden activations");
    a.h = h.as<float>();
    a.out = f32(out);
    MOE_CUDA_CHECK(kernels::moe_decode(a, ctx_->stream()));
}

Tensor CudaBackend::ffn(const Tensor& x, const FfnWeights& w) {
    const CudaWeightStorage& gate = weight_storage(w.gate);
    const CudaWeightStorage& up = weight_storage(w.up);
    const CudaWeightStorage& down = weight_storage(w.down);
    if (up.rows != gate.rows || down.cols != gate.rows || up.cols != gate.cols || down.rows != gate.cols)
        throw_invalid_argument("ffn: gate/up/down shapes do not fit together");
    if (x.cols() != gate.cols) throw_invalid_argument("ffn: x width does not match the gate weight");
    const int64_t T = x.rows(), H = gate.cols, I = gate.rows;
    cudaStream_t s = ctx_->stream();
    Tensor out = make(T, H);
    if (T <= kFusedMaxTokens) {
        kernels::MoeDecodeArgs a;  // no routed experts: the FFN is the "shared" one
        set_shared(a, w, I);
        run_moe_decode(x, a, out);
        return out;
    }
    Scratch xb(*ctx_, size_t(T * H) * 2, "bf16 FFN input");
    MOE_CUDA_CHECK(kernels::f32_to_bf16_2d(f32(x), H, T, H, xb.as<uint16_t>(), H, s));
    const bool gu16 = bf16_gate_up();
    const size_t gu_elem = gu16 ? 2 : 4;
    Scratch gu(*ctx_, size_t(T * 2 * I) * gu_elem, "FFN gate/up output");
    gemm_bf16(xb.as<uint16_t>(), T, H, gate.bf16(), I, gu.as<char>(), 2 * I, gu16);
    gemm_bf16(xb.as<uint16_t>(), T, H, up.bf16(), I, gu.as<char>() + size_t(I) * gu_elem, 2 * I, gu16);
    Scratch hb(*ctx_, size_t(T * I) * 2, "bf16 FFN hidden activations");
    MOE_CUDA_CHECK(swiglu_to_bf16(gu.as<void>(), gu16, T, I, hb.as<uint16_t>(), s));
    gemm_bf16(hb.as<uint16_t>(), T, I, down.bf16(), H, f32(out), H);
    return out;
}

Tensor CudaBackend::moe_experts(const Tensor& x, const RouterOutput& routing, const ExpertSet& set) {
    const CudaExpertSetStorage& es = expert_storage(set);
    const int64_t T = x.rows(), H = x.cols(), K = routing.expert_ids.cols();
    require_shape(routing.expert_ids, T, K, "moe_experts expert_ids");
    require_shape(routing.weights, T, K, "moe_experts weights");
    if (es.n_experts == 0 || es.hidden != H) throw_invalid_argument("moe_experts: expert set does not match x");
    if (T > kFusedMaxTokens && !dev_tokens_) return moe_prefill(x, routing, set);

    Tensor out = make(T, H);
    kernels::MoeDecodeArgs a;
    set_routed(a, routing, es);
    run_moe_decode(x, a, out);
    return out;
}

Tensor CudaBackend::moe_block(const Tensor& x, const Weight& gate, const Tensor* bias, const RouterParams& params,
                              const ExpertSet& experts, const FfnWeights* shared, RouterOutput& routing) {
    const int64_t T = x.rows(), H = x.cols();
    if (T > kFusedMaxTokens && !dev_tokens_) return Backend::moe_block(x, gate, bias, params, experts, shared, routing);
    const CudaExpertSetStorage& es = expert_storage(experts);
    if (es.n_experts == 0 || es.hidden != H) throw_invalid_argument("moe_block: expert set does not match x");
    routing = route(x, gate, bias, params);
    kernels::MoeDecodeArgs a;
    set_routed(a, routing, es);
    if (shared) {
        const CudaWeightStorage& g = weight_storage(shared->gate);
        if (g.cols != H) throw_invalid_argument("moe_block: shared expert does not match x");
        set_shared(a, *shared, g.rows);
    }
    Tensor out = make(T, H);
    run_moe_decode(x, a, out);
    return out;
}

// Padded slots (one batched GEMM per projection over n_active slots of max_count rows) or exact
// rows (two GEMMs per active expert)? A cuBLAS GEMM of one expert with few rows takes ~7.5 µs
// whatever its rows (H100, Nsight Compute, Moonlight prefill 512: 3,300 of them were 25 of the
// 35 ms), so padding wins until its extra rows cost more than those launches; rows are costed at
// ~500 TFLOP/s. The padded scratch (~26 KB per Moonlight row) is capped at max(4N, 16384) rows.
namespace {
bool use_padded_slots(int64_t n_active, int64_t max_count, int64_t N, int64_t H, int64_t I) {
    const int64_t rows = n_active * max_count;
    if (rows > std::max<int64_t>(4 * N, 16384)) return false;
    const double flop_per_row = 6.0 * double(H) * double(I), rate = 5e14, launch_s = 7.5e-6;
    const double padded_s = double(rows) * flop_per_row / rate;
    const double exact_s = double(N) * flop_per_row / rate + 2.0 * double(n_active) * launch_s;
    return padded_s <= exact_s;
}
}  // namespace

// Prefill: the ids come to the host once per layer, tokens are grouped by expert into slots of
// max_count rows per active expert (padding rows are zero), and each projection of every active
// expert runs in ONE batched cuBLAS GEMM (uniform shapes thanks to the padding); a combine kernel
// adds w_k · y_k per token in k order. When routing is so uneven that the padding would cost more
// than the launches it saves (use_padded_slots), each active expert runs its own GEMMs over its
// exact rows instead.
Tensor CudaBackend::moe_prefill(const Tensor& x, const RouterOutput& routing, const ExpertSet& set) {
    const CudaExpertSetStorage& es = expert_storage(set);
    const int64_t T = x.rows(), H = x.cols(), K = routing.expert_ids.cols(), E = es.n_experts, I = es.inter;
    cudaStream_t s = ctx_->stream();
    const std::vector<int32_t> ids = download_i32(routing.expert_ids);

    std::vector<int64_t> count(size_t(E), 0);
    for (int32_t e : ids) {
        if (e < 0 || e >= E) throw_invalid_argument("moe_experts: expert id " + std::to_string(e) + " out of range");
        ++count[size_t(e)];
    }
    const int64_t N = T * K, max_count = *std::max_element(count.begin(), count.end());
    const int64_t n_active = std::count_if(count.begin(), count.end(), [](int64_t c) { return c > 0; });
    const bool padded = use_padded_slots(n_active, max_count, N, H, I);
    // Expert e's rows start at offset[e]: max_count rows per active expert when padded, else packed.
    std::vector<int64_t> offset(size_t(E) + 1, 0);
    for (int64_t e = 0; e < E; ++e) {
        const int64_t c = count[size_t(e)];
        offset[size_t(e) + 1] = offset[size_t(e)] + (padded && c > 0 ? max_count : c);
    }
    const int64_t P = offset[size_t(E)];
    std::vector<int32_t> token_of(static_cast<size_t>(P), -1), slot_of(static_cast<size_t>(N));
    std::vector<int64_t> fill(offset.begin(), offset.end() - 1);
    for (int64_t t = 0; t < T; ++t)
        for (int64_t k = 0; k < K; ++k) {
            const int64_t slot = fill[size_t(ids[size_t(t * K + k)])]++;
            token_of[size_t(slot)] = int32_t(t);
            slot_of[size_t(t * K + k)] = int32_t(slot);
        }
    Scratch maps(*ctx_, size_t(P + N) * 4, "MoE token permutation");
    int32_t* d_token_of = maps.as<int32_t>();
    int32_t* d_slot_of = d_token_of + P;
    MOE_CUDA_CHECK(cudaMemcpyAsync(d_token_of, token_of.data(), size_t(P) * 4, cudaMemcpyHostToDevice, s));
    MOE_CUDA_CHECK(cudaMemcpyAsync(d_slot_of, slot_of.data(), size_t(N) * 4, cudaMemcpyHostToDevice, s));

    Scratch xp(*ctx_, size_t(P * H) * 2, "permuted bf16 expert inputs");
    MOE_CUDA_CHECK(kernels::gather_rows_bf16(f32(x), H, d_token_of, P, xp.as<uint16_t>(), s));
    const bool gu16 = bf16_gate_up();
    const size_t gu_elem = gu16 ? 2 : 4;
    Scratch gu(*ctx_, size_t(P * 2 * I) * gu_elem, "expert gate/up outputs");
    Scratch hb(*ctx_, size_t(P * I) * 2, "bf16 expert hidden activations");
    Scratch yp(*ctx_, size_t(P * H) * 4, "expert outputs");
    const uint16_t* gate_up = es.gate_up.as<uint16_t>();
    const uint16_t* down = es.down.as<uint16_t>();
    std::vector<const void*> ptrs;  // per active expert: gate/up A, B, C, then down A, B, C
    if (padded) {
        std::vector<int64_t> active;
        for (int64_t e = 0; e < E; ++e)
            if (count[size_t(e)] > 0) active.push_back(e);
        const size_t n = active.size();
        ptrs.resize(6 * n);
        for (size_t i = 0; i < n; ++i) {
            const int64_t e = active[i], o = offset[size_t(e)];
            ptrs[i] = gate_up + e * 2 * I * H;
            ptrs[n + i] = xp.as<uint16_t>() + o * H;
            ptrs[2 * n + i] = gu.as<char>() + size_t(o * 2 * I) * gu_elem;
            ptrs[3 * n + i] = down + e * H * I;
            ptrs[4 * n + i] = hb.as<uint16_t>() + o * I;
            ptrs[5 * n + i] = yp.as<float>() + o * H;
        }
        Scratch d_ptrs(*ctx_, ptrs.size() * sizeof(void*), "batched GEMM pointer arrays");
        MOE_CUDA_CHECK(cudaMemcpyAsync(d_ptrs.as<void>(), ptrs.data(), ptrs.size() * sizeof(void*), cudaMemcpyHostToDevice, s));
        const void* const* dp = d_ptrs.as<const void*>();
        gemm_bf16_batched(dp, dp + n, const_cast<void* const*>(dp + 2 * n), int64_t(n), max_count, H, 2 * I, gu16);
        MOE_CUDA_CHECK(swiglu_to_bf16(gu.as<void>(), gu16, P, I, hb.as<uint16_t>(), s));
        gemm_bf16_batched(dp + 3 * n, dp + 4 * n, const_cast<void* const*>(dp + 5 * n), int64_t(n), max_count, I, H);
    } else {
        for (int64_t e = 0; e < E; ++e) {
            if (count[size_t(e)] == 0) continue;
            const int64_t o = offset[size_t(e)];
            gemm_bf16(xp.as<uint16_t>() + o * H, count[size_t(e)], H, gate_up + e * 2 * I * H, 2 * I,
                      gu.as<char>() + size_t(o * 2 * I) * gu_elem, 2 * I, gu16);
        }
        MOE_CUDA_CHECK(swiglu_to_bf16(gu.as<void>(), gu16, P, I, hb.as<uint16_t>(), s));
        for (int64_t e = 0; e < E; ++e) {
            if (count[size_t(e)] == 0) continue;
            const int64_t o = offset[size_t(e)];
            gemm_bf16(hb.as<uint16_t>() + o * I, count[size_t(e)], I, down + e * H * I, H, yp.as<float>() + o * H, H);
        }
    }
    Tensor out = make(T, H);
    MOE_CUDA_CHECK(kernels::moe_combine(yp.as<float>(), d_slot_of, f32(routing.weights), T, K, H, f32(out), s));
    // token_of / slot_of / ptrs are host vectors: the async copies above must finish before they go.
    synchronize();
    return out;
}

}  // namespace moe
