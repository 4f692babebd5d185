// RMSNorm and the fused residual-add + RMSNorm (CPU twin: engine/cpu/cpu_rmsnorm.cpp).
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

// Backward (CpuBackend::rmsnorm_backward), a block per row: with r = 1/sqrt(mean(x²) + eps) and
// g = w ⊙ dy, dx = r·g − r³·x·(Σ_j g_j x_j)/C; inv_rms [T] receives r for the weight gradient
// (dweight += Σ_t dy ⊙ x·r, linear.h column_sum_into).
cudaError_t rmsnorm_backward_f32(const float* x, const float* w, const float* dy, int64_t T, int64_t C, float eps,
                                 float* dx, float* inv_rms, cudaStream_t stream);

}  // namespace moe::kernels
