// fp8 e4m3 block-scaled weights: dequantisation to bf16 and synthetic fill (kernels/fp8.h).
#include "counter_rng.h"
#include "fp8.h"
#include "fp8_common.cuh"

namespace moe::kernels {
namespace {

// Thread per 16-byte chunk (16 codes) of the selected matrices; two 16-byte bf16 stores.
__global__ void fp8_to_bf16_kernel(Fp8Stack s, int64_t first, int64_t count, uint16_t* __restrict__ out) {
    pdl_begin();
    const int64_t chunks_per_row = s.cols / 16, rows = count * s.rows;
    const int64_t nbr = (s.rows + s.block_rows - 1) / s.block_rows, nbc = (s.cols + s.block_cols - 1) / s.block_cols;
    const int64_t n = rows * chunks_per_row;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t row = i / chunks_per_row, c = i - row * chunks_per_row;  // row within the selection
        const int64_t m = first + row / s.rows, r = row % s.rows;
        const float scale = s.scale[(m * nbr + r / s.block_rows) * nbc + (16 * c) / s.block_cols];
        const uint4 w = *reinterpret_cast<const uint4*>(s.w + (m * s.rows + r) * s.cols + 16 * c);
        const uint32_t words[4] = {w.x, w.y, w.z, w.w};
        uint32_t packed[8];
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            float f[4];
            fp8x4_to_f32(words[q], f);
            packed[2 * q] = uint32_t(f32_to_bf16_bits(f[0] * scale)) | (uint32_t(f32_to_bf16_bits(f[1] * scale)) << 16);
            packed[2 * q + 1] = uint32_t(f32_to_bf16_bits(f[2] * scale)) | (uint32_t(f32_to_bf16_bits(f[3] * scale)) << 16);
        }
        uint4* dst = reinterpret_cast<uint4*>(out + row * s.cols + 16 * c);
        dst[0] = make_uint4(packed[0], packed[1], packed[2], packed[3]);
        dst[1] = make_uint4(packed[4], packed[5], packed[6], packed[7]);
    }
}

__global__ void fill_fp8_kernel(uint8_t* __restrict__ dst, int64_t n, uint64_t seed) {
    pdl_begin();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        dst[i] = __nv_cvt_float_to_fp8(2.0f * rng::uniform(seed, uint64_t(i)) - 1.0f, __NV_SATFINITE, __NV_E4M3);
}

}  // namespace

cudaError_t fp8_to_bf16(const Fp8Stack& s, int64_t first, int64_t count, uint16_t* out, cudaStream_t stream) {
    if (count <= 0 || s.rows * s.cols <= 0) return cudaSuccess;
    if (!fp8_shape_ok(s.cols, s.block_rows, s.block_cols) || first < 0 || first + count > s.mats ||
        reinterpret_cast<uintptr_t>(s.w) % 16 || reinterpret_cast<uintptr_t>(out) % 16)
        return cudaErrorInvalidValue;
    const int64_t chunks = count * s.rows * s.cols / 16;
    const unsigned blocks = unsigned(chunks / 256 + 1 < 8192 ? chunks / 256 + 1 : 8192);
    MOE_PREFER_SHARED((fp8_to_bf16_kernel));
    MOE_LAUNCH((fp8_to_bf16_kernel), blocks, 256, 0, stream, s, first, count, out);
    return cudaGetLastError();
}

cudaError_t fill_random_fp8(uint8_t* dst, int64_t n, uint64_t seed, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((fill_fp8_kernel));
    MOE_LAUNCH((fill_fp8_kernel), 4096, 256, 0, stream, dst, n, seed);
    return cudaGetLastError();
}

}  // namespace moe::kernels
