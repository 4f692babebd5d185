// Attention kernels; see attention.h for the split between decode and prefill.
#include <algorithm>
#include <utility>

#include "attention.h"
#include "common.cuh"

namespace moe::kernels {
namespace {

constexpr int kKeyTile = 32;  // keys per shared-memory tile: one per lane when scoring
constexpr int kLanesChunk = 16;  // key granularity of a split in the register-resident kernel
constexpr float kNegInf = -__builtin_huge_valf();

// ---- cache writes ---------------------------------------------------------------------------

// Grid (column blocks, rows): no per-element division.
__global__ void mla_cache_write_kernel(const float* __restrict__ latent, const float* __restrict__ k_pe,
                                       float* __restrict__ cache, int64_t T, int64_t kv_lora, int64_t rope,
                                       int64_t start_pos, const int32_t* dev_pos) {
    pdl_begin();
    const int64_t width = kv_lora + rope;
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x, t = blockIdx.y;
    if (c >= width) return;
    const int64_t pos = first_position(dev_pos, start_pos) + t;
    cache[pos * width + c] = c < kv_lora ? latent[t * kv_lora + c] : k_pe[t * rope + c - kv_lora];
}

__global__ void gqa_cache_write_kernel(const float* __restrict__ k, const float* __restrict__ v, float* __restrict__ kc,
                                       float* __restrict__ vc, int64_t T, int64_t cols, int64_t start_pos,
                                       const int32_t* dev_pos) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x, t = blockIdx.y;
    if (c >= cols) return;
    const int64_t dst = (first_position(dev_pos, start_pos) + t) * cols + c;
    kc[dst] = k[t * cols + c];
    vc[dst] = v[t * cols + c];
}

// ---- MLA absorption -------------------------------------------------------------------------

// Block = 64 output columns (32 column pairs, bf16x2 loads: 128 contiguous bytes per warp and row)
// x 8 row groups of one (token, head); the 8 partial sums meet in shared memory.
//   q_abs[c] = Σ_i q_nope[i] W_UK[i, c] for c < kv_lora, then the copied rope part.
constexpr int kAbsorbCols = 64, kAbsorbGroups = 8;
constexpr int kAbsorbThreads = kAbsorbGroups * kAbsorbCols / 2;

// Element d of rope(v[0 .. dim)) at position pos (rope.cu's arithmetic: cosf/sinf of pos * inv_freq).
__device__ __forceinline__ float rope_element(const float* v, int64_t d, float pos, const RopeParams& r) {
    const int64_t half = r.dim / 2;
    const int64_t i = r.interleaved ? d / 2 : (d < half ? d : d - half);
    const int64_t ia = r.interleaved ? 2 * i : i, ib = r.interleaved ? 2 * i + 1 : i + half;
    const float angle = pos * r.inv_freq[i];
    const float c = cosf(angle) * r.attention_factor, s = sinf(angle) * r.attention_factor;
    return d == ia ? v[ia] * c - v[ib] * s : v[ib] * c + v[ia] * s;
}

// Columns [blockIdx.x * 64, +64) of q_abs[t, h]; the rope part copied, or rotated when `rope` is set.
__device__ __forceinline__ void absorb_columns(const float* __restrict__ q, const uint16_t* __restrict__ kv_b,
                                               const MlaShape& s, float* __restrict__ q_abs, int64_t h, int64_t t,
                                               const RopeParams* rope, float pos) {
    __shared__ float part[kAbsorbGroups][kAbsorbCols];
    const int64_t qk = s.qk_nope + s.qk_rope, width = s.kv_lora + s.qk_rope;
    const float* qh = q + t * s.n_heads * qk + h * qk;
    float* dst = q_abs + (t * s.n_heads + h) * width;
    const int pair = threadIdx.x % (kAbsorbCols / 2), group = threadIdx.x / (kAbsorbCols / 2);
    const int64_t c = int64_t(blockIdx.x) * kAbsorbCols + 2 * pair;  // first of this thread's two columns
    float a0 = 0.0f, a1 = 0.0f;
    if (c < s.kv_lora) {
        const uint16_t* w = kv_b + h * (s.qk_nope + s.v_head) * s.kv_lora + c;
#pragma unroll 4
        for (int64_t i = group; i < s.qk_nope; i += kAbsorbGroups) {
            const uint32_t two = *reinterpret_cast<const uint32_t*>(w + i * s.kv_lora);
            const float qi = __ldg(qh + i);
            a0 = fmaf(qi, __uint_as_float(two << 16), a0);
            a1 = fmaf(qi, __uint_as_float(two & 0xffff0000u), a1);
        }
    }
    part[group][2 * pair] = a0;
    part[group][2 * pair + 1] = a1;
    __syncthreads();
    if (threadIdx.x < kAbsorbCols) {
        const int64_t col = int64_t(blockIdx.x) * kAbsorbCols + threadIdx.x;
        if (col < s.kv_lora) {
            float sum = 0.0f;
#pragma unroll
            for (int g = 0; g < kAbsorbGroups; ++g) sum += part[g][threadIdx.x];
            dst[col] = sum;
        } else if (col < width) {
            const int64_t d = col - s.kv_lora;
            dst[col] = rope ? rope_element(qh + s.qk_nope, d, pos, *rope) : qh[s.qk_nope + d];
        }
    }
}

// Block = 64 output columns (32 column pairs, bf16x2 loads: 128 contiguous bytes per warp and row)
// x 8 row groups of one (token, head); the 8 partial sums meet in shared memory.
//   q_abs[c] = Σ_i q_nope[i] W_UK[i, c] for c < kv_lora, then the copied rope part.
__global__ void __launch_bounds__(kAbsorbThreads)
    mla_absorb_kernel(const float* __restrict__ q, const uint16_t* __restrict__ kv_b, MlaShape s,
                      float* __restrict__ q_abs) {
    pdl_begin();
    absorb_columns(q, kv_b, s, q_abs, blockIdx.y, blockIdx.z, nullptr, 0.0f);
}

__device__ float block_sum_256(float v) {
    __shared__ float red[kAbsorbThreads / 32];
    v = warp_sum(v);
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = v;
    __syncthreads();
    float total = 0.0f;
#pragma unroll
    for (int w = 0; w < kAbsorbThreads / 32; ++w) total += red[w];
    return total;
}

// Grid (column blocks, H + 1, T): blocks y < H absorb head y (rope part rotated); block (0, H)
// writes the token's cache row: the normalised latent and the rotated k_pe.
__global__ void __launch_bounds__(kAbsorbThreads) mla_prep_kernel(MlaPrepArgs a) {
    pdl_begin();
    const MlaShape& s = a.shape;
    const int64_t t = blockIdx.z;
    const int64_t p = first_position(a.dev_pos, a.start_pos) + t;
    if (blockIdx.y < s.n_heads) {
        absorb_columns(a.q, a.kv_b, s, a.q_abs, blockIdx.y, t, &a.rope, float(p));
        return;
    }
    if (blockIdx.x != 0) return;
    const int64_t width = s.kv_lora + s.qk_rope;
    const float* c = a.ckv + t * width;
    float* row = a.cache + p * width;
    float ss = 0.0f;
    for (int64_t i = threadIdx.x; i < s.kv_lora; i += kAbsorbThreads) ss = fmaf(c[i], c[i], ss);
    const float inv_rms = 1.0f / sqrtf(block_sum_256(ss) / float(s.kv_lora) + a.eps);
    for (int64_t i = threadIdx.x; i < s.kv_lora; i += kAbsorbThreads) row[i] = a.norm_w[i] * (c[i] * inv_rms);
    for (int64_t d = threadIdx.x; d < s.qk_rope; d += kAbsorbThreads)
        row[s.kv_lora + d] = rope_element(c + s.kv_lora, d, float(p), a.rope);
}

// Grid (Hq + Hkv + 1, T): block x < Hq rotates q head x in place (one thread per rotary pair);
// the next Hkv blocks write rotated k heads into the cache; the last copies v into the cache.
__global__ void gqa_prep_kernel(GqaPrepArgs a) {
    pdl_begin();
    const int64_t hh = blockIdx.x, t = blockIdx.y, D = a.head_dim, kv_cols = a.n_kv_heads * D;
    const int64_t p = first_position(a.dev_pos, a.start_pos) + t;
    const float pos = float(p);
    const int64_t half = a.rope.dim / 2;
    if (hh < a.n_heads) {
        float* v = a.q + t * a.n_heads * D + hh * D;
        for (int64_t i = threadIdx.x; i < half; i += blockDim.x) {
            const int64_t ia = a.rope.interleaved ? 2 * i : i, ib = a.rope.interleaved ? 2 * i + 1 : i + half;
            const float ya = rope_element(v, ia, pos, a.rope), yb = rope_element(v, ib, pos, a.rope);
            v[ia] = ya;
            v[ib] = yb;
        }
    } else if (hh < a.n_heads + a.n_kv_heads) {
        const int64_t kh = hh - a.n_heads;
        const float* src = a.k + t * kv_cols + kh * D;
        float* dst = a.k_cache + p * kv_cols + kh * D;
        for (int64_t d = threadIdx.x; d < D; d += blockDim.x)
            dst[d] = d < a.rope.dim ? rope_element(src, d, pos, a.rope) : src[d];
    } else {
        for (int64_t c = threadIdx.x; c < kv_cols; c += blockDim.x) a.v_cache[p * kv_cols + c] = a.v[t * kv_cols + c];
    }
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

// ---- split-K decode ---------------------------------------------------------------------------

// Keys [begin, end) of split `split` for query t: the n_keys visible keys cut into `splits` chunks
// of a multiple of `grain` keys (empty for the trailing splits at short contexts).
struct KeyRange {
    int64_t begin, end;
};
__device__ __forceinline__ KeyRange split_keys(const DecodeAttnArgs& a, int64_t t, int split, int splits, int grain) {
    const int64_t n_keys = first_position(a.dev_pos, a.start_pos) + t + 1;
    const int64_t per_split = (n_keys + splits - 1) / splits;
    const int64_t chunk = (per_split + grain - 1) / grain * grain;
    const int64_t begin = int64_t(split) * chunk;
    return {begin, begin + chunk < n_keys ? begin + chunk : n_keys};
}

// One 32-key tile of online softmax for a warp whose lane j holds score s of key j (lanes >= nk
// hold no key): updates the running max m and sum l, returns lane j's probability and sets corr,
// the factor the running output must be scaled by (0 on the first tile, where m = -inf).
__device__ __forceinline__ float online_softmax_tile(float s, int lane, int nk, float& m, float& l, float& corr) {
    const float m_new = fmaxf(m, warp_max(s));
    const float p = lane < nk ? expf(s - m_new) : 0.0f;
    corr = expf(m - m_new);
    l = l * corr + warp_sum(p);
    m = m_new;
    return p;
}

// Heads per block: they must share one kv head, so a divisor of `group`; at most 8 warps, so that
// MLA's 16+ heads spread over two or more blocks per key split (more SMs busy at short contexts).
int64_t decode_heads_per_block(const DecodeAttnArgs& a) {
    for (int64_t hb = std::min<int64_t>(a.group, 8); hb > 1; --hb)
        if (a.group % hb == 0) return hb;
    return 1;
}

bool v_aliases_k(const DecodeAttnArgs& a) { return a.v == a.k && a.v_row == a.k_row && a.v_head == a.k_head; }

size_t decode_smem_bytes(const DecodeAttnArgs& a, int64_t hb) {
    const int64_t floats = hb * a.dk + kKeyTile * (a.dk + 1) + (v_aliases_k(a) ? 0 : kKeyTile * a.dv);
    return size_t(floats) * sizeof(float);
}

// Block = one warp per head (HB heads sharing a kv head), one key split, one query row t.
// Lane j scores key j of a 32-key tile; then lanes own output columns c = lane + 32 r.
template <int NV>
__global__ void decode_kernel(DecodeAttnArgs a, int splits, float* __restrict__ part_o, float* __restrict__ part_ml) {
    pdl_begin();
    extern __shared__ float smem[];
    const int HB = blockDim.x / 32;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t h0 = int64_t(blockIdx.x) * HB, h = h0 + warp;
    const int split = blockIdx.y;
    const int64_t t = blockIdx.z;
    const int64_t kvh = h0 / a.group;
    const bool v_in_k = a.v == a.k && a.v_row == a.k_row && a.v_head == a.k_head;
    const bool vec = a.dk % 4 == 0 && a.dv % 4 == 0 && a.k_row % 4 == 0 && a.k_head % 4 == 0 && a.v_row % 4 == 0 &&
                     a.v_head % 4 == 0 && (reinterpret_cast<uintptr_t>(a.k) % 16) == 0 &&
                     (reinterpret_cast<uintptr_t>(a.v) % 16) == 0;
    float* q_s = smem;                          // [HB][dk]
    float* k_s = q_s + HB * a.dk;               // [32][dk + 1] (+1: lanes read different rows, no bank conflicts)
    float* v_s = k_s + kKeyTile * (a.dk + 1);   // [32][dv] when V is not inside K

    const KeyRange keys = split_keys(a, t, split, splits, kKeyTile);
    const int64_t j_begin = keys.begin, j_end = keys.end;

    const int64_t slot = (t * a.n_heads + h) * splits + split;
    if (j_begin >= j_end) {  // nothing to attend in this split (short context, splits sized for the capacity)
#pragma unroll
        for (int r = 0; r < NV; ++r)
            if (lane + 32 * r < a.dv) part_o[slot * a.dv + lane + 32 * r] = 0.0f;
        if (lane == 0) {
            part_ml[slot * 2] = kNegInf;
            part_ml[slot * 2 + 1] = 0.0f;
        }
        return;
    }
    {
        const float* qb = a.q + t * a.q_row + h0 * a.q_head;
        if (aligned4(qb, a.q_head, a.dk))
            stage_rows(q_s, int(a.dk), qb, a.q_head, HB, int(a.dk));
        else
            stage_rows_scalar(q_s, int(a.dk), qb, a.q_head, HB, int(a.dk));
    }

    float m = kNegInf, l = 0.0f, acc[NV];
#pragma unroll
    for (int r = 0; r < NV; ++r) acc[r] = 0.0f;

    for (int64_t j0 = j_begin; j0 < j_end; j0 += kKeyTile) {
        const int nk = int(j_end - j0 < kKeyTile ? j_end - j0 : kKeyTile);
        __syncthreads();  // previous tile fully consumed (and q_s written, first time round)
        const float* kb = a.k + j0 * a.k_row + kvh * a.k_head;
        const float* vb = a.v + j0 * a.v_row + kvh * a.v_head;
        if (vec) {
            stage_rows(k_s, int(a.dk) + 1, kb, a.k_row, nk, int(a.dk));
            if (!v_in_k) stage_rows(v_s, int(a.dv), vb, a.v_row, nk, int(a.dv));
        } else {
            stage_rows_scalar(k_s, int(a.dk) + 1, kb, a.k_row, nk, int(a.dk));
            if (!v_in_k) stage_rows_scalar(v_s, int(a.dv), vb, a.v_row, nk, int(a.dv));
        }
        __syncthreads();

        float s = kNegInf;
        if (lane < nk) {
            const float* qr = q_s + warp * a.dk;
            const float* kr = k_s + lane * (a.dk + 1);
            // Four partial sums: one chain of 576 dependent FMAs was what bounded this kernel.
            float d0 = 0.0f, d1 = 0.0f, d2 = 0.0f, d3 = 0.0f;
            int d = 0;
            const int dk = int(a.dk);
            if (vec) {  // q rows are 16-byte aligned (dk % 4 == 0): one broadcast load feeds 4 FMAs
#pragma unroll 4
                for (; d < dk; d += 4) {
                    const float4 q4 = *reinterpret_cast<const float4*>(qr + d);
                    d0 = fmaf(q4.x, kr[d], d0);
                    d1 = fmaf(q4.y, kr[d + 1], d1);
                    d2 = fmaf(q4.z, kr[d + 2], d2);
                    d3 = fmaf(q4.w, kr[d + 3], d3);
                }
            }
            for (; d < dk; ++d) d0 = fmaf(qr[d], kr[d], d0);
            s = ((d0 + d1) + (d2 + d3)) * a.scale;
        }
        float corr;
        const float p = online_softmax_tile(s, lane, nk, m, l, corr);
#pragma unroll
        for (int r = 0; r < NV; ++r) acc[r] *= corr;
#pragma unroll 4
        for (int jj = 0; jj < nk; ++jj) {
            const float pj = __shfl_sync(kFullMask, p, jj);
            const float* vr = v_in_k ? k_s + jj * (a.dk + 1) : v_s + jj * a.dv;
#pragma unroll
            for (int r = 0; r < NV; ++r) {
                const int64_t c = lane + 32 * r;
                if (c < a.dv) acc[r] = fmaf(pj, vr[c], acc[r]);
            }
        }
    }

#pragma unroll
    for (int r = 0; r < NV; ++r) {
        const int64_t c = lane + 32 * r;
        if (c < a.dv) part_o[slot * a.dv + c] = acc[r];
    }
    if (lane == 0) {
        part_ml[slot * 2] = m;
        part_ml[slot * 2 + 1] = l;
    }
}

// The vectorised decode kernel (dk, dv, strides multiples of 4; every real shape): key rows in
// shared memory with a stride of 4 (mod 32) floats, so lane j's 16-byte reads of key j and the
// lanes' 16-byte reads of one value row are both free of bank conflicts. Lane ownership in P·V:
// columns 4 lane + 128 q + e (e < 4, q < QV). Half the shared-memory instructions of the scalar one.
__host__ __device__ inline int padded_stride(int64_t dk) { return int(dk + ((4 - dk % 32) + 32) % 32); }

template <int QV>
__global__ void decode_kernel_vec(DecodeAttnArgs a, int splits, float* __restrict__ part_o, float* __restrict__ part_ml) {
    pdl_begin();
    extern __shared__ float smem[];
    const int HB = blockDim.x / 32;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t h0 = int64_t(blockIdx.x) * HB, h = h0 + warp;
    const int split = blockIdx.y;
    const int64_t t = blockIdx.z;
    const int64_t kvh = h0 / a.group;
    const bool v_in_k = a.v == a.k && a.v_row == a.k_row && a.v_head == a.k_head;
    const int dk = int(a.dk), dv = int(a.dv), KS = padded_stride(a.dk);
    float* q_s = smem;                     // [HB][dk]
    float* k_s = q_s + HB * dk;            // [32][KS]
    float* v_s = k_s + kKeyTile * KS;      // [32][dv] when V is not inside K

    const KeyRange keys = split_keys(a, t, split, splits, kKeyTile);
    const int64_t j_begin = keys.begin, j_end = keys.end;
    const int64_t slot = (t * a.n_heads + h) * splits + split;
    float4 acc[QV];
#pragma unroll
    for (int q = 0; q < QV; ++q) acc[q] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    float m = kNegInf, l = 0.0f;

    if (j_begin < j_end) {
        stage_rows(q_s, dk, a.q + t * a.q_row + h0 * a.q_head, a.q_head, HB, dk);
        for (int64_t j0 = j_begin; j0 < j_end; j0 += kKeyTile) {
            const int nk = int(j_end - j0 < kKeyTile ? j_end - j0 : kKeyTile);
            __syncthreads();  // previous tile consumed (and q_s written, first time round)
            stage_rows(k_s, KS, a.k + j0 * a.k_row + kvh * a.k_head, a.k_row, nk, dk);
            if (!v_in_k) stage_rows(v_s, dv, a.v + j0 * a.v_row + kvh * a.v_head, a.v_row, nk, dv);
            __syncthreads();

            float s = kNegInf;
            if (lane < nk) {
                const float* qr = q_s + warp * dk;
                const float* kr = k_s + lane * KS;
                float d0 = 0.0f, d1 = 0.0f, d2 = 0.0f, d3 = 0.0f;
#pragma unroll 4
                for (int d = 0; d < dk; d += 4) {
                    const float4 q4 = *reinterpret_cast<const float4*>(qr + d);
                    const float4 k4 = *reinterpret_cast<const float4*>(kr + d);
                    d0 = fmaf(q4.x, k4.x, d0);
                    d1 = fmaf(q4.y, k4.y, d1);
                    d2 = fmaf(q4.z, k4.z, d2);
                    d3 = fmaf(q4.w, k4.w, d3);
                }
                s = ((d0 + d1) + (d2 + d3)) * a.scale;
            }
            float corr;
            const float p = online_softmax_tile(s, lane, nk, m, l, corr);
#pragma unroll
            for (int q = 0; q < QV; ++q) {
                acc[q].x *= corr;
                acc[q].y *= corr;
                acc[q].z *= corr;
                acc[q].w *= corr;
            }
            const float* vbase = v_in_k ? k_s : v_s;
            const int vstride = v_in_k ? KS : dv;
#pragma unroll 4
            for (int jj = 0; jj < nk; ++jj) {
                const float pj = __shfl_sync(kFullMask, p, jj);
                const float* vr = vbase + jj * vstride;
#pragma unroll
                for (int q = 0; q < QV; ++q) {
                    const int c = 4 * lane + 128 * q;
                    if (c < dv) {
                        const float4 v4 = *reinterpret_cast<const float4*>(vr + c);
                        acc[q].x = fmaf(pj, v4.x, acc[q].x);
                        acc[q].y = fmaf(pj, v4.y, acc[q].y);
                        acc[q].z = fmaf(pj, v4.z, acc[q].z);
                        acc[q].w = fmaf(pj, v4.w, acc[q].w);
                    }
                }
            }
        }
    }
#pragma unroll
    for (int q = 0; q < QV; ++q) {
        const int c = 4 * lane + 128 * q;
        if (c < dv) *reinterpret_cast<float4*>(part_o + slot * dv + c) = acc[q];
    }
    if (lane == 0) {  // an empty split leaves m = -inf, l = 0: the combine skips it
        part_ml[slot * 2] = m;
        part_ml[slot * 2 + 1] = l;
    }
}

bool decode_vec_ok(const DecodeAttnArgs& a) {
    return a.dk % 4 == 0 && a.dv % 4 == 0 && a.k_row % 4 == 0 && a.k_head % 4 == 0 && a.v_row % 4 == 0 &&
           a.v_head % 4 == 0 && a.q_row % 4 == 0 && a.q_head % 4 == 0 && (reinterpret_cast<uintptr_t>(a.k) % 16) == 0 &&
           (reinterpret_cast<uintptr_t>(a.v) % 16) == 0 && (reinterpret_cast<uintptr_t>(a.q) % 16) == 0;
}

// The register-resident decode kernel for the common shapes (dv = 128 KV4, dk = dv + 32 KR):
// no shared memory at all. Warp = one head; lane owns value columns 4 lane + 128 q (q < KV4, one
// 16-byte load each, coalesced across the warp) and KR extra key columns dv + KR lane (MLA's rope
// part). Keys come KB at a time straight from global memory into registers; each lane's partial dot
// products are reduced across the warp with shuffles, and the same registers (V inside K for MLA)
// feed P·V. No staging round trip, no per-lane 576-long dot product.
template <int KV4, int KR, bool V_IN_K, int KB>  // KB: keys whose loads are in flight together
__global__ void __launch_bounds__(256) decode_kernel_lanes(DecodeAttnArgs a, int splits, float* __restrict__ part_o,
                                                           float* __restrict__ part_ml) {
    pdl_begin();
    const int HB = blockDim.x / 32;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t h0 = int64_t(blockIdx.x) * HB, h = h0 + warp;
    const int split = blockIdx.y;
    const int64_t t = blockIdx.z;
    const int64_t kvh = h0 / a.group;
    const int dv = int(a.dv);

    // Splits are sized for the cache capacity (graphs), so at short contexts most are empty and
    // each busy one walks its keys KB at a time, one memory latency per step: 16-key chunks
    // (4 steps) spread a 512-key context over 33 splits instead of 17 splits of 8 steps.
    const KeyRange keys = split_keys(a, t, split, splits, kLanesChunk);
    const int64_t j_begin = keys.begin, j_end = keys.end;
    const int64_t slot = (t * a.n_heads + h) * splits + split;

    float4 qv[KV4];
    float qr[KR > 0 ? KR : 1];
    const float* qh = a.q + t * a.q_row + h * a.q_head;
#pragma unroll
    for (int q = 0; q < KV4; ++q) qv[q] = __ldg(reinterpret_cast<const float4*>(qh + 4 * lane + 128 * q));
#pragma unroll
    for (int r = 0; r < KR; ++r) qr[r] = __ldg(qh + dv + KR * lane + r);

    float4 acc[KV4];
#pragma unroll
    for (int q = 0; q < KV4; ++q) acc[q] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    float m = kNegInf, l = 0.0f;
    const float* kbase = a.k + kvh * a.k_head;
    const float* vbase = a.v + kvh * a.v_head;

    for (int64_t j0 = j_begin; j0 < j_end; j0 += KB) {
        float4 kv[KB][KV4];
        float kr[KB][KR > 0 ? KR : 1];
        float4 vv[KB][V_IN_K ? 1 : KV4];
#pragma unroll
        for (int b = 0; b < KB; ++b) {
            const int64_t j = j0 + b < j_end ? j0 + b : j_end - 1;  // a clamped duplicate is masked below
            const float* kr_row = kbase + j * a.k_row;
#pragma unroll
            for (int q = 0; q < KV4; ++q) kv[b][q] = __ldg(reinterpret_cast<const float4*>(kr_row + 4 * lane + 128 * q));
#pragma unroll
            for (int r = 0; r < KR; ++r) kr[b][r] = __ldg(kr_row + dv + KR * lane + r);
            if constexpr (!V_IN_K) {
                const float* vr_row = vbase + j * a.v_row;
#pragma unroll
                for (int q = 0; q < KV4; ++q) vv[b][q] = __ldg(reinterpret_cast<const float4*>(vr_row + 4 * lane + 128 * q));
            }
        }
        float sc[KB];
#pragma unroll
        for (int b = 0; b < KB; ++b) {
            float d = 0.0f;
#pragma unroll
            for (int q = 0; q < KV4; ++q) {
                d = fmaf(qv[q].x, kv[b][q].x, d);
                d = fmaf(qv[q].y, kv[b][q].y, d);
                d = fmaf(qv[q].z, kv[b][q].z, d);
                d = fmaf(qv[q].w, kv[b][q].w, d);
            }
#pragma unroll
            for (int r = 0; r < KR; ++r) d = fmaf(qr[r], kr[b][r], d);
            sc[b] = d;
        }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1)
#pragma unroll
            for (int b = 0; b < KB; ++b) sc[b] += __shfl_xor_sync(kFullMask, sc[b], o);
        float tile_max = kNegInf;
#pragma unroll
        for (int b = 0; b < KB; ++b) {
            sc[b] = j0 + b < j_end ? sc[b] * a.scale : kNegInf;
            tile_max = fmaxf(tile_max, sc[b]);
        }
        const float m_new = fmaxf(m, tile_max);
        const float corr = expf(m - m_new);
        l *= corr;
#pragma unroll
        for (int q = 0; q < KV4; ++q) {
            acc[q].x *= corr;
            acc[q].y *= corr;
            acc[q].z *= corr;
            acc[q].w *= corr;
        }
#pragma unroll
        for (int b = 0; b < KB; ++b) {
            const float p = expf(sc[b] - m_new);  // 0 for masked keys
            l += p;
#pragma unroll
            for (int q = 0; q < KV4; ++q) {
                const float4 v = V_IN_K ? kv[b][q] : vv[b][V_IN_K ? 0 : q];
                acc[q].x = fmaf(p, v.x, acc[q].x);
                acc[q].y = fmaf(p, v.y, acc[q].y);
                acc[q].z = fmaf(p, v.z, acc[q].z);
                acc[q].w = fmaf(p, v.w, acc[q].w);
            }
        }
        m = m_new;
    }
#pragma unroll
    for (int q = 0; q < KV4; ++q) *reinterpret_cast<float4*>(part_o + slot * dv + 4 * lane + 128 * q) = acc[q];
    if (lane == 0) {  // an empty split leaves m = -inf, l = 0: the combine skips it
        part_ml[slot * 2] = m;
        part_ml[slot * 2 + 1] = l;
    }
}

// Which register-resident instantiation fits (KV4, KR), or {0, 0} when none does.
std::pair<int, int> lanes_shape(const DecodeAttnArgs& a) {
    if (!decode_vec_ok(a) || a.dv % 128 != 0) return {0, 0};
    const int64_t kv4 = a.dv / 128, extra = a.dk - a.dv;
    const bool v_in_k = v_aliases_k(a);
    // MLA (kv_lora 512 + rope 64) only: for GQA the staged kernel measured faster (H100, Qwen2 1.5B:
    // 436 vs 411 tok/s), its shared-memory tile serving all the query heads of a kv head at once.
    if (kv4 == 4 && extra == 64 && v_in_k) return {4, 2};
    return {0, 0};
}

// out(t, h, c) = Σ_s e^(m_s - M) o_s[c] / Σ_s e^(m_s - M) l_s. / Σ_s e^(m_s - M) l_s. Splits cover the keys in order, so
// the non-empty ones (l > 0) are a prefix; empty ones carry m = -inf, l = 0 and are skipped.
// The log-sum-exp merge of split-KV partial attention, shared by both combine kernels. part_ml
// holds (running max m_s, sum l_s) per split of one (token, head) starting at `base`; writes each
// split's rescale weight exp(m_s - M) into w_s[splits] (0 for a split that saw no key) and returns
// 1 / sum(w_s * l_s) and how many leading splits hold keys. Every thread of the block must call it.
struct SplitMerge {
    float inv_l;
    int n_active;
};

template <int Threads>
__device__ SplitMerge merge_split_weights(const float* __restrict__ part_ml, int64_t base, int splits,
                                          float* __restrict__ w_s) {
    __shared__ float red[Threads / 32];
    __shared__ int active_s;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (threadIdx.x == 0) active_s = 0;
    float mx = kNegInf;
    for (int s = threadIdx.x; s < splits; s += Threads) mx = fmaxf(mx, part_ml[(base + s) * 2]);
    mx = warp_max(mx);
    if (lane == 0) red[warp] = mx;
    __syncthreads();
    float M = red[0];
    for (int w = 1; w < Threads / 32; ++w) M = fmaxf(M, red[w]);
    __syncthreads();
    float l = 0.0f;
    int active = 0;
    for (int s = threadIdx.x; s < splits; s += Threads) {
        const float ls = part_ml[(base + s) * 2 + 1];
        const float w = ls > 0.0f ? expf(part_ml[(base + s) * 2] - M) : 0.0f;
        w_s[s] = w;
        l = fmaf(w, ls, l);
        if (ls > 0.0f) active = s + 1;
    }
    l = warp_sum(l);
    if (lane == 0) red[warp] = l;
    atomicMax(&active_s, active);
    __syncthreads();
    float L = 0.0f;
    for (int w = 0; w < Threads / 32; ++w) L += red[w];
    return {1.0f / L, active_s};
}

constexpr int kCombineThreads = 128;
__global__ void __launch_bounds__(kCombineThreads)
    decode_combine_kernel(DecodeAttnArgs a, int splits, const float* __restrict__ part_o,
                          const float* __restrict__ part_ml) {
    pdl_begin();
    extern __shared__ float w_s[];  // [splits]
    const int64_t h = blockIdx.x, t = blockIdx.y;
    const int64_t base = (t * a.n_heads + h) * splits;
    const auto [inv, n] = merge_split_weights<kCombineThreads>(part_ml, base, splits, w_s);
    for (int64_t c = threadIdx.x; c < a.dv; c += kCombineThreads) {
        float o = 0.0f;
#pragma unroll 8
        for (int s = 0; s < n; ++s) o = fmaf(w_s[s], part_o[(base + s) * a.dv + c], o);
        a.out[t * a.out_row + h * a.out_head + c] = o * inv;
    }
}

template <int NV>
cudaError_t launch_decode_partials(const DecodeAttnArgs& a, int splits, float* ws, cudaStream_t stream) {
    const int64_t hb = decode_heads_per_block(a);
    float* part_o = ws;
    float* part_ml = ws + a.T * a.n_heads * splits * a.dv;
    const dim3 grid(unsigned(a.n_heads / hb), unsigned(splits), unsigned(a.T));
    const auto [kv4, kr] = lanes_shape(a);
    if (kv4 == 4 && kr == 2) {
        MOE_PREFER_SHARED((decode_kernel_lanes<4, 2, true, 4>));
        MOE_LAUNCH((decode_kernel_lanes<4, 2, true, 4>), grid, unsigned(32 * hb), 0, stream, a, splits, part_o, part_ml);
        return cudaGetLastError();
    }
    if (decode_vec_ok(a)) {
        constexpr int QV = NV >= 4 ? NV / 4 : 1;
        const size_t smem = size_t(hb * a.dk + kKeyTile * padded_stride(a.dk) +
                                   (v_aliases_k(a) ? 0 : kKeyTile * a.dv)) * sizeof(float);
        static size_t configured = 48 * 1024;
        if (smem > configured) {
            const cudaError_t e =
                cudaFuncSetAttribute(decode_kernel_vec<QV>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
            if (e != cudaSuccess) return e;
            configured = smem;
        }
        MOE_PREFER_SHARED((decode_kernel_vec<QV>));
        MOE_LAUNCH((decode_kernel_vec<QV>), grid, unsigned(32 * hb), smem, stream, a, splits, part_o, part_ml);
        return cudaGetLastError();
    }
    const size_t smem = decode_smem_bytes(a, hb);
    static size_t configured = 48 * 1024;
    if (smem > configured) {
        const cudaError_t e = cudaFuncSetAttribute(decode_kernel<NV>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
        if (e != cudaSuccess) return e;
        configured = smem;
    }
    MOE_PREFER_SHARED((decode_kernel<NV>));
    MOE_LAUNCH((decode_kernel<NV>), grid, unsigned(32 * hb), smem, stream, a, splits, part_o, part_ml);
    return cudaGetLastError();
}

template <int NV>
cudaError_t launch_decode(const DecodeAttnArgs& a, int splits, float* ws, cudaStream_t stream) {
    cudaError_t e = launch_decode_partials<NV>(a, splits, ws, stream);
    if (e != cudaSuccess) return e;
    float* part_o = ws;
    float* part_ml = ws + a.T * a.n_heads * splits * a.dv;
    MOE_PREFER_SHARED((decode_combine_kernel));
    MOE_LAUNCH((decode_combine_kernel), dim3(unsigned(a.n_heads), unsigned(a.T)), kCombineThreads, size_t(splits) * sizeof(float), stream, a, splits, part_o, part_ml);
    return cudaGetLastError();
}

// MLA: the split combine fused with W_UV. Block = (head h, 32 output rows, token t): it combines the
// head's latent output into shared memory (every block of the head repeats this small part), then
// each warp takes 4 rows of W_UV[h] with 16-byte loads.
constexpr int kVuRows = 32, kVuThreads = 512;
__global__ void __launch_bounds__(kVuThreads)
    mla_combine_value_up_kernel(int splits, const float* __restrict__ part_o, const float* __restrict__ part_ml,
                                const uint16_t* __restrict__ kv_b, MlaShape sh, float* __restrict__ out) {
    pdl_begin();
    extern __shared__ float sm[];
    float* o_s = sm;                   // [kv_lora]
    float* w_s = sm + sh.kv_lora;      // [splits]
    const int64_t h = blockIdx.x, t = blockIdx.z;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t base = (t * sh.n_heads + h) * splits;
    const auto [inv, n] = merge_split_weights<kVuThreads>(part_ml, base, splits, w_s);
    const int q4 = int(sh.kv_lora / 4);  // float4 columns of a latent row
    if (sh.kv_lora % 4 == 0 && q4 <= kVuThreads) {
        // The splits are shared out among `groups` thread groups, each reading whole 16-byte
        // columns; a thread walking all splits alone waited one latency per 8 splits (129 splits
        // at a 4096 context: the longest kernel of the layer).
        float* o_part = w_s + splits;  // [groups][kv_lora]
        const int groups = kVuThreads / q4, g = threadIdx.x / q4, c4 = threadIdx.x % q4;
        if (g < groups) {
            float4 o = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            const float4* p4 = reinterpret_cast<const float4*>(part_o) + base * q4 + c4;
#pragma unroll 4
            for (int s = g; s < n; s += groups) {
                const float w = w_s[s];
                const float4 v = __ldg(p4 + int64_t(s) * q4);
                o.x = fmaf(w, v.x, o.x);
                o.y = fmaf(w, v.y, o.y);
                o.z = fmaf(w, v.z, o.z);
                o.w = fmaf(w, v.w, o.w);
            }
            float* dst = o_part + g * sh.kv_lora + 4 * c4;
            dst[0] = o.x;
            dst[1] = o.y;
            dst[2] = o.z;
            dst[3] = o.w;
        }
        __syncthreads();
        for (int64_t c = threadIdx.x; c < sh.kv_lora; c += kVuThreads) {
            float o = 0.0f;
            for (int gg = 0; gg < groups; ++gg) o += o_part[gg * sh.kv_lora + c];
            o_s[c] = o * inv;
        }
    } else {
        for (int64_t c = threadIdx.x; c < sh.kv_lora; c += kVuThreads) {
            float o = 0.0f;
#pragma unroll 8
            for (int s = 0; s < n; ++s) o = fmaf(w_s[s], part_o[(base + s) * sh.kv_lora + c], o);
            o_s[c] = o * inv;
        }
    }
    __syncthreads();
    constexpr int kRowsPerWarp = kVuRows / (kVuThreads / 32);
    const int64_t i0 = int64_t(blockIdx.y) * kVuRows + warp * kRowsPerWarp;
    const bool vec = sh.kv_lora == 512 && (reinterpret_cast<uintptr_t>(kv_b) % 16) == 0;
    if (vec) {  // kv_lora 512: 2 chunks of 8 per lane and row; all rows' loads issued before any use
        uint4 w[kRowsPerWarp][2];
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) {
            const int64_t i = i0 + r < sh.v_head ? i0 + r : sh.v_head - 1;
            const uint4* w4 = reinterpret_cast<const uint4*>(kv_b + (h * (sh.qk_nope + sh.v_head) + sh.qk_nope + i) * sh.kv_lora);
            w[r][0] = ld_stream(w4 + lane);
            w[r][1] = ld_stream(w4 + lane + 32);
        }
        const float4* x4 = reinterpret_cast<const float4*>(o_s);
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) {
            float acc = dot8(w[r][0], x4[2 * lane], x4[2 * lane + 1]) + dot8(w[r][1], x4[2 * lane + 64], x4[2 * lane + 65]);
            acc = warp_sum(acc);
            if (lane == 0 && i0 + r < sh.v_head) out[t * sh.n_heads * sh.v_head + h * sh.v_head + i0 + r] = acc;
        }
        return;
    }
    for (int r = 0; r < kRowsPerWarp; ++r) {
        const int64_t i = i0 + r;
        if (i >= sh.v_head) break;
        const uint16_t* w = kv_b + (h * (sh.qk_nope + sh.v_head) + sh.qk_nope + i) * sh.kv_lora;
        float acc = 0.0f;
        for (int64_t c = lane; c < sh.kv_lora; c += 32) acc = fmaf(bf16_bits_to_f32(w[c]), o_s[c], acc);
        acc = warp_sum(acc);
        if (lane == 0) out[t * sh.n_heads * sh.v_head + h * sh.v_head + i] = acc;
    }
}

// ---- flash-style prefill ----------------------------------------------------------------------

constexpr int kPrefillWarps = 4;
constexpr int kRowsPerWarp = 4;
constexpr int kQueryTile = kPrefillWarps * kRowsPerWarp;  // 16 queries of one head per block

size_t prefill_smem_bytes(const PrefillAttnArgs& a) {
    const int64_t dk = a.dk1 + a.dk2;
    return size_t(kQueryTile * dk + kKeyTile * (dk + 1) + kKeyTile * a.dv) * sizeof(float);
}

// Block = 16 queries of one head; each warp owns 4 query rows. Key tiles of 32 go through shared
// memory; lane j scores key j for the warp's 4 rows (online softmax per row), then lanes own
// output columns for P·V. Causal: the block stops at its last query's position.
template <int NV>
__global__ void __launch_bounds__(kPrefillWarps * 32) prefill_kernel(PrefillAttnArgs a) {
    pdl_begin();
    extern __shared__ float smem[];
    const int64_t dk = a.dk1 + a.dk2;
    float* q_s = smem;                      // [16][dk]
    float* k_s = q_s + kQueryTile * dk;     // [32][dk + 1]
    float* v_s = k_s + kKeyTile * (dk + 1); // [32][dv]
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t q0 = int64_t(blockIdx.x) * kQueryTile;
    const int64_t h = blockIdx.y, kvh = h / a.group;

    const int q_rows = int(a.T - q0 < kQueryTile ? a.T - q0 : kQueryTile);
    const bool vec = aligned4(a.q, a.q_row, a.dk1 + a.dk2) && a.q_head % 4 == 0 && aligned4(a.k1, a.k1_row, a.dk1) &&
                     a.k1_head % 4 == 0 && (a.dk2 == 0 || (aligned4(a.k2, a.k2_row, a.dk2) && a.k2_head % 4 == 0)) &&
                     aligned4(a.v, a.v_row, a.dv) && a.v_head % 4 == 0;
    for (int i = q_rows * int(dk) + threadIdx.x; i < kQueryTile * int(dk); i += blockDim.x) q_s[i] = 0.0f;
    if (vec)
        stage_rows(q_s, int(dk), a.q + q0 * a.q_row + h * a.q_head, a.q_row, q_rows, int(dk));
    else
        stage_rows_scalar(q_s, int(dk), a.q + q0 * a.q_row + h * a.q_head, a.q_row, q_rows, int(dk));
    int64_t pos[kRowsPerWarp];
    float m[kRowsPerWarp], l[kRowsPerWarp], acc[kRowsPerWarp][NV];
#pragma unroll
    for (int i = 0; i < kRowsPerWarp; ++i) {
        const int64_t tq = q0 + warp * kRowsPerWarp + i;
        pos[i] = tq < a.T ? a.start_pos + tq : -1;
        m[i] = kNegInf;
        l[i] = 0.0f;
#pragma unroll
        for (int r = 0; r < NV; ++r) acc[i][r] = 0.0f;
    }
    const int64_t last_q = (q0 + kQueryTile < a.T ? q0 + kQueryTile : a.T) - 1;
    const int64_t n_keys = a.start_pos + last_q + 1;

    for (int64_t j0 = 0; j0 < n_keys; j0 += kKeyTile) {
        const int nk = int(n_keys - j0 < kKeyTile ? n_keys - j0 : kKeyTile);
        __syncthreads();
        const float* k1b = a.k1 + j0 * a.k1_row + kvh * a.k1_head;
        const float* k2b = a.dk2 ? a.k2 + j0 * a.k2_row + kvh * a.k2_head : nullptr;
        const float* vb = a.v + j0 * a.v_row + kvh * a.v_head;
        if (vec) {
            stage_rows(k_s, int(dk) + 1, k1b, a.k1_row, nk, int(a.dk1));
            if (k2b) stage_rows(k_s + a.dk1, int(dk) + 1, k2b, a.k2_row, nk, int(a.dk2));
            stage_rows(v_s, int(a.dv), vb, a.v_row, nk, int(a.dv));
        } else {
            stage_rows_scalar(k_s, int(dk) + 1, k1b, a.k1_row, nk, int(a.dk1));
            if (k2b) stage_rows_scalar(k_s + a.dk1, int(dk) + 1, k2b, a.k2_row, nk, int(a.dk2));
            stage_rows_scalar(v_s, int(a.dv), vb, a.v_row, nk, int(a.dv));
        }
        __syncthreads();

        float s[kRowsPerWarp];
#pragma unroll
        for (int i = 0; i < kRowsPerWarp; ++i) s[i] = 0.0f;
        if (lane < nk) {
            const float* kr = k_s + lane * (dk + 1);
            const float* qr = q_s + warp * kRowsPerWarp * dk;
#pragma unroll 4
            for (int64_t d = 0; d < dk; ++d) {
                const float kv = kr[d];
#pragma unroll
                for (int i = 0; i < kRowsPerWarp; ++i) s[i] = fmaf(qr[i * dk + d], kv, s[i]);
            }
        }
        float p[kRowsPerWarp];
#pragma unroll
        for (int i = 0; i < kRowsPerWarp; ++i) {
            const bool visible = lane < nk && j0 + lane <= pos[i];
            const float si = visible ? s[i] * a.scale : kNegInf;
            const float tile_max = warp_max(si);
            const float m_new = fmaxf(m[i], tile_max);
            if (m_new == kNegInf) {  // nothing visible yet for this row (or a padding row)
                p[i] = 0.0f;
                continue;
            }
            p[i] = visible ? expf(si - m_new) : 0.0f;
            const float corr = expf(m[i] - m_new);
            l[i] = l[i] * corr + warp_sum(p[i]);
#pragma unroll
            for (int r = 0; r < NV; ++r) acc[i][r] *= corr;
            m[i] = m_new;
        }
        for (int jj = 0; jj < nk; ++jj) {
            float vv[NV];
#pragma unroll
            for (int r = 0; r < NV; ++r) {
                const int64_t c = lane + 32 * r;
                vv[r] = c < a.dv ? v_s[jj * a.dv + c] : 0.0f;
            }
#pragma unroll
            for (int i = 0; i < kRowsPerWarp; ++i) {
                const float pj = __shfl_sync(kFullMask, p[i], jj);
#pragma unroll
                for (int r = 0; r < NV; ++r) acc[i][r] = fmaf(pj, vv[r], acc[i][r]);
            }
        }
    }
#pragma unroll
    for (int i = 0; i < kRowsPerWarp; ++i) {
        const int64_t tq = q0 + warp * kRowsPerWarp + i;
        if (tq >= a.T) continue;
#pragma unroll
        for (int r = 0; r < NV; ++r) {
            const int64_t c = lane + 32 * r;
            if (c < a.dv) a.out[tq * a.out_row + h * a.out_head + c] = acc[i][r] / l[i];
        }
    }
}

template <int NV>
cudaError_t launch_prefill(const PrefillAttnArgs& a, cudaStream_t stream) {
    const size_t smem = prefill_smem_bytes(a);
    static size_t configured = 48 * 1024;
    if (smem > configured) {
        const cudaError_t e = cudaFuncSetAttribute(prefill_kernel<NV>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
        if (e != cudaSuccess) return e;
        configured = smem;
    }
    const dim3 grid(ceil_div(a.T, kQueryTile), unsigned(a.n_heads));
    MOE_PREFER_SHARED((prefill_kernel<NV>));
    MOE_LAUNCH((prefill_kernel<NV>), grid, kPrefillWarps * 32, smem, stream, a);
    return cudaGetLastError();
}

__global__ void fill_rope_keys_kernel(const float* __restrict__ cache, int64_t width, int64_t S, MlaShape s,
                                      uint16_t* __restrict__ k) {
    pdl_begin();
    const int64_t qk = s.qk_nope + s.qk_rope;
    const int64_t d = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;  // over H * rope
    if (d >= s.n_heads * s.qk_rope) return;
    const int64_t h = d / s.qk_rope, r = d % s.qk_rope;
    for (int64_t j = blockIdx.y; j < S; j += gridDim.y)
        k[(j * s.n_heads + h) * qk + s.qk_nope + r] = f32_to_bf16_bits(cache[j * width + s.kv_lora + r]);
}

__global__ void expand_kv_kernel(const float* __restrict__ src, int64_t ld_src, int64_t S, int64_t n_heads,
                                 int64_t group, int64_t D, uint16_t* __restrict__ dst) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;  // over n_heads * D
    if (c >= n_heads * D) return;
    const int64_t h = c / D, d = c % D, from = (h / group) * D + d;
    for (int64_t j = blockIdx.y; j < S; j += gridDim.y) dst[j * n_heads * D + c] = f32_to_bf16_bits(src[j * ld_src + from]);
}

// Block per (query t, head h) row of S scores: masked max, exponentials, sum, then the bf16
// probabilities (0 for keys after the query's position).
constexpr int kSoftmaxThreads = 256;
__global__ void __launch_bounds__(kSoftmaxThreads)
    causal_softmax_kernel(const float* __restrict__ scores, int64_t T, int64_t S, int64_t start_pos, float scale,
                          uint16_t* __restrict__ p) {
    pdl_begin();
    __shared__ float red[kSoftmaxThreads / 32];
    const int64_t t = blockIdx.x, h = blockIdx.y;
    const float* row = scores + (h * T + t) * S;
    uint16_t* out = p + (h * T + t) * S;
    const int64_t visible = start_pos + t + 1 < S ? start_pos + t + 1 : S;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    float mx = kNegInf;
    for (int64_t j = threadIdx.x; j < visible; j += kSoftmaxThreads) mx = fmaxf(mx, row[j] * scale);
    mx = warp_max(mx);
    if (lane == 0) red[warp] = mx;
    __syncthreads();
    float M = red[0];
    for (int w = 1; w < kSoftmaxThreads / 32; ++w) M = fmaxf(M, red[w]);
    __syncthreads();
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < visible; j += kSoftmaxThreads) sum += expf(row[j] * scale - M);
    sum = warp_sum(sum);
    if (lane == 0) red[warp] = sum;
    __syncthreads();
    float L = 0.0f;
    for (int w = 0; w < kSoftmaxThreads / 32; ++w) L += red[w];
    const float inv = 1.0f / L;
    for (int64_t j = threadIdx.x; j < S; j += kSoftmaxThreads)
        out[j] = f32_to_bf16_bits(j < visible ? expf(row[j] * scale - M) * inv : 0.0f);
}

__device__ float block_max_256(float v) {
    __shared__ float red[kAbsorbThreads / 32];
    v = warp_max(v);
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = v;
    __syncthreads();
    float m = red[0];
#pragma unroll
    for (int w = 1; w < kAbsorbThreads / 32; ++w) m = fmaxf(m, red[w]);
    return m;
}

// The same row softmax with the row in registers (S <= PER * 256): one read of the scores instead
// of three (max, sum, output), which made the kernel the largest non-GEMM cost of a 2048-token
// MLA prefill (16 heads x 2048 x 2048 f32 scores per layer).
template <int PER>
__global__ void __launch_bounds__(kSoftmaxThreads)
    causal_softmax_regs_kernel(const float* __restrict__ scores, int64_t T, int64_t S, int64_t start_pos, float scale,
                               uint16_t* __restrict__ p) {
    static_assert(kSoftmaxThreads == kAbsorbThreads, "block_max_256 / block_sum_256 reduce 256 threads");
    pdl_begin();
    const int64_t t = blockIdx.x, h = blockIdx.y;
    const float* row = scores + (h * T + t) * S;
    uint16_t* out = p + (h * T + t) * S;
    const int64_t visible = start_pos + t + 1 < S ? start_pos + t + 1 : S;
    float v[PER];
    float mx = kNegInf;
#pragma unroll
    for (int i = 0; i < PER; ++i) {
        const int64_t j = threadIdx.x + int64_t(i) * kSoftmaxThreads;
        v[i] = j < visible ? row[j] * scale : kNegInf;
        mx = fmaxf(mx, v[i]);
    }
    const float M = block_max_256(mx);
    float sum = 0.0f;
#pragma unroll
    for (int i = 0; i < PER; ++i) {
        const int64_t j = threadIdx.x + int64_t(i) * kSoftmaxThreads;
        v[i] = j < visible ? expf(v[i] - M) : 0.0f;
        sum += v[i];
    }
    const float inv = 1.0f / block_sum_256(sum);
#pragma unroll
    for (int i = 0; i < PER; ++i) {
        const int64_t j = threadIdx.x + int64_t(i) * kSoftmaxThreads;
        if (j < S) out[j] = f32_to_bf16_bits(v[i] * inv);
    }
}

}  // namespace

cudaError_t mla_fill_rope_keys_bf16(const float* cache, int64_t width, int64_t S, const MlaShape& s, uint16_t* k,
                                    cudaStream_t stream) {
    const int64_t n = s.n_heads * s.qk_rope;
    if (S <= 0 || n <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((fill_rope_keys_kernel));
    MOE_LAUNCH((fill_rope_keys_kernel), dim3(ceil_div(n, 256), unsigned(S < 65535 ? S : 65535)), 256, 0, stream, cache,
               width, S, s, k);
    return cudaGetLastError();
}

cudaError_t expand_kv_heads_bf16(const float* src, int64_t ld_src, int64_t S, int64_t n_heads, int64_t group,
                                 int64_t head_dim, uint16_t* dst, cudaStream_t stream) {
    const int64_t n = n_heads * head_dim;
    if (S <= 0 || n <= 0) return cudaSuccess;
    if (group <= 0) return cudaErrorInvalidValue;
    MOE_PREFER_SHARED((expand_kv_kernel));
    MOE_LAUNCH((expand_kv_kernel), dim3(ceil_div(n, 256), unsigned(S < 65535 ? S : 65535)), 256, 0, stream, src, ld_src,
               S, n_heads, group, head_dim, dst);
    return cudaGetLastError();
}

cudaError_t causal_softmax_bf16(const float* scores, int64_t H, int64_t T, int64_t S, int64_t start_pos, float scale,
                                uint16_t* p, cudaStream_t stream) {
    if (H <= 0 || T <= 0 || S <= 0) return cudaSuccess;
    if (T > 2147483647 || H > 65535) return cudaErrorInvalidValue;
    const dim3 grid{unsigned(T), unsigned(H)};
    if (S <= 4 * kSoftmaxThreads) {
        MOE_PREFER_SHARED((causal_softmax_regs_kernel<4>));
        MOE_LAUNCH((causal_softmax_regs_kernel<4>), grid, kSoftmaxThreads, 0, stream, scores, T, S, start_pos, scale, p);
    } else if (S <= 8 * kSoftmaxThreads) {
        MOE_PREFER_SHARED((causal_softmax_regs_kernel<8>));
        MOE_LAUNCH((causal_softmax_regs_kernel<8>), grid, kSoftmaxThreads, 0, stream, scores, T, S, start_pos, scale, p);
    } else if (S <= 16 * kSoftmaxThreads) {
        MOE_PREFER_SHARED((causal_softmax_regs_kernel<16>));
        MOE_LAUNCH((causal_softmax_regs_kernel<16>), grid, kSoftmaxThreads, 0, stream, scores, T, S, start_pos, scale, p);
    } else {
        MOE_PREFER_SHARED((causal_softmax_kernel));
        MOE_LAUNCH((causal_softmax_kernel), grid, kSoftmaxThreads, 0, stream, scores, T, S, start_pos, scale, p);
    }
    return cudaGetLastError();
}

cudaError_t mla_cache_write(const float* latent, const float* k_pe, float* cache, int64_t T, int64_t kv_lora,
                            int64_t rope, int64_t start_pos, const int32_t* dev_pos, cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((mla_cache_write_kernel));
    MOE_LAUNCH((mla_cache_write_kernel), dim3(ceil_div(kv_lora + rope, 256), unsigned(T)), 256, 0, stream, latent, k_pe, cache, T, kv_lora, rope, start_pos, dev_pos);
    return cudaGetLastError();
}

cudaError_t gqa_cache_write(const float* k, const float* v, float* k_cache, float* v_cache, int64_t T, int64_t kv_cols,
                            int64_t start_pos, const int32_t* dev_pos, cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((gqa_cache_write_kernel));
    MOE_LAUNCH((gqa_cache_write_kernel), dim3(ceil_div(kv_cols, 256), unsigned(T)), 256, 0, stream, k, v, k_cache, v_cache, T, kv_cols, start_pos, dev_pos);
    return cudaGetLastError();
}

cudaError_t mla_absorb_q(const float* q, const uint16_t* kv_b, int64_t T, const MlaShape& s, float* q_abs,
                         cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    if (s.kv_lora % 2 != 0) return cudaErrorInvalidValue;  // bf16 pairs
    const dim3 grid(ceil_div(s.kv_lora + s.qk_rope, kAbsorbCols), unsigned(s.n_heads), unsigned(T));
    MOE_PREFER_SHARED((mla_absorb_kernel));
    MOE_LAUNCH((mla_absorb_kernel), grid, kAbsorbThreads, 0, stream, q, kv_b, s, q_abs);
    return cudaGetLastError();
}

cudaError_t mla_decode_prep(const MlaPrepArgs& a, cudaStream_t stream) {
    if (a.T <= 0) return cudaSuccess;
    const MlaShape& s = a.shape;
    if (s.kv_lora % 2 != 0 || a.rope.dim != s.qk_rope || a.rope.dim % 2 != 0) return cudaErrorInvalidValue;
    const dim3 grid(ceil_div(s.kv_lora + s.qk_rope, kAbsorbCols), unsigned(s.n_heads + 1), unsigned(a.T));
    MOE_PREFER_SHARED((mla_prep_kernel));
    MOE_LAUNCH((mla_prep_kernel), grid, kAbsorbThreads, 0, stream, a);
    return cudaGetLastError();
}

cudaError_t gqa_decode_prep(const GqaPrepArgs& a, cudaStream_t stream) {
    if (a.T <= 0) return cudaSuccess;
    if (a.rope.dim % 2 != 0 || a.rope.dim > a.head_dim) return cudaErrorInvalidValue;
    const dim3 grid(unsigned(a.n_heads + a.n_kv_heads + 1), unsigned(a.T));
    MOE_PREFER_SHARED((gqa_prep_kernel));
    MOE_LAUNCH((gqa_prep_kernel), grid, 128, 0, stream, a);
    return cudaGetLastError();
}

int attention_decode_splits(const DecodeAttnArgs& a) {
    const int64_t head_blocks = a.n_heads / decode_heads_per_block(a);
    const int64_t tiles = (std::max<int64_t>(a.max_keys, 1) + kKeyTile - 1) / kKeyTile;
    const int64_t target = 2 * int64_t(a.sm_count) / std::max<int64_t>(head_blocks * a.T, 1);
    return int(std::clamp<int64_t>(target, 1, tiles));
}

int64_t attention_decode_workspace(const DecodeAttnArgs& a, int splits) {
    return a.T * a.n_heads * int64_t(splits) * (a.dv + 2);
}

cudaError_t attention_decode(const DecodeAttnArgs& a, int splits, float* workspace, cudaStream_t stream) {
    if (a.T <= 0) return cudaSuccess;
    if (a.dv > 512 || a.dk > 1024 || a.group <= 0 || a.n_heads % a.group != 0 || splits <= 0)
        return cudaErrorInvalidValue;
    if (a.dv <= 32) return launch_decode<1>(a, splits, workspace, stream);
    if (a.dv <= 64) return launch_decode<2>(a, splits, workspace, stream);
    if (a.dv <= 128) return launch_decode<4>(a, splits, workspace, stream);
    if (a.dv <= 256) return launch_decode<8>(a, splits, workspace, stream);
    return launch_decode<16>(a, splits, workspace, stream);
}

cudaError_t attention_decode_partials(const DecodeAttnArgs& a, int splits, float* workspace, cudaStream_t stream) {
    if (a.T <= 0) return cudaSuccess;
    if (a.dv > 512 || a.dk > 1024 || a.group <= 0 || a.n_heads % a.group != 0 || splits <= 0)
        return cudaErrorInvalidValue;
    if (a.dv <= 32) return launch_decode_partials<1>(a, splits, workspace, stream);
    if (a.dv <= 64) return launch_decode_partials<2>(a, splits, workspace, stream);
    if (a.dv <= 128) return launch_decode_partials<4>(a, splits, workspace, stream);
    if (a.dv <= 256) return launch_decode_partials<8>(a, splits, workspace, stream);
    return launch_decode_partials<16>(a, splits, workspace, stream);
}

cudaError_t mla_combine_value_up(const DecodeAttnArgs& a, int splits, const float* workspace, const uint16_t* kv_b,
                                 const MlaShape& s, float* out, cudaStream_t stream) {
    if (a.T <= 0) return cudaSuccess;
    if (a.dv != s.kv_lora) return cudaErrorInvalidValue;
    const float* part_o = workspace;
    const float* part_ml = workspace + a.T * a.n_heads * splits * a.dv;
    const dim3 grid(unsigned(s.n_heads), ceil_div(s.v_head, kVuRows), unsigned(a.T));
    // o_s [kv_lora], w_s [splits], the split groups' partial sums (at most 4 kVuThreads floats).
    const size_t smem = size_t(s.kv_lora + splits + 4 * kVuThreads) * sizeof(float);
    static size_t configured = 48 * 1024;
    if (smem > configured) {
        const cudaError_t e =
            cudaFuncSetAttribute(mla_combine_value_up_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
        if (e != cudaSuccess) return e;
        configured = smem;
    }
    MOE_PREFER_SHARED((mla_combine_value_up_kernel));
    MOE_LAUNCH((mla_combine_value_up_kernel), grid, kVuThreads, smem, stream, splits, part_o, part_ml, kv_b, s, out);
    return cudaGetLastError();
}

cudaError_t attention_prefill(const PrefillAttnArgs& a, cudaStream_t stream) {
    if (a.T <= 0) return cudaSuccess;
    if (a.dv > 128 || a.group <= 0 || a.n_heads % a.group != 0) return cudaErrorInvalidValue;
    if (a.dv <= 32) return launch_prefill<1>(a, stream);
    if (a.dv <= 64) return launch_prefill<2>(a, stream);
    return launch_prefill<4>(a, stream);
}

// ---- training ----------------------------------------------------------------------------------
namespace {

constexpr int kTrainThreads = 256;

// Max or sum over the block's 256 threads, returned to every thread (red: 8 shared floats; ends
// with a barrier so the next call may reuse it).
__device__ float train_block_reduce(float v, bool is_max, float* red) {
    v = is_max ? warp_max(v) : warp_sum(v);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float r = red[0];
#pragma unroll
    for (int w = 1; w < kTrainThreads / 32; ++w) r = is_max ? fmaxf(r, red[w]) : r + red[w];
    __syncthreads();
    return r;
}

// Block per (query row i of the block, head h). The row sees keys [lo, hi] of the block's range
// (never empty: a row sees itself).
__global__ void __launch_bounds__(kTrainThreads)
    train_softmax_kernel(const float* __restrict__ scores, TrainAttnBlock b, uint16_t* __restrict__ p,
                         float* __restrict__ lse) {
    pdl_begin();
    __shared__ float red[kTrainThreads / 32];
    const int64_t i = blockIdx.x, h = blockIdx.y, row = b.r0 + i;
    const float* s = scores + (h * b.nq + i) * b.ld;
    uint16_t* out = p + (h * b.nq + i) * b.ld;
    const int64_t lo = b.seg_start[row] - b.k0, hi = row - b.k0;
    float m = kNegInf;
    for (int64_t j = lo + threadIdx.x; j <= hi; j += kTrainThreads) m = fmaxf(m, s[j] * b.scale);
    m = train_block_reduce(m, true, red);
    float sum = 0.0f;
    for (int64_t j = lo + threadIdx.x; j <= hi; j += kTrainThreads) sum += expf(s[j] * b.scale - m);
    sum = train_block_reduce(sum, false, red);
    const float l = m + logf(sum);
    for (int64_t j = threadIdx.x; j < b.nk; j += kTrainThreads)
        out[j] = f32_to_bf16_bits(j >= lo && j <= hi ? expf(s[j] * b.scale - l) : 0.0f);
    if (threadIdx.x == 0) lse[row * b.n_heads + h] = l;
}

__global__ void __launch_bounds__(kTrainThreads)
    train_softmax_backward_kernel(const float* __restrict__ scores, const float* __restrict__ dp,
                                  const float* __restrict__ lse, const float* __restrict__ drow, TrainAttnBlock b,
                                  uint16_t* __restrict__ p, uint16_t* __restrict__ ds) {
    pdl_begin();
    const int64_t i = blockIdx.x, h = blockIdx.y, row = b.r0 + i;
    const int64_t base = (h * b.nq + i) * b.ld;
    const int64_t lo = b.seg_start[row] - b.k0, hi = row - b.k0;
    const float l = lse[row * b.n_heads + h], D = drow[row * b.n_heads + h];
    for (int64_t j = threadIdx.x; j < b.nk; j += kTrainThreads) {
        const bool visible = j >= lo && j <= hi;
        const float pv = visible ? expf(scores[base + j] * b.scale - l) : 0.0f;
        p[base + j] = f32_to_bf16_bits(pv);
        ds[base + j] = f32_to_bf16_bits(visible ? pv * (dp[base + j] - D) * b.scale : 0.0f);
    }
}

// Warp per row of length d.
__global__ void row_dot_kernel(const float* __restrict__ a, const float* __restrict__ b, int64_t n, int64_t d,
                               float* __restrict__ out) {
    pdl_begin();
    const int64_t row = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (row >= n) return;
    float s = 0.0f;
    for (int64_t c = lane; c < d; c += 32) s = fmaf(a[row * d + c], b[row * d + c], s);
    s = warp_sum(s);
    if (lane == 0) out[row] = s;
}

// Grid (column blocks over n_kv · d, row blocks).
__global__ void sum_head_groups_kernel(const float* __restrict__ src, int64_t T, int64_t n_kv, int64_t group, int64_t d,
                                       float* __restrict__ dst) {
    pdl_begin();
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= n_kv * d) return;
    const int64_t g = c / d, i = c % d, src_row = n_kv * group * d;
    for (int64_t t = blockIdx.y; t < T; t += gridDim.y) {
        float s = 0.0f;
        for (int64_t j = 0; j < group; ++j) s += src[t * src_row + (g * group + j) * d + i];
        dst[t * n_kv * d + c] = s;
    }
}

// Grid (column blocks over H·qk + H·v, row blocks).
__global__ void mla_split_kv_kernel(const float* __restrict__ kv, const float* __restrict__ k_pe, int64_t T, MlaShape s,
                                    float* __restrict__ k, float* __restrict__ v) {
    pdl_begin();
    const int64_t qk = s.qk_nope + s.qk_rope, kvw = s.qk_nope + s.v_head, H = s.n_heads;
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= H * (qk + s.v_head)) return;
    for (int64_t t = blockIdx.y; t < T; t += gridDim.y) {
        const float* src = kv + t * H * kvw;
        if (c < H * qk) {
            const int64_t h = c / qk, i = c % qk;
            k[t * H * qk + c] = i < s.qk_nope ? src[h * kvw + i] : k_pe[t * s.qk_rope + i - s.qk_nope];
        } else {
            const int64_t c2 = c - H * qk, h = c2 / s.v_head, i = c2 % s.v_head;
            v[t * H * s.v_head + c2] = src[h * kvw + s.qk_nope + i];
        }
    }
}

// Grid (column blocks over H·(nope + v) + rope, row blocks).
__global__ void mla_split_kv_backward_kernel(const float* __restrict__ dk, const float* __restrict__ dv, int64_t T,
                                             MlaShape s, float* __restrict__ dkv, float* __restrict__ dk_pe) {
    pdl_begin();
    const int64_t qk = s.qk_nope + s.qk_rope, kvw = s.qk_nope + s.v_head, H = s.n_heads;
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= H * kvw + s.qk_rope) return;
    for (int64_t t = blockIdx.y; t < T; t += gridDim.y) {
        if (c < H * kvw) {
            const int64_t h = c / kvw, i = c % kvw;
            dkv[t * H * kvw + c] =
                i < s.qk_nope ? dk[t * H * qk + h * qk + i] : dv[t * H * s.v_head + h * s.v_head + i - s.qk_nope];
        } else {
            const int64_t i = c - H * kvw;
            float sum = 0.0f;
            for (int64_t h = 0; h < H; ++h) sum += dk[t * H * qk + h * qk + s.qk_nope + i];
            dk_pe[t * s.qk_rope + i] = sum;
        }
    }
}

bool train_block_ok(const TrainAttnBlock& b) {
    return b.n_heads > 0 && b.n_heads <= 65535 && b.nq > 0 && b.nq <= 2147483647 && b.nk >= b.nq && b.ld >= b.nk &&
           b.k0 >= 0 && b.k0 <= b.r0 && b.seg_start;
}

}  // namespace

cudaError_t attention_train_softmax(const float* scores, const TrainAttnBlock& b, uint16_t* p, float* lse,
                                    cudaStream_t stream) {
    if (!train_block_ok(b)) return cudaErrorInvalidValue;
    MOE_PREFER_SHARED((train_softmax_kernel));
    MOE_LAUNCH((train_softmax_kernel), dim3(unsigned(b.nq), unsigned(b.n_heads)), kTrainThreads, 0, stream, scores, b, p,
               lse);
    return cudaGetLastError();
}

cudaError_t attention_train_softmax_backward(const float* scores, const float* dp, const float* lse, const float* drow,
                                             const TrainAttnBlock& b, uint16_t* p, uint16_t* ds, cudaStream_t stream) {
    if (!train_block_ok(b)) return cudaErrorInvalidValue;
    MOE_PREFER_SHARED((train_softmax_backward_kernel));
    MOE_LAUNCH((train_softmax_backward_kernel), dim3(unsigned(b.nq), unsigned(b.n_heads)), kTrainThreads, 0, stream,
               scores, dp, lse, drow, b, p, ds);
    return cudaGetLastError();
}

cudaError_t attention_row_dot(const float* a, const float* b, int64_t n, int64_t d, float* out, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((row_dot_kernel));
    MOE_LAUNCH((row_dot_kernel), ceil_div(n, 8), 256, 0, stream, a, b, n, d, out);
    return cudaGetLastError();
}

cudaError_t sum_head_groups_f32(const float* src, int64_t T, int64_t n_kv, int64_t group, int64_t d, float* dst,
                                cudaStream_t stream) {
    if (T <= 0 || n_kv * d <= 0) return cudaSuccess;
    if (group <= 0) return cudaErrorInvalidValue;
    MOE_PREFER_SHARED((sum_head_groups_kernel));
    MOE_LAUNCH((sum_head_groups_kernel), row_grid(T, n_kv * d), 256, 0, stream, src, T, n_kv, group, d, dst);
    return cudaGetLastError();
}

cudaError_t mla_split_kv_f32(const float* kv, const float* k_pe, int64_t T, const MlaShape& s, float* k, float* v,
                             cudaStream_t stream) {
    const int64_t cols = s.n_heads * (s.qk_nope + s.qk_rope + s.v_head);
    if (T <= 0 || cols <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((mla_split_kv_kernel));
    MOE_LAUNCH((mla_split_kv_kernel), row_grid(T, cols), 256, 0, stream, kv, k_pe, T, s, k, v);
    return cudaGetLastError();
}

cudaError_t mla_split_kv_backward_f32(const float* dk, const float* dv, int64_t T, const MlaShape& s, float* dkv,
                                      float* dk_pe, cudaStream_t stream) {
    const int64_t cols = s.n_heads * (s.qk_nope + s.v_head) + s.qk_rope;
    if (T <= 0 || cols <= 0) return cudaSuccess;
    MOE_PREFER_SHARED((mla_split_kv_backward_kernel));
    MOE_LAUNCH((mla_split_kv_backward_kernel), row_grid(T, cols), 256, 0, stream, dk, dv, T, s, dkv, dk_pe);
    return cudaGetLastError();
}

}  // namespace moe::kernels
