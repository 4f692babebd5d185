// Split-K ("flash decoding") attention for few queries over the KV cache: each block attends one
// key split of one query row for the heads of one kv head and leaves (output, max, sum) partials in
// the workspace; attention_combine.cu merges them. Keys go through shared memory in 32-key tiles
// (the scalar kernel for any shape, the vectorised one for real shapes); MLA's 576-wide rows take
// the register-resident kernel in attention_decode_lanes.cu instead. Shared helpers:
// attention_common.cuh.
#include <algorithm>

#include "attention_common.cuh"

namespace moe::kernels {
using namespace attention_detail;

namespace {

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

size_t decode_smem_bytes(const DecodeAttnArgs& a, int64_t hb) {
    const int64_t floats = hb * a.dk + kKeyTile * (a.dk + 1) + (v_aliases_k(a) ? 0 : kKeyTile * a.dv);
    return size_t(floats) * sizeof(float);
}

// ---- the scalar kernel (any shape) ------------------------------------------------------------

// q·k over dk floats staged in shared memory, in four partial sums: one chain of 576 dependent FMAs
// was what bounded this kernel. vec: q rows are 16-byte aligned (dk % 4 == 0), so one broadcast
// load feeds 4 FMAs.
__device__ __forceinline__ float dot_staged(const float* qr, const float* kr, int dk, bool vec) {
    float d0 = 0.0f, d1 = 0.0f, d2 = 0.0f, d3 = 0.0f;
    int d = 0;
    if (vec) {
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
    return (d0 + d1) + (d2 + d3);
}

// acc[r] (column lane + 32 r) += Σ_jj p_jj V[jj][column] over the tile's nk keys; lane jj holds p_jj.
template <int NV>
__device__ __forceinline__ void accumulate_values(float (&acc)[NV], float p, int nk, const float* vbase,
                                                  int64_t vstride, int lane, int64_t dv) {
#pragma unroll 4
    for (int jj = 0; jj < nk; ++jj) {
        const float pj = __shfl_sync(kFullMask, p, jj);
        const float* vr = vbase + jj * vstride;
#pragma unroll
        for (int r = 0; r < NV; ++r) {
            const int64_t c = lane + 32 * r;
            if (c < dv) acc[r] = fmaf(pj, vr[c], acc[r]);
        }
    }
}

// A split with no key to attend (short context, splits sized for the capacity): zero output and
// (m, l) = (-inf, 0), which the combine skips.
template <int NV>
__device__ __forceinline__ void write_empty_split(float* part_o, float* part_ml, int64_t slot, int64_t dv, int lane) {
#pragma unroll
    for (int r = 0; r < NV; ++r)
        if (lane + 32 * r < dv) part_o[slot * dv + lane + 32 * r] = 0.0f;
    if (lane == 0) {
        part_ml[slot * 2] = kNegInf;
        part_ml[slot * 2 + 1] = 0.0f;
    }
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
    if (j_begin >= j_end) return write_empty_split<NV>(part_o, part_ml, slot, a.dv, lane);
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
        const float* kb = key_rows(a, t) + j0 * a.k_row + kvh * a.k_head;
        const float* vb = value_rows(a, t) + j0 * a.v_row + kvh * a.v_head;
        if (vec) {
            stage_rows(k_s, int(a.dk) + 1, kb, a.k_row, nk, int(a.dk));
            if (!v_in_k) stage_rows(v_s, int(a.dv), vb, a.v_row, nk, int(a.dv));
        } else {
            stage_rows_scalar(k_s, int(a.dk) + 1, kb, a.k_row, nk, int(a.dk));
            if (!v_in_k) stage_rows_scalar(v_s, int(a.dv), vb, a.v_row, nk, int(a.dv));
        }
        __syncthreads();

        float s = kNegInf;
        if (lane < nk) s = dot_staged(q_s + warp * a.dk, k_s + lane * (a.dk + 1), int(a.dk), vec) * a.scale;
        float corr;
        const float p = online_softmax_tile(s, lane, nk, m, l, corr);
#pragma unroll
        for (int r = 0; r < NV; ++r) acc[r] *= corr;
        accumulate_values(acc, p, nk, v_in_k ? k_s : v_s, v_in_k ? a.dk + 1 : a.dv, lane, a.dv);
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

// ---- the vectorised kernel (dk, dv, strides multiples of 4: every real shape) -------------------

// Key rows in shared memory with a stride of 4 (mod 32) floats, so lane j's 16-byte reads of key j
// and the lanes' 16-byte reads of one value row are both free of bank conflicts. Lane ownership in
// P·V: columns 4 lane + 128 q + e (e < 4, q < QV). Half the shared-memory instructions of the
// scalar kernel.
__host__ __device__ inline int padded_stride(int64_t dk) { return int(dk + ((4 - dk % 32) + 32) % 32); }

// q·k with both rows 16-byte aligned in shared memory (dk % 4 == 0), four partial sums.
__device__ __forceinline__ float dot_vec4(const float* qr, const float* kr, int dk) {
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
    return (d0 + d1) + (d2 + d3);
}

template <int QV>
__device__ __forceinline__ void scale_all(float4 (&acc)[QV], float f) {
#pragma unroll
    for (int q = 0; q < QV; ++q) {
        acc[q].x *= f;
        acc[q].y *= f;
        acc[q].z *= f;
        acc[q].w *= f;
    }
}

// acc[q] (columns 4 lane + 128 q ..+3) += Σ_jj p_jj V[jj][columns]; lane jj holds p_jj.
template <int QV>
__device__ __forceinline__ void accumulate_values_vec4(float4 (&acc)[QV], float p, int nk, const float* vbase,
                                                       int vstride, int lane, int dv) {
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
            stage_rows(k_s, KS, key_rows(a, t) + j0 * a.k_row + kvh * a.k_head, a.k_row, nk, dk);
            if (!v_in_k) stage_rows(v_s, dv, value_rows(a, t) + j0 * a.v_row + kvh * a.v_head, a.v_row, nk, dv);
            __syncthreads();

            float s = kNegInf;
            if (lane < nk) s = dot_vec4(q_s + warp * dk, k_s + lane * KS, dk) * a.scale;
            float corr;
            const float p = online_softmax_tile(s, lane, nk, m, l, corr);
            scale_all(acc, corr);
            accumulate_values_vec4(acc, p, nk, v_in_k ? k_s : v_s, v_in_k ? KS : dv, lane, dv);
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

// ---- launchers ------------------------------------------------------------------------------------

// Raises the kernel's dynamic shared-memory limit once it needs more than the default 48 KiB
// (`configured`: the limit already set for this kernel).
template <class Kernel>
cudaError_t allow_shared_memory(Kernel kernel, size_t smem, size_t& configured) {
    if (smem <= configured) return cudaSuccess;
    const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
    if (e == cudaSuccess) configured = smem;
    return e;
}

template <int NV>
cudaError_t launch_decode_partials(const DecodeAttnArgs& a, int splits, float* ws, cudaStream_t stream) {
    const int64_t hb = decode_heads_per_block(a);
    float* part_o = decode_partial_outputs(ws);
    float* part_ml = decode_partial_stats(ws, a, splits);
    const dim3 grid(unsigned(a.n_heads / hb), unsigned(splits), unsigned(a.T));
    if (decode_lanes_fits(a)) return launch_decode_lanes(a, splits, hb, part_o, part_ml, stream);
    if (decode_vec_ok(a)) {
        constexpr int QV = NV >= 4 ? NV / 4 : 1;
        const size_t smem = size_t(hb * a.dk + kKeyTile * padded_stride(a.dk) +
                                   (v_aliases_k(a) ? 0 : kKeyTile * a.dv)) * sizeof(float);
        static size_t configured = 48 * 1024;
        if (const cudaError_t e = allow_shared_memory(decode_kernel_vec<QV>, smem, configured); e != cudaSuccess) return e;
        MOE_PREFER_SHARED((decode_kernel_vec<QV>));
        MOE_LAUNCH((decode_kernel_vec<QV>), grid, unsigned(32 * hb), smem, stream, a, splits, part_o, part_ml);
        return cudaGetLastError();
    }
    const size_t smem = decode_smem_bytes(a, hb);
    static size_t configured = 48 * 1024;
    if (const cudaError_t e = allow_shared_memory(decode_kernel<NV>, smem, configured); e != cudaSuccess) return e;
    MOE_PREFER_SHARED((decode_kernel<NV>));
    MOE_LAUNCH((decode_kernel<NV>), grid, unsigned(32 * hb), smem, stream, a, splits, part_o, part_ml);
    return cudaGetLastError();
}

template <int NV>
cudaError_t launch_decode(const DecodeAttnArgs& a, int splits, float* ws, cudaStream_t stream) {
    cudaError_t e = launch_decode_partials<NV>(a, splits, ws, stream);
    if (e != cudaSuccess) return e;
    return launch_split_combine(a, splits, decode_partial_outputs(ws), decode_partial_stats(ws, a, splits), stream);
}

bool decode_args_ok(const DecodeAttnArgs& a, int splits) {
    // Per-query caches (batched decode): keys and key counts together, and values unless V sits inside K.
    if ((a.row_k != nullptr) != (a.row_keys != nullptr) || (a.row_v && !a.row_k)) return false;
    if (a.row_k && !a.row_v && !v_aliases_k(a)) return false;
    return a.dv <= 512 && a.dk <= 1024 && a.group > 0 && a.n_heads % a.group == 0 && splits > 0;
}

}  // namespace

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
    if (!decode_args_ok(a, splits)) return cudaErrorInvalidValue;
    if (a.dv <= 32) return launch_decode<1>(a, splits, workspace, stream);
    if (a.dv <= 64) return launch_decode<2>(a, splits, workspace, stream);
    if (a.dv <= 128) return launch_decode<4>(a, splits, workspace, stream);
    if (a.dv <= 256) return launch_decode<8>(a, splits, workspace, stream);
    return launch_decode<16>(a, splits, workspace, stream);
}

cudaError_t attention_decode_partials(const DecodeAttnArgs& a, int splits, float* workspace, cudaStream_t stream) {
    if (a.T <= 0) return cudaSuccess;
    if (!decode_args_ok(a, splits)) return cudaErrorInvalidValue;
    if (a.dv <= 32) return launch_decode_partials<1>(a, splits, workspace, stream);
    if (a.dv <= 64) return launch_decode_partials<2>(a, splits, workspace, stream);
    if (a.dv <= 128) return launch_decode_partials<4>(a, splits, workspace, stream);
    if (a.dv <= 256) return launch_decode_partials<8>(a, splits, workspace, stream);
    return launch_decode_partials<16>(a, splits, workspace, stream);
}

}  // namespace moe::kernels
