// CUDA: causal attention with a KV cache, MLA and GQA (kernels/attention.cu; CPU twin cpu_attention.cpp).
//
// Few queries (decode, T <= kDecodeMaxQueries, and always in decode-graph mode): split-K decode
// kernels over the cache; MLA in the weight-absorbed form over the 576-wide latent rows.
// Many queries (prefill): MLA expands k_nope and v for every cached position from the latent
// through kv_b (absorbed attention costs (kv_lora + rope + kv_lora) / (nope + rope + v) = 3.4x
// more flops per (query, key, head)), then runs on the tensor cores: the flash kernel of
// kernels/attention_flash_tc.cu for the head widths it is built for, else cuBLAS with the score
// matrices materialised (mla_prefill), or for long prompts the CUDA-core flash kernel; GQA prefill
// likewise (gqa_prefill; the tensor-core flash kernel reads each query head's kv head, the cuBLAS
// form a bf16 copy per query head).
//
// Training (attention_train / _backward, below): whole sequences, row r attending to rows
// seg_start[r]..r, on the tensor-core flash kernels for their widths, else with the scores
// materialised per block of query rows (cuBLAS). MOE_FLASH_ATTENTION=0 turns the flash kernels off.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "attention.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_storage.h"
#include "cuda/gemm.h"
#include "elementwise.h"

namespace moe {

using namespace cuda;

namespace {

constexpr int64_t kDecodeMaxQueries = 8;

// Strided-batched bf16 GEMM with f32 accumulation, in cuBLAS's column-major terms (the row-major
// mapping is gemm_bf16's, cuda_linear.cpp): C_b = op(A_b) op(B_b) for b < batch.
void batched_gemm_bf16(cublasHandle_t handle, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n,
                       int64_t k, const uint16_t* A, int64_t lda, int64_t stride_a, const uint16_t* B, int64_t ldb,
                       int64_t stride_b, void* C, cudaDataType_t c_type, int64_t ldc, int64_t stride_c, int64_t batch) {
    const float alpha = 1.0f, beta = 0.0f;
    MOE_CUBLAS_CHECK(cublasGemmStridedBatchedEx(handle, ta, tb, int(m), int(n), int(k), &alpha, A, CUDA_R_16BF, int(lda),
                                                stride_a, B, CUDA_R_16BF, int(ldb), stride_b, &beta, C, c_type, int(ldc),
                                                stride_c, int(batch), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

// The decode kernels' view of MLA: absorbed queries [T, H, kv_lora + rope] against the latent
// cache rows, V = the first kv_lora columns of the same rows (every head shares them, MQA-like).
kernels::DecodeAttnArgs mla_decode_args(const float* q_abs, const Tensor& cache, int64_t T, int64_t start_pos,
                                        const int32_t* dev_pos, const MlaDims& d) {
    const int64_t width = d.cache_cols();
    kernels::DecodeAttnArgs a;
    a.q = q_abs;
    a.q_row = d.n_heads * width;
    a.q_head = width;
    a.k = f32(cache);
    a.k_row = width;
    a.v = a.k;
    a.v_row = width;
    a.dk = width;
    a.dv = d.kv_lora;
    a.n_heads = d.n_heads;
    a.group = d.n_heads;
    a.T = T;
    a.start_pos = start_pos;
    a.dev_pos = dev_pos;
    a.max_keys = dev_pos ? cache.rows() : start_pos + T;
    a.scale = d.softmax_scale;
    return a;
}

kernels::DecodeAttnArgs gqa_decode_args(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, int64_t start_pos,
                                        const int32_t* dev_pos, const GqaDims& d, Tensor& out) {
    const int64_t D = d.head_dim, kv_cols = d.n_kv_heads * D;
    kernels::DecodeAttnArgs a;
    a.q = f32(q);
    a.q_row = d.n_heads * D;
    a.q_head = D;
    a.k = f32(k_cache);
    a.k_row = kv_cols;
    a.k_head = D;
    a.v = f32(v_cache);
    a.v_row = kv_cols;
    a.v_head = D;
    a.dk = D;
    a.dv = D;
    a.n_heads = d.n_heads;
    a.group = d.n_heads / d.n_kv_heads;
    a.T = q.rows();
    a.start_pos = start_pos;
    a.dev_pos = dev_pos;
    a.max_keys = dev_pos ? k_cache.rows() : start_pos + q.rows();
    a.scale = d.softmax_scale;
    a.out = f32(out);
    a.out_row = d.n_heads * D;
    a.out_head = D;
    return a;
}

void check_mla_shapes(const Tensor& q, const Weight& kv_b, const Tensor& cache, int64_t start_pos, const MlaDims& d) {
    const int64_t T = q.rows(), H = d.n_heads;
    require_shape(q, T, H * d.qk_head(), "mla_attention q");
    require_shape(cache, cache.rows(), d.cache_cols(), "mla_attention cache");
    const CudaWeightStorage& w = weight_storage(kv_b);
    if (w.rows != H * (d.qk_nope + d.v_head) || w.cols != d.kv_lora)
        throw_invalid_argument("mla_attention: kv_b has the wrong shape");
    check_cache_room(cache, start_pos, T);
}

void check_gqa_shapes(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& k_cache, const Tensor& v_cache,
                      int64_t start_pos, const GqaDims& d) {
    const int64_t T = q.rows(), kv_cols = d.n_kv_heads * d.head_dim;
    if (d.n_kv_heads <= 0 || d.n_heads % d.n_kv_heads != 0)
        throw_invalid_argument("gqa_attention: n_heads must be a multiple of n_kv_heads");
    require_shape(q, T, d.n_heads * d.head_dim, "gqa_attention q");
    require_shape(k, T, kv_cols, "gqa_attention k");
    require_shape(v, T, kv_cols, "gqa_attention v");
    require_shape(k_cache, k_cache.rows(), kv_cols, "gqa_attention k_cache");
    require_shape(v_cache, k_cache.rows(), kv_cols, "gqa_attention v_cache");
    check_cache_room(k_cache, start_pos, T);
}

}  // namespace

kernels::RopeParams CudaBackend::rope_params(const RopeTable& table) {
    kernels::RopeParams r;
    r.inv_freq = inv_freq_on_device(table);
    r.dim = table.dim();
    r.attention_factor = table.attention_factor;
    r.interleaved = table.layout == RopeLayout::Interleaved;
    return r;
}

// Split-K attention over the latent cache for absorbed queries, then the combine fused with W_UV.
Tensor CudaBackend::mla_decode(const float* q_abs, const Weight& kv_b, const Tensor& cache, int64_t T,
                               int64_t start_pos, const MlaDims& d) {
    return mla_decode(mla_decode_args(q_abs, cache, T, start_pos, dev_pos_, d), kv_b, d);
}

Tensor CudaBackend::mla_decode(kernels::DecodeAttnArgs a, const Weight& kv_b, const MlaDims& d) {
    const int64_t T = a.T;
    cudaStream_t s = ctx_->stream();
    a.sm_count = ctx_->info().sm_count;
    const int splits = kernels::attention_decode_splits(a);
    Scratch ws(*ctx_, size_t(kernels::attention_decode_workspace(a, splits)) * 4, "split-K attention partials");
    MOE_CUDA_CHECK(kernels::attention_decode_partials(a, splits, ws.as<float>(), s));
    Tensor out = make(T, d.n_heads * d.v_head);
    const kernels::MlaShape shape{d.n_heads, d.qk_nope, d.qk_rope, d.v_head, d.kv_lora};
    MOE_CUDA_CHECK(kernels::mla_combine_value_up(a, splits, ws.as<float>(), weight_storage(kv_b).bf16(), shape, f32(out), s));
    return out;
}

Tensor CudaBackend::mla_attention(const Tensor& q, const Tensor& latent, const Tensor& k_pe, const Weight& kv_b,
                                  Tensor& cache, int64_t start_pos, const MlaDims& d) {
    const int64_t T = q.rows(), H = d.n_heads;
    check_mla_shapes(q, kv_b, cache, start_pos, d);
    require_shape(latent, T, d.kv_lora, "mla_attention latent");
    require_shape(k_pe, T, d.qk_rope, "mla_attention k_pe");
    cudaStream_t s = ctx_->stream();
    MOE_CUDA_CHECK(kernels::mla_cache_write(f32(latent), f32(k_pe), f32(cache), T, d.kv_lora, d.qk_rope, start_pos,
                                            dev_pos_, s));
    if (T > kDecodeMaxQueries && !dev_pos_) return mla_prefill(q, kv_b, cache, start_pos, d);
    const kernels::MlaShape shape{H, d.qk_nope, d.qk_rope, d.v_head, d.kv_lora};
    Scratch q_abs(*ctx_, size_t(T * H * d.cache_cols()) * 4, "absorbed MLA queries");
    MOE_CUDA_CHECK(kernels::mla_absorb_q(f32(q), weight_storage(kv_b).bf16(), T, shape, q_abs.as<float>(), s));
    return mla_decode(q_abs.as<float>(), kv_b, cache, T, start_pos, d);
}

// Decode: one prologue kernel (latent norm, both ropes, cache write, query absorption) instead of
// seven, then the two attention kernels. Prefill takes the generic sequence.
Tensor CudaBackend::mla_attention_from_projections(Tensor& q, const Tensor& ckv, const Tensor& kv_a_norm,
                                                   float norm_eps, const RopeTable& rope, const Weight& kv_b,
                                                   Tensor& cache, int64_t start_pos, const MlaDims& d) {
    const int64_t T = q.rows(), H = d.n_heads;
    if ((T > kDecodeMaxQueries && !dev_pos_) || rope.dim() != d.qk_rope)
        return Backend::mla_attention_from_projections(q, ckv, kv_a_norm, norm_eps, rope, kv_b, cache, start_pos, d);
    check_mla_shapes(q, kv_b, cache, start_pos, d);
    require_shape(ckv, T, d.cache_cols(), "mla_attention_from_projections ckv");
    require_shape(kv_a_norm, 1, d.kv_lora, "mla_attention_from_projections kv_a_norm");
    Scratch q_abs(*ctx_, size_t(T * H * d.cache_cols()) * 4, "absorbed MLA queries");
    kernels::MlaPrepArgs a = mla_prep_args(q, ckv, kv_a_norm, norm_eps, rope, kv_b, d, q_abs.as<float>());
    a.start_pos = start_pos;
    a.dev_pos = dev_pos_;
    a.cache = f32(cache);
    MOE_CUDA_CHECK(kernels::mla_decode_prep(a, ctx_->stream()));
    return mla_decode(q_abs.as<float>(), kv_b, cache, T, start_pos, d);
}

kernels::MlaPrepArgs CudaBackend::mla_prep_args(const Tensor& q, const Tensor& ckv, const Tensor& kv_a_norm,
                                                float norm_eps, const RopeTable& rope, const Weight& kv_b,
                                                const MlaDims& d, float* q_abs) {
    kernels::MlaPrepArgs a;
    a.q = f32(q);
    a.ckv = f32(ckv);
    a.norm_w = f32(kv_a_norm);
    a.eps = norm_eps;
    a.kv_b = weight_storage(kv_b).bf16();
    a.shape = kernels::MlaShape{d.n_heads, d.qk_nope, d.qk_rope, d.v_head, d.kv_lora};
    a.rope = rope_params(rope);
    a.T = q.rows();
    a.q_abs = q_abs;
    return a;
}

// A batched decode step: every row's prologue (absorbed query, cache write at its own position of
// its own cache) in one launch, the split-K attention of all rows in one launch (row b reads keys
// [0, positions[b]] of caches[b]), then the combine fused with W_UV. The per-row cache pointers
// and positions go up in one small copy.
Tensor CudaBackend::mla_attention_rows(Tensor& q, const Tensor& ckv, const Tensor& kv_a_norm, float norm_eps,
                                       const RopeTable& rope, const Weight& kv_b, std::span<Tensor* const> caches,
                                       std::span<const int64_t> positions, const MlaDims& d) {
    const int64_t B = q.rows(), H = d.n_heads, width = d.cache_cols();
    if (int64_t(caches.size()) != B || int64_t(positions.size()) != B || ckv.rows() != B)
        throw_invalid_argument("mla_attention_rows: q, ckv, caches and positions need one row each");
    if (B == 1 || dev_pos_ || rope.dim() != d.qk_rope)
        return Backend::mla_attention_rows(q, ckv, kv_a_norm, norm_eps, rope, kv_b, caches, positions, d);
    require_shape(q, B, H * d.qk_head(), "mla_attention_rows q");
    require_shape(ckv, B, width, "mla_attention_rows ckv");
    require_shape(kv_a_norm, 1, d.kv_lora, "mla_attention_rows kv_a_norm");
    const CudaWeightStorage& w = weight_storage(kv_b);
    if (w.rows != H * (d.qk_nope + d.v_head) || w.cols != d.kv_lora)
        throw_invalid_argument("mla_attention_rows: kv_b has the wrong shape");
    // Host side: [B] cache pointers, then [B] positions and [B] key counts (int32).
    std::vector<uint8_t> host(size_t(B) * (sizeof(float*) + 2 * sizeof(int32_t)));
    auto* ptrs = reinterpret_cast<float**>(host.data());
    auto* pos = reinterpret_cast<int32_t*>(host.data() + size_t(B) * sizeof(float*));
    int64_t max_keys = 0;
    for (int64_t b = 0; b < B; ++b) {
        Tensor& cache = *caches[size_t(b)];
        require_shape(cache, cache.rows(), width, "mla_attention_rows cache");
        check_cache_room(cache, positions[size_t(b)], 1);
        ptrs[b] = f32(cache);
        pos[b] = int32_t(positions[size_t(b)]);
        pos[B + b] = int32_t(positions[size_t(b)] + 1);
        max_keys = std::max(max_keys, positions[size_t(b)] + 1);
    }
    cudaStream_t s = ctx_->stream();
    Scratch table(*ctx_, host.size(), "batched-decode cache table");
    ctx_->upload(table.as<uint8_t>(), host.data(), host.size());
    auto* dev_ptrs = table.as<float*>();
    auto* dev_pos = reinterpret_cast<const int32_t*>(table.as<uint8_t>() + size_t(B) * sizeof(float*));

    Scratch q_abs(*ctx_, size_t(B * H * width) * 4, "absorbed MLA queries");
    kernels::MlaPrepArgs a = mla_prep_args(q, ckv, kv_a_norm, norm_eps, rope, kv_b, d, q_abs.as<float>());
    a.cache = ptrs[0];  // unused with row_cache
    a.row_cache = dev_ptrs;
    a.row_pos = dev_pos;
    MOE_CUDA_CHECK(kernels::mla_decode_prep(a, s));

    kernels::DecodeAttnArgs da = mla_decode_args(q_abs.as<float>(), *caches[0], B, 0, nullptr, d);
    da.row_k = dev_ptrs;
    da.row_keys = dev_pos + B;
    da.max_keys = max_keys;
    return mla_decode(da, kv_b, d);
}

// Whether prefill and training attention run the tensor-core flash kernels (attention_flash_tc.cu)
// for these head widths; MOE_FLASH_ATTENTION=0 keeps the score-matrix forms for A/B runs.
bool CudaBackend::use_tc_flash(int64_t qk_dim, int64_t v_dim) {
    static const bool off = [] {
        const char* v = std::getenv("MOE_FLASH_ATTENTION");
        return v && std::string(v) == "0";
    }();
    return !off && kernels::flash_attention_supported(int(qk_dim), int(v_dim));
}

// Causal attention of T query rows (positions start_pos..) over start_pos + T key rows by the flash
// kernel: q [T, H·qk], k [S, (H / group)·qk], v [S, (H / group)·v] bf16 -> out [T, H·v] f32.
Tensor CudaBackend::prefill_flash_tc(const uint16_t* q, const uint16_t* k, const uint16_t* v, int64_t T,
                                     int64_t start_pos, int64_t H, int group, int64_t qk_dim, int64_t v_dim,
                                     float scale) {
    Tensor out = make(T, H * v_dim);
    kernels::FlashAttnArgs a;
    a.q = q;
    a.k = k;
    a.v = v;
    a.kv_group = group;
    a.out = f32(out);
    a.T = T;
    a.q_offset = start_pos;
    a.n_keys = start_pos + T;
    a.n_heads = int(H);
    a.qk_dim = int(qk_dim);
    a.v_dim = int(v_dim);
    a.scale = scale;
    MOE_CUDA_CHECK(kernels::attention_flash_forward(a, ctx_->stream()));
    return out;
}

// Prefill on the tensor cores: per head, K = [latent · W_UKᵀ ; k_pe] and V = latent · W_UVᵀ in bf16
// (strided-batched GEMMs over the heads, written straight into the [S, H, dim] layouts); then the
// flash kernel of attention_flash_tc.cu for the head widths it is built for (no score matrix),
// else scores = Q Kᵀ in f32, a causal softmax into bf16 probabilities, O = P V while the score
// matrices fit, and beyond the flash kernel on the CUDA cores.
Tensor CudaBackend::mla_prefill(const Tensor& q, const Weight& kv_b, const Tensor& cache, int64_t start_pos,
                                const MlaDims& d) {
    const int64_t T = q.rows(), H = d.n_heads, S = start_pos + T, width = d.cache_cols();
    const int64_t qk = d.qk_head(), nope = d.qk_nope, vh = d.v_head, L = d.kv_lora;
    const bool tc_flash = use_tc_flash(qk, vh);
    if (!tc_flash && size_t(H * T * S) * 6 > prefill_score_bytes_)
        return mla_prefill_flash(q, kv_b, cache, start_pos, d);
    const uint16_t* w = weight_storage(kv_b).bf16();
    cudaStream_t s = ctx_->stream();
    cublasHandle_t cb = ctx_->cublas();
    Scratch lat(*ctx_, size_t(S * L) * 2, "bf16 cached latents");
    MOE_CUDA_CHECK(kernels::f32_to_bf16_2d(f32(cache), width, S, L, lat.as<uint16_t>(), L, s));
    Scratch kb(*ctx_, size_t(S * H * qk) * 2, "bf16 MLA keys"), vb(*ctx_, size_t(S * H * vh) * 2, "bf16 MLA values");
    // Head h's kv_b rows: nope key rows, then v_head value rows.
    batched_gemm_bf16(cb, CUBLAS_OP_T, CUBLAS_OP_N, nope, S, L, w, L, (nope + vh) * L, lat.as<uint16_t>(), L, 0,
                      kb.as<uint16_t>(), CUDA_R_16BF, H * qk, qk, H);
    batched_gemm_bf16(cb, CUBLAS_OP_T, CUBLAS_OP_N, vh, S, L, w + nope * L, L, (nope + vh) * L, lat.as<uint16_t>(), L,
                      0, vb.as<uint16_t>(), CUDA_R_16BF, H * vh, vh, H);
    const kernels::MlaShape shape{H, nope, d.qk_rope, vh, L};
    MOE_CUDA_CHECK(kernels::mla_fill_rope_keys_bf16(f32(cache), width, S, shape, kb.as<uint16_t>(), s));
    Scratch qb(*ctx_, size_t(T * H * qk) * 2, "bf16 MLA queries");
    MOE_CUDA_CHECK(kernels::f32_to_bf16_2d(f32(q), H * qk, T, H * qk, qb.as<uint16_t>(), H * qk, s));
    if (tc_flash)
        return prefill_flash_tc(qb.as<uint16_t>(), kb.as<uint16_t>(), vb.as<uint16_t>(), T, start_pos, H, 1, qk, vh,
                                d.softmax_scale);
    Scratch sc(*ctx_, size_t(H * T * S) * 4, "attention scores");
    batched_gemm_bf16(cb, CUBLAS_OP_T, CUBLAS_OP_N, S, T, qk, kb.as<uint16_t>(), H * qk, qk, qb.as<uint16_t>(), H * qk,
                      qk, sc.as<float>(), CUDA_R_32F, S, T * S, H);
    Scratch pb(*ctx_, size_t(H * T * S) * 2, "attention probabilities");
    MOE_CUDA_CHECK(kernels::causal_softmax_bf16(sc.as<float>(), H, T, S, start_pos, d.softmax_scale, pb.as<uint16_t>(), s));
    Tensor out = make(T, H * vh);
    batched_gemm_bf16(cb, CUBLAS_OP_N, CUBLAS_OP_N, vh, T, S, vb.as<uint16_t>(), H * vh, vh, pb.as<uint16_t>(), S,
                      T * S, f32(out), CUDA_R_32F, H * vh, vh, H);
    return out;
}

Tensor CudaBackend::mla_prefill_flash(const Tensor& q, const Weight& kv_b, const Tensor& cache, int64_t start_pos,
                                      const MlaDims& d) {
    const int64_t T = q.rows(), H = d.n_heads, S = start_pos + T, width = d.cache_cols();
    const int64_t kv_cols = H * (d.qk_nope + d.v_head);
    const CudaWeightStorage& w = weight_storage(kv_b);
    cudaStream_t s = ctx_->stream();
    // kv [S, H * (nope + v)] = bf16(latent rows 0..S) · kv_bᵀ
    Scratch lat(*ctx_, size_t(S * d.kv_lora) * 2, "bf16 cached latents");
    MOE_CUDA_CHECK(kernels::f32_to_bf16_2d(f32(cache), width, S, d.kv_lora, lat.as<uint16_t>(), d.kv_lora, s));
    Scratch kv(*ctx_, size_t(S * kv_cols) * 4, "expanded MLA keys/values");
    gemm_bf16(lat.as<uint16_t>(), S, d.kv_lora, w.bf16(), kv_cols, kv.as<float>(), kv_cols);

    kernels::PrefillAttnArgs a;
    a.q = f32(q);
    a.q_row = H * d.qk_head();
    a.q_head = d.qk_head();
    a.k1 = kv.as<float>();
    a.k1_row = kv_cols;
    a.k1_head = d.qk_nope + d.v_head;
    a.dk1 = d.qk_nope;
    a.k2 = f32(cache) + d.kv_lora;  // the roped k_pe, shared by all heads
    a.k2_row = width;
    a.k2_head = 0;
    a.dk2 = d.qk_rope;
    a.v = kv.as<float>() + d.qk_nope;
    a.v_row = kv_cols;
    a.v_head = d.qk_nope + d.v_head;
    a.dv = d.v_head;
    a.n_heads = H;
    a.group = 1;
    a.T = T;
    a.start_pos = start_pos;
    a.scale = d.softmax_scale;
    Tensor out = make(T, H * d.v_head);
    a.out = f32(out);
    a.out_row = H * d.v_head;
    a.out_head = d.v_head;
    MOE_CUDA_CHECK(kernels::attention_prefill(a, s));
    return out;
}

Tensor CudaBackend::gqa_attention(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& k_cache, Tensor& v_cache,
                                  int64_t start_pos, const GqaDims& d) {
    check_gqa_shapes(q, k, v, k_cache, v_cache, start_pos, d);
    const int64_t T = q.rows(), D = d.head_dim, kv_cols = d.n_kv_heads * D;
    cudaStream_t s = ctx_->stream();
    MOE_CUDA_CHECK(kernels::gqa_cache_write(f32(k), f32(v), f32(k_cache), f32(v_cache), T, kv_cols, start_pos, dev_pos_, s));
    if (T > kDecodeMaxQueries && !dev_pos_) return gqa_prefill(q, k_cache, v_cache, start_pos, d);
    return gqa_decode(q, k_cache, v_cache, start_pos, d);
}

// Prefill on the tensor cores while the score matrices fit (as mla_prefill): every query head gets
// a bf16 copy of its kv head's keys and values, then scores, causal softmax and P·V per head.
Tensor CudaBackend::gqa_prefill(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, int64_t start_pos,
                                const GqaDims& d) {
    const int64_t T = q.rows(), H = d.n_heads, D = d.head_dim, S = start_pos + T, kv_cols = d.n_kv_heads * D;
    const int64_t group = H / d.n_kv_heads;
    cudaStream_t s = ctx_->stream();
    if (use_tc_flash(D, D)) {  // the flash kernel reads each query head's kv head: no per-head copies
        Scratch kb(*ctx_, size_t(S * kv_cols) * 2, "bf16 keys"), vb(*ctx_, size_t(S * kv_cols) * 2, "bf16 values");
        Scratch qb(*ctx_, size_t(T * H * D) * 2, "bf16 queries");
        MOE_CUDA_CHECK(kernels::f32_to_bf16_2d(f32(k_cache), kv_cols, S, kv_cols, kb.as<uint16_t>(), kv_cols, s));
        MOE_CUDA_CHECK(kernels::f32_to_bf16_2d(f32(v_cache), kv_cols, S, kv_cols, vb.as<uint16_t>(), kv_cols, s));
        MOE_CUDA_CHECK(kernels::f32_to_bf16_2d(f32(q), H * D, T, H * D, qb.as<uint16_t>(), H * D, s));
        return prefill_flash_tc(qb.as<uint16_t>(), kb.as<uint16_t>(), vb.as<uint16_t>(), T, start_pos, H, int(group),
                                D, D, d.softmax_scale);
    }
    if (size_t(H * T * S) * 6 > prefill_score_bytes_) return gqa_prefill_flash(q, k_cache, v_cache, start_pos, d);
    cublasHandle_t cb = ctx_->cublas();
    Scratch kb(*ctx_, size_t(S * H * D) * 2, "bf16 keys per query head"), vb(*ctx_, size_t(S * H * D) * 2, "bf16 values per query head");
    MOE_CUDA_CHECK(kernels::expand_kv_heads_bf16(f32(k_cache), kv_cols, S, H, group, D, kb.as<uint16_t>(), s));
    MOE_CUDA_CHECK(kernels::expand_kv_heads_bf16(f32(v_cache), kv_cols, S, H, group, D, vb.as<uint16_t>(), s));
    Scratch qb(*ctx_, size_t(T * H * D) * 2, "bf16 queries");
    MOE_CUDA_CHECK(kernels::f32_to_bf16_2d(f32(q), H * D, T, H * D, qb.as<uint16_t>(), H * D, s));
    Scratch sc(*ctx_, size_t(H * T * S) * 4, "attention scores");
    batched_gemm_bf16(cb, CUBLAS_OP_T, CUBLAS_OP_N, S, T, D, kb.as<uint16_t>(), H * D, D, qb.as<uint16_t>(), H * D, D,
                      sc.as<float>(), CUDA_R_32F, S, T * S, H);
    Scratch pb(*ctx_, size_t(H * T * S) * 2, "attention probabilities");
    MOE_CUDA_CHECK(kernels::causal_softmax_bf16(sc.as<float>(), H, T, S, start_pos, d.softmax_scale, pb.as<uint16_t>(), s));
    Tensor out = make(T, H * D);
    batched_gemm_bf16(cb, CUBLAS_OP_N, CUBLAS_OP_N, D, T, S, vb.as<uint16_t>(), H * D, D, pb.as<uint16_t>(), S, T * S,
                      f32(out), CUDA_R_32F, H * D, D, H);
    return out;
}

Tensor CudaBackend::gqa_prefill_flash(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, int64_t start_pos,
                                      const GqaDims& d) {
    const int64_t T = q.rows(), D = d.head_dim, kv_cols = d.n_kv_heads * D;
    Tensor out = make(T, d.n_heads * D);
    kernels::PrefillAttnArgs a;
    a.q = f32(q);
    a.q_row = d.n_heads * D;
    a.q_head = D;
    a.k1 = f32(k_cache);
    a.k1_row = kv_cols;
    a.k1_head = D;
    a.dk1 = D;
    a.v = f32(v_cache);
    a.v_row = kv_cols;
    a.v_head = D;
    a.dv = D;
    a.n_heads = d.n_heads;
    a.group = d.n_heads / d.n_kv_heads;
    a.T = T;
    a.start_pos = start_pos;
    a.scale = d.softmax_scale;
    a.out = f32(out);
    a.out_row = d.n_heads * D;
    a.out_head = D;
    MOE_CUDA_CHECK(kernels::attention_prefill(a, ctx_->stream()));
    return out;
}

Tensor CudaBackend::gqa_decode(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, int64_t start_pos,
                               const GqaDims& d) {
    Tensor out = make(q.rows(), d.n_heads * d.head_dim);
    run_decode_attention(gqa_decode_args(q, k_cache, v_cache, start_pos, dev_pos_, d, out));
    return out;
}

void CudaBackend::run_decode_attention(kernels::DecodeAttnArgs a) {
    a.sm_count = ctx_->info().sm_count;
    const int splits = kernels::attention_decode_splits(a);
    Scratch ws(*ctx_, size_t(kernels::attention_decode_workspace(a, splits)) * 4, "split-K attention partials");
    MOE_CUDA_CHECK(kernels::attention_decode(a, splits, ws.as<float>(), ctx_->stream()));
}

// Decode: one prologue kernel (both ropes and the cache writes) instead of three.
Tensor CudaBackend::gqa_attention_from_projections(Tensor& q, Tensor& k, const Tensor& v, const RopeTable& rope,
                                                   Tensor& k_cache, Tensor& v_cache, int64_t start_pos,
                                                   const GqaDims& d) {
    const int64_t T = q.rows();
    if ((T > kDecodeMaxQueries && !dev_pos_) || rope.dim() > d.head_dim)
        return Backend::gqa_attention_from_projections(q, k, v, rope, k_cache, v_cache, start_pos, d);
    check_gqa_shapes(q, k, v, k_cache, v_cache, start_pos, d);
    kernels::GqaPrepArgs a;
    a.q = f32(q);
    a.k = f32(k);
    a.v = f32(v);
    a.T = T;
    a.n_heads = d.n_heads;
    a.n_kv_heads = d.n_kv_heads;
    a.head_dim = d.head_dim;
    a.rope = rope_params(rope);
    a.start_pos = start_pos;
    a.dev_pos = dev_pos_;
    a.k_cache = f32(k_cache);
    a.v_cache = f32(v_cache);
    MOE_CUDA_CHECK(kernels::gqa_decode_prep(a, ctx_->stream()));
    return gqa_decode(q, k_cache, v_cache, start_pos, d);
}

// A batched decode step's GQA: every row's prologue (rotations, cache writes at its own position of
// its own caches) in one launch, then the split-K attention of all rows in one launch, each row
// reading its own caches. The per-row cache pointers and positions go up in one small copy.
Tensor CudaBackend::gqa_attention_rows(Tensor& q, Tensor& k, const Tensor& v, const RopeTable& rope,
                                       std::span<Tensor* const> k_caches, std::span<Tensor* const> v_caches,
                                       std::span<const int64_t> positions, const GqaDims& d) {
    const int64_t B = q.rows(), kv_cols = d.n_kv_heads * d.head_dim;
    if (int64_t(k_caches.size()) != B || int64_t(v_caches.size()) != B || int64_t(positions.size()) != B ||
        k.rows() != B || v.rows() != B)
        throw_invalid_argument("gqa_attention_rows: q, k, v, the caches and positions need one row each");
    if (B == 1 || dev_pos_ || rope.dim() > d.head_dim)
        return Backend::gqa_attention_rows(q, k, v, rope, k_caches, v_caches, positions, d);
    // Host side: [B] key-cache pointers, [B] value-cache pointers, [B] positions, [B] key counts.
    std::vector<uint8_t> host(size_t(B) * (2 * sizeof(float*) + 2 * sizeof(int32_t)));
    auto* kp = reinterpret_cast<float**>(host.data());
    auto* vp = kp + B;
    auto* pos = reinterpret_cast<int32_t*>(host.data() + 2 * size_t(B) * sizeof(float*));
    int64_t max_keys = 0;
    for (int64_t b = 0; b < B; ++b) {
        Tensor &kc = *k_caches[size_t(b)], &vc = *v_caches[size_t(b)];
        require_shape(kc, kc.rows(), kv_cols, "gqa_attention_rows k_cache");
        require_shape(vc, kc.rows(), kv_cols, "gqa_attention_rows v_cache");
        check_cache_room(kc, positions[size_t(b)], 1);
        kp[b] = f32(kc);
        vp[b] = f32(vc);
        pos[b] = int32_t(positions[size_t(b)]);
        pos[B + b] = int32_t(positions[size_t(b)] + 1);
        max_keys = std::max(max_keys, positions[size_t(b)] + 1);
    }
    require_shape(q, B, d.n_heads * d.head_dim, "gqa_attention_rows q");
    require_shape(k, B, kv_cols, "gqa_attention_rows k");
    require_shape(v, B, kv_cols, "gqa_attention_rows v");
    cudaStream_t s = ctx_->stream();
    Scratch table(*ctx_, host.size(), "batched-decode cache table");
    ctx_->upload(table.as<uint8_t>(), host.data(), host.size());
    auto* dev_k = table.as<float*>();
    auto* dev_v = dev_k + B;
    auto* dev_pos = reinterpret_cast<const int32_t*>(table.as<uint8_t>() + 2 * size_t(B) * sizeof(float*));

    kernels::GqaPrepArgs a;
    a.q = f32(q);
    a.k = f32(k);
    a.v = f32(v);
    a.T = B;
    a.n_heads = d.n_heads;
    a.n_kv_heads = d.n_kv_heads;
    a.head_dim = d.head_dim;
    a.rope = rope_params(rope);
    a.k_cache = kp[0];  // unused with the row caches
    a.v_cache = vp[0];
    a.row_k_cache = dev_k;
    a.row_v_cache = dev_v;
    a.row_pos = dev_pos;
    MOE_CUDA_CHECK(kernels::gqa_decode_prep(a, s));

    Tensor out = make(B, d.n_heads * d.head_dim);
    kernels::DecodeAttnArgs da = gqa_decode_args(q, *k_caches[0], *v_caches[0], 0, nullptr, d, out);
    da.row_k = dev_k;
    da.row_v = dev_v;
    da.row_keys = dev_pos + B;
    da.max_keys = max_keys;
    run_decode_attention(da);
    return out;
}

// ---- training -------------------------------------------------------------------------------------
// Naive form (CPU twin cpu_attention.cpp; MLA arrives expanded by mla_split_kv): per head
//   S = q kᵀ, p = softmax(scale · S) over the row's segment (lse saved), o = p v;
//   backward: D = Σ dO ⊙ O, ds = scale · p ⊙ (dO vᵀ − D), dq = ds k, dk = dsᵀ q, dv = pᵀ dO.
// The rows are cut into blocks of kQueryBlock query rows; block [r0, r1) attends to key rows
// [k0, r1) with k0 its earliest segment start, so keys of other sequences in a packed batch cost
// nothing and causality inside a long sequence costs about half. Per block, cuBLAS strided-batched
// bf16 GEMMs over the heads (f32 accumulation) write the scores of every head [H, nq, nk] in f32,
// a kernel applies the segment mask and the softmax (f32 statistics, bf16 probabilities), and
// more batched GEMMs finish. Backward recomputes the scores and probabilities from the saved lse;
// dk and dv accumulate over the blocks in f32 (beta = 1). GQA: every query head reads a bf16 copy
// of its kv head's keys and values, and dk / dv are summed over each kv head's query heads at the
// end. Host syncs: the block plan needs seg_start on the host; it is read once per seg_start tensor
// and cached (a training step reuses one tensor for all its layers), so seg_start tensors must not
// be changed in place after their first use.

namespace {
// Query rows [r0, r0 + nq) against key rows [k0, r0 + nq), score rows ld() apart.
struct QueryBlock {
    int64_t r0 = 0, nq = 0, k0 = 0;
    int64_t nk() const { return r0 + nq - k0; }
    int64_t ld() const { return (nk() + 7) / 8 * 8; }
};
}  // namespace

struct CudaBackend::SegPlan {
    Tensor key;  // the seg_start tensor, kept alive so that its storage is not reused while cached
    using Block = QueryBlock;
    std::vector<Block> blocks;
    int64_t max_scores = 0;  // max over the blocks of nq · ld
};

namespace {

constexpr int64_t kQueryBlock = 512;
constexpr size_t kCachedSegPlans = 8;

void check_train_shapes(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& seg_start,
                        const AttentionDims& d) {
    const int64_t T = q.rows();
    if (d.n_kv_heads <= 0 || d.n_heads % d.n_kv_heads != 0)
        throw_invalid_argument("attention_train: n_heads must be a multiple of n_kv_heads");
    require_shape(q, T, d.n_heads * d.qk_dim, "attention_train q");
    require_shape(k, T, d.n_kv_heads * d.qk_dim, "attention_train k");
    require_shape(v, T, d.n_kv_heads * d.v_dim, "attention_train v");
    require_shape(seg_start, T, 1, "attention_train seg_start");
    if (seg_start.dtype() != DType::I32) throw_invalid_argument("attention_train: seg_start must be I32");
}

// bf16 operands with every query head's own copy of its kv head: q [T, H dqk], k [T, H dqk], v [T, H dv].
struct TrainOperands {
    std::unique_ptr<Scratch> q, k, v;
};
TrainOperands train_operands(DeviceContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v, const AttentionDims& d) {
    const int64_t T = q.rows(), H = d.n_heads, G = d.n_heads / d.n_kv_heads;
    cudaStream_t s = ctx.stream();
    TrainOperands o;
    o.q = std::make_unique<Scratch>(ctx, size_t(T * H * d.qk_dim) * 2, "bf16 attention queries");
    o.k = std::make_unique<Scratch>(ctx, size_t(T * H * d.qk_dim) * 2, "bf16 keys per query head");
    o.v = std::make_unique<Scratch>(ctx, size_t(T * H * d.v_dim) * 2, "bf16 values per query head");
    MOE_CUDA_CHECK(kernels::f32_to_bf16_2d(f32(q), H * d.qk_dim, T, H * d.qk_dim, o.q->as<uint16_t>(), H * d.qk_dim, s));
    MOE_CUDA_CHECK(kernels::expand_kv_heads_bf16(f32(k), d.n_kv_heads * d.qk_dim, T, H, G, d.qk_dim, o.k->as<uint16_t>(), s));
    MOE_CUDA_CHECK(kernels::expand_kv_heads_bf16(f32(v), d.n_kv_heads * d.v_dim, T, H, G, d.v_dim, o.v->as<uint16_t>(), s));
    return o;
}

// Query rows [r0, r0 + nq) against key rows [k0, r0 + nq), score rows ld apart.
kernels::TrainAttnBlock train_block(int64_t r0, int64_t nq, int64_t k0, int64_t ld, const Tensor& seg_start,
                                    const AttentionDims& d) {
    kernels::TrainAttnBlock tb;
    tb.n_heads = d.n_heads;
    tb.nq = nq;
    tb.nk = r0 + nq - k0;
    tb.r0 = r0;
    tb.k0 = k0;
    tb.ld = ld;
    tb.seg_start = i32(seg_start);
    tb.scale = d.scale;
    return tb;
}

// S [H, nq, nk] f32 = q kᵀ of the block's query rows against its key rows, every head (unscaled).
void block_scores(cublasHandle_t h, const TrainOperands& o, const kernels::TrainAttnBlock& b, const AttentionDims& d,
                  float* scores) {
    const int64_t ld = b.n_heads * d.qk_dim;
    gemm_bf16_strided(h, CUBLAS_OP_T, CUBLAS_OP_N, b.nk, b.nq, d.qk_dim, 1.0f, o.k->as<uint16_t>() + b.k0 * ld, ld,
                      d.qk_dim, o.q->as<uint16_t>() + b.r0 * ld, ld, d.qk_dim, 0.0f, scores, CUDA_R_32F, b.ld,
                      b.nq * b.ld, b.n_heads);
}

// The backward's operands: bf16 q, k, v (per query head) and dO; the saved lse, D = Σ dO ⊙ O; the
// f32 gradients dq [T, H·qk] (written), dk, dv per query head (accumulated: zero them first).
struct BackwardOperands {
    const TrainOperands& ops;
    const uint16_t* d_out;
    const float *lse, *drow;
    float *dq, *dk, *dv;
};

// The cuBLAS form of the backward, block by block of query rows.
void cublas_backward(DeviceContext& ctx, const BackwardOperands& bo, const std::vector<QueryBlock>& blocks,
                     int64_t max_scores, const Tensor& seg_start, const AttentionDims& d) {
    const int64_t H = d.n_heads;
    cudaStream_t s = ctx.stream();
    cublasHandle_t cb = ctx.cublas();
    const TrainOperands& o = bo.ops;
    const size_t n = size_t(H * max_scores);
    Scratch sc(ctx, n * 4, "attention scores"), dp(ctx, n * 4, "attention probability gradients");
    Scratch pb(ctx, n * 2, "attention probabilities"), dsb(ctx, n * 2, "attention score gradients");
    const int64_t ldq = H * d.qk_dim, ldv = H * d.v_dim;
    const uint16_t *qb = o.q->as<uint16_t>(), *kb = o.k->as<uint16_t>(), *vb = o.v->as<uint16_t>();
    const uint16_t* dO = bo.d_out;
    for (const QueryBlock& blk : blocks) {
        const kernels::TrainAttnBlock b = train_block(blk.r0, blk.nq, blk.k0, blk.ld(), seg_start, d);
        const int64_t nqk = b.nq * b.ld;  // one head's score matrix
        block_scores(cb, o, b, d, sc.as<float>());
        // dP [nq, nk] = dO [nq, dv] · Vᵀ per head.
        gemm_bf16_strided(cb, CUBLAS_OP_T, CUBLAS_OP_N, b.nk, b.nq, d.v_dim, 1.0f, vb + b.k0 * ldv, ldv, d.v_dim,
                          dO + b.r0 * ldv, ldv, d.v_dim, 0.0f, dp.as<float>(), CUDA_R_32F, b.ld, nqk, H);
        MOE_CUDA_CHECK(kernels::attention_train_softmax_backward(sc.as<float>(), dp.as<float>(), bo.lse, bo.drow, b,
                                                                 pb.as<uint16_t>(), dsb.as<uint16_t>(), s));
        // dV [nk, dv] += Pᵀ · dO.
        gemm_bf16_strided(cb, CUBLAS_OP_N, CUBLAS_OP_T, d.v_dim, b.nk, b.nq, 1.0f, dO + b.r0 * ldv, ldv, d.v_dim,
                          pb.as<uint16_t>(), b.ld, nqk, 1.0f, bo.dv + b.k0 * ldv, CUDA_R_32F, ldv, d.v_dim, H);
        // dQ [nq, dqk] = dS · K (every query row belongs to one block: overwritten).
        gemm_bf16_strided(cb, CUBLAS_OP_N, CUBLAS_OP_N, d.qk_dim, b.nq, b.nk, 1.0f, kb + b.k0 * ldq, ldq, d.qk_dim,
                          dsb.as<uint16_t>(), b.ld, nqk, 0.0f, bo.dq + b.r0 * ldq, CUDA_R_32F, ldq, d.qk_dim, H);
        // dK [nk, dqk] += dSᵀ · Q.
        gemm_bf16_strided(cb, CUBLAS_OP_N, CUBLAS_OP_T, d.qk_dim, b.nk, b.nq, 1.0f, qb + b.r0 * ldq, ldq, d.qk_dim,
                          dsb.as<uint16_t>(), b.ld, nqk, 1.0f, bo.dk + b.k0 * ldq, CUDA_R_32F, ldq, d.qk_dim, H);
    }
}

// The flash kernels' operands: bf16 copies of q, k, v (and dO) as they are (GQA: the kernels
// read each query head's kv head; no per-head copies).
struct FlashOperands {
    kernels::FlashAttnArgs args;
    std::vector<std::unique_ptr<Scratch>> copies;
};

const uint16_t* keep_bf16_copy(DeviceContext& ctx, const Tensor& x, const char* what, FlashOperands& fo) {
    fo.copies.push_back(bf16_copy(ctx, x, what));
    return fo.copies.back()->as<uint16_t>();
}

FlashOperands flash_operands(DeviceContext& ctx, const Tensor& q, const Tensor& k, const Tensor& v,
                             const Tensor* d_out, const Tensor& seg_start, const AttentionDims& d) {
    FlashOperands fo;
    kernels::FlashAttnArgs& a = fo.args;
    a.q = keep_bf16_copy(ctx, q, "bf16 attention queries", fo);
    a.k = keep_bf16_copy(ctx, k, "bf16 attention keys", fo);
    a.v = keep_bf16_copy(ctx, v, "bf16 attention values", fo);
    if (d_out) a.d_out = keep_bf16_copy(ctx, *d_out, "bf16 attention output gradient", fo);
    a.kv_group = int(d.n_heads / d.n_kv_heads);
    a.seg_start = i32(seg_start);
    a.T = q.rows();
    a.n_heads = int(d.n_heads);
    a.qk_dim = int(d.qk_dim);
    a.v_dim = int(d.v_dim);
    a.scale = d.scale;
    return fo;
}

}  // namespace

std::shared_ptr<const CudaBackend::SegPlan> CudaBackend::seg_plan(const Tensor& seg_start) {
    for (auto it = seg_plans_.begin(); it != seg_plans_.end(); ++it) {
        if ((*it)->key.storage() != seg_start.storage() || (*it)->key.rows() != seg_start.rows()) continue;
        std::shared_ptr<const SegPlan> hit = *it;
        seg_plans_.erase(it);
        seg_plans_.push_back(hit);
        return hit;
    }
    const std::vector<int32_t> ss = download_i32(seg_start);  // the one host sync per seg_start tensor
    const int64_t T = seg_start.rows();
    for (int64_t r = 0; r < T; ++r)
        if (ss[size_t(r)] < 0 || ss[size_t(r)] > r)
            throw_invalid_argument("attention_train: seg_start[" + std::to_string(r) + "] = " +
                                   std::to_string(ss[size_t(r)]) + " must lie in [0, " + std::to_string(r) + "]");
    auto plan = std::make_shared<SegPlan>();
    plan->key = seg_start;
    for (int64_t r0 = 0; r0 < T; r0 += kQueryBlock) {
        SegPlan::Block b;
        b.r0 = r0;
        b.nq = std::min(kQueryBlock, T - r0);
        // The earliest segment start, rounded down to a multiple of 8 (aligned GEMM operands; the
        // extra keys are masked like any other key outside a row's segment).
        b.k0 = *std::min_element(ss.begin() + r0, ss.begin() + r0 + b.nq) / 8 * 8;
        plan->blocks.push_back(b);
        plan->max_scores = std::max(plan->max_scores, b.nq * b.ld());
    }
    seg_plans_.push_back(plan);
    if (seg_plans_.size() > kCachedSegPlans) seg_plans_.erase(seg_plans_.begin());
    return plan;
}

AttentionSaved CudaBackend::attention_train(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& seg_start,
                                            const AttentionDims& d) {
    check_train_shapes(q, k, v, seg_start, d);
    const int64_t T = q.rows(), H = d.n_heads;
    AttentionSaved out{make(T, H * d.v_dim), make(T, H)};
    if (T == 0) return out;
    const auto plan = seg_plan(seg_start);  // also checks seg_start (cached: one sync per tensor)
    cudaStream_t s = ctx_->stream();
    cublasHandle_t cb = ctx_->cublas();
    if (use_tc_flash(d.qk_dim, d.v_dim)) {
        FlashOperands fo = flash_operands(*ctx_, q, k, v, nullptr, seg_start, d);
        fo.args.out = f32(out.out);
        fo.args.lse = f32(out.lse);
        MOE_CUDA_CHECK(kernels::attention_flash_forward(fo.args, s));
        return out;
    }
    const TrainOperands o = train_operands(*ctx_, q, k, v, d);
    Scratch sc(*ctx_, size_t(H * plan->max_scores) * 4, "attention scores");
    Scratch pb(*ctx_, size_t(H * plan->max_scores) * 2, "attention probabilities");
    const int64_t ldv = H * d.v_dim;
    for (const SegPlan::Block& blk : plan->blocks) {
        const kernels::TrainAttnBlock b = train_block(blk.r0, blk.nq, blk.k0, blk.ld(), seg_start, d);
        block_scores(cb, o, b, d, sc.as<float>());
        MOE_CUDA_CHECK(kernels::attention_train_softmax(sc.as<float>(), b, pb.as<uint16_t>(), f32(out.lse), s));
        // O [nq, dv] = P [nq, nk] · V [nk, dv] per head.
        gemm_bf16_strided(cb, CUBLAS_OP_N, CUBLAS_OP_N, d.v_dim, b.nq, b.nk, 1.0f, o.v->as<uint16_t>() + b.k0 * ldv, ldv,
                          d.v_dim, pb.as<uint16_t>(), b.ld, b.nq * b.ld, 0.0f, f32(out.out) + b.r0 * ldv, CUDA_R_32F, ldv,
                          d.v_dim, H);
    }
    return out;
}

AttentionGrads CudaBackend::attention_train_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                                     const AttentionSaved& saved, const Tensor& d_out,
                                                     const Tensor& seg_start, const AttentionDims& d) {
    check_train_shapes(q, k, v, seg_start, d);
    const int64_t T = q.rows(), H = d.n_heads, G = d.n_heads / d.n_kv_heads;
    require_shape(d_out, T, H * d.v_dim, "attention_train_backward d_out");
    require_shape(saved.out, T, H * d.v_dim, "attention_train_backward saved out");
    require_shape(saved.lse, T, H, "attention_train_backward saved lse");
    const bool flash = use_tc_flash(d.qk_dim, d.v_dim);
    AttentionGrads g;
    g.dq = make(T, H * d.qk_dim);
    // dk, dv per query head, accumulated over the blocks by the cuBLAS form (zeroed first), written
    // once by the flash kernel: the outputs themselves without GQA.
    std::unique_ptr<Scratch> dk_heads, dv_heads;
    float *dk_acc = nullptr, *dv_acc = nullptr;
    if (G == 1) {
        g.dk = flash ? make(T, H * d.qk_dim) : alloc(T, H * d.qk_dim);
        g.dv = flash ? make(T, H * d.v_dim) : alloc(T, H * d.v_dim);
        dk_acc = f32(g.dk);
        dv_acc = f32(g.dv);
    } else {
        g.dk = make(T, d.n_kv_heads * d.qk_dim);
        g.dv = make(T, d.n_kv_heads * d.v_dim);
        dk_heads = std::make_unique<Scratch>(*ctx_, size_t(std::max<int64_t>(T * H * d.qk_dim, 1)) * 4, "per-head key gradients");
        dv_heads = std::make_unique<Scratch>(*ctx_, size_t(std::max<int64_t>(T * H * d.v_dim, 1)) * 4, "per-head value gradients");
        dk_acc = dk_heads->as<float>();
        dv_acc = dv_heads->as<float>();
        if (!flash) {
            MOE_CUDA_CHECK(cudaMemsetAsync(dk_acc, 0, size_t(T * H * d.qk_dim) * 4, ctx_->stream()));
            MOE_CUDA_CHECK(cudaMemsetAsync(dv_acc, 0, size_t(T * H * d.v_dim) * 4, ctx_->stream()));
        }
    }
    if (T == 0) return g;
    const auto plan = seg_plan(seg_start);
    cudaStream_t s = ctx_->stream();
    Scratch drow(*ctx_, size_t(T * H) * 4, "attention D = rowsum(dO * O)");
    MOE_CUDA_CHECK(kernels::attention_row_dot(f32(d_out), f32(saved.out), T * H, d.v_dim, drow.as<float>(), s));
    if (flash) {
        FlashOperands fo = flash_operands(*ctx_, q, k, v, &d_out, seg_start, d);
        kernels::FlashAttnArgs& a = fo.args;
        a.lse = const_cast<float*>(f32(saved.lse));  // read only by the backward
        a.drow = drow.as<float>();
        a.dq = f32(g.dq);
        a.dk = dk_acc;
        a.dv = dv_acc;
        MOE_CUDA_CHECK(cudaMemsetAsync(a.dq, 0, size_t(T * H * d.qk_dim) * 4, s));
        MOE_CUDA_CHECK(kernels::attention_flash_backward(a, s));
    } else {
        const TrainOperands o = train_operands(*ctx_, q, k, v, d);
        const auto dob = to_bf16(d_out, "bf16 attention output gradient");
        const BackwardOperands bo{o, dob->as<uint16_t>(), f32(saved.lse), drow.as<float>(), f32(g.dq), dk_acc, dv_acc};
        cublas_backward(*ctx_, bo, plan->blocks, plan->max_scores, seg_start, d);
    }
    if (G > 1) {
        MOE_CUDA_CHECK(kernels::sum_head_groups_f32(dk_acc, T, d.n_kv_heads, G, d.qk_dim, f32(g.dk), s));
        MOE_CUDA_CHECK(kernels::sum_head_groups_f32(dv_acc, T, d.n_kv_heads, G, d.v_dim, f32(g.dv), s));
    }
    return g;
}

void CudaBackend::mla_split_kv(const Tensor& kv, const Tensor& k_pe, const MlaDims& d, Tensor& k, Tensor& v) {
    const int64_t T = kv.rows(), H = d.n_heads;
    require_shape(kv, T, H * (d.qk_nope + d.v_head), "mla_split_kv kv");
    require_shape(k_pe, T, d.qk_rope, "mla_split_kv k_pe");
    k = make(T, H * d.qk_head());
    v = make(T, H * d.v_head);
    const kernels::MlaShape shape{H, d.qk_nope, d.qk_rope, d.v_head, d.kv_lora};
    MOE_CUDA_CHECK(kernels::mla_split_kv_f32(f32(kv), f32(k_pe), T, shape, f32(k), f32(v), ctx_->stream()));
}

void CudaBackend::mla_split_kv_backward(const Tensor& dk, const Tensor& dv, const MlaDims& d, Tensor& dkv,
                                        Tensor& dk_pe) {
    const int64_t T = dk.rows(), H = d.n_heads;
    require_shape(dk, T, H * d.qk_head(), "mla_split_kv_backward dk");
    require_shape(dv, T, H * d.v_head, "mla_split_kv_backward dv");
    dkv = make(T, H * (d.qk_nope + d.v_head));
    dk_pe = make(T, d.qk_rope);
    const kernels::MlaShape shape{H, d.qk_nope, d.qk_rope, d.v_head, d.kv_lora};
    MOE_CUDA_CHECK(kernels::mla_split_kv_backward_f32(f32(dk), f32(dv), T, shape, f32(dkv), f32(dk_pe), ctx_->stream()));
}

}  // namespace moe
