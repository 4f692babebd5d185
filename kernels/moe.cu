#include "common.cuh"
#include "counter_rng.h"
#include "moe.h"
#include "moe_decode_common.cuh"

#include <cstdlib>
#include <cstring>

namespace moe::kernels {
namespace {

constexpr int kWarps = 8;
constexpr int kLoadBatch = 4;      // 16-byte chunks per lane and matrix in flight together (gate/up)
// Down kernel: 8 output rows per block, 2 16-byte chunks per lane and row in flight together. Each
// warp reads its f32 slice of h once per chunk for all 8 rows (at 2 rows, h's L2 -> SM traffic
// equalled the weight bytes: the 45 KB h of a Moonlight token does not stay in the 28 KB L1), and
// Moonlight's 256 blocks fit one wave (2 per SM by registers). A/B on the H100 (12:18-12:20 UTC,
// one binary, MOE_DOWN_SHAPE): Moonlight decode 337.3 / 336.2 / 337.2 / 337.8 / 337.4 tok/s at 8x2
// against 326.9-330.0 for the old 2x6, 333-336 for 4x3 / 4x2 / 6x3, 331.5 for 4x4, 327 for 8x1 and
// 317 for 16x1; qwen-1.5b 511-517 against 510-517 (6x3: 518-522).
constexpr int kDownBatch = 2;
constexpr int kDownRows = 8;

// Row r of the concatenated hidden layer [expert_0 | .. | expert_K-1 | shared] of token t: its
// gate and up rows, and the weight its output gets.
struct GateUpRow {
    const uint16_t* gate;
    const uint16_t* up;
    float weight;
};
__device__ __forceinline__ GateUpRow gate_up_row(const MoeDecodeArgs& a, int64_t t, int64_t r) {
    const int64_t routed = a.top_k * a.inter;
    if (r < routed) {
        const int64_t k = unsigned(r) / unsigned(a.inter), i = r - k * a.inter;  // 32-bit: rows < 2^32
        const int64_t e = a.ids[t * a.top_k + k];
        const uint16_t* g = a.gate_up + e * 2 * a.inter * a.hidden + i * a.hidden;
        return {g, g + a.inter * a.hidden, a.weights[t * a.top_k + k]};
    }
    const int64_t i = r - routed;
    return {a.s_gate + i * a.hidden, a.s_up + i * a.hidden, 1.0f};
}

// Warp per (RPW consecutive rows r, token t): h[t, r] = weight · silu(gate_r · x_t) · (up_r · x_t).
// RPW > 1 reads each x chunk once for RPW rows (x comes from L1, one f32 chunk per weight chunk
// at RPW = 1); B 16-byte chunks per lane, matrix and row are in flight together.
template <bool VEC, int RPW, int B>
__global__ void __launch_bounds__(kWarps * 32) gate_up_kernel(MoeDecodeArgs a) {
    pdl_begin();
    const int lane = threadIdx.x % 32;
    const int64_t R = a.top_k * a.inter + a.shared_inter;
    const int64_t r0 = (int64_t(blockIdx.x) * kWarps + threadIdx.x / 32) * RPW;
    const int64_t t = blockIdx.y;
    if (r0 >= R) return;
    const int nrows = int(R - r0 < RPW ? R - r0 : RPW);
    GateUpRow row[RPW];
#pragma unroll
    for (int q = 0; q < RPW; ++q) row[q] = gate_up_row(a, t, r0 + (q < nrows ? q : 0));
    const float* x = a.x + t * a.hidden;
    float g[RPW], u[RPW];
#pragma unroll
    for (int q = 0; q < RPW; ++q) g[q] = u[q] = 0.0f;
    int64_t done = 0;
    if constexpr (VEC) {
        const int nch = int(a.hidden / 8);
        const float4* x4 = reinterpret_cast<const float4*>(x);
        for (int c0 = lane; c0 < nch; c0 += 32 * B) {
            uint4 wg[RPW][B], wu[RPW][B];
#pragma unroll
            for (int q = 0; q < RPW; ++q)
#pragma unroll
                for (int b = 0; b < B; ++b) {
                    const int c = c0 + 32 * b;
                    if (c < nch) {
                        wg[q][b] = ld_stream(reinterpret_cast<const uint4*>(row[q].gate) + c);
                        wu[q][b] = ld_stream(reinterpret_cast<const uint4*>(row[q].up) + c);
                    }
                }
#pragma unroll
            for (int b = 0; b < B; ++b) {
                const int c = c0 + 32 * b;
                if (c < nch) {
                    const float4 xa = __ldg(x4 + 2 * c), xb = __ldg(x4 + 2 * c + 1);
#pragma unroll
                    for (int q = 0; q < RPW; ++q) {
                        g[q] += dot8(wg[q][b], xa, xb);
                        u[q] += dot8(wu[q][b], xa, xb);
                    }
                }
            }
        }
        done = int64_t(nch) * 8;
    }
    for (int64_t c = done + lane; c < a.hidden; c += 32)
#pragma unroll
        for (int q = 0; q < RPW; ++q) {
            g[q] = fmaf(bf16_bits_to_f32(row[q].gate[c]), x[c], g[q]);
            u[q] = fmaf(bf16_bits_to_f32(row[q].up[c]), x[c], u[q]);
        }
#pragma unroll
    for (int q = 0; q < RPW; ++q) {
        const float gs = warp_sum(g[q]), us = warp_sum(u[q]);
        if (lane == 0 && q < nrows) a.h[t * R + r0 + q] = row[q].weight * (silu(gs) * us);
    }
}

// Block per (ROWS output rows j, token t), one warp per segment: out[t, j] = Σ_s down_s[j] · h_s,
// the segments' sums added in a fixed order (deterministic, no atomics). Each warp issues all its
// 16-byte loads for its rows (a 2.8 KB run of one expert's row per output row for Moonlight)
// before the first use. VEC: inter, shared_inter and piece multiples of 8.
template <bool VEC, int ROWS, int BATCH>
__global__ void down_kernel(MoeDecodeArgs a, DownSegments d) {
    pdl_begin();
    __shared__ float sums[ROWS][kMaxSegments];
    const int64_t j0 = int64_t(blockIdx.x) * ROWS, t = blockIdx.y;
    const int seg = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t R = a.top_k * a.inter + a.shared_inter;
    const uint16_t* w;       // row j0 of this warp's segment
    int64_t stride, len;     // elements between its rows, and its length
    const float* h = a.h + t * R;
    if (seg < d.routed) {
        const int64_t e = a.ids[t * a.top_k + seg];
        w = a.down + e * a.hidden * a.inter + j0 * a.inter;
        stride = a.inter;
        h += seg * a.inter;
        len = a.inter;
    } else {
        const int64_t c0 = int64_t(seg - d.routed) * d.piece;
        w = a.s_down + j0 * a.shared_inter + c0;
        stride = a.shared_inter;
        h += a.top_k * a.inter + c0;
        len = a.shared_inter - c0 < d.piece ? a.shared_inter - c0 : d.piece;
    }
    const int rows = int(a.hidden - j0 < ROWS ? a.hidden - j0 : ROWS);
    float acc[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; ++r) acc[r] = 0.0f;
    if constexpr (VEC) {
        down_rows_bf16<ROWS, BATCH>(w, stride, len, h, rows, lane, acc);
    } else {
        for (int64_t c = lane; c < len; c += 32)
#pragma unroll
            for (int r = 0; r < ROWS; ++r)
                acc[r] = fmaf(bf16_bits_to_f32(w[(r < rows ? r : 0) * stride + c]), h[c], acc[r]);
    }
    down_block_sum<ROWS>(acc, sums, seg, lane, rows, d.count(), a.out + t * a.hidden + j0);
}

// Grid (column blocks, row blocks), looping over rows: no per-element division.
__global__ void gather_kernel(const float* __restrict__ src, int64_t cols, const int32_t* __restrict__ rows, int64_t n,
                              uint16_t* __restrict__ dst) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    for (int64_t r = blockIdx.y; r < n; r += gridDim.y) {
        const int64_t from = rows[r];
        dst[r * cols + c] = from < 0 ? uint16_t(0) : f32_to_bf16_bits(src[from * cols + c]);
    }
}

__global__ void gather_x4_kernel(const float* __restrict__ src, int64_t cols, const int32_t* __restrict__ rows,
                                 int64_t n, uint16_t* __restrict__ dst) {
    pdl_begin();
    const int64_t c = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * 4;
    if (c >= cols) return;
    for (int64_t r = blockIdx.y; r < n; r += gridDim.y) {
        const int64_t from = rows[r];
        const float4 v = from < 0 ? make_float4(0.0f, 0.0f, 0.0f, 0.0f)
                                  : *reinterpret_cast<const float4*>(src + from * cols + c);
        store_bf16x4(dst + r * cols + c, v.x, v.y, v.z, v.w);
    }
}

// y_keep (may be null): each referenced row of y also stored in bf16 at its own index, while it is
// read anyway (the training forward keeps it for the backward; rows no slot names stay unwritten).
__global__ void combine_kernel(const float* __restrict__ y, const int32_t* __restrict__ slot,
                               const float* __restrict__ w, int64_t T, int64_t K, int64_t hidden, float* __restrict__ out,
                               uint16_t* __restrict__ y_keep, bool accumulate) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= hidden) return;
    for (int64_t t = blockIdx.y; t < T; t += gridDim.y) {
        float acc = accumulate ? out[t * hidden + c] : 0.0f;
        for (int64_t k = 0; k < K; ++k) {
            const int64_t at = int64_t(slot[t * K + k]) * hidden + c;
            const float v = y[at];
            if (y_keep) y_keep[at] = f32_to_bf16_bits(v);
            acc = fmaf(w ? w[t * K + k] : 1.0f, v, acc);
        }
        out[t * hidden + c] = acc;
    }
}


// Four consecutive values of a y row as floats: f32 rows (16-byte loads) or bf16 rows (8-byte loads).
__device__ __forceinline__ float4 load_row4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ float4 load_row4(const uint16_t* p) {
    const uint2 v = *reinterpret_cast<const uint2*>(p);
    return make_float4(bf16_bits_to_f32(uint16_t(v.x & 0xffffu)), bf16_bits_to_f32(uint16_t(v.x >> 16)),
                       bf16_bits_to_f32(uint16_t(v.y & 0xffffu)), bf16_bits_to_f32(uint16_t(v.y >> 16)));
}

// combine_kernel four columns a thread (hidden % 4 == 0, out 16-byte aligned, y 16 (f32) or 8
// (bf16: prefill's down GEMM writes bf16 rows, half the bytes to write and read back) and y_keep 8):
// one vector load per slot, one 8-byte bf16 store into y_keep (f32 rows only); the same fmaf order
// per element.
template <class Y>
__global__ void combine_x4_kernel(const Y* __restrict__ y, const int32_t* __restrict__ slot,
                                  const float* __restrict__ w, int64_t T, int64_t K, int64_t hidden,
                                  float* __restrict__ out, uint16_t* __restrict__ y_keep, bool accumulate) {
    pdl_begin();
    const int64_t c = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * 4;
    if (c >= hidden) return;
    for (int64_t t = blockIdx.y; t < T; t += gridDim.y) {
        float4 acc = accumulate ? *reinterpret_cast<const float4*>(out + t * hidden + c) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        for (int64_t k = 0; k < K; ++k) {
            const int64_t at = int64_t(slot[t * K + k]) * hidden + c;
            const float4 v = load_row4(y + at);
            if (y_keep) store_bf16x4(y_keep + at, v.x, v.y, v.z, v.w);
            const float wk = w ? w[t * K + k] : 1.0f;
            acc = make_float4(fmaf(wk, v.x, acc.x), fmaf(wk, v.y, acc.y), fmaf(wk, v.z, acc.z), fmaf(wk, v.w, acc.w));
        }
        *reinterpret_cast<float4*>(out + t * hidden + c) = acc;
    }
}

// Work per warp / block of the two decode kernels, "ROWSxCHUNKS": rows per gate/up warp and
// output rows per down block, each with the 16-byte chunks per lane and row in flight together.
// MOE_GU_SHAPE (1x4 | 1x2 | 1x6 | 2x2) and MOE_DOWN_SHAPE (8x2 | 2x6 | 4x3 | 4x2 | 4x4 | 6x3 | 8x1 |
// 16x1) select another instantiation for A/B runs and the tests; read at every launch (a decode
// graph launches once per capture). Unknown values fall back to the defaults (1x4, 8x2).
struct DecodeShape {
    int gate_up;
    int down;
};
int shape_code(const char* env, int fallback) {
    const char* v = std::getenv(env);
    const char* x = v ? std::strchr(v, 'x') : nullptr;
    return x ? std::atoi(v) * 10 + std::atoi(x + 1) : fallback;
}
DecodeShape decode_shape() {
    return {shape_code("MOE_GU_SHAPE", 10 + kLoadBatch), shape_code("MOE_DOWN_SHAPE", kDownRows * 10 + kDownBatch)};
}

template <bool VEC, int RPW, int B>
cudaError_t launch_gate_up(const MoeDecodeArgs& a, int64_t R, cudaStream_t stream) {
    const dim3 grid(ceil_div(R, int64_t(kWarps) * RPW), unsigned(a.T));
    MOE_PREFER_SHARED((gate_up_kernel<VEC, RPW, B>));
    MOE_LAUNCH((gate_up_kernel<VEC, RPW, B>), grid, kWarps * 32, 0, stream, a);
    return cudaGetLastError();
}

template <bool VEC, int ROWS, int BATCH>
cudaError_t launch_down(const MoeDecodeArgs& a, const DownSegments& d, cudaStream_t stream) {
    const dim3 grid(ceil_div(a.hidden, ROWS), unsigned(a.T));
    MOE_PREFER_SHARED((down_kernel<VEC, ROWS, BATCH>));
    MOE_LAUNCH((down_kernel<VEC, ROWS, BATCH>), grid, unsigned(32 * d.count()), 0, stream, a, d);
    return cudaGetLastError();
}

}  // namespace

cudaError_t moe_decode(const MoeDecodeArgs& a, cudaStream_t stream) {
    if (a.gate_up8.w) return moe_decode_fp8(a, stream);
    const int64_t R = a.top_k * a.inter + a.shared_inter;
    if (a.T <= 0) return cudaSuccess;
    if (R <= 0 || a.top_k + 1 > kMaxParts || R >= (int64_t(1) << 31) ||
        (a.top_k > 0 && (!a.ids || !a.weights || !a.gate_up || !a.down)) ||
        (a.shared_inter > 0 && (!a.s_gate || !a.s_up || !a.s_down)))
        return cudaErrorInvalidValue;
    bool vec_gu = a.hidden % 8 == 0 && aligned16(a.x);
    if (a.top_k > 0) vec_gu = vec_gu && aligned16(a.gate_up);
    if (a.shared_inter > 0) vec_gu = vec_gu && aligned16(a.s_gate) && aligned16(a.s_up);
    const DecodeShape shape = decode_shape();
    cudaError_t e = cudaSuccess;
    if (shape.gate_up == 22)
        e = vec_gu ? launch_gate_up<true, 2, 2>(a, R, stream) : launch_gate_up<false, 2, 2>(a, R, stream);
    else if (shape.gate_up == 12)
        e = vec_gu ? launch_gate_up<true, 1, 2>(a, R, stream) : launch_gate_up<false, 1, 2>(a, R, stream);
    else if (shape.gate_up == 16)
        e = vec_gu ? launch_gate_up<true, 1, 6>(a, R, stream) : launch_gate_up<false, 1, 6>(a, R, stream);
    else
        e = vec_gu ? launch_gate_up<true, 1, kLoadBatch>(a, R, stream) : launch_gate_up<false, 1, kLoadBatch>(a, R, stream);
    if (e != cudaSuccess) return e;
    const DownSegments d = down_segments(a);
    if (d.count() > kMaxSegments) return cudaErrorInvalidValue;
    bool vec_d = a.inter % 8 == 0 && a.shared_inter % 8 == 0 && aligned16(a.h);
    if (a.top_k > 0) vec_d = vec_d && aligned16(a.down);
    if (a.shared_inter > 0) vec_d = vec_d && aligned16(a.s_down);
    switch (shape.down) {
    case 43: return vec_d ? launch_down<true, 4, 3>(a, d, stream) : launch_down<false, 4, 3>(a, d, stream);
    case 42: return vec_d ? launch_down<true, 4, 2>(a, d, stream) : launch_down<false, 4, 2>(a, d, stream);
    case 26: return vec_d ? launch_down<true, 2, 6>(a, d, stream) : launch_down<false, 2, 6>(a, d, stream);
    case 44: return vec_d ? launch_down<true, 4, 4>(a, d, stream) : launch_down<false, 4, 4>(a, d, stream);
    case 63: return vec_d ? launch_down<true, 6, 3>(a, d, stream) : launch_down<false, 6, 3>(a, d, stream);
    case 161: return vec_d ? launch_down<true, 16, 1>(a, d, stream) : launch_down<false, 16, 1>(a, d, stream);
    case 81: return vec_d ? launch_down<true, 8, 1>(a, d, stream) : launch_down<false, 8, 1>(a, d, stream);
    default:
        return vec_d ? launch_down<true, kDownRows, kDownBatch>(a, d, stream)
                     : launch_down<false, kDownRows, kDownBatch>(a, d, stream);
    }
}

cudaError_t gather_rows_bf16(const float* src, int64_t cols, const int32_t* rows, int64_t n, uint16_t* dst,
                             cudaStream_t stream) {
    if (n * cols <= 0) return cudaSuccess;
    if (rows_vec4(src, cols, dst, cols, cols)) {
        MOE_PREFER_SHARED((gather_x4_kernel));
        MOE_LAUNCH((gather_x4_kernel), row_grid(n, cols, 4), 256, 0, stream, src, cols, rows, n, dst);
        return cudaGetLastError();
    }
    MOE_PREFER_SHARED((gather_kernel));
    MOE_LAUNCH((gather_kernel), row_grid(n, cols), 256, 0, stream, src, cols, rows, n, dst);
    return cudaGetLastError();
}

cudaError_t moe_combine(const float* y, const int32_t* slot, const float* weights, int64_t T, int64_t top_k,
                        int64_t hidden, float* out, cudaStream_t stream, uint16_t* y_keep, bool accumulate) {
    if (T * hidden <= 0) return cudaSuccess;
    if (hidden % 4 == 0 && aligned16(y) && aligned16(out) && (!y_keep || aligned_to(y_keep, 8))) {
        MOE_PREFER_SHARED((combine_x4_kernel<float>));
        MOE_LAUNCH((combine_x4_kernel<float>), row_grid(T, hidden, 4), 256, 0, stream, y, slot, weights, T, top_k, hidden,
                   out, y_keep, accumulate);
        return cudaGetLastError();
    }
    MOE_PREFER_SHARED((combine_kernel));
    MOE_LAUNCH((combine_kernel), row_grid(T, hidden), 256, 0, stream, y, slot, weights, T, top_k, hidden, out, y_keep, accumulate);
    return cudaGetLastError();
}

cudaError_t moe_combine_bf16(const uint16_t* y, const int32_t* slot, const float* weights, int64_t T, int64_t top_k,
                             int64_t hidden, float* out, cudaStream_t stream, bool accumulate) {
    if (T * hidden <= 0) return cudaSuccess;
    if (hidden % 4 != 0 || !aligned_to(y, 8) || !aligned16(out) || !weights) return cudaErrorInvalidValue;
    MOE_PREFER_SHARED((combine_x4_kernel<uint16_t>));
    MOE_LAUNCH((combine_x4_kernel<uint16_t>), row_grid(T, hidden, 4), 256, 0, stream, y, slot, weights, T, top_k, hidden,
               out, static_cast<uint16_t*>(nullptr), accumulate);
    return cudaGetLastError();
}

// ---- training ----------------------------------------------------------------------------------
namespace {

__device__ __forceinline__ float silu_grad(float v) {
    const float sig = 1.0f / (1.0f + expf(-v));
    return sig * (1.0f + v * (1.0f - sig));
}

__device__ __forceinline__ float row_mask(int32_t slot, int64_t cols, int64_t c, float p, uint64_t seed) {
    if (slot < 0) return 0.0f;
    return p > 0.0f ? rng::dropout_scale(seed, uint64_t(slot) * uint64_t(cols) + uint64_t(c), p) : 1.0f;
}

__global__ void swiglu_kernel(const float* __restrict__ g, const float* __restrict__ u, int64_t n, float* __restrict__ h) {
    pdl_begin();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        h[i] = silu(g[i]) * u[i];
}

__global__ void swiglu_backward_kernel(const float* __restrict__ g, const float* __restrict__ u,
                                       const float* __restrict__ dh, int64_t n, float* __restrict__ dg,
                                       float* __restrict__ du) {
    pdl_begin();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
        dg[i] = dh[i] * u[i] * silu_grad(g[i]);
        du[i] = dh[i] * silu(g[i]);
    }
}

// The same four elements a thread (n % 4 == 0, every pointer 16-byte aligned): float4 loads and
// stores, one element each as above.
__global__ void swiglu_x4_kernel(const float4* __restrict__ g, const float4* __restrict__ u, int64_t n4,
                                 float4* __restrict__ h) {
    pdl_begin();
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n4) return;
    const float4 a = g[i], b = u[i];
    h[i] = make_float4(silu(a.x) * b.x, silu(a.y) * b.y, silu(a.z) * b.z, silu(a.w) * b.w);
}

__global__ void swiglu_backward_x4_kernel(const float4* __restrict__ g, const float4* __restrict__ u,
                                          const float4* __restrict__ dh, int64_t n4, float4* __restrict__ dg,
                                          float4* __restrict__ du) {
    pdl_begin();
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n4) return;
    const float4 a = g[i], b = u[i], d = dh[i];
    dg[i] = make_float4(d.x * b.x * silu_grad(a.x), d.y * b.y * silu_grad(a.y), d.z * b.z * silu_grad(a.z),
                        d.w * b.w * silu_grad(a.w));
    du[i] = make_float4(d.x * silu(a.x), d.y * silu(a.y), d.z * silu(a.z), d.w * silu(a.w));
}

// Grid (column blocks over H, rows of the [E·2I] stack).
__global__ void stack_gate_up_kernel(const float* __restrict__ gate, const float* __restrict__ up, int64_t E, int64_t I,
                                     int64_t H, uint16_t* __restrict__ gate_up) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= H) return;
    for (int64_t r = blockIdx.y; r < E * 2 * I; r += gridDim.y) {
        const int64_t e = r / (2 * I), j = r % (2 * I);
        const float* src = j < I ? gate + (e * I + j) * H : up + (e * I + j - I) * H;
        gate_up[r * H + c] = f32_to_bf16_bits(src[c]);
    }
}

// The grouped-row kernels: grid (column blocks, row blocks) looping over rows.
__global__ void gather_dropout_rows_kernel(const float* __restrict__ x, int64_t cols, const int32_t* __restrict__ token_of,
                                           const int32_t* __restrict__ slot_of_row, int64_t n, float p, uint64_t seed,
                                           uint16_t* __restrict__ dst) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    for (int64_t r = blockIdx.y; r < n; r += gridDim.y) {
        const int32_t t = token_of[r], slot = slot_of_row[r];
        dst[r * cols + c] = t < 0 ? uint16_t(0) : f32_to_bf16_bits(x[int64_t(t) * cols + c] * row_mask(slot, cols, c, p, seed));
    }
}

__global__ void dropout_rows_kernel(const uint16_t* __restrict__ src, int64_t cols, const int32_t* __restrict__ slot_of_row,
                                    int64_t n, float p, uint64_t seed, uint16_t* __restrict__ dst) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    for (int64_t r = blockIdx.y; r < n; r += gridDim.y)
        dst[r * cols + c] = f32_to_bf16_bits(bf16_bits_to_f32(src[r * cols + c]) * row_mask(slot_of_row[r], cols, c, p, seed));
}

__global__ void masked_add_rows_kernel(float* __restrict__ acc, const float* __restrict__ add, int64_t cols,
                                       const int32_t* __restrict__ slot_of_row, int64_t n, float p, uint64_t seed) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    for (int64_t r = blockIdx.y; r < n; r += gridDim.y)
        acc[r * cols + c] += add[r * cols + c] * row_mask(slot_of_row[r], cols, c, p, seed);
}

__device__ __forceinline__ float load_f32(const float* p) { return *p; }
__device__ __forceinline__ float load_f32(const uint16_t* p) { return bf16_bits_to_f32(*p); }
__device__ __forceinline__ float4 load_f32x4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ float4 load_f32x4(const uint16_t* p) {
    const uint2 w = *reinterpret_cast<const uint2*>(p);
    return make_float4(__uint_as_float(w.x << 16), __uint_as_float(w.x & 0xffff0000u), __uint_as_float(w.y << 16),
                       __uint_as_float(w.y & 0xffff0000u));
}

// Four columns per thread (H % 4 == 0): one element per thread stored 2 bytes at a time and ran at
// 1.2 TB/s over moonlight's [12288, 2048] rows.
__global__ void scale_rows_by_slot_x4_kernel(const float* __restrict__ dy, int64_t H, const int32_t* __restrict__ token_of,
                                             const int32_t* __restrict__ slot_of_row, const float* __restrict__ weights,
                                             int64_t n, uint16_t* __restrict__ dst) {
    pdl_begin();
    const int64_t c = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * 4;
    if (c >= H) return;
    for (int64_t r = blockIdx.y; r < n; r += gridDim.y) {
        const int32_t t = token_of[r];
        if (t < 0) {
            *reinterpret_cast<uint2*>(dst + r * H + c) = make_uint2(0, 0);
            continue;
        }
        const float w = weights[slot_of_row[r]];
        const float4 v = load_f32x4(dy + int64_t(t) * H + c);
        store_bf16x4(dst + r * H + c, w * v.x, w * v.y, w * v.z, w * v.w);
    }
}

__global__ void scale_rows_by_slot_kernel(const float* __restrict__ dy, int64_t H, const int32_t* __restrict__ token_of,
                                          const int32_t* __restrict__ slot_of_row, const float* __restrict__ weights,
                                          int64_t n, uint16_t* __restrict__ dst) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= H) return;
    for (int64_t r = blockIdx.y; r < n; r += gridDim.y) {
        const int32_t t = token_of[r], slot = slot_of_row[r];
        dst[r * H + c] = t < 0 ? uint16_t(0) : f32_to_bf16_bits(weights[slot] * dy[int64_t(t) * H + c]);
    }
}


// Y: float, or uint16_t for bf16 rows (those the training forward keeps for the backward).
template <class Y>
__global__ void slot_dots_kernel(const float* __restrict__ dy, const Y* __restrict__ y, int64_t H,
                                 const int32_t* __restrict__ token_of, const int32_t* __restrict__ slot_of_row, int64_t n,
                                 float* __restrict__ d_weights) {
    pdl_begin();
    const int64_t r = int64_t(blockIdx.x) * 8 + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (r >= n) return;
    const int32_t t = token_of[r], slot = slot_of_row[r];
    if (t < 0) return;
    float s = 0.0f;
    for (int64_t c = lane; c < H; c += 32) s = fmaf(dy[int64_t(t) * H + c], load_f32(y + r * H + c), s);
    s = warp_sum(s);
    if (lane == 0) d_weights[slot] = s;
}

template <class G>
__global__ void swiglu_backward_rows_kernel(const G* __restrict__ gu, const float* __restrict__ dh, int64_t n,
                                            int64_t I, uint16_t* __restrict__ dgu) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= I) return;
    for (int64_t r = blockIdx.y; r < n; r += gridDim.y) {
        const float g = load_f32(gu + r * 2 * I + c), u = load_f32(gu + r * 2 * I + I + c), d = dh[r * I + c];
        dgu[r * 2 * I + c] = f32_to_bf16_bits(d * u * silu_grad(g));
        dgu[r * 2 * I + I + c] = f32_to_bf16_bits(d * silu(g));
    }
}

// Four columns per thread (I % 4 == 0): the same arithmetic as above, per element.
template <class G>
__global__ void swiglu_backward_rows_x4_kernel(const G* __restrict__ gu, const float* __restrict__ dh, int64_t n,
                                               int64_t I, uint16_t* __restrict__ dgu) {
    pdl_begin();
    const int64_t c = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * 4;
    if (c >= I) return;
    for (int64_t r = blockIdx.y; r < n; r += gridDim.y) {
        const float4 g = load_f32x4(gu + r * 2 * I + c), u = load_f32x4(gu + r * 2 * I + I + c);
        const float4 d = load_f32x4(dh + r * I + c);
        store_bf16x4(dgu + r * 2 * I + c, d.x * u.x * silu_grad(g.x), d.y * u.y * silu_grad(g.y),
                     d.z * u.z * silu_grad(g.z), d.w * u.w * silu_grad(g.w));
        store_bf16x4(dgu + r * 2 * I + I + c, d.x * silu(g.x), d.y * silu(g.y), d.z * silu(g.z), d.w * silu(g.w));
    }
}

unsigned flat_grid(int64_t n) { return ceil_div(n, 256) < 8192u ? ceil_div(n, 256) : 8192u; }

}  // namespace

cudaError_t swiglu_f32(const float* g, const float* u, int64_t n, float* h, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    if (n % 4 == 0 && aligned16(g) && aligned16(u) && aligned16(h)) {
        MOE_PREFER_SHARED((swiglu_x4_kernel));
        MOE_LAUNCH((swiglu_x4_kernel), ceil_div(n / 4, 256), 256, 0, stream, reinterpret_cast<const float4*>(g),
                   reinterpret_cast<const float4*>(u), n / 4, reinterpret_cast<float4*>(h));
        return cudaGetLastError();
    }
    MOE_PREFER_SHARED((swiglu_kernel));
    MOE_LAUNCH((swiglu_kernel), flat_grid(n), 256, 0, stream, g, u, n, h);
    return cudaGetLastError();
}

cudaError_t swiglu_backward_f32(const float* g, const float* u, const float* dh, int64_t n, float* dg, float* du,
                                cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    if (n % 4 == 0 && aligned16(g) && aligned16(u) && aligned16(dh) && aligned16(dg) && aligned16(du)) {
        MOE_PREFER_SHARED((swiglu_backward_x4_kernel));
        MOE_LAUNCH((swiglu_backward_x4_kernel), ceil_div(n / 4, 256), 256, 0, stream, reinterpret_cast<const float4*>(g),
                   reinterpret_cast<const float4*>(u), reinterpret_cast<const float4*>(dh), n / 4,
                   reinterpret_cast<float4*>(dg), reinterpret_cast<float4*>(du));
        return cudaGetLastError();
    }
    MOE_PREFER_SHARED((swiglu_backward_kernel));
    MOE_LAUNCH((swiglu_backward_kernel), flat_grid(n), 256, 0, stream, g, u, dh, n, dg, du);
    return cudaGetLastError();
}

cudaError_t stack_gate_up_bf16(const float* gate, const float* up, int64_t E, int64_t I, int64_t H, uint16_t* gate_up,
                               cudaStream_t stream) {
    if (E * I * H <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((stack_gate_up_kernel));
    MOE_LAUNCH((stack_gate_up_kernel), row_grid(E * 2 * I, H), 256, 0, stream, gate, up, E, I, H, gate_up);
    return cudaGetLastError();
}

cudaError_t gather_dropout_rows_bf16(const float* x, int64_t cols, const int32_t* token_of, const int32_t* slot_of_row,
                                     int64_t n, float p, uint64_t seed, uint16_t* dst, cudaStream_t stream) {
    if (n * cols <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((gather_dropout_rows_kernel));
    MOE_LAUNCH((gather_dropout_rows_kernel), row_grid(n, cols), 256, 0, stream, x, cols, token_of, slot_of_row, n, p, seed,
               dst);
    return cudaGetLastError();
}

cudaError_t dropout_rows_bf16(const uint16_t* src, int64_t cols, const int32_t* slot_of_row, int64_t n, float p,
                              uint64_t seed, uint16_t* dst, cudaStream_t stream) {
    if (n * cols <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((dropout_rows_kernel));
    MOE_LAUNCH((dropout_rows_kernel), row_grid(n, cols), 256, 0, stream, src, cols, slot_of_row, n, p, seed, dst);
    return cudaGetLastError();
}

cudaError_t masked_add_rows_f32(float* acc, const float* add, int64_t cols, const int32_t* slot_of_row, int64_t n,
                                float p, uint64_t seed, cudaStream_t stream) {
    if (n * cols <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((masked_add_rows_kernel));
    MOE_LAUNCH((masked_add_rows_kernel), row_grid(n, cols), 256, 0, stream, acc, add, cols, slot_of_row, n, p, seed);
    return cudaGetLastError();
}

cudaError_t scale_rows_by_slot_bf16(const float* dy, int64_t H, const int32_t* token_of, const int32_t* slot_of_row,
                                    const float* weights, int64_t n, uint16_t* dst, cudaStream_t stream) {
    if (n * H <= 0) return cudaSuccess;
    if (H % 4 == 0 && reinterpret_cast<uintptr_t>(dy) % 16 == 0 && reinterpret_cast<uintptr_t>(dst) % 8 == 0) {
        MOE_PREFER_SHARED((scale_rows_by_slot_x4_kernel));
        MOE_LAUNCH((scale_rows_by_slot_x4_kernel), row_grid(n, H, 4), 256, 0, stream, dy, H, token_of, slot_of_row, weights,
                   n, dst);
        return cudaGetLastError();
    }
    MOE_PREFER_SHARED((scale_rows_by_slot_kernel));
    MOE_LAUNCH((scale_rows_by_slot_kernel), row_grid(n, H), 256, 0, stream, dy, H, token_of, slot_of_row, weights, n, dst);
    return cudaGetLastError();
}

namespace {

template <class Y>
cudaError_t launch_slot_dots(const float* dy, const Y* y, int64_t H, const int32_t* token_of, const int32_t* slot_of_row,
                             int64_t n, float* d_weights, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((slot_dots_kernel<Y>));
    MOE_LAUNCH((slot_dots_kernel<Y>), ceil_div(n, 8), 256, 0, stream, dy, y, H, token_of, slot_of_row, n, d_weights);
    return cudaGetLastError();
}

template <class G>
cudaError_t launch_swiglu_backward_rows(const G* gu, const float* dh, int64_t n, int64_t I, uint16_t* dgu,
                                        cudaStream_t stream) {
    if (n * I <= 0) return cudaSuccess;
    const uintptr_t align_gu = sizeof(G) == 4 ? 16 : 8;
    if (I % 4 == 0 && reinterpret_cast<uintptr_t>(gu) % align_gu == 0 && reinterpret_cast<uintptr_t>(dh) % 16 == 0 &&
        reinterpret_cast<uintptr_t>(dgu) % 8 == 0) {
        MOE_PREFER_SHARED((swiglu_backward_rows_x4_kernel<G>));
        MOE_LAUNCH((swiglu_backward_rows_x4_kernel<G>), row_grid(n, I, 4), 256, 0, stream, gu, dh, n, I, dgu);
        return cudaGetLastError();
    }
    MOE_PREFER_SHARED((swiglu_backward_rows_kernel<G>));
    MOE_LAUNCH((swiglu_backward_rows_kernel<G>), row_grid(n, I), 256, 0, stream, gu, dh, n, I, dgu);
    return cudaGetLastError();
}

}  // namespace

cudaError_t slot_dots(const float* dy, const float* y, int64_t H, const int32_t* token_of, const int32_t* slot_of_row,
                      int64_t n, float* d_weights, cudaStream_t stream) {
    return launch_slot_dots(dy, y, H, token_of, slot_of_row, n, d_weights, stream);
}

cudaError_t slot_dots(const float* dy, const uint16_t* y, int64_t H, const int32_t* token_of,
                      const int32_t* slot_of_row, int64_t n, float* d_weights, cudaStream_t stream) {
    return launch_slot_dots(dy, y, H, token_of, slot_of_row, n, d_weights, stream);
}

cudaError_t swiglu_backward_rows_bf16(const float* gu, const float* dh, int64_t n, int64_t I, uint16_t* dgu,
                                      cudaStream_t stream) {
    return launch_swiglu_backward_rows(gu, dh, n, I, dgu, stream);
}

cudaError_t swiglu_backward_rows_bf16(const uint16_t* gu, const float* dh, int64_t n, int64_t I, uint16_t* dgu,
                                      cudaStream_t stream) {
    return launch_swiglu_backward_rows(gu, dh, n, I, dgu, stream);
}

}  // namespace moe::kernels
