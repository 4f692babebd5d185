// Cross-entropy: a block per row; max, sum of exponentials and the gradient in three passes over the
// row (a vocabulary row of 160k logits stays in L2 between them).
#include "common.cuh"
#include "loss.h"

namespace moe::kernels {
namespace {

constexpr int kThreads = 512;
constexpr float kNegInf = -__builtin_huge_valf();

// Max or sum over the block, returned to every thread (red: kThreads / 32 shared floats; ends with
// a barrier so the next call may reuse it).
__device__ float block_reduce(float v, bool is_max, float* red) {
    v = is_max ? warp_max(v) : warp_sum(v);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float r = red[0];
#pragma unroll
    for (int w = 1; w < kThreads / 32; ++w) r = is_max ? fmaxf(r, red[w]) : r + red[w];
    __syncthreads();
    return r;
}

__global__ void __launch_bounds__(kThreads)
    cross_entropy_kernel(const float* __restrict__ logits, const int32_t* __restrict__ targets, int64_t V, float scale,
                         float* __restrict__ d_logits, double* __restrict__ row_loss, int32_t* __restrict__ row_status) {
    pdl_begin();
    __shared__ float red[kThreads / 32];
    const int64_t t = blockIdx.x;
    const float* l = logits + t * V;
    float* d = d_logits + t * V;
    const int32_t target = targets[t];
    if (target < 0 || target >= V) {
        for (int64_t v = threadIdx.x; v < V; v += kThreads) d[v] = 0.0f;
        if (threadIdx.x == 0) {
            row_status[t] = target == -1 ? 0 : 2;
            row_loss[t] = double(target);
        }
        return;
    }
    float m = kNegInf;
    for (int64_t v = threadIdx.x; v < V; v += kThreads) m = fmaxf(m, l[v]);
    m = block_reduce(m, true, red);
    float sum = 0.0f;
    for (int64_t v = threadIdx.x; v < V; v += kThreads) sum += expf(l[v] - m);
    sum = block_reduce(sum, false, red);
    const float lse = m + logf(sum);
    for (int64_t v = threadIdx.x; v < V; v += kThreads) {
        const float p = scale * expf(l[v] - lse);
        d[v] = v == target ? p - scale : p;
    }
    if (threadIdx.x == 0) {
        row_status[t] = 1;
        row_loss[t] = double(lse) - double(l[target]);
    }
}

}  // namespace

cudaError_t cross_entropy_f32(const float* logits, const int32_t* targets, int64_t T, int64_t V, float scale,
                              float* d_logits, double* row_loss, int32_t* row_status, cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    if (V <= 0 || T > 2147483647) return cudaErrorInvalidValue;
    MOE_PREFER_SHARED((cross_entropy_kernel));
    MOE_LAUNCH((cross_entropy_kernel), unsigned(T), kThreads, 0, stream, logits, targets, V, scale, d_logits, row_loss,
               row_status);
    return cudaGetLastError();
}

}  // namespace moe::kernels
