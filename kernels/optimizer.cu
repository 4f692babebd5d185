// Optimiser kernels: grid-stride loops over flat f32 arrays (parameters of any size).
#include "common.cuh"
#include "optimizer.h"

namespace moe::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxBlocks = 1024;

// Thread 0 writes the block's sum of s to *out (warps, then the warps' sums in order).
__device__ __forceinline__ void block_sum_to(double s, double* out) {
    __shared__ double red[kThreads / 32];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(kFullMask, s, o);
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        double total = 0.0;
        for (int w = 0; w < kThreads / 32; ++w) total += red[w];
        *out = total;
    }
}

__global__ void __launch_bounds__(kThreads) sum_squares_kernel(const float* __restrict__ x, int64_t n, double* partials) {
    pdl_begin();
    double s = 0.0;
    for (int64_t i = int64_t(blockIdx.x) * kThreads + threadIdx.x; i < n; i += int64_t(gridDim.x) * kThreads) {
        const double v = x[i];
        s += v * v;
    }
    block_sum_to(s, partials + blockIdx.x);
}

// Every rounding spelled out (the _rn intrinsics are never contracted into other FMAs): the one-
// tensor and many-tensor kernels inline this into different code, and left to the compiler a
// product like p · decay was fused in one and not the other (last-bit differences, measured).
__device__ __forceinline__ void adamw_element(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                                              float* __restrict__ v, int64_t i, float decay, const AdamWArgs& a) {
    const float gi = __fmul_rn(g[i], a.grad_scale);
    const float mi = __fmaf_rn(__fsub_rn(gi, m[i]), __fsub_rn(1.0f, a.beta1), m[i]);
    const float vi = __fmaf_rn(__fmul_rn(__fsub_rn(1.0f, a.beta2), gi), gi, __fmul_rn(v[i], a.beta2));
    const float denom = __fadd_rn(__fdiv_rn(sqrtf(vi), a.bc2_sqrt), a.eps);
    const float update = __fdiv_rn(__fmul_rn(a.step_size, mi), denom);
    p[i] = __fmaf_rn(p[i], decay, -update);
    m[i] = mi;
    v[i] = vi;
}

__global__ void adamw_kernel(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                             float* __restrict__ v, int64_t n, AdamWArgs a) {
    pdl_begin();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        adamw_element(p, g, m, v, i, a.decay, a);
}

// ---- many tensors, one launch: block b takes chunk b (its tensor's elements [start, end)) ----

__global__ void __launch_bounds__(kThreads)
    adamw_many_kernel(const AdamWTensor* __restrict__ tensors, const MultiChunk* __restrict__ chunks, AdamWArgs a) {
    pdl_begin();
    const MultiChunk c = chunks[blockIdx.x];
    const AdamWTensor t = tensors[c.tensor];
    for (int64_t i = c.start + threadIdx.x; i < c.end; i += kThreads) adamw_element(t.p, t.g, t.m, t.v, i, t.decay, a);
}

__global__ void __launch_bounds__(kThreads)
    sum_squares_many_kernel(const float* const* __restrict__ xs, const MultiChunk* __restrict__ chunks, double* partials) {
    pdl_begin();
    const MultiChunk c = chunks[blockIdx.x];
    const float* x = xs[c.tensor];
    double s = 0.0;
    for (int64_t i = c.start + threadIdx.x; i < c.end; i += kThreads) {
        const double v = x[i];
        s += v * v;
    }
    block_sum_to(s, partials + blockIdx.x);
}

__global__ void __launch_bounds__(kThreads) zero_many_kernel(float* const* __restrict__ xs, const MultiChunk* __restrict__ chunks) {
    pdl_begin();
    const MultiChunk c = chunks[blockIdx.x];
    float* x = xs[c.tensor];
    for (int64_t i = c.start + threadIdx.x; i < c.end; i += kThreads) x[i] = 0.0f;
}

__global__ void __launch_bounds__(kThreads)
    to_bf16_many_kernel(const ToBf16Tensor* __restrict__ tensors, const MultiChunk* __restrict__ chunks) {
    pdl_begin();
    const MultiChunk c = chunks[blockIdx.x];
    const ToBf16Tensor t = tensors[c.tensor];
    for (int64_t i = c.start + threadIdx.x; i < c.end; i += kThreads) t.dst[i] = f32_to_bf16_bits(t.src[i]);
}

}  // namespace

int sum_squares_blocks(int64_t n) {
    const int64_t b = (n + int64_t(kThreads) * 8 - 1) / (int64_t(kThreads) * 8);
    return int(b < 1 ? 1 : (b > kMaxBlocks ? kMaxBlocks : b));
}

cudaError_t sum_squares_partials(const float* x, int64_t n, double* partials, cudaStream_t stream) {
    MOE_PREFER_SHARED((sum_squares_kernel));
    MOE_LAUNCH((sum_squares_kernel), unsigned(sum_squares_blocks(n)), kThreads, 0, stream, x, n, partials);
    return cudaGetLastError();
}

std::vector<MultiChunk> multi_chunks(const std::vector<int64_t>& sizes) {
    std::vector<MultiChunk> chunks;
    for (size_t t = 0; t < sizes.size(); ++t)
        for (int64_t start = 0; start < sizes[t]; start += kMultiChunk)
            chunks.push_back(MultiChunk{int32_t(t), start, start + kMultiChunk < sizes[t] ? start + kMultiChunk : sizes[t]});
    return chunks;
}

cudaError_t adamw_f32_many(const AdamWTensor* tensors, const MultiChunk* chunks, int64_t n_chunks, const AdamWArgs& a,
                           cudaStream_t stream) {
    if (n_chunks <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((adamw_many_kernel));
    MOE_LAUNCH((adamw_many_kernel), unsigned(n_chunks), kThreads, 0, stream, tensors, chunks, a);
    return cudaGetLastError();
}

cudaError_t sum_squares_many_partials(const float* const* xs, const MultiChunk* chunks, int64_t n_chunks, double* partials,
                                      cudaStream_t stream) {
    if (n_chunks <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((sum_squares_many_kernel));
    MOE_LAUNCH((sum_squares_many_kernel), unsigned(n_chunks), kThreads, 0, stream, xs, chunks, partials);
    return cudaGetLastError();
}

cudaError_t f32_to_bf16_many(const ToBf16Tensor* tensors, const MultiChunk* chunks, int64_t n_chunks, cudaStream_t stream) {
    if (n_chunks <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((to_bf16_many_kernel));
    MOE_LAUNCH((to_bf16_many_kernel), unsigned(n_chunks), kThreads, 0, stream, tensors, chunks);
    return cudaGetLastError();
}

cudaError_t zero_f32_many(float* const* xs, const MultiChunk* chunks, int64_t n_chunks, cudaStream_t stream) {
    if (n_chunks <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((zero_many_kernel));
    MOE_LAUNCH((zero_many_kernel), unsigned(n_chunks), kThreads, 0, stream, xs, chunks);
    return cudaGetLastError();
}

cudaError_t adamw_f32(float* p, const float* g, float* m, float* v, int64_t n, const AdamWArgs& a, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    const int64_t blocks = (n + 255) / 256 < 8192 ? (n + 255) / 256 : 8192;
    MOE_PREFER_SHARED((adamw_kernel));
    MOE_LAUNCH((adamw_kernel), unsigned(blocks), 256, 0, stream, p, g, m, v, n, a);
    return cudaGetLastError();
}

}  // namespace moe::kernels
