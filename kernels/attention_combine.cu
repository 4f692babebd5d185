// The split-KV combine of decode attention: the per-split partials of attention_decode.cu merged by
// log-sum-exp,
//   out(t, h, c) = Σ_s e^(m_s - M) o_s[c] / Σ_s e^(m_s - M) l_s,   M = max_s m_s.
// Splits cover the keys in order, so the non-empty ones (l > 0) are a prefix; empty ones carry
// m = -inf, l = 0 and are skipped. For MLA the combine is fused with W_UV (the latent output goes
// back up to v_head per head). Shared helpers: attention_common.cuh.
#include "attention_common.cuh"

namespace moe::kernels {
using namespace attention_detail;

namespace {

// The log-sum-exp merge shared by both combine kernels. part_ml holds (running max m_s, sum l_s)
// per split of one (token, head) starting at `base`; writes each split's rescale weight
// exp(m_s - M) into w_s[splits] (0 for a split that saw no key) and returns 1 / sum(w_s * l_s) and
// how many leading splits hold keys. Every thread of the block must call it.
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

// ---- MLA: the combine fused with W_UV -------------------------------------------------------------

// Block = (head h, 32 output rows, token t): it combines the head's latent output into shared
// memory (every block of the head repeats this small part), then each warp takes 4 rows of W_UV[h]
// with 16-byte loads.
constexpr int kVuRows = 32, kVuThreads = 512;
constexpr int kVuRowsPerWarp = kVuRows / (kVuThreads / 32);

// o_s[c] = inv · Σ_s w_s[s] part_o[s][c] over the n splits holding keys, c < kv_lora. When the
// latent row is float4-divisible the splits are shared out among `groups` thread groups, each
// reading whole 16-byte columns, their sums meeting in o_part; a thread walking all splits alone
// waited one latency per 8 splits (129 splits at a 4096 context: the longest kernel of the layer).
__device__ __forceinline__ void combine_latent(float* o_s, const float* w_s, float* o_part,
                                               const float* __restrict__ part_o, int64_t base, int n, float inv,
                                               int64_t kv_lora) {
    const int q4 = int(kv_lora / 4);  // float4 columns of a latent row
    if (kv_lora % 4 == 0 && q4 <= kVuThreads) {
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
            float* dst = o_part + g * kv_lora + 4 * c4;
            dst[0] = o.x;
            dst[1] = o.y;
            dst[2] = o.z;
            dst[3] = o.w;
        }
        __syncthreads();
        for (int64_t c = threadIdx.x; c < kv_lora; c += kVuThreads) {
            float o = 0.0f;
            for (int gg = 0; gg < groups; ++gg) o += o_part[gg * kv_lora + c];
            o_s[c] = o * inv;
        }
    } else {
        for (int64_t c = threadIdx.x; c < kv_lora; c += kVuThreads) {
            float o = 0.0f;
#pragma unroll 8
            for (int s = 0; s < n; ++s) o = fmaf(w_s[s], part_o[(base + s) * kv_lora + c], o);
            o_s[c] = o * inv;
        }
    }
}

// out[t, h, i0 .. i0 + 4) = W_UV[h] rows · o_s, one warp per 4 rows. kv_lora 512 (every real MLA
// shape): 2 chunks of 8 bf16 per lane and row, all rows' loads issued before any use.
__device__ __forceinline__ void value_up_rows(const float* o_s, const uint16_t* __restrict__ kv_b, const MlaShape& sh,
                                              int64_t h, int64_t t, int64_t i0, int lane, float* __restrict__ out) {
    const bool vec = sh.kv_lora == 512 && (reinterpret_cast<uintptr_t>(kv_b) % 16) == 0;
    if (vec) {
        uint4 w[kVuRowsPerWarp][2];
#pragma unroll
        for (int r = 0; r < kVuRowsPerWarp; ++r) {
            const int64_t i = i0 + r < sh.v_head ? i0 + r : sh.v_head - 1;
            const uint4* w4 = reinterpret_cast<const uint4*>(kv_b + (h * (sh.qk_nope + sh.v_head) + sh.qk_nope + i) * sh.kv_lora);
            w[r][0] = ld_stream(w4 + lane);
            w[r][1] = ld_stream(w4 + lane + 32);
        }
        const float4* x4 = reinterpret_cast<const float4*>(o_s);
#pragma unroll
        for (int r = 0; r < kVuRowsPerWarp; ++r) {
            float acc = dot8(w[r][0], x4[2 * lane], x4[2 * lane + 1]) + dot8(w[r][1], x4[2 * lane + 64], x4[2 * lane + 65]);
            acc = warp_sum(acc);
            if (lane == 0 && i0 + r < sh.v_head) out[t * sh.n_heads * sh.v_head + h * sh.v_head + i0 + r] = acc;
        }
        return;
    }
    for (int r = 0; r < kVuRowsPerWarp; ++r) {
        const int64_t i = i0 + r;
        if (i >= sh.v_head) break;
        const uint16_t* w = kv_b + (h * (sh.qk_nope + sh.v_head) + sh.qk_nope + i) * sh.kv_lora;
        float acc = 0.0f;
        for (int64_t c = lane; c < sh.kv_lora; c += 32) acc = fmaf(bf16_bits_to_f32(w[c]), o_s[c], acc);
        acc = warp_sum(acc);
        if (lane == 0) out[t * sh.n_heads * sh.v_head + h * sh.v_head + i] = acc;
    }
}

__global__ void __launch_bounds__(kVuThreads)
    mla_combine_value_up_kernel(int splits, const float* __restrict__ part_o, const float* __restrict__ part_ml,
                                const uint16_t* __restrict__ kv_b, MlaShape sh, float* __restrict__ out) {
    pdl_begin();
    extern __shared__ float sm[];
    float* o_s = sm;                   // [kv_lora]
    float* w_s = sm + sh.kv_lora;      // [splits]
    float* o_part = w_s + splits;      // [groups][kv_lora]: the split groups' partial sums
    const int64_t h = blockIdx.x, t = blockIdx.z;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t base = (t * sh.n_heads + h) * splits;
    const auto [inv, n] = merge_split_weights<kVuThreads>(part_ml, base, splits, w_s);
    combine_latent(o_s, w_s, o_part, part_o, base, n, inv, sh.kv_lora);
    __syncthreads();
    value_up_rows(o_s, kv_b, sh, h, t, int64_t(blockIdx.y) * kVuRows + warp * kVuRowsPerWarp, lane, out);
}

}  // namespace

namespace attention_detail {

cudaError_t launch_split_combine(const DecodeAttnArgs& a, int splits, const float* part_o, const float* part_ml,
                                 cudaStream_t stream) {
    MOE_PREFER_SHARED((decode_combine_kernel));
    MOE_LAUNCH((decode_combine_kernel), dim3(unsigned(a.n_heads), unsigned(a.T)), kCombineThreads,
               size_t(splits) * sizeof(float), stream, a, splits, part_o, part_ml);
    return cudaGetLastError();
}

}  // namespace attention_detail

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

}  // namespace moe::kernels
