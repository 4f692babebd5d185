// RMSNorm and the fused residual-add + RMSNorm (CPU twin: engine/model/cpu_rmsnorm.cpp).
//   y = w * (x * 1/sqrt(mean(x²) + eps)), f32 in and out, one block per row.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace moe::kernels {

// x, y [T, C] (row strides ldx, ldy), w [C].
cudaError_t rmsnorm_f32(const float* x, int64_t ldx, const float* w, int64_t T, int64_t C, float eps, float* y,
                        int64_t ldy, cudaStream_t stream);

// residual [T, C] += x [T, C] (in place), then y = rmsnorm(residual).
cudaError_t add_rmsnorm_f32(float* residual, const float* x, const float* w, int64_t T, int64_t C, float eps,
                            float* y, cudaStream_t stream);

// The pre-norm residual step as the epilogue of a kernel that produced an update `delta` [T, C]
// (the o projection, the FFN / MoE down projection): the last block of that kernel to finish does
// residual += delta and out = rmsnorm(residual), so no separate norm kernel runs. The last block is
// found with `counter`, a device word that is 0 between kernels (the epilogue resets it).
struct ResidualNormEpilogue {
    float* residual = nullptr;     // [T, C]; nullptr: no epilogue
    const float* weight = nullptr; // [C]
    float eps = 0.0f;
    float* out = nullptr;          // [T, C]
    int64_t T = 0, C = 0;
    unsigned* counter = nullptr;
};

}  // namespace moe::kernels
