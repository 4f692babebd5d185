// The optimiser's ops on the GPU (CPU twin: engine/cpu/cpu_optimizer.cpp): the sum of squares for
// global-norm clipping and AdamW with PyTorch's semantics, all state f32.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

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

// ---- many tensors in one launch (a training step has hundreds of parameters: one launch each
// cost more host time than the GPU needs for their bytes). The tensors are cut into chunks of at
// most kMultiChunk elements, one block each; tables in device memory.
inline constexpr int64_t kMultiChunk = 65536;
struct MultiChunk {
    int32_t tensor = 0;          // index into the call's tensor table
    int64_t start = 0, end = 0;  // its elements [start, end)
};
// The chunks of tensors of these sizes, tensor by tensor, in element order (empty tensors: none).
std::vector<MultiChunk> multi_chunks(const std::vector<int64_t>& sizes);

// adamw_f32 on each tensor with its own decay (1 − lr · its weight decay) and the shared args
// (args.decay unused): the same operations element by element, so the same results.
struct AdamWTensor {
    float* p = nullptr;
    const float* g = nullptr;
    float* m = nullptr;
    float* v = nullptr;
    float decay = 1.0f;
};
cudaError_t adamw_f32_many(const AdamWTensor* tensors, const MultiChunk* chunks, int64_t n_chunks,
                           const AdamWArgs& args, cudaStream_t stream);
// partials[c] = Σ over chunk c of x² in f64 (the host adds them: per tensor in chunk order, then
// the tensors in order).
cudaError_t sum_squares_many_partials(const float* const* xs, const MultiChunk* chunks, int64_t n_chunks, double* partials,
                                      cudaStream_t stream);
// dst[t][i] = bf16(src[t][i]) (round to nearest even) for every element of every tensor: the device
// copies of trainable weights after an optimiser step.
struct ToBf16Tensor {
    const float* src = nullptr;
    uint16_t* dst = nullptr;
};
cudaError_t f32_to_bf16_many(const ToBf16Tensor* tensors, const MultiChunk* chunks, int64_t n_chunks, cudaStream_t stream);
// Every element of every tensor set to 0.
cudaError_t zero_f32_many(float* const* xs, const MultiChunk* chunks, int64_t n_chunks, cudaStream_t stream);

}  // namespace moe::kernels
