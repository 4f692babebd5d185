// Elementwise kernels (CPU twin: engine/cpu/cpu_elementwise.cpp for add and the training helpers;
// the conversions and fills have no CPU op, they serve the CUDA backend and the benchmark). Slices
// and concatenation are strided copies (cudaMemcpy2DAsync) in the engine, no kernel needed.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace moe::kernels {

// y[i] += x[i], n elements.
cudaError_t add_inplace_f32(float* y, const float* x, int64_t n, cudaStream_t stream);
// out[i] = a[i] + b[i], n elements (out may be a, as add_inplace_f32 uses it; not b).
cudaError_t add_f32(const float* a, const float* b, int64_t n, float* out, cudaStream_t stream);

// dst [rows, cols] bf16 (row stride ld_dst) = round-to-nearest-even(src [rows, cols] f32, row stride ld_src).
cudaError_t f32_to_bf16_2d(const float* src, int64_t ld_src, int64_t rows, int64_t cols, uint16_t* dst,
                           int64_t ld_dst, cudaStream_t stream);

// dst [n] f32 = src [n] bf16, exact (f32 copies of bf16 weights for f32 GEMMs: the training router logits).
cudaError_t bf16_to_f32(const uint16_t* src, int64_t n, float* dst, cudaStream_t stream);

// out [rows, inter] bf16 = silu(g) * u with g = gu[r, 0:inter], u = gu[r, inter:2 inter] (f32 [rows, 2 inter]).
cudaError_t silu_mul_to_bf16(const float* gu, int64_t rows, int64_t inter, uint16_t* out, cudaStream_t stream);
// silu_mul_to_bf16 that also stores gu in bf16 (gu_keep [rows, 2 inter]) on the same pass: the
// training forward keeps the gate/up rows for the backward.
cudaError_t silu_mul_keep_bf16(const float* gu, int64_t rows, int64_t inter, uint16_t* out, uint16_t* gu_keep,
                               cudaStream_t stream);
// The same with bf16 gate/up rows gu [rows, 2 inter] (the prefill GEMMs write bf16 when the next op
// rounds to bf16 anyway).
cudaError_t silu_mul_bf16_to_bf16(const uint16_t* gu, int64_t rows, int64_t inter, uint16_t* out, cudaStream_t stream);

// Deterministic pseudo-random bf16 values, uniform in [-scale, scale): element i depends only on
// (seed, i). For synthetic benchmark weights made directly on the device.
cudaError_t fill_random_bf16(uint16_t* dst, int64_t n, uint64_t seed, float scale, cudaStream_t stream);
// The same for f32, uniform in [center - scale, center + scale).
cudaError_t fill_random_f32(float* dst, int64_t n, uint64_t seed, float center, float scale, cudaStream_t stream);

// Up to kMaxCopySegments device arrays of 4-byte words packed into one buffer: segment i's
// words[i] words from src[i] land at dst + offset[i] words (a decode step's outputs, so that one
// copy brings them all to the host).
constexpr int kMaxCopySegments = 64;
struct CopySegments {
    const void* src[kMaxCopySegments];
    uint32_t offset[kMaxCopySegments];
    uint32_t words[kMaxCopySegments];
    int n = 0;
};
cudaError_t gather_segments(const CopySegments& c, void* dst, cudaStream_t stream);

// *counter += delta (a device scalar, e.g. the decode position inside a CUDA graph).
cudaError_t add_scalar_i32(int32_t* counter, int32_t delta, cudaStream_t stream);

// ---- training helpers (CpuBackend::scale_add, scale_inplace, gather_rows, scatter_add_rows, dropout) ----

// y[i] += a * x[i], n elements.
cudaError_t scale_add_f32(float* y, const float* x, float a, int64_t n, cudaStream_t stream);
// x[i] *= a, n elements.
cudaError_t scale_f32(float* x, float a, int64_t n, cudaStream_t stream);
// out[i] = x[i] * rng::dropout_scale(seed, i, p) (kernels/counter_rng.h: the CPU's mask), n elements.
cudaError_t dropout_f32(const float* x, int64_t n, float p, uint64_t seed, float* out, cudaStream_t stream);

// Row indices are checked on the device: an index outside [0, rows) gives a NaN output row (gather)
// or adds nothing (scatter), and writes `code` to *bad (mapped host memory, read by the backend at
// its next synchronisation; engine/cuda/cuda_context.h).
// out [n, C] = x [rows, C] at rows idx[0..n).
cudaError_t gather_rows_f32(const float* x, int64_t rows, int64_t C, const int32_t* idx, int64_t n, float* out,
                            int* bad, int code, cudaStream_t stream);
// dst [rows, C]: dst[idx[i]] += src[i] for src [n, C] (atomic adds: repeated indices sum up, in no fixed order).
cudaError_t scatter_add_rows_f32(const float* src, int64_t n, int64_t C, const int32_t* idx, float* dst, int64_t rows,
                                 int* bad, int code, cudaStream_t stream);

}  // namespace moe::kernels
