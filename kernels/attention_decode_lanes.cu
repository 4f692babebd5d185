// The register-resident decode kernel for the common shapes (dv = 128 KV4, dk = dv + 32 KR):
// no shared memory at all. Warp = one head; lane owns value columns 4 lane + 128 q (q < KV4, one
// 16-byte load each, coalesced across the warp) and KR extra key columns dv + KR lane (MLA's rope
// part). Keys come KB at a time straight from global memory into registers; each lane's partial dot
// products are reduced across the warp with shuffles, and the same registers (V inside K for MLA)
// feed P·V. No staging round trip, no per-lane 576-long dot product. Partials as in
// attention_decode.cu; shared helpers: attention_common.cuh.
#include "attention_common.cuh"

namespace moe::kernels {
using namespace attention_detail;

namespace {

// Register arrays need a non-zero extent even where the template leaves a part out.
__host__ __device__ constexpr int at_least_1(int n) { return n > 0 ? n : 1; }

// Keys j0 .. j0 + KB - 1 (clamped to the last key: a duplicate is masked when scoring) into registers:
// this lane's value columns kv, its extra key columns kr, and the values vv when V is not inside K.
template <int KV4, int KR, bool V_IN_K, int KB>
__device__ __forceinline__ void load_key_batch(float4 (&kv)[KB][KV4], float (&kr)[KB][at_least_1(KR)],
                                               float4 (&vv)[KB][V_IN_K ? 1 : KV4], const float* kbase,
                                               const float* vbase, const DecodeAttnArgs& a, int64_t j0,
                                               int64_t j_end, int lane, int dv) {
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
}

// sc[b] = q·k_b over the whole row: each lane's part, then summed across the warp (every lane gets it).
template <int KV4, int KR, int KB>
__device__ __forceinline__ void score_key_batch(float (&sc)[KB], const float4 (&qv)[KV4], const float (&qr)[at_least_1(KR)],
                                                const float4 (&kv)[KB][KV4], const float (&kr)[KB][at_least_1(KR)]) {
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
}

// Online softmax over the batch's scores (keys >= j_end masked), then acc += p_b V_b.
template <int KV4, bool V_IN_K, int KB>
__device__ __forceinline__ void softmax_accumulate(float4 (&acc)[KV4], float& m, float& l, float (&sc)[KB],
                                                   const float4 (&kv)[KB][KV4], const float4 (&vv)[KB][V_IN_K ? 1 : KV4],
                                                   int64_t j0, int64_t j_end, float scale) {
    float tile_max = kNegInf;
#pragma unroll
    for (int b = 0; b < KB; ++b) {
        sc[b] = j0 + b < j_end ? sc[b] * scale : kNegInf;
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
    float qr[at_least_1(KR)];
    const float* qh = a.q + t * a.q_row + h * a.q_head;
#pragma unroll
    for (int q = 0; q < KV4; ++q) qv[q] = __ldg(reinterpret_cast<const float4*>(qh + 4 * lane + 128 * q));
#pragma unroll
    for (int r = 0; r < KR; ++r) qr[r] = __ldg(qh + dv + KR * lane + r);

    float4 acc[KV4];
#pragma unroll
    for (int q = 0; q < KV4; ++q) acc[q] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    float m = kNegInf, l = 0.0f;
    const float* kbase = key_rows(a, t) + kvh * a.k_head;
    const float* vbase = value_rows(a, t) + kvh * a.v_head;

    for (int64_t j0 = j_begin; j0 < j_end; j0 += KB) {
        float4 kv[KB][KV4];
        float kr[KB][at_least_1(KR)];
        float4 vv[KB][V_IN_K ? 1 : KV4];
        load_key_batch<KV4, KR, V_IN_K, KB>(kv, kr, vv, kbase, vbase, a, j0, j_end, lane, dv);
        float sc[KB];
        score_key_batch<KV4, KR, KB>(sc, qv, qr, kv, kr);
        softmax_accumulate<KV4, V_IN_K, KB>(acc, m, l, sc, kv, vv, j0, j_end, a.scale);
    }
#pragma unroll
    for (int q = 0; q < KV4; ++q) *reinterpret_cast<float4*>(part_o + slot * dv + 4 * lane + 128 * q) = acc[q];
    if (lane == 0) {  // an empty split leaves m = -inf, l = 0: the combine skips it
        part_ml[slot * 2] = m;
        part_ml[slot * 2 + 1] = l;
    }
}

}  // namespace

namespace attention_detail {

// MLA (kv_lora 512 + rope 64, V inside K) only: for GQA the staged kernel measured faster (H100,
// Qwen2 1.5B: 436 vs 411 tok/s), its shared-memory tile serving all the query heads of a kv head at once.
bool decode_lanes_fits(const DecodeAttnArgs& a) {
    if (!decode_vec_ok(a) || a.dv % 128 != 0) return false;
    return a.dv / 128 == 4 && a.dk - a.dv == 64 && v_aliases_k(a);
}

cudaError_t launch_decode_lanes(const DecodeAttnArgs& a, int splits, int64_t heads_per_block, float* part_o,
                                float* part_ml, cudaStream_t stream) {
    const dim3 grid(unsigned(a.n_heads / heads_per_block), unsigned(splits), unsigned(a.T));
    MOE_PREFER_SHARED((decode_kernel_lanes<4, 2, true, 4>));
    MOE_LAUNCH((decode_kernel_lanes<4, 2, true, 4>), grid, unsigned(32 * heads_per_block), 0, stream, a, splits,
               part_o, part_ml);
    return cudaGetLastError();
}

}  // namespace attention_detail

}  // namespace moe::kernels
