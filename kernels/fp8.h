// fp8 e4m3 weights with f32 block scales (DeepSeek-V3/R1's checkpoint format, kept as stored on
// the device): W[i, j] = fp8(W8[i, j]) · scale[i / block_rows, j / block_cols].
//
// A stack of `mats` matrices [rows, cols] lies back to back, each with its own scale grid
// [ceil(rows / block_rows), ceil(cols / block_cols)] (an expert set's gate_up: 2E matrices).
// cols % 16 == 0 and block_cols % 16 == 0: a 16-byte chunk of a row lies in one scale block
// (moe_fp8_supported checks it; other shapes are converted to bf16 at load instead).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace moe::kernels {

struct Fp8Stack {
    const uint8_t* w = nullptr;       // [mats, rows, cols]
    const float* scale = nullptr;     // [mats, ceil(rows / br), ceil(cols / bc)]
    int64_t mats = 0, rows = 0, cols = 0;
    int64_t block_rows = 0, block_cols = 0;
};

// The 16-byte-chunk kernels' shape rule.
inline bool fp8_shape_ok(int64_t cols, int64_t block_rows, int64_t block_cols) {
    return cols % 16 == 0 && block_rows > 0 && block_cols > 0 && block_cols % 16 == 0;
}

// out [count, rows, cols] bf16 = matrices first .. first+count-1 of `s`, dequantised (the prefill
// GEMMs' and training's copy of fp8 experts).
cudaError_t fp8_to_bf16(const Fp8Stack& s, int64_t first, int64_t count, uint16_t* out, cudaStream_t stream);

// dst[i] = fp8 code of uniform[-1, 1) (counter_rng's stream with `seed`): synthetic fp8 weights
// whose scale grid, filled with the wanted magnitude, makes them like fill_random_bf16's.
cudaError_t fill_random_fp8(uint8_t* dst, int64_t n, uint64_t seed, cudaStream_t stream);

}  // namespace moe::kernels
