// moe_decode for fp8 routed experts (kernels/moe.h): the bf16 kernels' work split and order of
// sums (moe.cu), with each 16-byte load carrying 16 e4m3 weights, widened in registers and their
// dot product multiplied by the block's scale. Half the bytes of bf16 per routed expert row; the
// shared expert (or dense FFN) stays bf16.
#include "fp8_common.cuh"
#include "moe.h"
#include "moe_decode_common.cuh"

namespace moe::kernels {
namespace {

constexpr int kWarps = 8;
constexpr int kGateUpBatch = 4;  // 16-byte chunks per lane and matrix in flight (the bf16 kernel's 1x4)
constexpr int kDownRows = 8;     // output rows per block and chunks per lane and row: the bf16 8x2
constexpr int kDownBatch = 2;

int64_t grid_rows(const Fp8Stack& s) { return (s.rows + s.block_rows - 1) / s.block_rows; }
int64_t grid_cols(const Fp8Stack& s) { return (s.cols + s.block_cols - 1) / s.block_cols; }

// Index arithmetic in 32 bits (every count here is below 2^32; a 64-bit division is ~70
// instructions, and one per 16-byte chunk made these kernels slower than the bf16 ones): the
// scale grid's shape and the scale block of a row or a 16-byte chunk, a shift for power-of-two
// blocks (128 in every DeepSeek checkpoint).
struct Fp8Grid {
    unsigned rows, cols;         // the scale grid of one matrix
    unsigned block_rows;
    unsigned chunks_per_block;   // block_cols / 16
    int chunk_shift;             // log2(chunks_per_block), or -1
};
Fp8Grid fp8_grid(const Fp8Stack& s) {
    const unsigned cpb = unsigned(s.block_cols / 16);
    int shift = -1;
    for (int k = 0; k < 31; ++k)
        if ((1u << k) == cpb) shift = k;
    return {unsigned(grid_rows(s)), unsigned(grid_cols(s)), unsigned(s.block_rows), cpb, shift};
}
__device__ __forceinline__ unsigned block_of_chunk(const Fp8Grid& g, unsigned c) {
    return g.chunk_shift >= 0 ? c >> g.chunk_shift : c / g.chunks_per_block;
}

// The 16-byte chunks c0, c0 + 32, .. (B of them, those below nch) of a gate row and an up row,
// all loads issued before any is used.
template <int B>
__device__ __forceinline__ void load_pair(const void* gate, const void* up, int c0, int nch, uint4 (&wg)[B],
                                          uint4 (&wu)[B]) {
#pragma unroll
    for (int b = 0; b < B; ++b)
        if (c0 + 32 * b < nch) {
            wg[b] = ld_stream(static_cast<const uint4*>(gate) + c0 + 32 * b);
            wu[b] = ld_stream(static_cast<const uint4*>(up) + c0 + 32 * b);
        }
}

// This lane's partial g, u of one bf16 row pair (the shared expert's; hidden % 8 == 0).
template <int B>
__device__ __forceinline__ void row_pair_bf16(const uint16_t* gate, const uint16_t* up, const float* x, int64_t hidden,
                                              int lane, float& g, float& u) {
    const int nch = int(hidden / 8);
    const float4* x4 = reinterpret_cast<const float4*>(x);
    for (int c0 = lane; c0 < nch; c0 += 32 * B) {
        uint4 wg[B], wu[B];
        load_pair<B>(gate, up, c0, nch, wg, wu);
#pragma unroll
        for (int b = 0; b < B; ++b) {
            const int c = c0 + 32 * b;
            if (c < nch) {
                const float4 xa = __ldg(x4 + 2 * c), xb = __ldg(x4 + 2 * c + 1);
                g += dot8(wg[b], xa, xb);
                u += dot8(wu[b], xa, xb);
            }
        }
    }
}

// The same for an fp8 row pair; gs / us: the rows' lines of the scale grid (hidden % 16 == 0).
template <int B>
__device__ __forceinline__ void row_pair_fp8(const uint8_t* gate, const uint8_t* up, const float* gs, const float* us,
                                             const Fp8Grid& grid, const float* x, int64_t hidden, int lane, float& g,
                                             float& u) {
    const int nch = int(hidden / 16);
    for (int c0 = lane; c0 < nch; c0 += 32 * B) {
        uint4 wg[B], wu[B];
        load_pair<B>(gate, up, c0, nch, wg, wu);
#pragma unroll
        for (int b = 0; b < B; ++b) {
            const int c = c0 + 32 * b;
            if (c < nch) {
                float4 xc[4];
                load_x16(x, c, xc);
                const unsigned block = block_of_chunk(grid, unsigned(c));
                g = fmaf(__ldg(gs + block), fp8_dot16(wg[b], xc) * kFp8Unscale, g);
                u = fmaf(__ldg(us + block), fp8_dot16(wu[b], xc) * kFp8Unscale, u);
            }
        }
    }
}

// Warp per (row r of [expert_0 | .. | expert_K-1 | shared], token t), as gate_up_kernel at 1 row
// per warp: h[t, r] = weight · silu(gate_r · x_t) · (up_r · x_t).
template <int B>
__global__ void __launch_bounds__(kWarps * 32) gate_up_fp8_kernel(MoeDecodeArgs a, Fp8Grid grid) {
    pdl_begin();
    const int lane = threadIdx.x % 32;
    const int64_t routed = a.top_k * a.inter, R = routed + a.shared_inter;
    const int64_t r = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32, t = blockIdx.y;
    if (r >= R) return;
    const float* x = a.x + t * a.hidden;
    float g = 0.0f, u = 0.0f, weight = 1.0f;
    if (r < routed) {
        const unsigned k = unsigned(r) / unsigned(a.inter), i = unsigned(r) - k * unsigned(a.inter);
        const int64_t e = a.ids[t * a.top_k + k];
        weight = a.weights[t * a.top_k + k];
        const Fp8Stack& s = a.gate_up8;
        const uint8_t* gate = s.w + (2 * e * a.inter + i) * a.hidden;
        const int64_t grid_size = int64_t(grid.rows) * grid.cols;
        const float* gs = s.scale + 2 * e * grid_size + int64_t(i / grid.block_rows) * grid.cols;  // matrix 2e: the gate
        row_pair_fp8<B>(gate, gate + a.inter * a.hidden, gs, gs + grid_size, grid, x, a.hidden, lane, g, u);
    } else {
        const int64_t i = r - routed;
        row_pair_bf16<B>(a.s_gate + i * a.hidden, a.s_up + i * a.hidden, x, a.hidden, lane, g, u);
    }
    g = warp_sum(g);
    u = warp_sum(u);
    if (lane == 0) a.h[t * R + r] = weight * (silu(g) * u);
}

// acc[r] += Σ_c scale_r[c / block_cols] · fp8(w[r·stride + c]) · h[c] over c < len (len % 16 == 0).
template <int ROWS, int BATCH>
__device__ __forceinline__ void down_rows_fp8(const uint8_t* w, int64_t stride, int64_t len,
                                              const float* const (&scale)[ROWS], const Fp8Grid& grid, const float* h,
                                              int rows, int lane, float (&acc)[ROWS]) {
    const int nch = int(len / 16);
    for (int c0 = lane; c0 < nch; c0 += 32 * BATCH) {
        uint4 wv[ROWS][BATCH];
        load_rows<ROWS, BATCH>(w, stride, rows, c0, nch, wv);
#pragma unroll
        for (int b = 0; b < BATCH; ++b) {
            const int c = c0 + 32 * b;
            if (c < nch) {
                float4 hc[4];
                load_x16(h, c, hc);
                const unsigned block = block_of_chunk(grid, unsigned(c));
#pragma unroll
                for (int r = 0; r < ROWS; ++r)
                    acc[r] = fmaf(__ldg(scale[r] + block), fp8_dot16(wv[r][b], hc) * kFp8Unscale, acc[r]);
            }
        }
    }
}

// Block per (ROWS output rows j, token t), warp per segment, as down_kernel: routed segments read
// fp8 rows, the shared expert's pieces bf16.
template <int ROWS, int BATCH>
__global__ void down_fp8_kernel(MoeDecodeArgs a, DownSegments d, Fp8Grid grid) {
    pdl_begin();
    __shared__ float sums[ROWS][kMaxSegments];
    const int64_t j0 = int64_t(blockIdx.x) * ROWS, t = blockIdx.y;
    const int seg = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t R = a.top_k * a.inter + a.shared_inter;
    const int rows = int(a.hidden - j0 < ROWS ? a.hidden - j0 : ROWS);
    const float* h = a.h + t * R;
    float acc[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; ++r) acc[r] = 0.0f;
    if (seg < d.routed) {
        const int64_t e = a.ids[t * a.top_k + seg];
        const Fp8Stack& s = a.down8;
        const float* scale[ROWS];
#pragma unroll
        for (int r = 0; r < ROWS; ++r)
            scale[r] = s.scale + (e * grid.rows + unsigned(j0 + (r < rows ? r : 0)) / grid.block_rows) * grid.cols;
        down_rows_fp8<ROWS, BATCH>(s.w + (e * a.hidden + j0) * a.inter, a.inter, a.inter, scale, grid,
                                   h + seg * a.inter, rows, lane, acc);
    } else {
        const int64_t c0 = int64_t(seg - d.routed) * d.piece;
        const int64_t len = a.shared_inter - c0 < d.piece ? a.shared_inter - c0 : d.piece;
        down_rows_bf16<ROWS, BATCH>(a.s_down + j0 * a.shared_inter + c0, a.shared_inter, len,
                                    h + a.top_k * a.inter + c0, rows, lane, acc);
    }
    down_block_sum<ROWS>(acc, sums, seg, lane, rows, d.count(), a.out + t * a.hidden + j0);
}

bool stack_ok(const Fp8Stack& s, int64_t rows, int64_t cols) {
    return s.w && s.scale && s.rows == rows && s.cols == cols && fp8_shape_ok(cols, s.block_rows, s.block_cols) &&
           aligned16(s.w) && grid_rows(s) > 0 && grid_cols(s) > 0;
}

}  // namespace

cudaError_t moe_decode_fp8(const MoeDecodeArgs& a, cudaStream_t stream) {
    if (a.T <= 0) return cudaSuccess;
    const int64_t R = a.top_k * a.inter + a.shared_inter;
    if (R <= 0 || a.top_k < 1 || a.top_k + 1 > kMaxParts || R >= (int64_t(1) << 31) || !a.ids || !a.weights ||
        !stack_ok(a.gate_up8, a.inter, a.hidden) || !stack_ok(a.down8, a.hidden, a.inter) ||
        a.gate_up8.mats != 2 * a.down8.mats || !aligned16(a.x) || !aligned16(a.h))
        return cudaErrorInvalidValue;
    if (a.shared_inter > 0 && (!a.s_gate || !a.s_up || !a.s_down || a.shared_inter % 8 != 0 || !aligned16(a.s_gate) ||
                               !aligned16(a.s_up) || !aligned16(a.s_down)))
        return cudaErrorInvalidValue;
    const DownSegments d = down_segments(a);
    if (d.count() > kMaxSegments) return cudaErrorInvalidValue;
    MOE_PREFER_SHARED((gate_up_fp8_kernel<kGateUpBatch>));
    MOE_LAUNCH((gate_up_fp8_kernel<kGateUpBatch>), dim3(ceil_div(R, kWarps), unsigned(a.T)), kWarps * 32, 0, stream, a,
               fp8_grid(a.gate_up8));
    MOE_PREFER_SHARED((down_fp8_kernel<kDownRows, kDownBatch>));
    MOE_LAUNCH((down_fp8_kernel<kDownRows, kDownBatch>), dim3(ceil_div(a.hidden, kDownRows), unsigned(a.T)),
               unsigned(32 * d.count()), 0, stream, a, d, fp8_grid(a.down8));
    return cudaGetLastError();
}

}  // namespace moe::kernels
