// Rotary position embedding, in place (CPU twin: engine/cpu/cpu_rope.cpp).
//   theta_i = pos * inv_freq[i];  y_a = x_a cos - x_b sin;  y_b = x_b cos + x_a sin  (cos, sin × attention_factor)
//   (a, b) = (2i, 2i+1) interleaved (DeepSeek) or (i, i + dim/2) NeoX halves (Qwen2).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace moe::kernels {

struct RopeArgs {
    float* x = nullptr;            // [T, n_heads * head_stride]
    int64_t T = 0;
    int64_t n_heads = 1;
    int64_t head_stride = 0;
    int64_t offset = 0;            // first rotary column inside a head
    const float* inv_freq = nullptr;  // device [dim / 2]
    int64_t dim = 0;
    float attention_factor = 1.0f;
    bool interleaved = true;
    int64_t start_pos = 0;         // position of row 0 ...
    const int32_t* dev_pos = nullptr;  // ... or read from device memory (decode graphs) when set
    // Training (CpuBackend::rope_rows): row t at positions[t] (device [T]) instead of the above, and
    // inverse rotates by −θ (rope's backward).
    const int32_t* positions = nullptr;
    bool inverse = false;
};

cudaError_t rope_f32(const RopeArgs& args, cudaStream_t stream);

}  // namespace moe::kernels
