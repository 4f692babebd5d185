// The optimiser's ops on the GPU (CPU twin: engine/cpu/cpu_optimizer.cpp): the sum of squares for
// global-norm clipping and AdamW with PyTorch's semantics, all state f32.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace moe::kernels {

// Σ x² in f64: sum_squares_blocks(n) blocks each write one partial sum to partials[block]; the host
// adds them in order (deterministic).
int sum_squares_blocks(int64_t n);
cudaError_t sum_squares_partials(const float* x, int64_t n, double* partials, cudaStream_t stream);

// One AdamW step in place, element by element in the CPU's order of operations:
//   g' = g · grad_scale; p ← p · decay; m ← m + (g' − m)(1 − β1); v ← β2 v + (1 − β2) g'²;
//   p ← p − step_size · m / (sqrt(v) / bc2_sqrt + eps)
struct AdamWArgs {
    float decay = 1.0f;      // 1 − lr · weight_decay
    float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
    float step_size = 0.0f;  // lr / (1 − β1^t)
    float bc2_sqrt = 1.0f;   // sqrt(1 − β2^t)
    float grad_scale = 1.0f;
};
cudaError_t adamw_f32(float* p, const float* g, float* m, float* v, int64_t n, const AdamWArgs& args,
                      cudaStream_t stream);

}  // namespace moe::kernels
