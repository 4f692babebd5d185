// Elementwise kernels (CPU twin: engine/cpu/cpu_elementwise.cpp for add; the conversions and
// fills have no CPU op, they serve the CUDA backend and the benchmark). Slices and concatenation
// are strided copies (cudaMemcpy2DAsync) in the engine, no kernel needed.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace moe::kernels {

// y[i] += x[i], n elements.
cudaError_t add_inplace_f32(float* y, const float* x, int64_t n, cudaStream_t stream);

// dst [rows, cols] bf16 (row stride ld_dst) = round-to-nearest-even(src [rows, cols] f32, row stride ld_src).
cudaError_t f32_to_bf16_2d(const float* src, int64_t ld_src, int64_t rows, int64_t cols, uint16_t* dst,
                           int64_t ld_dst, cudaStream_t stream);

// out [rows, inter] bf16 = silu(g) * u with g = gu[r, 0:inter], u = gu[r, inter:2 inter] (f32 [rows, 2 inter]).
cudaError_t silu_mul_to_bf16(const float* gu, int64_t rows, int64_t inter, uint16_t* out, cudaStream_t stream);
// The same with bf16 gate/up rows gu [rows, 2 inter] (the prefill GEMMs write bf16 when the next op
// rounds to bf16 anyway).
cudaError_t silu_mul_bf16_to_bf16(const uint16_t* gu, int64_t rows, int64_t inter, uint16_t* out, cudaStream_t stream);

// Deterministic pseudo-random bf16 values, uniform in [-scale, scale): element i depends only on
// (seed, i). For synthetic benchmark weights made directly on the device.
cudaError_t fill_random_bf16(uint16_t* dst, int64_t n, uint64_t seed, float scale, cudaStream_t stream);
// The same for f32, uniform in [center - scale, center + scale).
cudaError_t fill_random_f32(float* dst, int64_t n, uint64_t seed, float center, float scale, cudaStream_t stream);

// *counter += delta (a device scalar, e.g. the decode position inside a CUDA graph).
cudaError_t add_scalar_i32(int32_t* counter, int32_t delta, cudaStream_t stream);

}  // namespace moe::kernels
