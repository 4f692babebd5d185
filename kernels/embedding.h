// Embedding lookup on the GPU (CPU twin: engine/cpu/cpu_linear.cpp, CpuBackend::embedding).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace moe::kernels {

// out [T, hidden] f32 = table[tokens[t]] (table bf16 [vocab, hidden]). tokens is device memory.
// Ids outside [0, vocab) give a NaN row (the host checks ids it knows; device-sampled ids are valid).
cudaError_t embedding_bf16(const uint16_t* table, int64_t vocab, int64_t hidden, const int32_t* tokens, int64_t T,
                           float* out, cudaStream_t stream);

// Backward: dtable [vocab, hidden] += dy [T, hidden] scattered to the rows of tokens (device ids the
// host has checked). Atomic adds, so a token seen twice sums its rows (in no fixed order).
cudaError_t embedding_backward_f32(const float* dy, const int32_t* tokens, int64_t T, int64_t hidden, float* dtable,
                                   cudaStream_t stream);

}  // namespace moe::kernels
