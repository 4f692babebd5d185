// Causal attention with a KV cache: MLA over the latent cache and GQA
// (CPU twin: engine/cpu/cpu_attention.cpp). All f32 activations; kv_b is bf16.
//
// Decode (few queries): split-K "flash decoding" over the cache, `attention_decode`, then a
// combine. MLA's 576-wide rows go through a register-resident kernel (keys loaded straight into
// registers, one head per warp); other shapes stage 32-key tiles in shared memory.
// MLA decode uses the weight-absorbed form: queries are absorbed into the latent space
// (mla_absorb_q), attend over the 576-wide cache rows (all heads share them, MQA-like), and the
// latent output goes back up through W_UV (mla_combine_value_up, fused with the split combine).
// Prefill (many queries): a tiled flash-style kernel, `attention_prefill`, with online softmax;
// MLA prefill first expands k_nope / v from the cached latent through kv_b (a cuBLAS GEMM in the
// engine), so the kernel sees ordinary per-head K and V.
//
// Sources by kernel family: attention_prep.cu (cache writes, decode prologues), attention_decode.cu
// and attention_decode_lanes.cu (split-K decode), attention_combine.cu (split-KV combine, MLA's
// fused W_UV), attention_prefill.cu (flash prefill), attention_prefill_tc.cu (tensor-core prefill
// pieces); their shared device helpers are in attention_common.cuh.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace moe::kernels {

// cache [cap, kv_lora + rope] rows pos .. pos+T-1 <- [latent ; k_pe]; pos = *dev_pos if set, else start_pos.
cudaError_t mla_cache_write(const float* latent, const float* k_pe, float* cache, int64_t T, int64_t kv_lora,
                            int64_t rope, int64_t start_pos, const int32_t* dev_pos, cudaStream_t stream);
// k_cache / v_cache [cap, kv_cols] rows pos .. pos+T-1 <- k, v [T, kv_cols].
cudaError_t gqa_cache_write(const float* k, const float* v, float* k_cache, float* v_cache, int64_t T, int64_t kv_cols,
                            int64_t start_pos, const int32_t* dev_pos, cudaStream_t stream);

struct MlaShape {
    int64_t n_heads = 0, qk_nope = 0, qk_rope = 0, v_head = 0, kv_lora = 0;
};
// q [T, H * (nope + rope)] -> q_abs [T, H, kv_lora + rope] = [W_UK[h]ᵀ q_nope_h ; q_pe_h].
// kv_b bf16 [H * (nope + v), kv_lora].
cudaError_t mla_absorb_q(const float* q, const uint16_t* kv_b, int64_t T, const MlaShape& s, float* q_abs,
                         cudaStream_t stream);

// The rotation of rope.h (RopeArgs), for kernels that rotate on the fly.
struct RopeParams {
    const float* inv_freq = nullptr;  // device [dim / 2]
    int64_t dim = 0;
    float attention_factor = 1.0f;
    bool interleaved = true;
};

// MLA decode prologue from the raw projections, one launch (decode, few tokens). Token t at
// position p = (dev_pos ? *dev_pos : start_pos) + t:
//   cache[p] = [rmsnorm(ckv[t, :kv_lora], norm_w, eps) ; rope(ckv[t, kv_lora:])]
//   q_abs[t, h] = [W_UK[h]ᵀ q_nope[t, h] ; rope(q_pe[t, h])]      (rope.dim == qk_rope)
struct MlaPrepArgs {
    const float* q = nullptr;    // [T, H * (nope + rope)], not rotated
    const float* ckv = nullptr;  // [T, kv_lora + rope], the kv_a output
    const float* norm_w = nullptr;
    float eps = 0.0f;
    const uint16_t* kv_b = nullptr;
    MlaShape shape;
    RopeParams rope;
    int64_t T = 0, start_pos = 0;
    const int32_t* dev_pos = nullptr;
    float* q_abs = nullptr;      // [T, H, kv_lora + rope]
    float* cache = nullptr;      // [capacity, kv_lora + rope]
    // Batched decode (one token of each of T sequences): when set, token t sits at row_pos[t] of
    // its own cache row_cache[t] (device arrays [T]); cache, start_pos and dev_pos are unused.
    float* const* row_cache = nullptr;
    const int32_t* row_pos = nullptr;
};
cudaError_t mla_decode_prep(const MlaPrepArgs& args, cudaStream_t stream);

// GQA decode prologue, one launch: q rotated in place; k_cache[p] = rope(k[t]); v_cache[p] = v[t]
// (rope over the first rope.dim columns of every head).
struct GqaPrepArgs {
    float* q = nullptr;          // [T, Hq * D]
    const float* k = nullptr;    // [T, Hkv * D]
    const float* v = nullptr;    // [T, Hkv * D]
    int64_t T = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0;
    RopeParams rope;
    int64_t start_pos = 0;
    const int32_t* dev_pos = nullptr;
    float* k_cache = nullptr;
    float* v_cache = nullptr;
    // Batched decode (one token of each of T sequences): when set, token t sits at row_pos[t] of
    // its own caches row_k_cache[t] / row_v_cache[t] (device arrays [T]); k_cache, v_cache,
    // start_pos and dev_pos are unused.
    float* const* row_k_cache = nullptr;
    float* const* row_v_cache = nullptr;
    const int32_t* row_pos = nullptr;
};
cudaError_t gqa_decode_prep(const GqaPrepArgs& args, cudaStream_t stream);

// Element addressing shared by the attention kernels: q(t, h, d) = q[t * q_row + h * q_head + d],
// K(j, kvh, d) = k[j * k_row + kvh * k_head + d], likewise V and out(t, h, c). kvh = h / group.
struct DecodeAttnArgs {
    const float* q = nullptr;
    int64_t q_row = 0, q_head = 0;
    const float* k = nullptr;
    int64_t k_row = 0, k_head = 0;
    const float* v = nullptr;  // may alias k with the same strides (MLA: V = the first dv latent columns)
    int64_t v_row = 0, v_head = 0;
    int64_t dk = 0, dv = 0;    // dk <= 1024, dv <= 512
    int64_t n_heads = 0, group = 1;
    int64_t T = 0;
    int64_t start_pos = 0;            // query t sits at position start_pos + t ...
    const int32_t* dev_pos = nullptr; // ... or *dev_pos + t (decode graphs)
    int64_t max_keys = 0;             // an upper bound of start_pos + T (the cache capacity in graphs)
    // Batched decode (one token of each of T sequences): when set, query t reads keys
    // [0, row_keys[t]) of its own cache row_k[t] and the values of row_v[t] (GQA; MLA leaves it
    // null: V inside K) (device arrays [T]); k / v then only serve the alignment checks (set them
    // to one sequence's caches); start_pos and dev_pos are unused.
    const float* const* row_k = nullptr;
    const float* const* row_v = nullptr;
    const int32_t* row_keys = nullptr;
    float scale = 1.0f;
    float* out = nullptr;
    int64_t out_row = 0, out_head = 0;
    int sm_count = 132;
};
// How many key splits attention_decode uses, and the workspace it needs (floats).
int attention_decode_splits(const DecodeAttnArgs& a);
int64_t attention_decode_workspace(const DecodeAttnArgs& a, int splits);
cudaError_t attention_decode(const DecodeAttnArgs& a, int splits, float* workspace, cudaStream_t stream);
// The same without the combine: per-split partials stay in the workspace ...
cudaError_t attention_decode_partials(const DecodeAttnArgs& a, int splits, float* workspace, cudaStream_t stream);
// ... for MLA to combine them and apply W_UV in one kernel: out [T, H * v_head] (a.dv == kv_lora).
cudaError_t mla_combine_value_up(const DecodeAttnArgs& a, int splits, const float* workspace, const uint16_t* kv_b,
                                 const MlaShape& s, float* out, cudaStream_t stream);

// K(j, kvh, d) = d < dk1 ? k1[j * k1_row + kvh * k1_head + d] : k2[j * k2_row + kvh * k2_head + d - dk1]
// (MLA: k_nope per head from the expanded kv, then the shared roped k_pe from the cache).
struct PrefillAttnArgs {
    const float* q = nullptr;
    int64_t q_row = 0, q_head = 0;
    const float* k1 = nullptr;
    int64_t k1_row = 0, k1_head = 0, dk1 = 0;
    const float* k2 = nullptr;
    int64_t k2_row = 0, k2_head = 0, dk2 = 0;
    const float* v = nullptr;
    int64_t v_row = 0, v_head = 0, dv = 0;  // dv <= 128
    int64_t n_heads = 0, group = 1;
    int64_t T = 0, start_pos = 0;
    float scale = 1.0f;
    float* out = nullptr;
    int64_t out_row = 0, out_head = 0;
};
cudaError_t attention_prefill(const PrefillAttnArgs& a, cudaStream_t stream);

// Pieces of the tensor-core MLA prefill (engine/cuda/cuda_attention.cpp runs the GEMMs in cuBLAS):
// k [S, H, qk_head] bf16: columns [qk_nope, qk_nope + rope) of every head <- the shared roped k_pe,
// cache[:, kv_lora:] (f32, row stride `width`).
cudaError_t mla_fill_rope_keys_bf16(const float* cache, int64_t width, int64_t S, const MlaShape& s, uint16_t* k,
                                    cudaStream_t stream);
// dst [S, Hq * D] bf16: every query head's copy of its kv head's rows, from src [S, Hkv * D] f32
// (row stride ld_src), query head h reading kv head h / group (GQA prefill on the tensor cores).
cudaError_t expand_kv_heads_bf16(const float* src, int64_t ld_src, int64_t S, int64_t n_heads, int64_t group,
                                 int64_t head_dim, uint16_t* dst, cudaStream_t stream);
// p [H, T, S] bf16 = softmax over each row of scale * scores [H, T, S] f32, causal: query t sees
// keys j <= start_pos + t (the others get probability 0).
cudaError_t causal_softmax_bf16(const float* scores, int64_t H, int64_t T, int64_t S, int64_t start_pos, float scale,
                                uint16_t* p, cudaStream_t stream);

// ---- training (CpuBackend::attention_train / _backward, mla_split_kv) -------------------------
// The engine (cuda_attention.cpp) runs attention over whole sequences as blocks of query rows
// [r0, r0 + nq) against key rows [k0, k0 + nk) (k0 = the earliest segment start of the block, so
// k0 + nk = r0 + nq), with the scores of every head materialised by cuBLAS: S [H, nq, nk] f32 = q kᵀ
// (unscaled), rows ld apart. Row r sees keys seg_start[r] .. r.
struct TrainAttnBlock {
    int64_t n_heads = 0, nq = 0, nk = 0, r0 = 0, k0 = 0;
    int64_t ld = 0;  // row stride of the [H, nq, ·] score matrices, >= nk (a multiple of 8: aligned GEMM rows)
    const int32_t* seg_start = nullptr;  // [T] absolute rows, seg_start[r] in [k0, r] for the block's rows
    float scale = 1.0f;
};
// Forward: p [H, nq, nk] bf16 = softmax of scale·S over each row's visible keys (0 elsewhere);
// lse [T, H] rows r0.. <- the log-sum-exp of each row's scaled scores. A block per (row, head).
cudaError_t attention_train_softmax(const float* scores, const TrainAttnBlock& b, uint16_t* p, float* lse,
                                    cudaStream_t stream);
// Backward from the recomputed S and dP [H, nq, nk] = dO vᵀ (f32): p = exp(scale·S − lse) on visible
// keys, ds = p · (dP − D) · scale with D [T, H] = Σ dO ⊙ O; both written bf16 for the gradient GEMMs.
cudaError_t attention_train_softmax_backward(const float* scores, const float* dp, const float* lse, const float* drow,
                                             const TrainAttnBlock& b, uint16_t* p, uint16_t* ds, cudaStream_t stream);
// The flash form of the same attention (attention_flash_tc.cu): no score matrix in memory, for
// the head widths flash_attention_supported() names (MLA's 192/128, 128/128, 96/64, 64/64). bf16
// operands q, d_out [T, H·width] and k, v [T, (H / kv_group)·width].
struct FlashAttnArgs {
    const uint16_t *q = nullptr, *k = nullptr, *v = nullptr;
    const uint16_t* d_out = nullptr;     // backward: dO
    int kv_group = 1;                    // query heads per kv head (GQA)
    // [T]: row r sees keys seg_start[r] .. its position; null (forward only): every row from key 0
    const int32_t* seg_start = nullptr;
    // [T, H] natural log-sum-exp of each row's scaled scores: forward writes (unless null), backward reads
    float* lse = nullptr;
    const float* drow = nullptr;         // backward: [T, H] D = Σ dO ⊙ O (attention_row_dot)
    float* out = nullptr;                // forward: [T, H·v_dim] f32
    // backward, f32, per query head [T, H·width]: dq accumulated (zero it first), dk, dv overwritten
    float *dq = nullptr, *dk = nullptr, *dv = nullptr;
    int64_t T = 0;
    // Forward only (prefill): query row i is position q_offset + i of n_keys key rows (0: T).
    int64_t q_offset = 0, n_keys = 0;
    int n_heads = 0, qk_dim = 0, v_dim = 0;
    float scale = 1.0f;
};
bool flash_attention_supported(int qk_dim, int v_dim);
cudaError_t attention_flash_forward(const FlashAttnArgs& a, cudaStream_t stream);
cudaError_t attention_flash_backward(const FlashAttnArgs& a, cudaStream_t stream);
// out [n] = Σ_c a[i, c] · b[i, c] over rows of length d (D = Σ dO ⊙ O per (row, head): n = T·H).
cudaError_t attention_row_dot(const float* a, const float* b, int64_t n, int64_t d, float* out, cudaStream_t stream);
// GQA gradients: dst [T, n_kv · d] = Σ over each kv head's `group` query heads of src [T, n_kv · group · d].
cudaError_t sum_head_groups_f32(const float* src, int64_t T, int64_t n_kv, int64_t group, int64_t d, float* dst,
                                cudaStream_t stream);

// MLA's expanded keys/values: kv [T, H (nope + v)] (per head nope then v columns), k_pe [T, rope]
// -> k [T, H (nope + rope)] = per head [k_nope ; k_pe], v [T, H v]. Exact copies.
cudaError_t mla_split_kv_f32(const float* kv, const float* k_pe, int64_t T, const MlaShape& s, float* k, float* v,
                             cudaStream_t stream);
// Its backward: dkv [T, H (nope + v)] from dk's nope columns and dv; dk_pe [T, rope] = Σ_h dk's rope
// columns (heads in order). Both overwritten.
cudaError_t mla_split_kv_backward_f32(const float* dk, const float* dv, int64_t T, const MlaShape& s, float* dkv,
                                      float* dk_pe, cudaStream_t stream);

}  // namespace moe::kernels
