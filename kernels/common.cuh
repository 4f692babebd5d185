// Device helpers shared by the kernels in this folder (never included by engine code).
//
// Conventions of every kernel here: activations are f32 row-major, weights bf16 row-major in
// nn.Linear layout [out, in], accumulation in f32. bf16 values travel as raw 16-bit patterns
// (uint16_t) in the launcher headers so that host code needs no CUDA half-precision headers.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace moe::kernels {

constexpr unsigned kFullMask = 0xffffffffu;

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, o));
    return v;
}

__device__ __forceinline__ float bf16_bits_to_f32(uint16_t b) { return __uint_as_float(uint32_t(b) << 16); }

__device__ __forceinline__ uint16_t f32_to_bf16_bits(float f) {
    return __bfloat16_as_ushort(__float2bfloat16_rn(f));
}

// The 8 bf16 of a 16-byte word, widened to f32 (exact).
__device__ __forceinline__ void bf16x8_to_f32(const uint4& u, float (&f)[8]) {
    const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        f[2 * i] = __uint_as_float(w[i] << 16);
        f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    }
}

// Σ w[i] * x[i] over 8 bf16 weights and 8 f32 activations (two float4).
__device__ __forceinline__ float dot8(const uint4& w, const float4& xa, const float4& xb) {
    float f[8];
    bf16x8_to_f32(w, f);
    float s = f[0] * xa.x;
    s = fmaf(f[1], xa.y, s);
    s = fmaf(f[2], xa.z, s);
    s = fmaf(f[3], xa.w, s);
    s = fmaf(f[4], xb.x, s);
    s = fmaf(f[5], xb.y, s);
    s = fmaf(f[6], xb.z, s);
    s = fmaf(f[7], xb.w, s);
    return s;
}

// A 16-byte weight load that is not kept in L1: weights are streamed once per token.
__device__ __forceinline__ uint4 ld_stream(const uint4* p) {
    uint4 r;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
                 : "l"(p));
    return r;
}

__device__ __forceinline__ float silu(float v) { return v / (1.0f + expf(-v)); }

// Four f32 rounded to bf16 and written as one 8-byte store (dst 8-byte aligned).
__device__ __forceinline__ void store_bf16x4(uint16_t* dst, float a, float b, float c, float d) {
    uint2 v;
    v.x = uint32_t(f32_to_bf16_bits(a)) | (uint32_t(f32_to_bf16_bits(b)) << 16);
    v.y = uint32_t(f32_to_bf16_bits(c)) | (uint32_t(f32_to_bf16_bits(d)) << 16);
    *reinterpret_cast<uint2*>(dst) = v;
}

// The row kernels' grid: (column blocks, row blocks), each block looping over rows (no per-element
// division). cols_per_thread 4: the vector variants (one float4 per thread and row).
inline dim3 row_grid(int64_t rows, int64_t cols, int cols_per_thread = 1) {
    return dim3(unsigned((cols + 256 * cols_per_thread - 1) / (256 * cols_per_thread)), unsigned(rows < 65535 ? rows : 65535));
}
// Whether p may be read or written `bytes` at a time (the four-wide kernels' precondition).
inline bool aligned_to(const void* p, unsigned bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }
inline bool aligned16(const void* p) { return aligned_to(p, 16); }
// Rows of f32 readable as float4 and of bf16 writable as 4-element groups.
inline bool rows_vec4(const void* src, int64_t ld_src, const void* dst, int64_t ld_dst, int64_t cols) {
    return cols % 4 == 0 && ld_src % 4 == 0 && ld_dst % 4 == 0 && reinterpret_cast<uintptr_t>(src) % 16 == 0 &&
           reinterpret_cast<uintptr_t>(dst) % 8 == 0;
}

// Position of the first query row: from device memory in decode-graph mode, else the host value.
__device__ __forceinline__ int64_t first_position(const int32_t* dev_pos, int64_t host_pos) {
    return dev_pos ? int64_t(*dev_pos) : host_pos;
}

// Asks once per kernel for the largest shared-memory carveout, the same for every kernel here, so
// consecutive kernels never wait for an SM to drain and change its L1 / shared split.
#define MOE_PREFER_SHARED(kernel)                                                                         \
    do {                                                                                                  \
        static const bool moe_configured_ = (cudaFuncSetAttribute(reinterpret_cast<const void*>(kernel),  \
                                                                  cudaFuncAttributePreferredSharedMemoryCarveout, \
                                                                  cudaSharedmemCarveoutMaxShared),      \
                                             cudaGetLastError(), true);                                   \
        (void)moe_configured_;                                                                            \
    } while (0)

// Programmatic dependent launch (sm_90). Every kernel here is launched with
// programmaticStreamSerialization (MOE_LAUNCH) and begins with pdl_begin(): it lets its own
// successor be scheduled at once, then waits until its predecessor has finished and flushed. In a
// decode graph of ~600 small kernels this hides most of the launch gap between them; the data
// dependencies stay exactly those of plain stream order, because nothing is read before the wait.
__device__ __forceinline__ void pdl_begin() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;");
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

template <typename... KArgs, typename... Args>
inline cudaError_t launch_pdl(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                              Args... args) {
    cudaLaunchConfig_t cfg{};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = stream;
    cudaLaunchAttribute attr{};
    attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr.val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = &attr;
    cfg.numAttrs = 1;
    return cudaLaunchKernelEx(&cfg, kernel, static_cast<KArgs>(args)...);
}

// Launches with PDL and returns the error from the enclosing launcher if the launch fails.
#define MOE_LAUNCH(kernel, grid, block, smem, stream, ...)                                                   \
    do {                                                                                                     \
        const cudaError_t moe_launch_err_ =                                                                  \
            ::moe::kernels::launch_pdl(kernel, dim3(grid), dim3(block), size_t(smem), stream, __VA_ARGS__);   \
        if (moe_launch_err_ != cudaSuccess) return moe_launch_err_;                                          \
    } while (0)

__host__ __device__ inline unsigned ceil_div(int64_t a, int64_t b) { return unsigned((a + b - 1) / b); }

}  // namespace moe::kernels
