// Flash-style attention on the tensor cores for training and prefill (attention.h, FlashAttnArgs):
// the score matrices never leave the chip. The forward streams key tiles past a block's 128 query
// rows (64 for short sequences or where 128 rows' shared memory does not fit) with an online softmax (FA2: running max and sum per row, P rounded to bf16 straight from
// the score registers into the P·V mma), saving only the output and each row's log-sum-exp. The
// backward runs a block per 64 keys over the query tiles that can see them, recomputing P from the
// saved lse: dV += Pᵀ dO and dK += dSᵀ Q stay in registers, dQ += dS K is added to global memory
// with atomics.
//
// Work per warp: 16 query rows (forward) or 16 keys (backward); tiles are 64 rows, shared rows
// padded by 8 elements (conflict-free ldmatrix, as grouped_gemm.cu), the streamed tiles double-
// buffered (the next tile's asynchronous copies fly while the current one is computed). Operands
// are bf16 (the engine rounds q, k, v and dO once; reading f32 here and rounding on the way measured
// slower: the synchronous loads could not overlap). Exponentials in base 2 with the scale folded in.
// Row r sees keys seg_start[r] .. r (packed sequences and causality; prefill: query row i is position
// q_offset + i): a block visits only the tiles between its rows' earliest visible key (forward) or
// its keys' last viewer (backward), masked per element. The CPU twin of the maths is
// cpu_attention.cpp's attention_train* (and the prefill attention); the cuBLAS form in
// cuda_attention.cpp serves the other widths.
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "attention.h"
#include "common.cuh"
#include "mma_sync.cuh"

namespace moe::kernels {
namespace {

constexpr int kTile = 64;     // query rows of a forward block, keys of a backward block, rows of every tile
constexpr int kBackwardThreads = 256;  // backward: 4 groups of 16 keys x 2 halves of the query tile
constexpr float kLog2e = 1.4426950408889634f, kLn2 = 0.6931471805599453f;
constexpr float kMinusInf = -__builtin_huge_valf();

template <int DQK, int DV>
struct Flash {
    static_assert(DQK % 16 == 0 && DV % 16 == 0, "head widths of whole m16n8k16 steps");
    static constexpr int kDqk = DQK, kDv = DV;
    static constexpr int kLdQK = DQK + 8, kLdV = DV + 8, kLdS = kTile + 8;  // padded shared rows
    static constexpr int kQK = kTile * kLdQK, kV = kTile * kLdV;
    static constexpr size_t forward_smem(int rows) { return size_t(rows * kLdQK + 2 * (kQK + kV)) * 2; }  // Q, 2 x [K | V]
    static constexpr size_t kBackwardSmem = size_t(3 * (kQK + kV) + kTile * kLdS) * 2;  // K, V, dSᵀ, 2 x [Q | dO]
};

// Rows [r0, r0 + 64) of columns [c0, c0 + D) of a bf16 [T, ld] matrix into shared [64][D + 8] by
// asynchronous copies; rows past T read as zero.
template <int D, int THREADS>
__device__ __forceinline__ void load_tile(uint16_t* s, const uint16_t* g, int64_t ld, int64_t r0, int64_t T,
                                          int64_t c0) {
    constexpr int kChunks = kTile * D / 8;  // 16-byte copies
    static_assert(kChunks % THREADS == 0, "every thread copies the same number of chunks");
#pragma unroll
    for (int i = 0; i < kChunks / THREADS; ++i) {
        const int c = threadIdx.x + i * THREADS, row = c / (D / 8), col = (c % (D / 8)) * 8;
        const bool valid = r0 + row < T;
        cp_async16(s + row * (D + 8) + col, g + (valid ? r0 + row : 0) * ld + c0 + col, valid);
    }
}

// Where head h's columns lie: q and dO [T, H·width], k and v [T, (H / kv_group)·width].
struct HeadColumns {
    int64_t ldq, ldkv_qk, ldv_q, ldkv_v, q, kv_qk, v_q, kv_v;
    template <int DQK, int DV>
    __device__ static HeadColumns of(const FlashAttnArgs& a, int h) {
        const int64_t kvh = h / a.kv_group, n_kv = a.n_heads / a.kv_group;
        return {int64_t(a.n_heads) * DQK, n_kv * DQK, int64_t(a.n_heads) * DV, n_kv * DV,
                int64_t(h) * DQK, kvh * DQK, int64_t(h) * DV, kvh * DV};
    }
};

// Whether query row q (of T) sees key j, given seg = seg_start[q].
__device__ __forceinline__ bool sees(int64_t q, int64_t j, int32_t seg, int64_t T) {
    return q < T && j <= q && j >= seg;
}

// Block-wide max of one int per thread (up to kBackwardThreads), to every thread.
__device__ __forceinline__ int64_t block_max(int64_t v) {
    __shared__ int64_t warp_max_s[kBackwardThreads / 32];
    for (int o = 16; o > 0; o /= 2) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();  // earlier readers of warp_max_s are done
    if (threadIdx.x % 32 == 0) warp_max_s[threadIdx.x / 32] = v;
    __syncthreads();
    int64_t m = warp_max_s[0];
    for (int w = 1; w < int(blockDim.x / 32); ++w) m = max(m, warp_max_s[w]);
    return m;
}

// acc[2·np], acc[2·np + 1] (16 x 16 of the warp) += A (16 x 16 from a) · B's 16 columns np·16..,
// for every np < N/16, over K in steps of 16: A rows are `a` (K-contiguous, lda), B is stored
// K-contiguous as [n][k] (ldb).
template <int K, int N>
__device__ __forceinline__ void warp_gemm(float (&acc)[N / 8][4], const uint16_t* a, int lda, const uint16_t* b,
                                          int ldb) {
    const int lane = threadIdx.x % 32, r = lane % 8, j = lane / 8;
#pragma unroll
    for (int kk = 0; kk < K; kk += 16) {
        uint32_t af[4];
        ldmatrix_x4<false>(af, a + ((j % 2) * 8 + r) * lda + kk + (j / 2) * 8);
#pragma unroll
        for (int np = 0; np < N / 16; ++np) {
            uint32_t bf[4];
            ldmatrix_x4<false>(bf, b + (np * 16 + (j / 2) * 8 + r) * ldb + kk + (j % 2) * 8);
            mma_bf16(acc[2 * np], af, bf[0], bf[1]);
            mma_bf16(acc[2 * np + 1], af, bf[2], bf[3]);
        }
    }
}

// acc (16 x N) += P (16 x K, bf16 A fragments in registers, pa[kk] for columns kk·16..) · B, B
// stored N-contiguous [K][ldb].
template <int K, int N>
__device__ __forceinline__ void warp_gemm_regs(float (&acc)[N / 8][4], const uint32_t (&pa)[K / 16][4],
                                               const uint16_t* b, int ldb) {
    const int lane = threadIdx.x % 32, r = lane % 8, j = lane / 8;
#pragma unroll
    for (int kk = 0; kk < K / 16; ++kk)
#pragma unroll
        for (int np = 0; np < N / 16; ++np) {
            uint32_t bf[4];
            ldmatrix_x4<true>(bf, b + (kk * 16 + (j % 2) * 8 + r) * ldb + np * 16 + (j / 2) * 8);
            mma_bf16(acc[2 * np], pa[kk], bf[0], bf[1]);
            mma_bf16(acc[2 * np + 1], pa[kk], bf[2], bf[3]);
        }
}

// A 16 x N f32 accumulator as the bf16 A fragments of its N columns.
template <int N>
__device__ __forceinline__ void to_a_fragments(const float (&c)[N / 8][4], uint32_t (&pa)[N / 16][4]) {
#pragma unroll
    for (int kk = 0; kk < N / 16; ++kk) {
        pa[kk][0] = pack_bf16(c[2 * kk][0], c[2 * kk][1]);
        pa[kk][1] = pack_bf16(c[2 * kk][2], c[2 * kk][3]);
        pa[kk][2] = pack_bf16(c[2 * kk + 1][0], c[2 * kk + 1][1]);
        pa[kk][3] = pack_bf16(c[2 * kk + 1][2], c[2 * kk + 1][3]);
    }
}

__device__ __forceinline__ float quad_max(float v) {
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
    return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float quad_sum(float v) {
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

// One key tile's scores into probabilities, FA2's online softmax for this thread's two rows: s
// [kTile/8][4] raw Q·Kᵀ (invisible keys already -inf) becomes exp2(s·sl2 − m) with m the running
// maximum in base-2 units; l (the running sums) and o (the output accumulator) are rescaled by the
// change of m. The scale rides on the exponent's FMA, so the maxima are taken of raw scores (sl2 > 0).
template <int DV>
__device__ __forceinline__ void online_softmax(float (&s)[kTile / 8][4], float (&o)[DV / 8][4], float (&m)[2],
                                               float (&l)[2], float sl2) {
    float mx[2] = {kMinusInf, kMinusInf};
#pragma unroll
    for (int ni = 0; ni < kTile / 8; ++ni)
#pragma unroll
        for (int e = 0; e < 4; ++e) mx[e / 2] = fmaxf(mx[e / 2], s[ni][e]);
    float alpha[2], base[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        const float mn = fmaxf(m[i], quad_max(mx[i]) * sl2);
        base[i] = mn == kMinusInf ? 0.0f : mn;  // a row with nothing visible yet: exponents of -inf
        alpha[i] = exp2f(m[i] - base[i]);
        m[i] = mn;
        l[i] *= alpha[i];
    }
#pragma unroll
    for (int ni = 0; ni < kTile / 8; ++ni)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            s[ni][e] = exp2f(fmaf(s[ni][e], sl2, -base[e / 2]));
            l[e / 2] += s[ni][e];
        }
#pragma unroll
    for (int n = 0; n < DV / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) o[n][e] *= alpha[e / 2];
}

// Grid (query tiles of ROWS rows, heads), the last tile (the most keys) first; ROWS / 16 warps of
// 16 query rows share each key tile (128 rows halve the key/value copies of 64 at the same 8 warps
// per SM: one block of 137 KB per SM instead of two of 112). Only the tiles that straddle the
// diagonal, a segment start or the end of T are masked per element; the rest, most of a long
// prefill, skip the per-element tests.
template <int DQK, int DV, int ROWS>
__global__ void __launch_bounds__(ROWS * 2) flash_forward_kernel(FlashAttnArgs a) {
    static_assert(ROWS * 2 <= kBackwardThreads, "block_max's per-warp slots");
    pdl_begin();
    using F = Flash<DQK, DV>;
    constexpr int kWarpsThreads = ROWS * 2, kQ = ROWS * F::kLdQK;
    extern __shared__ __align__(16) uint16_t smem[];
    uint16_t* qs = smem;  // then two stages of [K | V]
    const int h = blockIdx.y, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t q0 = int64_t(gridDim.x - 1 - blockIdx.x) * ROWS;
    const HeadColumns hc = HeadColumns::of<DQK, DV>(a, h);
    const int lr = warp * 16 + lane / 4;  // this thread's rows: lr and lr + 8 of the tile
    const int64_t row[2] = {q0 + lr, q0 + lr + 8}, pos[2] = {a.q_offset + row[0], a.q_offset + row[1]};
    const int32_t seg[2] = {a.seg_start && row[0] < a.T ? a.seg_start[row[0]] : 0,
                            a.seg_start && row[1] < a.T ? a.seg_start[row[1]] : 0};
    // Keys [k_begin, k_end): from the tile's earliest segment start to its last row's position;
    // keys from seg_end on are visible to every row of the tile up to the diagonal.
    const int64_t n_keys = a.n_keys > 0 ? a.n_keys : a.T;
    const bool own_row = threadIdx.x < ROWS && q0 + threadIdx.x < a.T;
    const int64_t k_begin = a.seg_start ? -block_max(own_row ? -int64_t(a.seg_start[q0 + threadIdx.x]) : -int64_t(q0)) : 0;
    const int64_t seg_end = a.seg_start ? block_max(own_row ? int64_t(a.seg_start[q0 + threadIdx.x]) : 0) : 0;
    const int64_t last = a.q_offset + (q0 + ROWS < a.T ? q0 + ROWS : a.T);  // one past the last position
    const int64_t k_end = last < n_keys ? last : n_keys;
    // Keys below a.q_offset + q0 (the first row's position) are seen by every row of a full tile.
    const int64_t unmasked_end = q0 + ROWS <= a.T ? a.q_offset + q0 + 1 : 0;
    const int n_tiles = int((k_end - k_begin + kTile - 1) / kTile);
    auto load_kv = [&](int t) {
        uint16_t* st = smem + kQ + (t % 2) * (F::kQK + F::kV);
        load_tile<DQK, kWarpsThreads>(st, a.k, hc.ldkv_qk, k_begin + int64_t(t) * kTile, n_keys, hc.kv_qk);
        load_tile<DV, kWarpsThreads>(st + F::kQK, a.v, hc.ldkv_v, k_begin + int64_t(t) * kTile, n_keys, hc.kv_v);
    };
#pragma unroll
    for (int r = 0; r < ROWS; r += kTile) load_tile<DQK, kWarpsThreads>(qs + r * F::kLdQK, a.q, hc.ldq, q0 + r, a.T, hc.q);
    load_kv(0);
    cp_async_commit();
    const float sl2 = a.scale * kLog2e;
    float o[DV / 8][4] = {}, m[2] = {kMinusInf, kMinusInf}, l[2] = {0.0f, 0.0f};
    for (int t = 0; t < n_tiles; ++t) {
        if (t + 1 < n_tiles) load_kv(t + 1);
        cp_async_commit();
        cp_async_wait<1>();  // tile t (and Q) landed for this thread
        __syncthreads();
        const int64_t k0 = k_begin + int64_t(t) * kTile;
        const uint16_t *ks = smem + kQ + (t % 2) * (F::kQK + F::kV), *vs = ks + F::kQK;
        float s[kTile / 8][4] = {};
        warp_gemm<DQK, kTile>(s, qs + warp * 16 * F::kLdQK, F::kLdQK, ks, F::kLdQK);
        if (k0 < seg_end || k0 + kTile > unmasked_end) {  // block-uniform
#pragma unroll
            for (int ni = 0; ni < kTile / 8; ++ni)
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const int64_t key = k0 + ni * 8 + 2 * (lane % 4) + e % 2;
                    if (!(row[e / 2] < a.T && key <= pos[e / 2] && key >= seg[e / 2])) s[ni][e] = kMinusInf;
                }
        }
        online_softmax<DV>(s, o, m, l, sl2);
        uint32_t pa[kTile / 16][4];
        to_a_fragments<kTile>(s, pa);
        warp_gemm_regs<kTile, DV>(o, pa, vs, F::kLdV);
        __syncthreads();  // every warp is done with this stage before tile t + 2 is copied into it
    }
    cp_async_wait<0>();
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        l[i] = quad_sum(l[i]);
        if (row[i] >= a.T) continue;
        const float inv = 1.0f / l[i];  // > 0: a row sees itself
        float* out = a.out + row[i] * hc.ldv_q + hc.v_q + 2 * (lane % 4);
#pragma unroll
        for (int n = 0; n < DV / 8; ++n)
            *reinterpret_cast<float2*>(out + n * 8) = make_float2(o[n][2 * i] * inv, o[n][2 * i + 1] * inv);
        if (lane % 4 == 0 && a.lse) a.lse[row[i] * a.n_heads + h] = m[i] * kLn2 + logf(l[i]);
    }
}

// dq[i..i+1] += (x, y): one vector atomic on sm_90.
__device__ __forceinline__ void add_pair(float* p, float x, float y) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    atomicAdd(reinterpret_cast<float2*>(p), make_float2(x, y));
#else
    atomicAdd(p, x);
    atomicAdd(p + 1, y);
#endif
}

// Grid (key tiles, heads), the first keys (seen by the most queries) first. Warp w: keys
// (w % 4)·16.. of the tile against queries (w / 4)·32.. of each query tile (so that its dK and dV
// accumulators, 16 x (qk + v) floats, leave room for the rest in registers); the two warps of a
// key group add their dK and dV at the end. dQ += dS K by atomics (warp w adds rows (w % 4)·16..,
// columns half w / 4): a query-major dQ kernel recomputing S and dP measured slower (19.8 against
// 13.4 ms a LoRA moonlight step). Query tiles from the keys' own to the last row that sees any of
// them (masked per element).
template <int DQK, int DV>
__global__ void __launch_bounds__(kBackwardThreads) flash_backward_kernel(FlashAttnArgs a) {
    pdl_begin();
    using F = Flash<DQK, DV>;
    constexpr int kHalf = kTile / 2, kQkHalf = DQK / 2, kStage = F::kQK + F::kV;
    static_assert(kQkHalf % 16 == 0, "dQ column halves of whole m16n8k16 steps");
    extern __shared__ __align__(16) uint16_t smem[];
    uint16_t *ks = smem, *vs = ks + F::kQK, *dss = vs + F::kV, *stages = dss + kTile * F::kLdS;  // stage: [Q | dO]
    const int h = blockIdx.y, warp = threadIdx.x / 32, lane = threadIdx.x % 32, kg = warp % 4, qh = warp / 4;
    const int64_t k0 = int64_t(blockIdx.x) * kTile;
    const HeadColumns hc = HeadColumns::of<DQK, DV>(a, h);
    int64_t last = k0;  // the last row that sees a key of the tile (segments: seg_start[r] <= k0 + 63)
    for (int64_t r = k0 + threadIdx.x; r < a.T; r += kBackwardThreads)
        if (a.seg_start[r] <= k0 + kTile - 1) last = r;
    last = block_max(last);
    const int n_tiles = int((last - k0) / kTile + 1);
    auto load_q = [&](int t) {
        uint16_t* st = stages + (t % 2) * kStage;
        load_tile<DQK, kBackwardThreads>(st, a.q, hc.ldq, k0 + int64_t(t) * kTile, a.T, hc.q);
        load_tile<DV, kBackwardThreads>(st + F::kQK, a.d_out, hc.ldv_q, k0 + int64_t(t) * kTile, a.T, hc.v_q);
    };
    load_tile<DQK, kBackwardThreads>(ks, a.k, hc.ldkv_qk, k0, a.T, hc.kv_qk);
    load_tile<DV, kBackwardThreads>(vs, a.v, hc.ldkv_v, k0, a.T, hc.kv_v);
    load_q(0);
    cp_async_commit();
    const int lk = kg * 16 + lane / 4;  // this thread's keys: lk and lk + 8 of the tile
    const int64_t key[2] = {k0 + lk, k0 + lk + 8};
    const float sl2 = a.scale * kLog2e;
    float dk[DQK / 8][4] = {}, dv[DV / 8][4] = {};
    for (int t = 0; t < n_tiles; ++t) {
        if (t + 1 < n_tiles) load_q(t + 1);
        cp_async_commit();
        cp_async_wait<1>();
        const int64_t q0 = k0 + int64_t(t) * kTile;
        // This thread's 8 query columns: seg_start, lse (base 2) and D; together the block's threads
        // read every column of the tile, so one barrier also tells whether all its queries see all
        // the block's keys (a later tile, inside one segment, no row past T): no per-element mask.
        int32_t seg[kHalf / 8][2];
        float lse2[kHalf / 8][2], dd[kHalf / 8][2];
        bool sees_all = t > 0;
#pragma unroll
        for (int ni = 0; ni < kHalf / 8; ++ni)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                const int64_t q = q0 + qh * kHalf + ni * 8 + 2 * (lane % 4) + e;
                const bool in = q < a.T;
                seg[ni][e] = in ? a.seg_start[q] : INT_MAX;
                lse2[ni][e] = in ? a.lse[q * a.n_heads + h] * kLog2e : 0.0f;
                dd[ni][e] = in ? a.drow[q * a.n_heads + h] : 0.0f;
                sees_all = sees_all && seg[ni][e] <= k0;
            }
        const bool unmasked = __syncthreads_and(sees_all);  // also: tile t landed for every thread
        const uint16_t *qs = stages + (t % 2) * kStage, *dos = qs + F::kQK;
        const uint16_t *qh_rows = qs + qh * kHalf * F::kLdQK, *doh_rows = dos + qh * kHalf * F::kLdV;
        // Pᵀ [16 keys x 32 queries] = exp(scale · K Qᵀ − lse), as bf16 A fragments.
        float s[kHalf / 8][4] = {};
        warp_gemm<DQK, kHalf>(s, ks + kg * 16 * F::kLdQK, F::kLdQK, qh_rows, F::kLdQK);
        if (unmasked) {
#pragma unroll
            for (int ni = 0; ni < kHalf / 8; ++ni)
#pragma unroll
                for (int e = 0; e < 4; ++e) s[ni][e] = exp2f(s[ni][e] * sl2 - lse2[ni][e % 2]);
        } else {
#pragma unroll
            for (int ni = 0; ni < kHalf / 8; ++ni)
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const int64_t q = q0 + qh * kHalf + ni * 8 + 2 * (lane % 4) + e % 2;
                    s[ni][e] = sees(q, key[e / 2], seg[ni][e % 2], a.T) ? exp2f(s[ni][e] * sl2 - lse2[ni][e % 2]) : 0.0f;
                }
        }
        uint32_t pa[kHalf / 16][4];
        to_a_fragments<kHalf>(s, pa);
        // dPᵀ = V dOᵀ, then dSᵀ = Pᵀ ⊙ (dPᵀ − D) · scale (P as rounded for dV).
        float dp[kHalf / 8][4] = {};
        warp_gemm<DV, kHalf>(dp, vs + kg * 16 * F::kLdV, F::kLdV, doh_rows, F::kLdV);
#pragma unroll
        for (int ni = 0; ni < kHalf / 8; ++ni)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const uint32_t pair = pa[ni / 2][(ni % 2) * 2 + e / 2];
                const float p = bf16_bits_to_f32(uint16_t(e % 2 ? pair >> 16 : pair & 0xffffu));
                dp[ni][e] = p * (dp[ni][e] - dd[ni][e % 2]) * a.scale;
            }
        warp_gemm_regs<kHalf, DV>(dv, pa, doh_rows, F::kLdV);
        to_a_fragments<kHalf>(dp, pa);  // now dSᵀ
        warp_gemm_regs<kHalf, DQK>(dk, pa, qh_rows, F::kLdQK);
        // dSᵀ to shared memory for dQ = dS K.
#pragma unroll
        for (int ni = 0; ni < kHalf / 8; ++ni)
#pragma unroll
            for (int i = 0; i < 2; ++i)
                *reinterpret_cast<uint32_t*>(dss + (lk + 8 * i) * F::kLdS + qh * kHalf + ni * 8 + 2 * (lane % 4)) =
                    pa[ni / 2][(ni % 2) * 2 + i];
        __syncthreads();
        const int r = lane % 8, j = lane / 8;
        uint32_t sa[kTile / 16][4];  // dS rows kg·16.. as A fragments (k = keys): dSᵀ read transposed
#pragma unroll
        for (int kk = 0; kk < kTile / 16; ++kk)
            ldmatrix_x4<true>(sa[kk], dss + (kk * 16 + (j / 2) * 8 + r) * F::kLdS + kg * 16 + (j % 2) * 8);
        constexpr int kChunk = kQkHalf % 32 == 0 ? 32 : 16;
#pragma unroll
        for (int c0 = qh * kQkHalf; c0 < (qh + 1) * kQkHalf; c0 += kChunk) {
            float dq[kChunk / 8][4] = {};
            warp_gemm_regs<kTile, kChunk>(dq, sa, ks + c0, F::kLdQK);
#pragma unroll
            for (int i = 0; i < 2; ++i) {
                const int64_t q = q0 + kg * 16 + lane / 4 + 8 * i;
                if (q >= a.T) continue;
                float* out = a.dq + q * hc.ldq + hc.q + c0 + 2 * (lane % 4);
#pragma unroll
                for (int n = 0; n < kChunk / 8; ++n) add_pair(out + n * 8, dq[n][2 * i], dq[n][2 * i + 1]);
            }
        }
        __syncthreads();  // every warp is done with this stage and dSᵀ before they are rewritten
    }
    cp_async_wait<0>();
    // The key group's two query halves: the first stores, the second adds (same block: the barrier
    // makes the stores visible).
    for (int half = 0; half < 2; ++half) {
        __syncthreads();
        if (qh != half) continue;
#pragma unroll
        for (int i = 0; i < 2; ++i) {
            if (key[i] >= a.T) continue;
            float* dko = a.dk + key[i] * hc.ldq + hc.q + 2 * (lane % 4);  // per query head
            float* dvo = a.dv + key[i] * hc.ldv_q + hc.v_q + 2 * (lane % 4);
#pragma unroll
            for (int n = 0; n < DQK / 8; ++n) {
                float2 v = make_float2(dk[n][2 * i], dk[n][2 * i + 1]);
                if (half) v.x += dko[n * 8], v.y += dko[n * 8 + 1];
                *reinterpret_cast<float2*>(dko + n * 8) = v;
            }
#pragma unroll
            for (int n = 0; n < DV / 8; ++n) {
                float2 v = make_float2(dv[n][2 * i], dv[n][2 * i + 1]);
                if (half) v.x += dvo[n * 8], v.y += dvo[n * 8 + 1];
                *reinterpret_cast<float2*>(dvo + n * 8) = v;
            }
        }
    }
}

// scale > 0: the online softmax takes its maxima over the raw scores and scales on the exponent.
bool args_ok(const FlashAttnArgs& a) {
    return a.T > 0 && a.T <= INT_MAX && a.n_heads > 0 && a.n_heads <= 65535 && a.kv_group > 0 &&
           a.n_heads % a.kv_group == 0 && a.q && a.k && a.v && a.q_offset >= 0 && a.n_keys >= 0 && a.scale > 0.0f &&
           std::isfinite(a.scale);
}

// f(Flash<DQK, DV>{}) for the widths built here; false for others.
template <class Fn>
bool with_widths(int qk_dim, int v_dim, Fn&& fn) {
    if (qk_dim == 192 && v_dim == 128) return fn(Flash<192, 128>{});
    if (qk_dim == 128 && v_dim == 128) return fn(Flash<128, 128>{});
    if (qk_dim == 96 && v_dim == 64) return fn(Flash<96, 64>{});
    if (qk_dim == 64 && v_dim == 64) return fn(Flash<64, 64>{});
    return false;
}

// Launches a kernel of one width over blocks of ROWS rows; the dynamic shared memory limit is raised
// once per kernel (F, BACKWARD and ROWS telling the kernels apart).
template <class F, bool BACKWARD, int ROWS, class Kernel>
cudaError_t launch(Kernel kernel, const FlashAttnArgs& a, int threads, size_t smem, cudaStream_t stream) {
    static const cudaError_t attr = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
    if (attr != cudaSuccess) return attr;
    MOE_LAUNCH(kernel, dim3(ceil_div(a.T, ROWS), unsigned(a.n_heads)), threads, smem, stream, a);
    return cudaGetLastError();
}

// Query rows per forward block: 128 where its shared memory (smem128 bytes, plus the 1 KB the
// runtime reserves per block) fits the current device's per-block limit (Hopper's 227 KB; consumer
// GPUs allow 99 KB: 128/128 heads then take 64 rows), else 64; 64 also for sequences that fit one
// such block, or with MOE_FLASH_ROWS=64 (to compare). The limit is read once, from the device
// current at the first call.
int forward_rows(int64_t T, size_t smem128) {
    static const bool narrow = [] {
        const char* e = std::getenv("MOE_FLASH_ROWS");
        return e && std::string_view(e) == "64";
    }();
    static const size_t limit = [] {
        int dev = 0, bytes = 0;
        if (cudaGetDevice(&dev) != cudaSuccess ||
            cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) != cudaSuccess) {
            (void)cudaGetLastError();  // not left for the launch's error check to find
            return size_t(0);
        }
        return size_t(bytes);
    }();
    return narrow || T <= kTile || smem128 + 1024 > limit ? kTile : 2 * kTile;
}

}  // namespace

bool flash_attention_supported(int qk_dim, int v_dim) {
    return with_widths(qk_dim, v_dim, [](auto) { return true; });
}

cudaError_t attention_flash_forward(const FlashAttnArgs& a, cudaStream_t stream) {
    if (!args_ok(a) || !a.out || (a.n_keys > 0 && a.n_keys < a.q_offset + a.T)) return cudaErrorInvalidValue;
    cudaError_t err = cudaErrorInvalidValue;
    with_widths(a.qk_dim, a.v_dim, [&](auto f) {
        using F = decltype(f);
        if (forward_rows(a.T, F::forward_smem(2 * kTile)) == kTile)
            err = launch<F, false, kTile>(flash_forward_kernel<F::kDqk, F::kDv, kTile>, a, 2 * kTile,
                                          F::forward_smem(kTile), stream);
        else
            err = launch<F, false, 2 * kTile>(flash_forward_kernel<F::kDqk, F::kDv, 2 * kTile>, a, 4 * kTile,
                                              F::forward_smem(2 * kTile), stream);
        return true;
    });
    return err;
}

cudaError_t attention_flash_backward(const FlashAttnArgs& a, cudaStream_t stream) {
    if (!args_ok(a) || !a.seg_start || !a.lse || !a.d_out || !a.drow || !a.dq || !a.dk || !a.dv || a.q_offset != 0 ||
        (a.n_keys != 0 && a.n_keys != a.T))
        return cudaErrorInvalidValue;
    cudaError_t err = cudaErrorInvalidValue;
    with_widths(a.qk_dim, a.v_dim, [&](auto f) {
        using F = decltype(f);
        err = launch<F, true, kTile>(flash_backward_kernel<F::kDqk, F::kDv>, a, kBackwardThreads, F::kBackwardSmem, stream);
        return true;
    });
    return err;
}

}  // namespace moe::kernels
