// Skinny GEMM ("GEMV") over bf16 weights: one warp per R output rows, 16-byte weight loads
// streamed past L1, f32 activations from L1/L2, f32 accumulation, warp-shuffle reduction.
//
// Bytes: out * in * 2 of weights, read once per 8-token chunk; that is the whole cost at batch 1.
#include "common.cuh"
#include "linear.h"

namespace moe::kernels {
namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kRowsPerWarp = 2;
constexpr int kSplitRows = 4;  // rows per block of the split-K kernel: 4 weight loads in flight per thread

// VEC: in % 8 == 0, so every row starts 16-byte aligned and x rows can be read as float4.
template <int TT, bool VEC>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    gemv_kernel(const float* __restrict__ x, int64_t T, int64_t in, const uint16_t* __restrict__ W, int64_t out,
                const float* __restrict__ bias, float* __restrict__ y) {
    pdl_begin();
    const int lane = threadIdx.x % 32;
    const int64_t warp = int64_t(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
    const int64_t row0 = warp * kRowsPerWarp;
    if (row0 >= out) return;
    const int64_t t0 = int64_t(blockIdx.y) * TT;
    const int nt = int(T - t0 < TT ? T - t0 : TT);
    const float* xc = x + t0 * in;

    float acc[kRowsPerWarp][TT];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
        for (int t = 0; t < TT; ++t) acc[r][t] = 0.0f;

    int64_t done = 0;  // columns handled by the vector loop
    if constexpr (VEC) {
        const int64_t nch = in / 8;
        const uint4* wrow[kRowsPerWarp];
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) {
            const int64_t row = row0 + r < out ? row0 + r : row0;  // a duplicate row is computed, never stored
            wrow[r] = reinterpret_cast<const uint4*>(W + row * in);
        }
#pragma unroll 4
        for (int64_t c = lane; c < nch; c += 32) {
            uint4 w[kRowsPerWarp];
#pragma unroll
            for (int r = 0; r < kRowsPerWarp; ++r) w[r] = ld_stream(wrow[r] + c);
#pragma unroll
            for (int t = 0; t < TT; ++t) {
                if (t < nt) {
                    const float4* xr = reinterpret_cast<const float4*>(xc + t * in) + 2 * c;
                    const float4 xa = __ldg(xr), xb = __ldg(xr + 1);
#pragma unroll
                    for (int r = 0; r < kRowsPerWarp; ++r) acc[r][t] += dot8(w[r], xa, xb);
                }
            }
        }
        done = nch * 8;
    }
    for (int64_t i = done + lane; i < in; i += 32) {
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) {
            const int64_t row = row0 + r < out ? row0 + r : row0;
            const float w = bf16_bits_to_f32(W[row * in + i]);
#pragma unroll
            for (int t = 0; t < TT; ++t)
                if (t < nt) acc[r][t] = fmaf(w, xc[t * in + i], acc[r][t]);
        }
    }
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
#pragma unroll
        for (int t = 0; t < TT; ++t) {
            const float s = warp_sum(acc[r][t]);
            const int64_t row = row0 + r;
            if (lane == 0 && t < nt && row < out) y[(t0 + t) * out + row] = s + (bias ? bias[row] : 0.0f);
        }
    }
}

// Few output rows (router gates, kv_a, attention projections) and several projections of one x
// (q | kv_a, q | k | v): a whole block per 4 rows, the input dimension split across its 8 warps,
// partial sums combined in shared memory. Eight times the warps of gemv_kernel for the same rows,
// so small matrices still fill the GPU's memory pipes; the segments of a GemvSegments share one
// launch (block b belongs to the segment whose block range holds b).
template <int TT>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    gemv_splitk_kernel(const float* __restrict__ x, int64_t T, int64_t in, GemvSegments segs) {
    pdl_begin();
    __shared__ float part[kWarpsPerBlock][kSplitRows][TT];
    int seg = 0;
    int64_t first_block = 0;
    while (seg + 1 < segs.n && int64_t(blockIdx.x) >= first_block + ceil_div(segs.s[seg].out, kSplitRows)) {
        first_block += ceil_div(segs.s[seg].out, kSplitRows);
        ++seg;
    }
    const uint16_t* __restrict__ W = segs.s[seg].W;
    const int64_t out = segs.s[seg].out;
    const float* __restrict__ bias = segs.s[seg].bias;
    float* __restrict__ y = segs.s[seg].y;
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int64_t row0 = (int64_t(blockIdx.x) - first_block) * kSplitRows;
    const int64_t t0 = int64_t(blockIdx.y) * TT;
    const int nt = int(T - t0 < TT ? T - t0 : TT);
    const float* xc = x + t0 * in;
    float acc[kSplitRows][TT];
#pragma unroll
    for (int r = 0; r < kSplitRows; ++r)
#pragma unroll
        for (int t = 0; t < TT; ++t) acc[r][t] = 0.0f;
    const int64_t nch = in / 8;
    const uint4* wrow[kSplitRows];
#pragma unroll
    for (int r = 0; r < kSplitRows; ++r)
        wrow[r] = reinterpret_cast<const uint4*>(W + (row0 + r < out ? row0 + r : row0) * in);
#pragma unroll 2
    for (int64_t c = threadIdx.x; c < nch; c += kWarpsPerBlock * 32) {
        uint4 w[kSplitRows];
#pragma unroll
        for (int r = 0; r < kSplitRows; ++r) w[r] = ld_stream(wrow[r] + c);
#pragma unroll
        for (int t = 0; t < TT; ++t) {
            if (t < nt) {
                const float4* xr = reinterpret_cast<const float4*>(xc + t * in) + 2 * c;
                const float4 xa = __ldg(xr), xb = __ldg(xr + 1);
#pragma unroll
                for (int r = 0; r < kSplitRows; ++r) acc[r][t] += dot8(w[r], xa, xb);
            }
        }
    }
#pragma unroll
    for (int r = 0; r < kSplitRows; ++r)
#pragma unroll
        for (int t = 0; t < TT; ++t) {
            const float v = warp_sum(acc[r][t]);
            if (lane == 0) part[warp][r][t] = v;
        }
    __syncthreads();
    if (threadIdx.x < kSplitRows * TT) {
        const int r = threadIdx.x / TT, t = threadIdx.x % TT;
        const int64_t row = row0 + r;
        if (t < nt && row < out) {
            float v = 0.0f;
#pragma unroll
            for (int w = 0; w < kWarpsPerBlock; ++w) v += part[w][r][t];
            y[(t0 + t) * out + row] = v + (bias ? bias[row] : 0.0f);
        }
    }
}

template <int TT>
cudaError_t launch_splitk(const float* x, int64_t T, int64_t in, const GemvSegments& segs, cudaStream_t stream) {
    int64_t blocks = 0;
    for (int i = 0; i < segs.n; ++i) blocks += ceil_div(segs.s[i].out, kSplitRows);
    MOE_PREFER_SHARED((gemv_splitk_kernel<TT>));
    MOE_LAUNCH((gemv_splitk_kernel<TT>), dim3(unsigned(blocks), ceil_div(T, TT)), kWarpsPerBlock * 32, 0, stream, x, T,
               in, segs);
    return cudaGetLastError();
}

// Below this many output rows the split-K kernel is used (the plain one would launch fewer
// than 2 blocks per SM on an H100).
constexpr int64_t kSplitKMaxRows = 4096;

template <int TT>
cudaError_t launch(const float* x, int64_t T, int64_t in, const uint16_t* W, int64_t out, const float* bias, float* y,
                   cudaStream_t stream) {
    const dim3 grid(ceil_div(out, kWarpsPerBlock * kRowsPerWarp), ceil_div(T, TT));
    const bool vec = in % 8 == 0 && (reinterpret_cast<uintptr_t>(W) % 16) == 0 &&
                     (reinterpret_cast<uintptr_t>(x) % 16) == 0;
    if (vec && out < kSplitKMaxRows) {
        GemvSegments one;
        one.s[0] = GemvSegment{W, out, bias, y};
        one.n = 1;
        return launch_splitk<TT>(x, T, in, one, stream);
    } else if (vec) {
        MOE_PREFER_SHARED((gemv_kernel<TT, true>));
        MOE_LAUNCH((gemv_kernel<TT, true>), grid, kWarpsPerBlock * 32, 0, stream, x, T, in, W, out, bias, y);
    } else {
        MOE_PREFER_SHARED((gemv_kernel<TT, false>));
        MOE_LAUNCH((gemv_kernel<TT, false>), grid, kWarpsPerBlock * 32, 0, stream, x, T, in, W, out, bias, y);
    }
    return cudaGetLastError();
}

__global__ void add_bias_kernel(float* __restrict__ y, int64_t n, int64_t out, const float* __restrict__ bias) {
    pdl_begin();
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) y[i] += bias[i % out];
}

// Column sums: block (32 columns) x (8 row lanes); blockIdx.y takes rows [y * kSplitRows, ...).
constexpr int kColSplitRows = 64;
constexpr int kMaxColSplits = 256;
int64_t col_splits(int64_t T) {
    const int64_t s = (T + kColSplitRows - 1) / kColSplitRows;
    return s < 1 ? 1 : (s > kMaxColSplits ? kMaxColSplits : s);
}

__global__ void __launch_bounds__(256) column_partials_kernel(const float* __restrict__ a, const float* __restrict__ b,
                                                              const float* __restrict__ rs, int64_t T, int64_t C,
                                                              int64_t rows_per_split, float* __restrict__ part) {
    pdl_begin();
    __shared__ float acc[8][33];
    const int cx = threadIdx.x % 32, ry = threadIdx.x / 32;
    const int64_t c = int64_t(blockIdx.x) * 32 + cx;
    const int64_t r0 = int64_t(blockIdx.y) * rows_per_split;
    const int64_t r1 = r0 + rows_per_split < T ? r0 + rows_per_split : T;
    float sum = 0.0f;
    if (c < C)
        for (int64_t t = r0 + ry; t < r1; t += 8) {
            float v = a[t * C + c];
            if (b) v *= b[t * C + c];
            if (rs) v *= rs[t];
            sum += v;
        }
    acc[ry][cx] = sum;
    __syncthreads();
    if (ry == 0 && c < C) {
        float total = 0.0f;
#pragma unroll
        for (int i = 0; i < 8; ++i) total += acc[i][cx];
        part[int64_t(blockIdx.y) * C + c] = total;
    }
}

__global__ void column_finish_kernel(const float* __restrict__ part, int64_t splits, int64_t C, float* __restrict__ out) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float total = 0.0f;
    for (int64_t s = 0; s < splits; ++s) total += part[s * C + c];
    out[c] += total;
}

}  // namespace

int64_t column_sum_workspace(int64_t T, int64_t C) { return col_splits(T) * C; }

cudaError_t column_sum_into(const float* a, const float* b, const float* row_scale, int64_t T, int64_t C,
                            float* workspace, float* out, cudaStream_t stream) {
    if (T <= 0 || C <= 0) return cudaSuccess;
    const int64_t splits = col_splits(T);
    const int64_t rows_per_split = (T + splits - 1) / splits;
    MOE_PREFER_SHARED((column_partials_kernel));
    MOE_LAUNCH((column_partials_kernel), dim3(ceil_div(C, 32), unsigned(splits)), 256, 0, stream, a, b, row_scale, T, C,
               rows_per_split, workspace);
    MOE_PREFER_SHARED((column_finish_kernel));
    MOE_LAUNCH((column_finish_kernel), ceil_div(C, 256), 256, 0, stream, workspace, splits, C, out);
    return cudaGetLastError();
}

cudaError_t gemv_bf16(const float* x, int64_t T, int64_t in, const uint16_t* W, int64_t out, const float* bias,
                      float* y, cudaStream_t stream) {
    if (T <= 0 || out <= 0) return cudaSuccess;
    if (T == 1) return launch<1>(x, T, in, W, out, bias, y, stream);
    if (T == 2) return launch<2>(x, T, in, W, out, bias, y, stream);
    if (T <= 4) return launch<4>(x, T, in, W, out, bias, y, stream);
    return launch<8>(x, T, in, W, out, bias, y, stream);
}

bool gemv_multi_supported(const float* x, int64_t in, const GemvSegments& segs) {
    if (in % 8 != 0 || (reinterpret_cast<uintptr_t>(x) % 16) != 0 || segs.n < 1 || segs.n > kMaxGemvSegments) return false;
    for (int i = 0; i < segs.n; ++i)
        if ((reinterpret_cast<uintptr_t>(segs.s[i].W) % 16) != 0 || segs.s[i].out <= 0) return false;
    return true;
}

cudaError_t gemv_multi_bf16(const float* x, int64_t T, int64_t in, const GemvSegments& segs, cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    if (!gemv_multi_supported(x, in, segs)) return cudaErrorInvalidValue;
    if (T == 1) return launch_splitk<1>(x, T, in, segs, stream);
    if (T == 2) return launch_splitk<2>(x, T, in, segs, stream);
    if (T <= 4) return launch_splitk<4>(x, T, in, segs, stream);
    return launch_splitk<8>(x, T, in, segs, stream);
}

cudaError_t add_bias_rows(float* y, int64_t T, int64_t out, const float* bias, cudaStream_t stream) {
    const int64_t n = T * out;
    if (n <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((add_bias_kernel));
    MOE_LAUNCH((add_bias_kernel), ceil_div(n, 256), 256, 0, stream, y, n, out, bias);
    return cudaGetLastError();
}

}  // namespace moe::kernels
