// The pieces of the tensor-core prefill (engine/cuda/cuda_attention.cpp runs the GEMMs in cuBLAS):
// MLA's shared rope keys copied into every head's bf16 key rows, GQA's kv heads expanded to the
// query heads, and the causal row softmax of the score matrices. Shared helpers:
// attention_common.cuh.
#include "attention_common.cuh"

namespace moe::kernels {
using namespace attention_detail;

namespace {

__global__ void fill_rope_keys_kernel(const float* __restrict__ cache, int64_t width, int64_t S, MlaShape s,
                                      uint16_t* __restrict__ k) {
    pdl_begin();
    const int64_t qk = s.qk_nope + s.qk_rope;
    const int64_t d = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;  // over H * rope
    if (d >= s.n_heads * s.qk_rope) return;
    const int64_t h = d / s.qk_rope, r = d % s.qk_rope;
    for (int64_t j = blockIdx.y; j < S; j += gridDim.y)
        k[(j * s.n_heads + h) * qk + s.qk_nope + r] = f32_to_bf16_bits(cache[j * width + s.kv_lora + r]);
}

__global__ void expand_kv_kernel(const float* __restrict__ src, int64_t ld_src, int64_t S, int64_t n_heads,
                                 int64_t group, int64_t D, uint16_t* __restrict__ dst) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;  // over n_heads * D
    if (c >= n_heads * D) return;
    const int64_t h = c / D, d = c % D, from = (h / group) * D + d;
    for (int64_t j = blockIdx.y; j < S; j += gridDim.y) dst[j * n_heads * D + c] = f32_to_bf16_bits(src[j * ld_src + from]);
}

// Block per (query t, head h) row of S scores: masked max, exponentials, sum, then the bf16
// probabilities (0 for keys after the query's position).
constexpr int kSoftmaxThreads = 256;
__global__ void __launch_bounds__(kSoftmaxThreads)
    causal_softmax_kernel(const float* __restrict__ scores, int64_t T, int64_t S, int64_t start_pos, float scale,
                          uint16_t* __restrict__ p) {
    pdl_begin();
    __shared__ float red[kSoftmaxThreads / 32];
    const int64_t t = blockIdx.x, h = blockIdx.y;
    const float* row = scores + (h * T + t) * S;
    uint16_t* out = p + (h * T + t) * S;
    const int64_t visible = start_pos + t + 1 < S ? start_pos + t + 1 : S;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    float mx = kNegInf;
    for (int64_t j = threadIdx.x; j < visible; j += kSoftmaxThreads) mx = fmaxf(mx, row[j] * scale);
    mx = warp_max(mx);
    if (lane == 0) red[warp] = mx;
    __syncthreads();
    float M = red[0];
    for (int w = 1; w < kSoftmaxThreads / 32; ++w) M = fmaxf(M, red[w]);
    __syncthreads();
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < visible; j += kSoftmaxThreads) sum += expf(row[j] * scale - M);
    sum = warp_sum(sum);
    if (lane == 0) red[warp] = sum;
    __syncthreads();
    float L = 0.0f;
    for (int w = 0; w < kSoftmaxThreads / 32; ++w) L += red[w];
    const float inv = 1.0f / L;
    for (int64_t j = threadIdx.x; j < S; j += kSoftmaxThreads)
        out[j] = f32_to_bf16_bits(j < visible ? expf(row[j] * scale - M) * inv : 0.0f);
}

// The same row softmax with the row in registers (S <= PER * 256): one read of the scores instead
// of three (max, sum, output), which made the kernel the largest non-GEMM cost of a 2048-token
// MLA prefill (16 heads x 2048 x 2048 f32 scores per layer).
template <int PER>
__global__ void __launch_bounds__(kSoftmaxThreads)
    causal_softmax_regs_kernel(const float* __restrict__ scores, int64_t T, int64_t S, int64_t start_pos, float scale,
                               uint16_t* __restrict__ p) {
    static_assert(kSoftmaxThreads == kReduceThreads, "block_max_256 / block_sum_256 reduce 256 threads");
    pdl_begin();
    const int64_t t = blockIdx.x, h = blockIdx.y;
    const float* row = scores + (h * T + t) * S;
    uint16_t* out = p + (h * T + t) * S;
    const int64_t visible = start_pos + t + 1 < S ? start_pos + t + 1 : S;
    float v[PER];
    float mx = kNegInf;
#pragma unroll
    for (int i = 0; i < PER; ++i) {
        const int64_t j = threadIdx.x + int64_t(i) * kSoftmaxThreads;
        v[i] = j < visible ? row[j] * scale : kNegInf;
        mx = fmaxf(mx, v[i]);
    }
    const float M = block_max_256(mx);
    float sum = 0.0f;
#pragma unroll
    for (int i = 0; i < PER; ++i) {
        const int64_t j = threadIdx.x + int64_t(i) * kSoftmaxThreads;
        v[i] = j < visible ? expf(v[i] - M) : 0.0f;
        sum += v[i];
    }
    const float inv = 1.0f / block_sum_256(sum);
#pragma unroll
    for (int i = 0; i < PER; ++i) {
        const int64_t j = threadIdx.x + int64_t(i) * kSoftmaxThreads;
        if (j < S) out[j] = f32_to_bf16_bits(v[i] * inv);
    }
}

}  // namespace

cudaError_t mla_fill_rope_keys_bf16(const float* cache, int64_t width, int64_t S, const MlaShape& s, uint16_t* k,
                                    cudaStream_t stream) {
    const int64_t n = s.n_heads * s.qk_rope;
    if (S <= 0 || n <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((fill_rope_keys_kernel));
    MOE_LAUNCH((fill_rope_keys_kernel), dim3(ceil_div(n, 256), unsigned(S < 65535 ? S : 65535)), 256, 0, stream, cache,
               width, S, s, k);
    return cudaGetLastError();
}

cudaError_t expand_kv_heads_bf16(const float* src, int64_t ld_src, int64_t S, int64_t n_heads, int64_t group,
                                 int64_t head_dim, uint16_t* dst, cudaStream_t stream) {
    const int64_t n = n_heads * head_dim;
    if (S <= 0 || n <= 0) return cudaSuccess;
    if (group <= 0) return cudaErrorInvalidValue;
    MOE_PREFER_SHARED((expand_kv_kernel));
    MOE_LAUNCH((expand_kv_kernel), dim3(ceil_div(n, 256), unsigned(S < 65535 ? S : 65535)), 256, 0, stream, src, ld_src,
               S, n_heads, group, head_dim, dst);
    return cudaGetLastError();
}

cudaError_t causal_softmax_bf16(const float* scores, int64_t H, int64_t T, int64_t S, int64_t start_pos, float scale,
                                uint16_t* p, cudaStream_t stream) {
    if (H <= 0 || T <= 0 || S <= 0) return cudaSuccess;
    if (T > 2147483647 || H > 65535) return cudaErrorInvalidValue;
    const dim3 grid{unsigned(T), unsigned(H)};
    if (S <= 4 * kSoftmaxThreads) {
        MOE_PREFER_SHARED((causal_softmax_regs_kernel<4>));
        MOE_LAUNCH((causal_softmax_regs_kernel<4>), grid, kSoftmaxThreads, 0, stream, scores, T, S, start_pos, scale, p);
    } else if (S <= 8 * kSoftmaxThreads) {
        MOE_PREFER_SHARED((causal_softmax_regs_kernel<8>));
        MOE_LAUNCH((causal_softmax_regs_kernel<8>), grid, kSoftmaxThreads, 0, stream, scores, T, S, start_pos, scale, p);
    } else if (S <= 16 * kSoftmaxThreads) {
        MOE_PREFER_SHARED((causal_softmax_regs_kernel<16>));
        MOE_LAUNCH((causal_softmax_regs_kernel<16>), grid, kSoftmaxThreads, 0, stream, scores, T, S, start_pos, scale, p);
    } else {
        MOE_PREFER_SHARED((causal_softmax_kernel));
        MOE_LAUNCH((causal_softmax_kernel), grid, kSoftmaxThreads, 0, stream, scores, T, S, start_pos, scale, p);
    }
    return cudaGetLastError();
}

}  // namespace moe::kernels
