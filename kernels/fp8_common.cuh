// Device helpers for fp8 e4m3 weights (kernels/fp8.cu, the fp8 expert kernels in moe_fp8.cu).
#pragma once

#include <cuda_fp8.h>

#include "common.cuh"

namespace moe::kernels {

// The 4 e4m3 codes of a 32-bit word as f32 values × 2^-120, exactly: each code's exponent and
// mantissa bits moved into f32's fields (a subnormal code becomes an f32 subnormal, a normal one an
// f32 normal of the same mantissa). Integer ops only (64 per clock and SM), where the cvt path
// (e4m3 -> f16 -> f32) issues 16 per clock and SM. The NaN codes (0x7f, 0xff) come out as ±480
// (checkpoints hold none).
__device__ __forceinline__ void fp8x4_to_f32_unscaled(uint32_t w, float (&f)[4]) {
    f[0] = __uint_as_float(((w & 0x7fu) << 20) | ((w & 0x80u) << 24));
    f[1] = __uint_as_float(((w & 0x7f00u) << 12) | ((w & 0x8000u) << 16));
    f[2] = __uint_as_float(((w & 0x7f0000u) << 4) | ((w & 0x800000u) << 8));
    f[3] = __uint_as_float(((w & 0x7f000000u) >> 4) | (w & 0x80000000u));
}
// What fp8x4_to_f32_unscaled's values must be multiplied by (a power of two: exact).
constexpr float kFp8Unscale = 0x1p120f;

// Σ w[i] · x[i] over the 16 e4m3 codes of a 16-byte word and 16 f32 activations, returned × 2^-120
// (multiply by kFp8Unscale, then the block scale, once per chunk). Products below f32's normal
// range lose bits only below 2^-149, i.e. 2^-29 in the unscaled result: far under f32 rounding of
// the sum.
__device__ __forceinline__ float fp8_dot16(const uint4& w, const float4 (&x)[4]) {
    const uint32_t words[4] = {w.x, w.y, w.z, w.w};
    float s = 0.0f;
#pragma unroll
    for (int q = 0; q < 4; ++q) {
        float f[4];
        fp8x4_to_f32_unscaled(words[q], f);
        s = fmaf(f[0], x[q].x, s);
        s = fmaf(f[1], x[q].y, s);
        s = fmaf(f[2], x[q].z, s);
        s = fmaf(f[3], x[q].w, s);
    }
    return s;
}

// The 16 f32 activations of chunk c (x 16-byte aligned), from L1 / L2.
__device__ __forceinline__ void load_x16(const float* x, int64_t c, float4 (&out)[4]) {
    const float4* x4 = reinterpret_cast<const float4*>(x) + 4 * c;
#pragma unroll
    for (int q = 0; q < 4; ++q) out[q] = __ldg(x4 + q);
}

}  // namespace moe::kernels
