// Embedding gather: one block per token, bf16 row widened to f32.
#include "common.cuh"
#include "embedding.h"

namespace moe::kernels {
namespace {

__global__ void embedding_kernel(const uint16_t* __restrict__ table, int64_t vocab, int64_t hidden,
                                 const int32_t* __restrict__ tokens, float* __restrict__ out) {
    pdl_begin();
    const int64_t t = blockIdx.x;
    const int32_t id = tokens[t];
    float* dst = out + t * hidden;
    if (id < 0 || id >= vocab) {
        for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x) dst[i] = __int_as_float(0x7fc00000);
        return;
    }
    const uint16_t* src = table + int64_t(id) * hidden;
    for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x) dst[i] = bf16_bits_to_f32(src[i]);
}

// Grid (column blocks, token blocks), looping over tokens.
__global__ void embedding_backward_kernel(const float* __restrict__ dy, const int32_t* __restrict__ tokens, int64_t T,
                                          int64_t hidden, float* __restrict__ dtable) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= hidden) return;
    for (int64_t t = blockIdx.y; t < T; t += gridDim.y) atomicAdd(dtable + int64_t(tokens[t]) * hidden + c, dy[t * hidden + c]);
}

}  // namespace

cudaError_t embedding_backward_f32(const float* dy, const int32_t* tokens, int64_t T, int64_t hidden, float* dtable,
                                   cudaStream_t stream) {
    if (T <= 0 || hidden <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((embedding_backward_kernel));
    MOE_LAUNCH((embedding_backward_kernel), row_grid(T, hidden), 256, 0, stream, dy, tokens, T, hidden, dtable);
    return cudaGetLastError();
}

cudaError_t embedding_bf16(const uint16_t* table, int64_t vocab, int64_t hidden, const int32_t* tokens, int64_t T,
                           float* out, cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((embedding_kernel));
    MOE_LAUNCH((embedding_kernel), unsigned(T), 256, 0, stream, table, vocab, hidden, tokens, out);
    return cudaGetLastError();
}

}  // namespace moe::kernels
