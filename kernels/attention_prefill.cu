// Flash-style prefill attention (many queries), with online softmax over 32-key tiles staged in
// shared memory. The engine uses it when the tensor-core path's score matrices would not fit
// (attention_prefill_tc.cu holds that path's pieces). Shared helpers: attention_common.cuh.
#include "attention_common.cuh"

namespace moe::kernels {
using namespace attention_detail;

namespace {

constexpr int kPrefillWarps = 4;
constexpr int kRowsPerWarp = 4;
constexpr int kQueryTile = kPrefillWarps * kRowsPerWarp;  // 16 queries of one head per block

size_t prefill_smem_bytes(const PrefillAttnArgs& a) {
    const int64_t dk = a.dk1 + a.dk2;
    return size_t(kQueryTile * dk + kKeyTile * (dk + 1) + kKeyTile * a.dv) * sizeof(float);
}

// Keys j0 .. j0 + nk - 1 of kv head kvh into shared memory: K = [k1 ; k2] rows of dk + 1 floats
// (+1: lanes read different rows, no bank conflicts), V rows of dv.
__device__ __forceinline__ void stage_prefill_keys(float* k_s, float* v_s, const PrefillAttnArgs& a, int64_t j0,
                                                   int64_t kvh, int nk, int64_t dk, bool vec) {
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
}

// Online softmax of each row over the tile, causal (key j0 + lane visible to a row at position pos[i]
// when j0 + lane <= pos[i]): p[i] = this lane's probability; m, l and acc rescaled to the new max.
template <int NV>
__device__ __forceinline__ void softmax_rows(float (&p)[kRowsPerWarp], const float (&s)[kRowsPerWarp],
                                             float (&m)[kRowsPerWarp], float (&l)[kRowsPerWarp],
                                             float (&acc)[kRowsPerWarp][NV], const int64_t (&pos)[kRowsPerWarp],
                                             int64_t j0, int lane, int nk, float scale) {
#pragma unroll
    for (int i = 0; i < kRowsPerWarp; ++i) {
        const bool visible = lane < nk && j0 + lane <= pos[i];
        const float si = visible ? s[i] * scale : kNegInf;
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
}

// acc[i][r] (column lane + 32 r) += Σ_jj p_i(jj) V[jj][column]; lane jj holds p_i(jj).
template <int NV>
__device__ __forceinline__ void accumulate_rows(float (&acc)[kRowsPerWarp][NV], const float (&p)[kRowsPerWarp],
                                                const float* v_s, int nk, int lane, int64_t dv) {
    for (int jj = 0; jj < nk; ++jj) {
        float vv[NV];
#pragma unroll
        for (int r = 0; r < NV; ++r) {
            const int64_t c = lane + 32 * r;
            vv[r] = c < dv ? v_s[jj * dv + c] : 0.0f;
        }
#pragma unroll
        for (int i = 0; i < kRowsPerWarp; ++i) {
            const float pj = __shfl_sync(kFullMask, p[i], jj);
#pragma unroll
            for (int r = 0; r < NV; ++r) acc[i][r] = fmaf(pj, vv[r], acc[i][r]);
        }
    }
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
        stage_prefill_keys(k_s, v_s, a, j0, kvh, nk, dk, vec);
        __syncthreads();
        // s[i] = q_i · k_lane for the warp's rows (kept in the kernel: as a helper taking s by
        // reference, prefill_kernel<1> spilled).
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
        softmax_rows<NV>(p, s, m, l, acc, pos, j0, lane, nk, a.scale);
        accumulate_rows<NV>(acc, p, v_s, nk, lane, a.dv);
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

}  // namespace

cudaError_t attention_prefill(const PrefillAttnArgs& a, cudaStream_t stream) {
    if (a.T <= 0) return cudaSuccess;
    if (a.dv > 128 || a.group <= 0 || a.n_heads % a.group != 0) return cudaErrorInvalidValue;
    if (a.dv <= 32) return launch_prefill<1>(a, stream);
    if (a.dv <= 64) return launch_prefill<2>(a, stream);
    return launch_prefill<4>(a, stream);
}

}  // namespace moe::kernels
