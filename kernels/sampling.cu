// Argmax / Gumbel-max over one row per block (1024 threads): a strided scan, then a block
// reduction that keeps the lowest index among equal values.
#include "common.cuh"
#include "sampling.h"

namespace moe::kernels {
namespace {

constexpr int kThreads = 1024;
constexpr float kNegInf = -__builtin_huge_valf();

__device__ __forceinline__ bool better(float v, int i, float bv, int bi) {
    if (bi < 0) return i >= 0;
    if (i < 0) return false;
    return v > bv || (v == bv && i < bi);
}

__device__ __forceinline__ uint64_t mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// GUMBEL: value = logit / temperature - log(-log(u)), u in (0, 1) from (seed, step, index).
template <bool GUMBEL>
__global__ void __launch_bounds__(kThreads) argmax_kernel(const float* __restrict__ logits, int64_t vocab, float inv_temp,
                                                          uint64_t seed, int32_t* step_counter, int32_t* out) {
    pdl_begin();
    __shared__ float sv[kThreads / 32];
    __shared__ int si[kThreads / 32];
    const int64_t r = blockIdx.x;
    const float* row = logits + r * vocab;
    const uint64_t step = GUMBEL && step_counter ? uint64_t(*step_counter) : 0;
    float bv = kNegInf;
    int bi = -1;
    for (int64_t i = threadIdx.x; i < vocab; i += kThreads) {
        float v = row[i];
        if (v != v) continue;  // NaN never wins
        if constexpr (GUMBEL) {
            const uint64_t h = mix64(seed ^ mix64(step * 0x9e3779b97f4a7c15ull + uint64_t(i)));
            const float u = (float(h >> 40) + 0.5f) * (1.0f / 16777216.0f);
            v = v * inv_temp - logf(-logf(u));
        }
        if (better(v, int(i), bv, bi)) {
            bv = v;
            bi = int(i);
        }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(kFullMask, bv, o);
        const int oi = __shfl_xor_sync(kFullMask, bi, o);
        if (better(ov, oi, bv, bi)) {
            bv = ov;
            bi = oi;
        }
    }
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) {
        sv[warp] = bv;
        si[warp] = bi;
    }
    __syncthreads();
    if (warp == 0) {
        bv = sv[lane];
        bi = si[lane];
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            const float ov = __shfl_xor_sync(kFullMask, bv, o);
            const int oi = __shfl_xor_sync(kFullMask, bi, o);
            if (better(ov, oi, bv, bi)) {
                bv = ov;
                bi = oi;
            }
        }
        if (lane == 0) {
            out[r] = bi < 0 ? 0 : bi;
            if (GUMBEL && step_counter) *step_counter += 1;
        }
    }
}

}  // namespace

cudaError_t argmax_rows(const float* logits, int64_t rows, int64_t vocab, int32_t* out, cudaStream_t stream) {
    if (rows <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((argmax_kernel<false>));
    MOE_LAUNCH((argmax_kernel<false>), unsigned(rows), kThreads, 0, stream, logits, vocab, 1.0f, 0, nullptr, out);
    return cudaGetLastError();
}

cudaError_t sample_gumbel(const float* logits, int64_t vocab, float temperature, uint64_t seed, int32_t* step_counter,
                          int32_t* out, cudaStream_t stream) {
    if (!(temperature > 0.0f)) return cudaErrorInvalidValue;
    MOE_PREFER_SHARED((argmax_kernel<true>));
    MOE_LAUNCH((argmax_kernel<true>), 1, kThreads, 0, stream, logits, vocab, 1.0f / temperature, seed, step_counter, out);
    return cudaGetLastError();
}

}  // namespace moe::kernels
