// Router selection: one warp per token, the token's E scores in shared memory. Every reduction
// that decides a selection uses the CPU reference's order and tie rule, so the chosen expert sets
// match it exactly whenever the logits do.
#include "common.cuh"
#include "router.h"

namespace moe::kernels {
namespace {

constexpr int kWarps = 4;
constexpr int kMaxTopK = 16;
constexpr float kNegInf = -__builtin_huge_valf();

// Warp argmax over v[0..n) skipping `taken`; ties go to the lower index.
__device__ void warp_argmax(const float* v, const bool* taken, int n, int lane, float& best_v, int& best_i) {
    best_v = kNegInf;
    best_i = -1;
    for (int e = lane; e < n; e += 32) {
        if (taken && taken[e]) continue;
        if (best_i < 0 || v[e] > best_v) {  // e increases per lane, so '>' keeps the lower index on ties
            best_v = v[e];
            best_i = e;
        }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(kFullMask, best_v, o);
        const int oi = __shfl_xor_sync(kFullMask, best_i, o);
        const bool better = oi >= 0 && (best_i < 0 || ov > best_v || (ov == best_v && oi < best_i));
        if (better) {
            best_v = ov;
            best_i = oi;
        }
    }
}

// Selection for token t by one warp; s, choice and taken are the warp's [e_pad] shared scratch.
// Logits are read through L2 (__ldcg): in the fused router other blocks wrote them moments ago.
__device__ void select_token(const RouterArgs& a, int64_t t, float* s, float* choice, bool* taken) {
    const int lane = threadIdx.x % 32;
    const int E = int(a.E);
    const float* logits_row = a.logits + t * a.E;
    auto logit = [&](int e) { return __ldcg(logits_row + e); };

    if (a.softmax) {
        float mx = kNegInf;
        for (int e = lane; e < E; e += 32) mx = fmaxf(mx, logit(e));
        mx = warp_max(mx);
        float sum = 0.0f;
        for (int e = lane; e < E; e += 32) {
            s[e] = expf(logit(e) - mx);
            sum += s[e];
        }
        sum = warp_sum(sum);
        for (int e = lane; e < E; e += 32) s[e] /= sum;
    } else {
        for (int e = lane; e < E; e += 32) s[e] = 1.0f / (1.0f + expf(-logit(e)));
    }
    for (int e = lane; e < E; e += 32) {
        choice[e] = s[e] + (a.bias ? a.bias[e] : 0.0f);
        taken[e] = false;
    }
    __syncwarp();

    // Group-limited: score groups, keep topk_group of them (nothing to mask when every group is kept).
    if (a.method != 1 && a.topk_group < a.n_group) {
        const int G = int(a.n_group), gs = E / G;
        float gscore = kNegInf;
        if (lane < G) {
            const float* c = choice + lane * gs;
            if (a.method == 2) {
                for (int i = 0; i < gs; ++i) gscore = i == 0 ? c[0] : fmaxf(gscore, c[i]);
            } else {  // top-2 sum, the CPU's sequential first/second scan
                float first = kNegInf, second = kNegInf;
                for (int i = 0; i < gs; ++i) {
                    if (c[i] > first) {
                        second = first;
                        first = c[i];
                    } else if (c[i] > second) {
                        second = c[i];
                    }
                }
                gscore = gs >= 2 ? first + second : first;
            }
        }
        bool keep = false;
        bool g_taken = lane >= G;
        for (int k = 0; k < a.topk_group; ++k) {
            float bv = g_taken ? kNegInf : gscore;
            int bi = g_taken ? -1 : lane;
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) {
                const float ov = __shfl_xor_sync(kFullMask, bv, o);
                const int oi = __shfl_xor_sync(kFullMask, bi, o);
                if (oi >= 0 && (bi < 0 || ov > bv || (ov == bv && oi < bi))) {
                    bv = ov;
                    bi = oi;
                }
            }
            if (lane == bi) {
                keep = true;
                g_taken = true;
            }
        }
        const unsigned kept = __ballot_sync(kFullMask, keep);
        for (int e = lane; e < E; e += 32)
            if (!((kept >> (e / gs)) & 1u)) choice[e] = a.mask_value;
        __syncwarp();
    }

    // The chosen weights stay in registers of lane 0 (at most kMaxTopK), not in global memory
    // that would be written and read back one latency at a time.
    int32_t* ids = a.ids + t * a.top_k;
    float w[kMaxTopK];
#pragma unroll
    for (int k = 0; k < kMaxTopK; ++k) {
        if (k >= a.top_k) break;
        float bv;
        int bi;
        warp_argmax(choice, taken, E, lane, bv, bi);
        w[k] = s[bi];
        if (lane == 0) {
            ids[k] = bi;
            taken[bi] = true;
            if (a.counts) atomicAdd(a.counts + bi, 1ull);
        }
        __syncwarp();
    }
    if (lane == 0) {  // finish_weights of the CPU, in the same order (unrolled: w stays in registers)
        const int K = int(a.top_k);
        float sum = 0.0f;
#pragma unroll
        for (int k = 0; k < kMaxTopK; ++k)
            if (k < K) sum += w[k];
        const bool normalise = a.norm_topk_prob && (a.scale_always || K > 1);
        const bool scale = a.scale_always || !normalise;
#pragma unroll
        for (int k = 0; k < kMaxTopK; ++k) {
            if (k >= K) break;
            float v = w[k];
            if (normalise) v /= (sum + 1e-20f);
            if (scale) v *= a.routed_scaling_factor;
            a.weights[t * a.top_k + k] = v;
        }
    }
}

__device__ __forceinline__ void warp_scratch(int e_pad, float*& s, float*& choice, bool*& taken) {
    extern __shared__ unsigned char smem_raw[];
    const int warp = threadIdx.x / 32, warps = blockDim.x / 32;
    s = reinterpret_cast<float*>(smem_raw) + warp * 2 * e_pad;
    choice = s + e_pad;
    taken = reinterpret_cast<bool*>(reinterpret_cast<float*>(smem_raw) + warps * 2 * e_pad) + warp * e_pad;
}

size_t scratch_bytes(int warps, int e_pad) { return size_t(warps) * e_pad * (2 * sizeof(float) + sizeof(bool)); }

__global__ void router_kernel(RouterArgs a, int e_pad) {
    pdl_begin();
    float *s, *choice;
    bool* taken;
    warp_scratch(e_pad, s, choice, taken);
    const int64_t t = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32;
    if (t < a.T) select_token(a, t, s, choice, taken);
}

// The fused router: logits (block per 2 experts, the hidden dimension split over its 8 warps, as
// linear.cu's split-K GEMV: f32 x, bf16 gate, same reduction) and then, in the last block to
// finish, the selection of every token. One launch instead of two; the last block is found with
// a device counter that it resets for the next call (graph replays included).
constexpr int kFusedWarps = 8;
constexpr int kFusedRows = 2;
template <int TT>
__global__ void __launch_bounds__(kFusedWarps * 32)
    router_fused_kernel(RouterArgs a, const float* __restrict__ x, int64_t hidden, const uint16_t* __restrict__ W,
                        unsigned* counter, int e_pad) {
    pdl_begin();
    __shared__ float part[kFusedWarps][kFusedRows][TT];
    __shared__ bool last;
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int64_t row0 = int64_t(blockIdx.x) * kFusedRows;
    const int nt = int(a.T);  // a.T <= TT
    float acc[kFusedRows][TT];
#pragma unroll
    for (int r = 0; r < kFusedRows; ++r)
#pragma unroll
        for (int t = 0; t < TT; ++t) acc[r][t] = 0.0f;
    const int64_t nch = hidden / 8;
    const uint4* wrow[kFusedRows];
#pragma unroll
    for (int r = 0; r < kFusedRows; ++r)
        wrow[r] = reinterpret_cast<const uint4*>(W + (row0 + r < a.E ? row0 + r : row0) * hidden);
#pragma unroll 2
    for (int64_t c = threadIdx.x; c < nch; c += kFusedWarps * 32) {
        uint4 w[kFusedRows];
#pragma unroll
        for (int r = 0; r < kFusedRows; ++r) w[r] = ld_stream(wrow[r] + c);
#pragma unroll
        for (int t = 0; t < TT; ++t) {
            if (t < nt) {
                const float4* xr = reinterpret_cast<const float4*>(x + t * hidden) + 2 * c;
                const float4 xa = __ldg(xr), xb = __ldg(xr + 1);
#pragma unroll
                for (int r = 0; r < kFusedRows; ++r) acc[r][t] += dot8(w[r], xa, xb);
            }
        }
    }
#pragma unroll
    for (int r = 0; r < kFusedRows; ++r)
#pragma unroll
        for (int t = 0; t < TT; ++t) {
            const float v = warp_sum(acc[r][t]);
            if (lane == 0) part[warp][r][t] = v;
        }
    __syncthreads();
    if (threadIdx.x < kFusedRows * TT) {
        const int r = threadIdx.x / TT, t = threadIdx.x % TT;
        const int64_t row = row0 + r;
        if (t < nt && row < a.E) {
            float v = 0.0f;
#pragma unroll
            for (int w = 0; w < kFusedWarps; ++w) v += part[w][r][t];
            const_cast<float*>(a.logits)[t * a.E + row] = v;
        }
    }
    __syncthreads();
    if (threadIdx.x == 0) {  // one cumulative fence per block (see common.cuh residual_norm_epilogue)
        __threadfence();     // this block's logits are visible device-wide before it is counted
        last = atomicAdd(counter, 1u) == gridDim.x - 1;
    }
    __syncthreads();
    if (!last) return;
    __threadfence();
    float *s, *choice;
    bool* taken;
    warp_scratch(e_pad, s, choice, taken);
    for (int64_t t = warp; t < a.T; t += kFusedWarps) select_token(a, t, s, choice, taken);
    if (threadIdx.x == 0) *counter = 0u;
}

bool valid(const RouterArgs& a) {
    return a.E > 0 && a.E <= 1024 && a.n_group > 0 && a.n_group <= 32 && a.E % a.n_group == 0 && a.top_k > 0 &&
           a.top_k <= a.E && a.top_k <= kMaxTopK && a.topk_group > 0 && a.topk_group <= a.n_group;
}

}  // namespace

cudaError_t router_select(const RouterArgs& a, cudaStream_t stream) {
    if (a.T <= 0) return cudaSuccess;
    if (!valid(a)) return cudaErrorInvalidValue;
    const int e_pad = int((a.E + 3) / 4 * 4);
    MOE_PREFER_SHARED((router_kernel));
    MOE_LAUNCH((router_kernel), ceil_div(a.T, kWarps), kWarps * 32, scratch_bytes(kWarps, e_pad), stream, a, e_pad);
    return cudaGetLastError();
}

bool router_fused_supported(const RouterArgs& a, const float* x, int64_t hidden, const uint16_t* gate) {
    return valid(a) && a.T >= 1 && a.T <= kRouterFusedMaxTokens && a.E <= kRouterFusedMaxExperts && hidden % 8 == 0 &&
           (reinterpret_cast<uintptr_t>(x) % 16) == 0 && (reinterpret_cast<uintptr_t>(gate) % 16) == 0;
}

cudaError_t router_fused(const RouterArgs& a, const float* x, int64_t hidden, const uint16_t* gate, unsigned* counter,
                         cudaStream_t stream) {
    if (a.T <= 0) return cudaSuccess;
    if (!router_fused_supported(a, x, hidden, gate) || !counter) return cudaErrorInvalidValue;
    const int e_pad = int((a.E + 3) / 4 * 4);
    const size_t smem = scratch_bytes(kFusedWarps, e_pad);
    const unsigned blocks = ceil_div(a.E, kFusedRows);
    if (a.T == 1) {
        MOE_PREFER_SHARED((router_fused_kernel<1>));
        MOE_LAUNCH((router_fused_kernel<1>), blocks, kFusedWarps * 32, smem, stream, a, x, hidden, gate, counter, e_pad);
    } else if (a.T == 2) {
        MOE_PREFER_SHARED((router_fused_kernel<2>));
        MOE_LAUNCH((router_fused_kernel<2>), blocks, kFusedWarps * 32, smem, stream, a, x, hidden, gate, counter, e_pad);
    } else if (a.T <= 4) {
        MOE_PREFER_SHARED((router_fused_kernel<4>));
        MOE_LAUNCH((router_fused_kernel<4>), blocks, kFusedWarps * 32, smem, stream, a, x, hidden, gate, counter, e_pad);
    } else {
        MOE_PREFER_SHARED((router_fused_kernel<8>));
        MOE_LAUNCH((router_fused_kernel<8>), blocks, kFusedWarps * 32, smem, stream, a, x, hidden, gate, counter, e_pad);
    }
    return cudaGetLastError();
}

}  // namespace moe::kernels
