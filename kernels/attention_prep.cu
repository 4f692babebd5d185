// Attention's cache writes and the decode prologues: MLA's query absorption (q_nope through W_UK
// into the latent space) and the fused prologues that also normalise / rotate and write the cache
// (attention.h). Shared helpers: attention_common.cuh.
#include "attention_common.cuh"

namespace moe::kernels {
using namespace attention_detail;

namespace {

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
static_assert(kAbsorbThreads == kReduceThreads, "mla_prep_kernel's norm sums over the block with block_sum_256");

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

// Grid (column blocks, H, T): q_abs of every (token, head), the rope part copied as it is.
__global__ void __launch_bounds__(kAbsorbThreads)
    mla_absorb_kernel(const float* __restrict__ q, const uint16_t* __restrict__ kv_b, MlaShape s,
                      float* __restrict__ q_abs) {
    pdl_begin();
    absorb_columns(q, kv_b, s, q_abs, blockIdx.y, blockIdx.z, nullptr, 0.0f);
}

// Grid (column blocks, H + 1, T): blocks y < H absorb head y (rope part rotated); block (0, H)
// writes the token's cache row: the normalised latent and the rotated k_pe.
__global__ void __launch_bounds__(kAbsorbThreads) mla_prep_kernel(MlaPrepArgs a) {
    pdl_begin();
    const MlaShape& s = a.shape;
    const int64_t t = blockIdx.z;
    const int64_t p = a.row_pos ? int64_t(a.row_pos[t]) : first_position(a.dev_pos, a.start_pos) + t;
    if (blockIdx.y < s.n_heads) {
        absorb_columns(a.q, a.kv_b, s, a.q_abs, blockIdx.y, t, &a.rope, float(p));
        return;
    }
    if (blockIdx.x != 0) return;
    const int64_t width = s.kv_lora + s.qk_rope;
    const float* c = a.ckv + t * width;
    float* row = (a.row_cache ? a.row_cache[t] : a.cache) + p * width;
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
    const int64_t p = a.row_pos ? int64_t(a.row_pos[t]) : first_position(a.dev_pos, a.start_pos) + t;
    float* k_cache = a.row_k_cache ? a.row_k_cache[t] : a.k_cache;
    float* v_cache = a.row_v_cache ? a.row_v_cache[t] : a.v_cache;
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
        float* dst = k_cache + p * kv_cols + kh * D;
        for (int64_t d = threadIdx.x; d < D; d += blockDim.x)
            dst[d] = d < a.rope.dim ? rope_element(src, d, pos, a.rope) : src[d];
    } else {
        for (int64_t c = threadIdx.x; c < kv_cols; c += blockDim.x) v_cache[p * kv_cols + c] = a.v[t * kv_cols + c];
    }
}

}  // namespace

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

}  // namespace moe::kernels
