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
    for (int e = lane; e < E; e += 32) {  // each lane reads only the s[e] it wrote: no barrier needed
        choice[e] = s[e] + (a.bias ? a.bias[e] : 0.0f);
        taken[e] = false;
        if (a.scores) a.scores[t * a.E + e] = s[e];
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

// ---- training ----------------------------------------------------------------------------------
namespace {

constexpr int kBackwardWarps = 4;

// Warp per token; ds [e_pad] per warp in shared memory. The normalisation's sums run on lane 0 in
// the CPU's order.
__global__ void route_backward_kernel(RouteBackwardArgs a, int e_pad) {
    pdl_begin();
    extern __shared__ float ds_all[];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int64_t t = int64_t(blockIdx.x) * kBackwardWarps + warp;
    if (t >= a.T) return;
    float* ds = ds_all + warp * e_pad;
    const int E = int(a.E), K = int(a.top_k);
    const float* s = a.scores + t * a.E;
    for (int e = lane; e < E; e += 32) ds[e] = a.d_scores ? a.d_scores[t * a.E + e] : 0.0f;
    __syncwarp();
    if (lane == 0) {
        const int32_t* id = a.ids + t * a.top_k;
        const float* dw = a.d_weights + t * a.top_k;
        if (a.normalised) {
            float sum = 0.0f, dot_ws = 0.0f;
            for (int k = 0; k < K; ++k) sum += s[id[k]];
            const float denom = sum + 1e-20f;
            for (int k = 0; k < K; ++k) dot_ws += dw[k] * s[id[k]];
            for (int k = 0; k < K; ++k) ds[id[k]] += a.a / denom * (dw[k] - dot_ws / denom);
        } else {
            for (int k = 0; k < K; ++k) ds[id[k]] += a.a * dw[k];
        }
    }
    __syncwarp();
    float* dl = a.d_logits + t * a.E;
    if (!a.softmax) {
        for (int e = lane; e < E; e += 32) dl[e] = ds[e] * s[e] * (1.0f - s[e]);
        return;
    }
    float dot = 0.0f;
    for (int e = lane; e < E; e += 32) dot += ds[e] * s[e];
    dot = warp_sum(dot);
    for (int e = lane; e < E; e += 32) dl[e] = s[e] * (ds[e] - dot);
}

// Balance loss, three steps over the workspace [row_sum (T) | f (T / R · E)].
// Warp per row: row_sum[t] = Σ_e s[t, e].
__global__ void balance_row_sum_kernel(const float* __restrict__ scores, int64_t T, int64_t E, float* __restrict__ row_sum) {
    pdl_begin();
    const int64_t t = int64_t(blockIdx.x) * 8 + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (t >= T) return;
    float sum = 0.0f;
    for (int64_t e = lane; e < E; e += 32) sum += scores[t * E + e];
    sum = warp_sum(sum);
    if (lane == 0) row_sum[t] = sum;
}

// Block per sequence b: hit counts (shared), f, P (thread per expert, rows in order), and the
// block's Σ_i f_i P_i in f64 on thread 0 (experts in order, as the CPU).
__global__ void balance_block_kernel(const float* __restrict__ scores, const int32_t* __restrict__ ids, int64_t E,
                                     int64_t K, int64_t R, const float* __restrict__ row_sum, float* __restrict__ f_out,
                                     double* __restrict__ block_loss) {
    pdl_begin();
    extern __shared__ float shared[];
    float* fs = shared;          // [E]
    float* ps = shared + E;      // [E]
    int* hits = reinterpret_cast<int*>(shared + 2 * E);  // [E]
    const int64_t b = blockIdx.x, r0 = b * R;
    for (int64_t e = threadIdx.x; e < E; e += blockDim.x) hits[e] = 0;
    __syncthreads();
    for (int64_t i = threadIdx.x; i < R * K; i += blockDim.x) {
        const int32_t e = ids[r0 * K + i];
        if (e >= 0 && e < E) atomicAdd(hits + e, 1);
    }
    __syncthreads();
    const float per_hit = float(E) / float(K * R);
    for (int64_t e = threadIdx.x; e < E; e += blockDim.x) {
        float P = 0.0f;
        for (int64_t t = r0; t < r0 + R; ++t) P += scores[t * E + e] / row_sum[t] / float(R);
        fs[e] = float(hits[e]) * per_hit;
        ps[e] = P;
        f_out[b * E + e] = fs[e];
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        double lb = 0.0;
        for (int64_t e = 0; e < E; ++e) lb += double(fs[e]) * double(ps[e]);
        block_loss[b] = lb;
    }
}

// Warp per row: d_scores[t, e] = (g_e − Σ_j g_j s[t, j] / sum) / sum with g = coeff · f / R.
__global__ void balance_grad_kernel(const float* __restrict__ scores, int64_t T, int64_t E, int64_t R, float coeff,
                                    const float* __restrict__ row_sum, const float* __restrict__ f,
                                    float* __restrict__ d_scores) {
    pdl_begin();
    const int64_t t = int64_t(blockIdx.x) * 8 + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (t >= T) return;
    const float* fb = f + (t / R) * E;
    const float sum = row_sum[t];
    float dot = 0.0f;
    for (int64_t e = lane; e < E; e += 32) dot += coeff * fb[e] / float(R) * scores[t * E + e] / sum;
    dot = warp_sum(dot);
    for (int64_t e = lane; e < E; e += 32) d_scores[t * E + e] = (coeff * fb[e] / float(R) - dot) / sum;
}

}  // namespace

cudaError_t route_backward(const RouteBackwardArgs& a, cudaStream_t stream) {
    if (a.T <= 0) return cudaSuccess;
    if (a.E <= 0 || a.E > 1024 || a.top_k <= 0 || a.top_k > a.E) return cudaErrorInvalidValue;
    const int e_pad = int((a.E + 3) / 4 * 4);
    MOE_PREFER_SHARED((route_backward_kernel));
    MOE_LAUNCH((route_backward_kernel), ceil_div(a.T, kBackwardWarps), kBackwardWarps * 32,
               size_t(kBackwardWarps) * e_pad * sizeof(float), stream, a, e_pad);
    return cudaGetLastError();
}

int64_t balance_workspace_floats(int64_t T, int64_t E, int64_t R) { return T + (R > 0 ? T / R : 0) * E; }

cudaError_t balance_loss(const float* scores, const int32_t* ids, int64_t T, int64_t E, int64_t K, int64_t R, float coeff,
                         float* workspace, double* block_loss, float* d_scores, cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    if (E <= 0 || E > 4096 || K <= 0 || R <= 0 || T % R != 0) return cudaErrorInvalidValue;
    float* row_sum = workspace;
    float* f = workspace + T;
    MOE_PREFER_SHARED((balance_row_sum_kernel));
    MOE_LAUNCH((balance_row_sum_kernel), ceil_div(T, 8), 256, 0, stream, scores, T, E, row_sum);
    MOE_PREFER_SHARED((balance_block_kernel));
    MOE_LAUNCH((balance_block_kernel), unsigned(T / R), 256, size_t(E) * 3 * sizeof(float), stream, scores, ids, E, K, R,
               row_sum, f, block_loss);
    MOE_PREFER_SHARED((balance_grad_kernel));
    MOE_LAUNCH((balance_grad_kernel), ceil_div(T, 8), 256, 0, stream, scores, T, E, R, coeff, row_sum, f, d_scores);
    return cudaGetLastError();
}

}  // namespace moe::kernels
