// RoPE: one thread per (token, head, pair). cosf/sinf (not the fast intrinsics): angles reach
// thousands of radians at long contexts and the CPU reference uses the accurate functions.
#include "common.cuh"
#include "rope.h"

namespace moe::kernels {
namespace {

__global__ void rope_kernel(RopeArgs a) {
    pdl_begin();
    const int64_t half = a.dim / 2;
    const int64_t n = a.T * a.n_heads * half;
    const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= n) return;
    const int64_t i = idx % half;
    const int64_t h = (idx / half) % a.n_heads;
    const int64_t t = idx / (half * a.n_heads);
    const float pos = a.positions ? float(a.positions[t]) : float(first_position(a.dev_pos, a.start_pos) + t);
    const float angle = pos * a.inv_freq[i];
    const float c = cosf(angle) * a.attention_factor;
    const float s = (a.inverse ? -1.0f : 1.0f) * sinf(angle) * a.attention_factor;
    float* v = a.x + t * a.n_heads * a.head_stride + h * a.head_stride + a.offset;
    const int64_t ia = a.interleaved ? 2 * i : i;
    const int64_t ib = a.interleaved ? 2 * i + 1 : i + half;
    const float xa = v[ia], xb = v[ib];
    v[ia] = xa * c - xb * s;
    v[ib] = xb * c + xa * s;
}

}  // namespace

cudaError_t rope_f32(const RopeArgs& args, cudaStream_t stream) {
    const int64_t n = args.T * args.n_heads * (args.dim / 2);
    if (n <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((rope_kernel));
    MOE_LAUNCH((rope_kernel), ceil_div(n, 256), 256, 0, stream, args);
    return cudaGetLastError();
}

}  // namespace moe::kernels
