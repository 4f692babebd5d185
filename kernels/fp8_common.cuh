// Device helpers for fp8 e4m3 weights (kernels/fp8.cu, the fp8 expert kernels in moe_fp8.cu).
#pragma once

#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include "common.cuh"

namespace moe::kernels {

// The 4 e4m3 codes of a 32-bit word, widened to f32 (exact: every e4m3 value is an f16 value).
__device__ __forceinline__ void fp8x4_to_f32(uint32_t w, float (&f)[4]) {
    const __half2_raw lo = __nv_cvt_fp8x2_to_halfraw2(__nv_fp8x2_storage_t(w & 0xffffu), __NV_E4M3);
    const __half2_raw hi = __nv_cvt_fp8x2_to_halfraw2(__nv_fp8x2_storage_t(w >> 16), __NV_E4M3);
    const float2 a = __half22float2(__half2(lo)), b = __half22float2(__half2(hi));
    f[0] = a.x;
    f[1] = a.y;
    f[2] = b.x;
    f[3] = b.y;
}

// Σ w[i] · x[i] over the 16 e4m3 codes of a 16-byte word and 16 f32 activations. The block scale
// multiplies the sum, once per chunk.
__device__ __forceinline__ float fp8_dot16(const uint4& w, const float4 (&x)[4]) {
    const uint32_t words[4] = {w.x, w.y, w.z, w.w};
    float s = 0.0f;
#pragma unroll
    for (int q = 0; q < 4; ++q) {
        float f[4];
        fp8x4_to_f32(words[q], f);
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
