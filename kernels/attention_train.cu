// The attention kernels of training (CPU twin: engine/cpu/cpu_attention.cpp attention_train*):
// softmax over a block's [H, rows, keys] scores with each row's segment mask (probabilities in
// bf16 for the P·V GEMM, the log-sum-exp saved), its backward from the saved lse, and the small
// reshapes MLA's expanded keys/values and GQA's head groups need. The GEMMs are cuBLAS
// (engine/cuda/cuda_attention_train.cpp).
#include <cstdint>

#include "attention_common.cuh"

namespace moe::kernels {

using attention_detail::kNegInf;

namespace {

constexpr int kTrainThreads = 256;

// Max or sum over the block's 256 threads, returned to every thread (red: 8 shared floats; ends
// with a barrier so the next call may reuse it).
__device__ float train_block_reduce(float v, bool is_max, float* red) {
    v = is_max ? warp_max(v) : warp_sum(v);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float r = red[0];
#pragma unroll
    for (int w = 1; w < kTrainThreads / 32; ++w) r = is_max ? fmaxf(r, red[w]) : r + red[w];
    __syncthreads();
    return r;
}

// Block per (query row i of the block, head h). The row sees keys [lo, hi] of the block's range
// (never empty: a row sees itself).
__global__ void __launch_bounds__(kTrainThreads)
    train_softmax_kernel(const float* __restrict__ scores, TrainAttnBlock b, uint16_t* __restrict__ p,
                         float* __restrict__ lse) {
    pdl_begin();
    __shared__ float red[kTrainThreads / 32];
    const int64_t i = blockIdx.x, h = blockIdx.y, row = b.r0 + i;
    const float* s = scores + (h * b.nq + i) * b.ld;
    uint16_t* out = p + (h * b.nq + i) * b.ld;
    const int64_t lo = b.seg_start[row] - b.k0, hi = row - b.k0;
    float m = kNegInf;
    for (int64_t j = lo + threadIdx.x; j <= hi; j += kTrainThreads) m = fmaxf(m, s[j] * b.scale);
    m = train_block_reduce(m, true, red);
    float sum = 0.0f;
    for (int64_t j = lo + threadIdx.x; j <= hi; j += kTrainThreads) sum += expf(s[j] * b.scale - m);
    sum = train_block_reduce(sum, false, red);
    const float l = m + logf(sum);
    for (int64_t j = threadIdx.x; j < b.nk; j += kTrainThreads)
        out[j] = f32_to_bf16_bits(j >= lo && j <= hi ? expf(s[j] * b.scale - l) : 0.0f);
    if (threadIdx.x == 0) lse[row * b.n_heads + h] = l;
}

__global__ void __launch_bounds__(kTrainThreads)
    train_softmax_backward_kernel(const float* __restrict__ scores, const float* __restrict__ dp,
                                  const float* __restrict__ lse, const float* __restrict__ drow, TrainAttnBlock b,
                                  uint16_t* __restrict__ p, uint16_t* __restrict__ ds) {
    pdl_begin();
    const int64_t i = blockIdx.x, h = blockIdx.y, row = b.r0 + i;
    const int64_t base = (h * b.nq + i) * b.ld;
    const int64_t lo = b.seg_start[row] - b.k0, hi = row - b.k0;
    const float l = lse[row * b.n_heads + h], D = drow[row * b.n_heads + h];
    for (int64_t j = threadIdx.x; j < b.nk; j += kTrainThreads) {
        const bool visible = j >= lo && j <= hi;
        const float pv = visible ? expf(scores[base + j] * b.scale - l) : 0.0f;
        p[base + j] = f32_to_bf16_bits(pv);
        ds[base + j] = f32_to_bf16_bits(visible ? pv * (dp[base + j] - D) * b.scale : 0.0f);
    }
}

// Warp per row of length d.
__global__ void row_dot_kernel(const float* __restrict__ a, const float* __restrict__ b, int64_t n, int64_t d,
                               float* __restrict__ out) {
    pdl_begin();
    const int64_t row = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (row >= n) return;
    float s = 0.0f;
    for (int64_t c = lane; c < d; c += 32) s = fmaf(a[row * d + c], b[row * d + c], s);
    s = warp_sum(s);
    if (lane == 0) out[row] = s;
}

// Grid (column blocks over n_kv · d, row blocks).
__global__ void sum_head_groups_kernel(const float* __restrict__ src, int64_t T, int64_t n_kv, int64_t group, int64_t d,
                                       float* __restrict__ dst) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= n_kv * d) return;
    const int64_t g = c / d, i = c % d, src_row = n_kv * group * d;
    for (int64_t t = blockIdx.y; t < T; t += gridDim.y) {
        float s = 0.0f;
        for (int64_t j = 0; j < group; ++j) s += src[t * src_row + (g * group + j) * d + i];
        dst[t * n_kv * d + c] = s;
    }
}

// Grid (column blocks over H·qk + H·v, row blocks).
__global__ void mla_split_kv_kernel(const float* __restrict__ kv, const float* __restrict__ k_pe, int64_t T, MlaShape s,
                                    float* __restrict__ k, float* __restrict__ v) {
    pdl_begin();
    const int64_t qk = s.qk_nope + s.qk_rope, kvw = s.qk_nope + s.v_head, H = s.n_heads;
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= H * (qk + s.v_head)) return;
    for (int64_t t = blockIdx.y; t < T; t += gridDim.y) {
        const float* src = kv + t * H * kvw;
        if (c < H * qk) {
            const int64_t h = c / qk, i = c % qk;
            k[t * H * qk + c] = i < s.qk_nope ? src[h * kvw + i] : k_pe[t * s.qk_rope + i - s.qk_nope];
        } else {
            const int64_t c2 = c - H * qk, h = c2 / s.v_head, i = c2 % s.v_head;
            v[t * H * s.v_head + c2] = src[h * kvw + s.qk_nope + i];
        }
    }
}

// Grid (column blocks over H·(nope + v) + rope, row blocks).
__global__ void mla_split_kv_backward_kernel(const float* __restrict__ dk, const float* __restrict__ dv, int64_t T,
                                             MlaShape s, float* __restrict__ dkv, float* __restrict__ dk_pe) {
    pdl_begin();
    const int64_t qk = s.qk_nope + s.qk_rope, kvw = s.qk_nope + s.v_head, H = s.n_heads;
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= H * kvw + s.qk_rope) return;
    for (int64_t t = blockIdx.y; t < T; t += gridDim.y) {
        if (c < H * kvw) {
            const int64_t h = c / kvw, i = c % kvw;
            dkv[t * H * kvw + c] =
                i < s.qk_nope ? dk[t * H * qk + h * qk + i] : dv[t * H * s.v_head + h * s.v_head + i - s.qk_nope];
        } else {
            const int64_t i = c - H * kvw;
            float sum = 0.0f;
            for (int64_t h = 0; h < H; ++h) sum += dk[t * H * qk + h * qk + s.qk_nope + i];
            dk_pe[t * s.qk_rope + i] = sum;
        }
    }
}

bool train_block_ok(const TrainAttnBlock& b) {
    return b.n_heads > 0 && b.n_heads <= 65535 && b.nq > 0 && b.nq <= 2147483647 && b.nk >= b.nq && b.ld >= b.nk &&
           b.k0 >= 0 && b.k0 <= b.r0 && b.seg_start;
}

}  // namespace

cudaError_t attention_train_softmax(const float* scores, const TrainAttnBlock& b, uint16_t* p, float* lse,
                                    cudaStream_t stream) {
    if (!train_block_ok(b)) return cudaErrorInvalidValue;
    MOE_PREFER_SHARED((train_softmax_kernel));
    MOE_LAUNCH((train_softmax_kernel), dim3(unsigned(b.nq), unsigned(b.n_heads)), kTrainThreads, 0, stream, scores, b, p,
               lse);
    return cudaGetLastError();
}

cudaError_t attention_train_softmax_backward(const float* scores, const float* dp, const float* lse, const float* drow,
                                             const TrainAttnBlock& b, uint16_t* p, uint16_t* ds, cudaStream_t stream) {
    if (!train_block_ok(b)) return cudaErrorInvalidValue;
    MOE_PREFER_SHARED((train_softmax_backward_kernel));
    MOE_LAUNCH((train_softmax_backward_kernel), dim3(unsigned(b.nq), unsigned(b.n_heads)), kTrainThreads, 0, stream,
               scores, dp, lse, drow, b, p, ds);
    return cudaGetLastError();
}

cudaError_t attention_row_dot(const float* a, const float* b, int64_t n, int64_t d, float* out, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((row_dot_kernel));
    MOE_LAUNCH((row_dot_kernel), ceil_div(n, 8), 256, 0, stream, a, b, n, d, out);
    return cudaGetLastError();
}

cudaError_t sum_head_groups_f32(const float* src, int64_t T, int64_t n_kv, int64_t group, int64_t d, float* dst,
                                cudaStream_t stream) {
    if (T <= 0 || n_kv * d <= 0) return cudaSuccess;
    if (group <= 0) return cudaErrorInvalidValue;
    MOE_PREFER_SHARED((sum_head_groups_kernel));
    MOE_LAUNCH((sum_head_groups_kernel), row_grid(T, n_kv * d), 256, 0, stream, src, T, n_kv, group, d, dst);
    return cudaGetLastError();
}

cudaError_t mla_split_kv_f32(const float* kv, const float* k_pe, int64_t T, const MlaShape& s, float* k, float* v,
                             cudaStream_t stream) {
    const int64_t cols = s.n_heads * (s.qk_nope + s.qk_rope + s.v_head);
    if (T <= 0 || cols <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((mla_split_kv_kernel));
    MOE_LAUNCH((mla_split_kv_kernel), row_grid(T, cols), 256, 0, stream, kv, k_pe, T, s, k, v);
    return cudaGetLastError();
}

cudaError_t mla_split_kv_backward_f32(const float* dk, const float* dv, int64_t T, const MlaShape& s, float* dkv,
                                      float* dk_pe, cudaStream_t stream) {
    const int64_t cols = s.n_heads * (s.qk_nope + s.v_head) + s.qk_rope;
    if (T <= 0 || cols <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((mla_split_kv_backward_kernel));
    MOE_LAUNCH((mla_split_kv_backward_kernel), row_grid(T, cols), 256, 0, stream, dk, dv, T, s, dkv, dk_pe);
    return cudaGetLastError();
}

}  // namespace moe::kernels
