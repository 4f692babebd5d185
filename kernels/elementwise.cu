#include "common.cuh"
#include "counter_rng.h"
#include "elementwise.h"

namespace moe::kernels {
namespace {

// out = a + b, four elements a thread (n % 4 == 0, every pointer 16-byte aligned; else
// add_out_kernel). out may be a (add_inplace: each element is read before the same thread writes
// it), so neither is __restrict__.
__global__ void add_x4_kernel(const float4* a, const float4* __restrict__ b, int64_t n4, float4* out) {
    pdl_begin();
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n4) return;
    const float4 x = a[i], y = b[i];
    out[i] = make_float4(x.x + y.x, x.y + y.y, x.z + y.z, x.w + y.w);
}

__global__ void add_out_kernel(const float* a, const float* __restrict__ b, int64_t n, float* out) {
    pdl_begin();
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) out[i] = a[i] + b[i];
}

// Row-wise kernels use grid (column blocks, row blocks) and loop over rows: no per-element division.
__global__ void to_bf16_kernel(const float* __restrict__ src, int64_t ld_src, int64_t rows, int64_t cols,
                               uint16_t* __restrict__ dst, int64_t ld_dst) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) dst[r * ld_dst + c] = f32_to_bf16_bits(src[r * ld_src + c]);
}

// Four columns per thread: a float4 in, one 8-byte bf16 store out (the prefill's bf16 GEMM inputs
// moved at 1-2 TB/s one element per thread).
__global__ void to_bf16_x4_kernel(const float* __restrict__ src, int64_t ld_src, int64_t rows, int64_t cols,
                                  uint16_t* __restrict__ dst, int64_t ld_dst) {
    pdl_begin();
    const int64_t c = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * 4;
    if (c >= cols) return;
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
        const float4 v = *reinterpret_cast<const float4*>(src + r * ld_src + c);
        store_bf16x4(dst + r * ld_dst + c, v.x, v.y, v.z, v.w);
    }
}

// gu_keep (may be null): the gate|up rows stored in bf16 too ([rows, 2I]) while they are read (the
// training forward keeps them for the backward).
__global__ void silu_mul_x4_kernel(const float* __restrict__ gu, int64_t rows, int64_t inter, uint16_t* __restrict__ out,
                                   uint16_t* __restrict__ gu_keep) {
    pdl_begin();
    const int64_t c = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * 4;
    if (c >= inter) return;
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
        const float4 g = *reinterpret_cast<const float4*>(gu + r * 2 * inter + c);
        const float4 u = *reinterpret_cast<const float4*>(gu + r * 2 * inter + inter + c);
        if (gu_keep) {
            store_bf16x4(gu_keep + r * 2 * inter + c, g.x, g.y, g.z, g.w);
            store_bf16x4(gu_keep + r * 2 * inter + inter + c, u.x, u.y, u.z, u.w);
        }
        store_bf16x4(out + r * inter + c, silu(g.x) * u.x, silu(g.y) * u.y, silu(g.z) * u.z, silu(g.w) * u.w);
    }
}

__global__ void silu_mul_kernel(const float* __restrict__ gu, int64_t rows, int64_t inter, uint16_t* __restrict__ out) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= inter) return;
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
        const float g = gu[r * 2 * inter + c], u = gu[r * 2 * inter + inter + c];
        out[r * inter + c] = f32_to_bf16_bits(silu(g) * u);
    }
}

// The same from bf16 gate/up rows (cuBLAS writing bf16: half the bytes of the f32 pass above).
__global__ void silu_mul_bf16_x4_kernel(const uint16_t* __restrict__ gu, int64_t rows, int64_t inter,
                                        uint16_t* __restrict__ out) {
    pdl_begin();
    const int64_t c = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * 4;
    if (c >= inter) return;
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
        const uint2 g = *reinterpret_cast<const uint2*>(gu + r * 2 * inter + c);
        const uint2 u = *reinterpret_cast<const uint2*>(gu + r * 2 * inter + inter + c);
        const float g0 = __uint_as_float(g.x << 16), g1 = __uint_as_float(g.x & 0xffff0000u);
        const float g2 = __uint_as_float(g.y << 16), g3 = __uint_as_float(g.y & 0xffff0000u);
        const float u0 = __uint_as_float(u.x << 16), u1 = __uint_as_float(u.x & 0xffff0000u);
        const float u2 = __uint_as_float(u.y << 16), u3 = __uint_as_float(u.y & 0xffff0000u);
        store_bf16x4(out + r * inter + c, silu(g0) * u0, silu(g1) * u1, silu(g2) * u2, silu(g3) * u3);
    }
}

__global__ void silu_mul_bf16_kernel(const uint16_t* __restrict__ gu, int64_t rows, int64_t inter,
                                     uint16_t* __restrict__ out) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= inter) return;
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
        const float g = bf16_bits_to_f32(gu[r * 2 * inter + c]), u = bf16_bits_to_f32(gu[r * 2 * inter + inter + c]);
        out[r * inter + c] = f32_to_bf16_bits(silu(g) * u);
    }
}

// Uniform in [-1, 1) from counter_rng.h's stream, the one the CPU's Backend::random_weight and
// random_tensor draw from: a random model (LoRA on a random base, the tests' step comparison) is
// then the same numbers on both backends. (Until 2026-12-06 this used its own mix of seed and
// index, so CPU and CUDA random weights differed.)
__device__ __forceinline__ float uniform_pm1(uint64_t seed, int64_t i) {
    return 2.0f * rng::uniform(seed, uint64_t(i)) - 1.0f;
}

__global__ void fill_bf16_kernel(uint16_t* __restrict__ dst, int64_t n, uint64_t seed, float scale) {
    pdl_begin();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        dst[i] = f32_to_bf16_bits(scale * uniform_pm1(seed, i));
}

__global__ void fill_f32_kernel(float* __restrict__ dst, int64_t n, uint64_t seed, float center, float scale) {
    pdl_begin();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        dst[i] = center + scale * uniform_pm1(seed, i);
}

// Grid (segments, blocks per segment): each block strides over its segment's words.
__global__ void gather_segments_kernel(CopySegments c, uint32_t* __restrict__ dst) {
    pdl_begin();
    const int i = blockIdx.x;
    const uint32_t* src = static_cast<const uint32_t*>(c.src[i]);
    uint32_t* out = dst + c.offset[i];
    for (uint32_t k = blockIdx.y * blockDim.x + threadIdx.x; k < c.words[i]; k += gridDim.y * blockDim.x) out[k] = src[k];
}

__global__ void add_scalar_kernel(int32_t* counter, int32_t delta) {
    pdl_begin(); *counter += delta; }

// ---- training helpers ------------------------------------------------------------------------
// Grid-stride loops over a capped grid: tensors of any size (embedding-table gradients exceed 2^31 elements
// in no model we load, but the loop costs nothing).
constexpr unsigned kMaxFlatBlocks = 8192;
inline unsigned flat_blocks(int64_t n) { return ceil_div(n, 256) < kMaxFlatBlocks ? ceil_div(n, 256) : kMaxFlatBlocks; }

__global__ void scale_add_kernel(float* __restrict__ y, const float* __restrict__ x, float a, int64_t n) {
    pdl_begin();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        y[i] += a * x[i];
}

__global__ void scale_kernel(float* __restrict__ x, float a, int64_t n) {
    pdl_begin();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        x[i] *= a;
}

__global__ void bf16_to_f32_kernel(const uint16_t* __restrict__ src, int64_t n, float* __restrict__ dst) {
    pdl_begin();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        dst[i] = bf16_bits_to_f32(src[i]);
}

__global__ void dropout_kernel(const float* __restrict__ x, int64_t n, float p, uint64_t seed, float* __restrict__ out) {
    pdl_begin();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        out[i] = x[i] * rng::dropout_scale(seed, uint64_t(i), p);
}

// Grid (column blocks, row blocks) looping over the index rows.
__global__ void gather_rows_kernel(const float* __restrict__ x, int64_t rows, int64_t C, const int32_t* __restrict__ idx,
                                   int64_t n, float* __restrict__ out, int* bad, int code) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= C) return;
    for (int64_t i = blockIdx.y; i < n; i += gridDim.y) {
        const int64_t r = idx[i];
        if (r < 0 || r >= rows) {
            out[i * C + c] = __int_as_float(0x7fc00000);
            if (c == 0) *reinterpret_cast<volatile int*>(bad) = code;  // a plain store: mapped host memory
            continue;
        }
        out[i * C + c] = x[r * C + c];
    }
}

__global__ void scatter_add_rows_kernel(const float* __restrict__ src, int64_t n, int64_t C,
                                        const int32_t* __restrict__ idx, float* __restrict__ dst, int64_t rows, int* bad,
                                        int code) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= C) return;
    for (int64_t i = blockIdx.y; i < n; i += gridDim.y) {
        const int64_t r = idx[i];
        if (r < 0 || r >= rows) {
            if (c == 0) *reinterpret_cast<volatile int*>(bad) = code;  // a plain store: mapped host memory
            continue;
        }
        atomicAdd(dst + r * C + c, src[i * C + c]);
    }
}

}  // namespace

cudaError_t add_inplace_f32(float* y, const float* x, int64_t n, cudaStream_t stream) {
    return add_f32(y, x, n, y, stream);  // y + x into y: the same bits as y += x
}

cudaError_t add_f32(const float* a, const float* b, int64_t n, float* out, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    if (n % 4 == 0 && aligned16(a) && aligned16(b) && aligned16(out)) {
        MOE_PREFER_SHARED((add_x4_kernel));
        MOE_LAUNCH((add_x4_kernel), ceil_div(n / 4, 256), 256, 0, stream, reinterpret_cast<const float4*>(a),
                   reinterpret_cast<const float4*>(b), n / 4, reinterpret_cast<float4*>(out));
        return cudaGetLastError();
    }
    MOE_PREFER_SHARED((add_out_kernel));
    MOE_LAUNCH((add_out_kernel), ceil_div(n, 256), 256, 0, stream, a, b, n, out);
    return cudaGetLastError();
}

cudaError_t f32_to_bf16_2d(const float* src, int64_t ld_src, int64_t rows, int64_t cols, uint16_t* dst, int64_t ld_dst,
                           cudaStream_t stream) {
    if (rows * cols <= 0) return cudaSuccess;
    // A contiguous matrix is one long row: a narrow one (every expert's LoRA B, [E·out, 16]) would
    // otherwise leave 252 of each block's 256 threads idle (81 µs instead of ~3 for moonlight's).
    if (rows > 1 && ld_src == cols && ld_dst == cols)
        return f32_to_bf16_2d(src, rows * cols, 1, rows * cols, dst, rows * cols, stream);
    if (rows_vec4(src, ld_src, dst, ld_dst, cols)) {
        MOE_PREFER_SHARED((to_bf16_x4_kernel));
        MOE_LAUNCH((to_bf16_x4_kernel), row_grid(rows, cols, 4), 256, 0, stream, src, ld_src, rows, cols, dst, ld_dst);
        return cudaGetLastError();
    }
    MOE_PREFER_SHARED((to_bf16_kernel));
    MOE_LAUNCH((to_bf16_kernel), row_grid(rows, cols), 256, 0, stream, src, ld_src, rows, cols, dst, ld_dst);
    return cudaGetLastError();
}

cudaError_t silu_mul_to_bf16(const float* gu, int64_t rows, int64_t inter, uint16_t* out, cudaStream_t stream) {
    if (rows * inter <= 0) return cudaSuccess;
    if (rows_vec4(gu, 2 * inter, out, inter, inter)) {
        MOE_PREFER_SHARED((silu_mul_x4_kernel));
        MOE_LAUNCH((silu_mul_x4_kernel), row_grid(rows, inter, 4), 256, 0, stream, gu, rows, inter, out, nullptr);
        return cudaGetLastError();
    }
    MOE_PREFER_SHARED((silu_mul_kernel));
    MOE_LAUNCH((silu_mul_kernel), row_grid(rows, inter), 256, 0, stream, gu, rows, inter, out);
    return cudaGetLastError();
}

cudaError_t silu_mul_keep_bf16(const float* gu, int64_t rows, int64_t inter, uint16_t* out, uint16_t* gu_keep,
                               cudaStream_t stream) {
    if (rows * inter <= 0) return cudaSuccess;
    if (rows_vec4(gu, 2 * inter, out, inter, inter) && reinterpret_cast<uintptr_t>(gu_keep) % 8 == 0) {
        MOE_PREFER_SHARED((silu_mul_x4_kernel));
        MOE_LAUNCH((silu_mul_x4_kernel), row_grid(rows, inter, 4), 256, 0, stream, gu, rows, inter, out, gu_keep);
        return cudaGetLastError();
    }
    const cudaError_t e = silu_mul_to_bf16(gu, rows, inter, out, stream);
    return e != cudaSuccess ? e : f32_to_bf16_2d(gu, 2 * inter, rows, 2 * inter, gu_keep, 2 * inter, stream);
}

cudaError_t silu_mul_bf16_to_bf16(const uint16_t* gu, int64_t rows, int64_t inter, uint16_t* out, cudaStream_t stream) {
    if (rows * inter <= 0) return cudaSuccess;
    if (inter % 4 == 0 && reinterpret_cast<uintptr_t>(gu) % 8 == 0 && reinterpret_cast<uintptr_t>(out) % 8 == 0) {
        MOE_PREFER_SHARED((silu_mul_bf16_x4_kernel));
        MOE_LAUNCH((silu_mul_bf16_x4_kernel), row_grid(rows, inter, 4), 256, 0, stream, gu, rows, inter, out);
        return cudaGetLastError();
    }
    MOE_PREFER_SHARED((silu_mul_bf16_kernel));
    MOE_LAUNCH((silu_mul_bf16_kernel), row_grid(rows, inter), 256, 0, stream, gu, rows, inter, out);
    return cudaGetLastError();
}

cudaError_t fill_random_bf16(uint16_t* dst, int64_t n, uint64_t seed, float scale, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((fill_bf16_kernel));
    MOE_LAUNCH((fill_bf16_kernel), 4096, 256, 0, stream, dst, n, seed, scale);
    return cudaGetLastError();
}

cudaError_t fill_random_f32(float* dst, int64_t n, uint64_t seed, float center, float scale, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((fill_f32_kernel));
    MOE_LAUNCH((fill_f32_kernel), 1024, 256, 0, stream, dst, n, seed, center, scale);
    return cudaGetLastError();
}

cudaError_t gather_segments(const CopySegments& c, void* dst, cudaStream_t stream) {
    if (c.n <= 0) return cudaSuccess;
    if (c.n > kMaxCopySegments) return cudaErrorInvalidValue;
    uint32_t most = 0;
    for (int i = 0; i < c.n; ++i) most = c.words[i] > most ? c.words[i] : most;
    const unsigned per_segment = unsigned(most / 4096 + 1 < 64 ? most / 4096 + 1 : 64);
    MOE_PREFER_SHARED((gather_segments_kernel));
    MOE_LAUNCH((gather_segments_kernel), dim3(unsigned(c.n), per_segment), 256, 0, stream, c, static_cast<uint32_t*>(dst));
    return cudaGetLastError();
}

cudaError_t add_scalar_i32(int32_t* counter, int32_t delta, cudaStream_t stream) {
    MOE_PREFER_SHARED((add_scalar_kernel));
    MOE_LAUNCH((add_scalar_kernel), 1, 1, 0, stream, counter, delta);
    return cudaGetLastError();
}

cudaError_t scale_add_f32(float* y, const float* x, float a, int64_t n, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((scale_add_kernel));
    MOE_LAUNCH((scale_add_kernel), flat_blocks(n), 256, 0, stream, y, x, a, n);
    return cudaGetLastError();
}

cudaError_t scale_f32(float* x, float a, int64_t n, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((scale_kernel));
    MOE_LAUNCH((scale_kernel), flat_blocks(n), 256, 0, stream, x, a, n);
    return cudaGetLastError();
}

cudaError_t bf16_to_f32(const uint16_t* src, int64_t n, float* dst, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((bf16_to_f32_kernel));
    MOE_LAUNCH((bf16_to_f32_kernel), flat_blocks(n), 256, 0, stream, src, n, dst);
    return cudaGetLastError();
}

cudaError_t dropout_f32(const float* x, int64_t n, float p, uint64_t seed, float* out, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((dropout_kernel));
    MOE_LAUNCH((dropout_kernel), flat_blocks(n), 256, 0, stream, x, n, p, seed, out);
    return cudaGetLastError();
}

cudaError_t gather_rows_f32(const float* x, int64_t rows, int64_t C, const int32_t* idx, int64_t n, float* out, int* bad,
                            int code, cudaStream_t stream) {
    if (n * C <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((gather_rows_kernel));
    MOE_LAUNCH((gather_rows_kernel), row_grid(n, C), 256, 0, stream, x, rows, C, idx, n, out, bad, code);
    return cudaGetLastError();
}

cudaError_t scatter_add_rows_f32(const float* src, int64_t n, int64_t C, const int32_t* idx, float* dst, int64_t rows,
                                 int* bad, int code, cudaStream_t stream) {
    if (n * C <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((scatter_add_rows_kernel));
    MOE_LAUNCH((scatter_add_rows_kernel), row_grid(n, C), 256, 0, stream, src, n, C, idx, dst, rows, bad, code);
    return cudaGetLastError();
}

}  // namespace moe::kernels
