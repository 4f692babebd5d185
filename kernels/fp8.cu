// fp8 e4m3 block-scaled weights: dequantisation to bf16 and synthetic fill (kernels/fp8.h).
#include "counter_rng.h"
#include "fp8.h"
#include "fp8_common.cuh"

namespace moe::kernels {
namespace {

// Thread per 16-byte chunk (16 codes) of the selected matrices; two 16-byte bf16 stores. Index
// arithmetic in 32 bits per matrix (a 64-bit division costs ~70 instructions): the grid's y walks
// the matrices, x the chunks of one.
__global__ void fp8_to_bf16_kernel(Fp8Stack s, int64_t first, uint16_t* __restrict__ out) {
    pdl_begin();
    const unsigned chunks_per_row = unsigned(s.cols / 16), chunks = unsigned(s.rows) * chunks_per_row;
    const unsigned nbr = unsigned((s.rows + s.block_rows - 1) / s.block_rows);
    const unsigned nbc = unsigned((s.cols + s.block_cols - 1) / s.block_cols);
    const unsigned br = unsigned(s.block_rows), cpb = unsigned(s.block_cols / 16);
    const int64_t m = first + blockIdx.y;
    const uint8_t* w = s.w + m * s.rows * s.cols;
    const float* scale = s.scale + m * int64_t(nbr) * nbc;
    uint16_t* dst_matrix = out + int64_t(blockIdx.y) * s.rows * s.cols;
    for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < chunks; i += gridDim.x * blockDim.x) {
        const unsigned r = i / chunks_per_row, c = i - r * chunks_per_row;
        const float sc = scale[(r / br) * nbc + c / cpb];
        const uint4 v = *reinterpret_cast<const uint4*>(w + int64_t(i) * 16);
        const uint32_t words[4] = {v.x, v.y, v.z, v.w};
        uint32_t packed[8];
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            float f[4];
            fp8x4_to_f32_unscaled(words[q], f);
#pragma unroll
            for (float& v : f) v = (v * kFp8Unscale) * sc;  // the exact e4m3 value, then its scale
            packed[2 * q] = uint32_t(f32_to_bf16_bits(f[0])) | (uint32_t(f32_to_bf16_bits(f[1])) << 16);
            packed[2 * q + 1] = uint32_t(f32_to_bf16_bits(f[2])) | (uint32_t(f32_to_bf16_bits(f[3])) << 16);
        }
        uint4* dst = reinterpret_cast<uint4*>(dst_matrix + int64_t(i) * 16);
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
    const int64_t chunks = s.rows * s.cols / 16;  // per matrix
    if (chunks >= (int64_t(1) << 32) || count > 65535) return cudaErrorInvalidValue;
    const unsigned per_matrix = unsigned(chunks / 256 + 1 < 1024 ? chunks / 256 + 1 : 1024);
    MOE_PREFER_SHARED((fp8_to_bf16_kernel));
    MOE_LAUNCH((fp8_to_bf16_kernel), dim3(per_matrix, unsigned(count)), 256, 0, stream, s, first, out);
    return cudaGetLastError();
}

cudaError_t fill_random_fp8(uint8_t* dst, int64_t n, uint64_t seed, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((fill_fp8_kernel));
    MOE_LAUNCH((fill_fp8_kernel), 4096, 256, 0, stream, dst, n, seed);
    return cudaGetLastError();
}

}  // namespace moe::kernels
