// Shared by the bf16 and fp8 fused decode kernels (moe.cu, moe_fp8.cu): how the down projection
// is cut into one warp's segments, a warp's rows over a bf16 segment, and the block's ordered sum.
#pragma once

#include "common.cuh"
#include "moe.h"

namespace moe::kernels {

constexpr int kMaxParts = 17;  // top_k <= 16 routed experts + the shared one

// The down projections as segments: routed expert k's row j is one segment of `inter` columns;
// the shared expert's row j (or a dense FFN's) is cut into pieces of about the same length, so
// that every warp of a block streams a similar number of bytes.
struct DownSegments {
    int routed = 0;      // segments 0 .. routed-1: the routed experts, `inter` columns each
    int shared = 0;      // then the shared expert's row in `shared` pieces of `piece` columns
    int piece = 0;       // (the last one shorter), piece % 8 == 0
    __host__ __device__ int count() const { return routed + shared; }
};
constexpr int kMaxSegments = 32;  // one warp each: at most 1024 threads
inline DownSegments down_segments(const MoeDecodeArgs& a) {
    DownSegments d;
    d.routed = int(a.top_k);
    if (a.shared_inter > 0) {
        int64_t target = a.top_k > 0 ? a.inter : (a.shared_inter + 7) / 8;  // dense FFN: 8 pieces
        const int64_t room = kMaxSegments - a.top_k;
        if (room > 0 && (a.shared_inter + target - 1) / target > room) target = (a.shared_inter + room - 1) / room;
        d.piece = int((target + 7) / 8 * 8);
        d.shared = int((a.shared_inter + d.piece - 1) / d.piece);
    }
    return d;
}

// The 16-byte chunks c0, c0 + 32, .. (BATCH of them, those below nch) of rows 0 .. ROWS-1 of w
// (row r at w + r·stride elements; rows past `rows` read row 0 again, never used), all loads
// issued before any is used.
template <int ROWS, int BATCH, class W>
__device__ __forceinline__ void load_rows(const W* w, int64_t stride, int rows, int c0, int nch,
                                          uint4 (&wv)[ROWS][BATCH]) {
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
        const uint4* w4 = reinterpret_cast<const uint4*>(w + (r < rows ? r : 0) * stride);
#pragma unroll
        for (int b = 0; b < BATCH; ++b)
            if (c0 + 32 * b < nch) wv[r][b] = ld_stream(w4 + c0 + 32 * b);
    }
}

// acc[r] += Σ_c w[r·stride + c] · h[c] over c < len (bf16 w, f32 h; len % 8 == 0, 16-byte
// aligned rows): the warp's BATCH 16-byte loads per row in flight before their first use.
template <int ROWS, int BATCH>
__device__ __forceinline__ void down_rows_bf16(const uint16_t* w, int64_t stride, int64_t len, const float* h, int rows,
                                               int lane, float (&acc)[ROWS]) {
    const int nch = int(len / 8);
    const float4* h4 = reinterpret_cast<const float4*>(h);
    for (int c0 = lane; c0 < nch; c0 += 32 * BATCH) {
        uint4 wv[ROWS][BATCH];
        load_rows<ROWS, BATCH>(w, stride, rows, c0, nch, wv);
#pragma unroll
        for (int b = 0; b < BATCH; ++b) {
            const int c = c0 + 32 * b;
            if (c < nch) {
                const float4 xa = __ldg(h4 + 2 * c), xb = __ldg(h4 + 2 * c + 1);
#pragma unroll
                for (int r = 0; r < ROWS; ++r) acc[r] += dot8(wv[r][b], xa, xb);
            }
        }
    }
}

// out[r] = Σ over the block's warps (segments, in order) of their acc[r]: deterministic, no atomics.
// Every thread of the block must call it (it synchronises the block).
template <int ROWS>
__device__ __forceinline__ void down_block_sum(const float (&acc)[ROWS], float (&sums)[ROWS][kMaxSegments], int seg,
                                               int lane, int rows, int segments, float* out) {
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
        const float v = warp_sum(acc[r]);
        if (lane == 0) sums[r][seg] = v;
    }
    __syncthreads();
    if (threadIdx.x < rows) {
        float total = 0.0f;
        for (int s = 0; s < segments; ++s) total += sums[threadIdx.x][s];
        out[threadIdx.x] = total;
    }
}

}  // namespace moe::kernels
