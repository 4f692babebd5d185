// Device helpers shared by the attention kernel files (never included by engine code):
//   attention_prep.cu        cache writes and the decode prologues (MLA absorption, GQA rope)
//   attention_decode.cu      split-K decode over the cache, staged through shared memory
//   attention_decode_lanes.cu  the register-resident decode kernel (MLA's 576-wide rows)
//   attention_combine.cu     the split-KV combine (plain, and fused with MLA's W_UV)
//   attention_prefill.cu     the flash-style prefill kernel
//   attention_prefill_tc.cu  the pieces of the tensor-core prefill (rope keys, kv expansion, causal softmax)
// The launchers are declared in attention.h; the few launchers one file calls in another are below.
#pragma once

#include <cstdint>

#include "attention.h"
#include "common.cuh"

namespace moe::kernels::attention_detail {

constexpr int kKeyTile = 32;     // keys per shared-memory tile: one per lane when scoring
constexpr int kLanesChunk = 16;  // key granularity of a split in the register-resident kernel
constexpr float kNegInf = -__builtin_huge_valf();
constexpr int kReduceThreads = 256;  // the block size block_sum_256 / block_max_256 reduce over

// Element d of rope(v[0 .. dim)) at position pos (rope.cu's arithmetic: cosf/sinf of pos * inv_freq).
__device__ __forceinline__ float rope_element(const float* v, int64_t d, float pos, const RopeParams& r) {
    const int64_t half = r.dim / 2;
    const int64_t i = r.interleaved ? d / 2 : (d < half ? d : d - half);
    const int64_t ia = r.interleaved ? 2 * i : i, ib = r.interleaved ? 2 * i + 1 : i + half;
    const float angle = pos * r.inv_freq[i];
    const float c = cosf(angle) * r.attention_factor, s = sinf(angle) * r.attention_factor;
    return d == ia ? v[ia] * c - v[ib] * s : v[ib] * c + v[ia] * s;
}

// Sum / max over a block of kReduceThreads threads; every thread gets the result.
__device__ inline float block_sum_256(float v) {
    __shared__ float red[kReduceThreads / 32];
    v = warp_sum(v);
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = v;
    __syncthreads();
    float total = 0.0f;
#pragma unroll
    for (int w = 0; w < kReduceThreads / 32; ++w) total += red[w];
    return total;
}

__device__ inline float block_max_256(float v) {
    __shared__ float red[kReduceThreads / 32];
    v = warp_max(v);
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = v;
    __syncthreads();
    float m = red[0];
#pragma unroll
    for (int w = 1; w < kReduceThreads / 32; ++w) m = fmaxf(m, red[w]);
    return m;
}

// ---- shared-memory staging ------------------------------------------------------------------

// Copies a [rows, cols] block of floats (cols % 4 == 0, 16-byte aligned rows) from global to shared
// memory with kBatch independent 16-byte loads in flight per thread. A plain one-load-per-iteration
// loop waits a full memory latency per iteration, which is what decode attention time was made of.
template <int kBatch = 8>
__device__ __forceinline__ void stage_rows(float* dst, int dst_stride, const float* src, int64_t src_stride, int rows,
                                           int cols) {
    // Element i = threadIdx.x + n * blockDim.x sits at (row, col4); both advance by a fixed step, so
    // no integer division runs per element (it cost more than the copy itself).
    const int q4 = cols / 4, total = rows * q4, step = int(blockDim.x);
    const int drow = step / q4, dcol = step % q4;
    int row = int(threadIdx.x) / q4, col = int(threadIdx.x) % q4;
    for (int base = threadIdx.x; base < total; base += kBatch * step) {
        float4 v[kBatch];
        int r[kBatch], c[kBatch];
#pragma unroll
        for (int b = 0; b < kBatch; ++b) {
            r[b] = row;
            c[b] = col;
            if (base + b * step < total)
                v[b] = __ldg(reinterpret_cast<const float4*>(src + int64_t(row) * src_stride + col * 4));
            row += drow;
            col += dcol;
            if (col >= q4) {
                col -= q4;
                ++row;
            }
        }
#pragma unroll
        for (int b = 0; b < kBatch; ++b) {
            if (base + b * step < total) {
                float* d = dst + r[b] * dst_stride + c[b] * 4;
                d[0] = v[b].x;
                d[1] = v[b].y;
                d[2] = v[b].z;
                d[3] = v[b].w;
            }
        }
    }
}

// The same for any shape and alignment, one float at a time (tiny test shapes only).
__device__ __forceinline__ void stage_rows_scalar(float* dst, int dst_stride, const float* src, int64_t src_stride,
                                                  int rows, int cols) {
    for (int i = threadIdx.x; i < rows * cols; i += blockDim.x)
        dst[(i / cols) * dst_stride + i % cols] = src[int64_t(i / cols) * src_stride + i % cols];
}

__device__ __forceinline__ bool aligned4(const float* p, int64_t stride, int64_t cols) {
    return (reinterpret_cast<uintptr_t>(p) % 16) == 0 && stride % 4 == 0 && cols % 4 == 0;
}

// ---- decode: shared by the staged and the register-resident kernels ------------------------------

// Keys [begin, end) of split `split` for query t: the n_keys visible keys cut into `splits` chunks
// of a multiple of `grain` keys (empty for the trailing splits at short contexts).
struct KeyRange {
    int64_t begin, end;
};
__device__ __forceinline__ KeyRange split_keys(const DecodeAttnArgs& a, int64_t t, int split, int splits, int grain) {
    const int64_t n_keys = a.row_keys ? int64_t(a.row_keys[t]) : first_position(a.dev_pos, a.start_pos) + t + 1;
    const int64_t per_split = (n_keys + splits - 1) / splits;
    const int64_t chunk = (per_split + grain - 1) / grain * grain;
    const int64_t begin = int64_t(split) * chunk;
    return {begin, begin + chunk < n_keys ? begin + chunk : n_keys};
}

// The cache rows query t reads: its own sequence's in a batched step (row_k, and row_v unless V
// sits inside K), else a.k / a.v.
__device__ __forceinline__ const float* key_rows(const DecodeAttnArgs& a, int64_t t) { return a.row_k ? a.row_k[t] : a.k; }
__device__ __forceinline__ const float* value_rows(const DecodeAttnArgs& a, int64_t t) {
    return a.row_v ? a.row_v[t] : a.row_k ? a.row_k[t] : a.v;
}

// MLA's V is the first dv columns of its K rows (the same cache); the kernels then load them once.
inline bool v_aliases_k(const DecodeAttnArgs& a) { return a.v == a.k && a.v_row == a.k_row && a.v_head == a.k_head; }

// Every dimension and stride a multiple of 4 floats and every base 16-byte aligned: float4 loads.
inline bool decode_vec_ok(const DecodeAttnArgs& a) {
    return a.dk % 4 == 0 && a.dv % 4 == 0 && a.k_row % 4 == 0 && a.k_head % 4 == 0 && a.v_row % 4 == 0 &&
           a.v_head % 4 == 0 && a.q_row % 4 == 0 && a.q_head % 4 == 0 && (reinterpret_cast<uintptr_t>(a.k) % 16) == 0 &&
           (reinterpret_cast<uintptr_t>(a.v) % 16) == 0 && (reinterpret_cast<uintptr_t>(a.q) % 16) == 0;
}

// ---- across files -------------------------------------------------------------------------------

// The decode workspace of attention_decode_partials: per (token, head, split) the partial output
// part_o [dv] followed, after all of them, by (running max, sum) part_ml [2].
inline float* decode_partial_outputs(float* ws) { return ws; }
inline float* decode_partial_stats(float* ws, const DecodeAttnArgs& a, int splits) {
    return ws + a.T * a.n_heads * splits * a.dv;
}

// attention_decode_lanes.cu: whether the register-resident decode kernel serves `a` (MLA's 512 + 64
// rows with V inside K), and its launch (grid: heads / heads_per_block, splits, T).
bool decode_lanes_fits(const DecodeAttnArgs& a);
cudaError_t launch_decode_lanes(const DecodeAttnArgs& a, int splits, int64_t heads_per_block, float* part_o,
                                float* part_ml, cudaStream_t stream);
// attention_combine.cu: out(t, h, :) from the per-split partials (the plain split-KV combine).
cudaError_t launch_split_combine(const DecodeAttnArgs& a, int splits, const float* part_o, const float* part_ml,
                                 cudaStream_t stream);

}  // namespace moe::kernels::attention_detail
