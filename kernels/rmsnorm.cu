// RMSNorm: a block per row; the sum of squares in f32 through a warp-then-block reduction.
#include "common.cuh"
#include "rmsnorm.h"

namespace moe::kernels {
namespace {

constexpr int kThreads = 256;

__device__ float block_sum(float v, float* scratch) {
    v = warp_sum(v);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float total = 0.0f;
    if (warp == 0) {
        total = lane < kThreads / 32 ? scratch[lane] : 0.0f;
        total = warp_sum(total);
        if (lane == 0) scratch[0] = total;
    }
    __syncthreads();
    total = scratch[0];
    __syncthreads();
    return total;
}

// ADD: residual += x first (the fused pre-norm residual step). Rows of up to kThreads * kPerThread
// values stay in registers between the reduction and the output (one global read per element,
// all issued before the first use); longer rows take a second pass over global memory.
constexpr int kPerThread = 16;
template <bool ADD>
__global__ void __launch_bounds__(kThreads) rmsnorm_kernel(float* __restrict__ x, int64_t ldx, const float* __restrict__ add,
                                                           const float* __restrict__ w, int64_t C, float eps,
                                                           float* __restrict__ y, int64_t ldy) {
    pdl_begin();
    __shared__ float scratch[kThreads / 32];
    const int64_t t = blockIdx.x;
    float* row = x + t * ldx;
    if (C <= int64_t(kThreads) * kPerThread) {
        float v[kPerThread];
        float ss = 0.0f;
#pragma unroll
        for (int k = 0; k < kPerThread; ++k) {
            const int64_t i = threadIdx.x + int64_t(k) * kThreads;
            v[k] = i < C ? row[i] + (ADD ? add[t * C + i] : 0.0f) : 0.0f;
        }
#pragma unroll
        for (int k = 0; k < kPerThread; ++k) {
            const int64_t i = threadIdx.x + int64_t(k) * kThreads;
            if (ADD && i < C) row[i] = v[k];
            ss = fmaf(v[k], v[k], ss);
        }
        const float inv_rms = 1.0f / sqrtf(block_sum(ss, scratch) / float(C) + eps);
#pragma unroll
        for (int k = 0; k < kPerThread; ++k) {
            const int64_t i = threadIdx.x + int64_t(k) * kThreads;
            if (i < C) y[t * ldy + i] = w[i] * (v[k] * inv_rms);
        }
        return;
    }
    float ss = 0.0f;
    for (int64_t i = threadIdx.x; i < C; i += kThreads) {
        float v = row[i];
        if constexpr (ADD) {
            v += add[t * C + i];
            row[i] = v;
        }
        ss = fmaf(v, v, ss);
    }
    const float inv_rms = 1.0f / sqrtf(block_sum(ss, scratch) / float(C) + eps);
    for (int64_t i = threadIdx.x; i < C; i += kThreads) y[t * ldy + i] = w[i] * (row[i] * inv_rms);
}

__global__ void __launch_bounds__(kThreads)
    rmsnorm_backward_kernel(const float* __restrict__ x, const float* __restrict__ w, const float* __restrict__ dy,
                            int64_t C, float eps, float* __restrict__ dx, float* __restrict__ inv_rms) {
    pdl_begin();
    __shared__ float scratch[kThreads / 32];
    const int64_t t = blockIdx.x;
    const float* xr = x + t * C;
    const float* g = dy + t * C;
    float ss = 0.0f, dot = 0.0f;
    for (int64_t i = threadIdx.x; i < C; i += kThreads) {
        ss = fmaf(xr[i], xr[i], ss);
        dot = fmaf(w[i] * g[i], xr[i], dot);
    }
    const float sum_sq = block_sum(ss, scratch);
    const float dot_gx = block_sum(dot, scratch);
    const float r = 1.0f / sqrtf(sum_sq / float(C) + eps);
    const float k = r * r * r * dot_gx / float(C);
    for (int64_t i = threadIdx.x; i < C; i += kThreads) dx[t * C + i] = r * w[i] * g[i] - k * xr[i];
    if (threadIdx.x == 0) inv_rms[t] = r;
}

}  // namespace

cudaError_t rmsnorm_backward_f32(const float* x, const float* w, const float* dy, int64_t T, int64_t C, float eps,
                                 float* dx, float* inv_rms, cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((rmsnorm_backward_kernel));
    MOE_LAUNCH((rmsnorm_backward_kernel), unsigned(T), kThreads, 0, stream, x, w, dy, C, eps, dx, inv_rms);
    return cudaGetLastError();
}

cudaError_t rmsnorm_f32(const float* x, int64_t ldx, const float* w, int64_t T, int64_t C, float eps, float* y,
                        int64_t ldy, cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((rmsnorm_kernel<false>));
    MOE_LAUNCH((rmsnorm_kernel<false>), unsigned(T), kThreads, 0, stream, const_cast<float*>(x), ldx, nullptr, w, C, eps, y, ldy);
    return cudaGetLastError();
}

cudaError_t add_rmsnorm_f32(float* residual, const float* x, const float* w, int64_t T, int64_t C, float eps, float* y,
                            cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((rmsnorm_kernel<true>));
    MOE_LAUNCH((rmsnorm_kernel<true>), unsigned(T), kThreads, 0, stream, residual, C, x, w, C, eps, y, C);
    return cudaGetLastError();
}

}  // namespace moe::kernels
