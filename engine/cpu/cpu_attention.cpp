// CPU: causal attention with a KV cache, MLA (latent cache) and GQA
// (kernels/attention.cu, tests/model/attention_test.cpp).
//
// MLA uses the weight-absorbed form (doc §3.3), which is what makes a latent cache useful:
//   q̃_h   = W_UK[h]ᵀ q_nope_h                          [kv_lora]
//   s_h,j = (q̃_h · c_j + q_pe_h · k_pe_j) * scale       j = 0 .. pos (causal)
//   o_h   = W_UV[h] (Σ_j softmax(s_h)_j c_j)             [v_head]
// with W_UK[h] = kv_b rows [h*(nope+v), h*(nope+v)+nope), W_UV[h] = the next v rows. It equals the
// naive form (k_nope = W_UK c, v = W_UV c per position); tests/model/attention_test.cpp checks that.
//
// Training (attention_train / _backward) uses that naive form over whole sequences, the same code
// for MLA (k = [W_UK c ; k_pe] per head) and GQA: row r attends to rows seg_start[r]..r;
//   p = softmax(scale · q kᵀ) (lse saved),  o = p v
//   D = Σ dO ⊙ O,  ds = p ⊙ (dO vᵀ − D),  dq = scale · ds k,  dk = scale · dsᵀ q,  dv = pᵀ dO
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "cpu/cpu_storage.h"

namespace moe {

using namespace cpu;

namespace {


// In place: p[0..n) <- softmax(p[0..n)), max-subtracted, fp32.
void softmax_inplace(float* p, int64_t n) {
    float max_v = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < n; ++j) max_v = std::max(max_v, p[j]);
    float sum = 0.0f;
    for (int64_t j = 0; j < n; ++j) {
        p[j] = std::exp(p[j] - max_v);
        sum += p[j];
    }
    for (int64_t j = 0; j < n; ++j) p[j] /= sum;
}

// Appends [latent ; k_pe] rows to the MLA cache at start_pos.
void write_mla_cache(const Tensor& latent, const Tensor& k_pe, Tensor& cache, int64_t start_pos, const MlaDims& d) {
    const float* pc = f32(latent);
    const float* pr = f32(k_pe);
    float* cache_rows = f32(cache);
    const int64_t width = d.cache_cols();
    for (int64_t t = 0; t < latent.rows(); ++t) {
        float* row = cache_rows + (start_pos + t) * width;
        std::copy_n(pc + t * d.kv_lora, d.kv_lora, row);
        std::copy_n(pr + t * d.qk_rope, d.qk_rope, row + d.kv_lora);
    }
}

// One head of absorbed MLA for all T queries. w_head: this head's kv_b rows [nope + v, kv_lora] in f32.
void mla_head(int64_t h, const float* q, const float* cache, const float* w_head, int64_t T, int64_t start_pos,
              const MlaDims& d, float* out) {
    const int64_t width = d.cache_cols(), q_cols = d.n_heads * d.qk_head();
    std::vector<float> q_latent(size_t(d.kv_lora)), o_latent(size_t(d.kv_lora));
    std::vector<float> scores(size_t(start_pos + T));
    for (int64_t t = 0; t < T; ++t) {
        const float* q_nope = q + t * q_cols + h * d.qk_head();
        const float* q_pe = q_nope + d.qk_nope;
        // q̃ = W_UKᵀ q_nope
        std::fill(q_latent.begin(), q_latent.end(), 0.0f);
        for (int64_t i = 0; i < d.qk_nope; ++i)
            for (int64_t c = 0; c < d.kv_lora; ++c) q_latent[size_t(c)] += q_nope[i] * w_head[i * d.kv_lora + c];
        // scores over cache rows 0..pos
        const int64_t n_keys = start_pos + t + 1;
        for (int64_t j = 0; j < n_keys; ++j) {
            const float* row = cache + j * width;
            scores[size_t(j)] =
                (dot(q_latent.data(), row, d.kv_lora) + dot(q_pe, row + d.kv_lora, d.qk_rope)) * d.softmax_scale;
        }
        softmax_inplace(scores.data(), n_keys);
        // latent output, then o_h = W_UV o_latent
        std::fill(o_latent.begin(), o_latent.end(), 0.0f);
        for (int64_t j = 0; j < n_keys; ++j)
            for (int64_t c = 0; c < d.kv_lora; ++c) o_latent[size_t(c)] += scores[size_t(j)] * cache[j * width + c];
        const float* w_uv = w_head + d.qk_nope * d.kv_lora;
        float* o = out + t * d.n_heads * d.v_head + h * d.v_head;
        for (int64_t i = 0; i < d.v_head; ++i) o[i] = dot(w_uv + i * d.kv_lora, o_latent.data(), d.kv_lora);
    }
}

}  // namespace

Tensor CpuBackend::mla_attention(const Tensor& q, const Tensor& latent, const Tensor& k_pe, const Weight& kv_b,
                                 Tensor& cache, int64_t start_pos, const MlaDims& d) {
    const int64_t T = q.rows();
    require_shape(q, T, d.n_heads * d.qk_head(), "mla_attention q");
    require_shape(latent, T, d.kv_lora, "mla_attention latent");
    require_shape(k_pe, T, d.qk_rope, "mla_attention k_pe");
    require_shape(cache, cache.rows(), d.cache_cols(), "mla_attention cache");
    const CpuWeightStorage& w = weight_storage(kv_b);
    if (w.rows != d.n_heads * (d.qk_nope + d.v_head) || w.cols != d.kv_lora)
        throw_invalid_argument("mla_attention: kv_b has the wrong shape");
    check_cache_room(cache, start_pos, T);
    write_mla_cache(latent, k_pe, cache, start_pos, d);

    Tensor out = make_tensor(T, d.n_heads * d.v_head);
    const int64_t head_rows = d.qk_nope + d.v_head;
    const float* pq = f32(q);
    const float* pcache = f32(cache);
    float* po = f32(out);
    const int64_t work = d.n_heads * T * (start_pos + T + head_rows) * d.kv_lora;
#pragma omp parallel if (work >= kMinParallelWork)
    {
        std::vector<float> scratch(size_t(head_rows * d.kv_lora));
#pragma omp for schedule(dynamic, 1)
        for (int64_t h = 0; h < d.n_heads; ++h) {
            const float* w_head = w.rows_f32(h * head_rows, head_rows, scratch.data());
            mla_head(h, pq, pcache, w_head, T, start_pos, d, po);
        }
    }
    return out;
}

Tensor CpuBackend::gqa_attention(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& k_cache, Tensor& v_cache,
                                 int64_t start_pos, const GqaDims& d) {
    const int64_t T = q.rows(), D = d.head_dim, kv_cols = d.n_kv_heads * D;
    if (d.n_kv_heads <= 0 || d.n_heads % d.n_kv_heads != 0)
        throw_invalid_argument("gqa_attention: n_heads must be a multiple of n_kv_heads");
    require_shape(q, T, d.n_heads * D, "gqa_attention q");
    require_shape(k, T, kv_cols, "gqa_attention k");
    require_shape(v, T, kv_cols, "gqa_attention v");
    require_shape(k_cache, k_cache.rows(), kv_cols, "gqa_attention k_cache");
    require_shape(v_cache, k_cache.rows(), kv_cols, "gqa_attention v_cache");
    check_cache_room(k_cache, start_pos, T);
    std::copy_n(f32(k), T * kv_cols, f32(k_cache) + start_pos * kv_cols);
    std::copy_n(f32(v), T * kv_cols, f32(v_cache) + start_pos * kv_cols);

    Tensor out = make_tensor(T, d.n_heads * D);
    const int64_t group = d.n_heads / d.n_kv_heads;  // query heads per kv head (HF repeat_kv)
    const float* pq = f32(q);
    const float* pk = f32(k_cache);
    const float* pv = f32(v_cache);
    float* po = f32(out);
    const int64_t work = d.n_heads * T * (start_pos + T) * D * 2;
#pragma omp parallel if (work >= kMinParallelWork)
    {
        std::vector<float> scores(size_t(start_pos + T));
#pragma omp for collapse(2) schedule(dynamic, 1)
        for (int64_t t = 0; t < T; ++t) {
            for (int64_t h = 0; h < d.n_heads; ++h) {
                const int64_t kvh = h / group;
                const float* qh = pq + t * d.n_heads * D + h * D;
                const int64_t n_keys = start_pos + t + 1;
                for (int64_t j = 0; j < n_keys; ++j)
                    scores[size_t(j)] = dot(qh, pk + j * kv_cols + kvh * D, D) * d.softmax_scale;
                softmax_inplace(scores.data(), n_keys);
                float* oh = po + t * d.n_heads * D + h * D;
                for (int64_t j = 0; j < n_keys; ++j)
                    for (int64_t i = 0; i < D; ++i) oh[i] += scores[size_t(j)] * pv[j * kv_cols + kvh * D + i];
            }
        }
    }
    return out;
}

namespace {

void check_train_shapes(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& seg_start,
                        const AttentionDims& d) {
    const int64_t T = q.rows();
    if (d.n_kv_heads <= 0 || d.n_heads % d.n_kv_heads != 0)
        throw_invalid_argument("attention_train: n_heads must be a multiple of n_kv_heads");
    require_shape(q, T, d.n_heads * d.qk_dim, "attention_train q");
    require_shape(k, T, d.n_kv_heads * d.qk_dim, "attention_train k");
    require_shape(v, T, d.n_kv_heads * d.v_dim, "attention_train v");
    require_shape(seg_start, T, 1, "attention_train seg_start");
    const int32_t* ss = i32(seg_start);
    for (int64_t r = 0; r < T; ++r)
        if (ss[r] < 0 || ss[r] > r) throw_invalid_argument("attention_train: seg_start[r] must lie in [0, r]");
}

// Scaled scores of query row r (head h) against its keys, into s[0 .. r - start].
void row_scores(const float* q, const float* k, int64_t r, int64_t start, int64_t h, int64_t kvh,
                const AttentionDims& d, float* s) {
    const float* qr = q + r * d.n_heads * d.qk_dim + h * d.qk_dim;
    for (int64_t j = start; j <= r; ++j)
        s[j - start] = dot(qr, k + j * d.n_kv_heads * d.qk_dim + kvh * d.qk_dim, d.qk_dim) * d.scale;
}

}  // namespace

AttentionSaved CpuBackend::attention_train(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& seg_start,
                                           const AttentionDims& d) {
    check_train_shapes(q, k, v, seg_start, d);
    const int64_t T = q.rows(), group = d.n_heads / d.n_kv_heads;
    AttentionSaved out{make_tensor(T, d.n_heads * d.v_dim), make_tensor(T, d.n_heads)};
    const float *pq = f32(q), *pk = f32(k), *pv = f32(v);
    const int32_t* ss = i32(seg_start);
    float* po = f32(out.out);
    float* plse = f32(out.lse);
#pragma omp parallel if (T * T * d.n_heads * d.qk_dim >= kMinParallelWork)
    {
        std::vector<float> s(static_cast<size_t>(T));
#pragma omp for collapse(2) schedule(dynamic, 4)
        for (int64_t r = 0; r < T; ++r) {
            for (int64_t h = 0; h < d.n_heads; ++h) {
                const int64_t start = ss[r], n = r - start + 1, kvh = h / group;
                row_scores(pq, pk, r, start, h, kvh, d, s.data());
                float m = -std::numeric_limits<float>::infinity();
                for (int64_t j = 0; j < n; ++j) m = std::max(m, s[size_t(j)]);
                float sum = 0.0f;
                for (int64_t j = 0; j < n; ++j) sum += std::exp(s[size_t(j)] - m);
                const float lse = m + std::log(sum);
                plse[r * d.n_heads + h] = lse;
                float* o = po + r * d.n_heads * d.v_dim + h * d.v_dim;
                for (int64_t j = 0; j < n; ++j) {
                    const float p = std::exp(s[size_t(j)] - lse);
                    const float* vj = pv + (start + j) * d.n_kv_heads * d.v_dim + kvh * d.v_dim;
                    for (int64_t i = 0; i < d.v_dim; ++i) o[i] += p * vj[i];
                }
            }
        }
    }
    return out;
}

AttentionGrads CpuBackend::attention_train_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                                    const AttentionSaved& saved, const Tensor& d_out,
                                                    const Tensor& seg_start, const AttentionDims& d) {
    check_train_shapes(q, k, v, seg_start, d);
    const int64_t T = q.rows(), group = d.n_heads / d.n_kv_heads;
    require_shape(d_out, T, d.n_heads * d.v_dim, "attention_train_backward d_out");
    require_shape(saved.out, T, d.n_heads * d.v_dim, "attention_train_backward saved out");
    require_shape(saved.lse, T, d.n_heads, "attention_train_backward saved lse");
    AttentionGrads g{make_tensor(T, d.n_heads * d.qk_dim), make_tensor(T, d.n_kv_heads * d.qk_dim),
                     make_tensor(T, d.n_kv_heads * d.v_dim)};
    const float *pq = f32(q), *pk = f32(k), *pv = f32(v), *po = f32(saved.out), *plse = f32(saved.lse);
    const float* pdo = f32(d_out);
    const int32_t* ss = i32(seg_start);
    float *dq = f32(g.dq), *dk = f32(g.dk), *dv = f32(g.dv);
    const int64_t kq = d.n_kv_heads * d.qk_dim, kvv = d.n_kv_heads * d.v_dim;
    // One kv head per task: its query heads are the only writers of its dk / dv columns.
#pragma omp parallel if (T * T * d.n_heads * d.qk_dim >= kMinParallelWork)
    {
        std::vector<float> s(static_cast<size_t>(T));
#pragma omp for schedule(dynamic, 1)
        for (int64_t kvh = 0; kvh < d.n_kv_heads; ++kvh) {
            for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
                for (int64_t r = 0; r < T; ++r) {
                    const int64_t start = ss[r], n = r - start + 1;
                    row_scores(pq, pk, r, start, h, kvh, d, s.data());
                    const float* dor = pdo + r * d.n_heads * d.v_dim + h * d.v_dim;
                    const float D = dot(dor, po + r * d.n_heads * d.v_dim + h * d.v_dim, d.v_dim);
                    const float lse = plse[r * d.n_heads + h];
                    const float* qr = pq + r * d.n_heads * d.qk_dim + h * d.qk_dim;
                    float* dqr = dq + r * d.n_heads * d.qk_dim + h * d.qk_dim;
                    for (int64_t j = 0; j < n; ++j) {
                        const int64_t key = start + j;
                        const float p = std::exp(s[size_t(j)] - lse);
                        const float* vj = pv + key * kvv + kvh * d.v_dim;
                        const float ds = p * (dot(dor, vj, d.v_dim) - D) * d.scale;
                        const float* kj = pk + key * kq + kvh * d.qk_dim;
                        float* dkj = dk + key * kq + kvh * d.qk_dim;
                        float* dvj = dv + key * kvv + kvh * d.v_dim;
                        for (int64_t i = 0; i < d.qk_dim; ++i) {
                            dqr[i] += ds * kj[i];
                            dkj[i] += ds * qr[i];
                        }
                        for (int64_t i = 0; i < d.v_dim; ++i) dvj[i] += p * dor[i];
                    }
                }
            }
        }
    }
    return g;
}

void CpuBackend::mla_split_kv(const Tensor& kv, const Tensor& k_pe, const MlaDims& d, Tensor& k, Tensor& v) {
    const int64_t T = kv.rows(), H = d.n_heads, kvw = d.qk_nope + d.v_head;
    require_shape(kv, T, H * kvw, "mla_split_kv kv");
    require_shape(k_pe, T, d.qk_rope, "mla_split_kv k_pe");
    k = make_tensor(T, H * d.qk_head());
    v = make_tensor(T, H * d.v_head);
    const float *pkv = f32(kv), *ppe = f32(k_pe);
    float *pk = f32(k), *pv = f32(v);
    for (int64_t t = 0; t < T; ++t)
        for (int64_t h = 0; h < H; ++h) {
            const float* src = pkv + t * H * kvw + h * kvw;
            float* kh = pk + t * H * d.qk_head() + h * d.qk_head();
            std::copy_n(src, d.qk_nope, kh);
            std::copy_n(ppe + t * d.qk_rope, d.qk_rope, kh + d.qk_nope);
            std::copy_n(src + d.qk_nope, d.v_head, pv + t * H * d.v_head + h * d.v_head);
        }
}

void CpuBackend::mla_split_kv_backward(const Tensor& dk, const Tensor& dv, const MlaDims& d, Tensor& dkv,
                                       Tensor& dk_pe) {
    const int64_t T = dk.rows(), H = d.n_heads, kvw = d.qk_nope + d.v_head;
    require_shape(dk, T, H * d.qk_head(), "mla_split_kv_backward dk");
    require_shape(dv, T, H * d.v_head, "mla_split_kv_backward dv");
    dkv = make_tensor(T, H * kvw);
    dk_pe = make_tensor(T, d.qk_rope);
    const float *pdk = f32(dk), *pdv = f32(dv);
    float *pkv = f32(dkv), *ppe = f32(dk_pe);
    for (int64_t t = 0; t < T; ++t)
        for (int64_t h = 0; h < H; ++h) {
            const float* kh = pdk + t * H * d.qk_head() + h * d.qk_head();
            float* dst = pkv + t * H * kvw + h * kvw;
            std::copy_n(kh, d.qk_nope, dst);
            std::copy_n(pdv + t * H * d.v_head + h * d.v_head, d.v_head, dst + d.qk_nope);
            for (int64_t i = 0; i < d.qk_rope; ++i) ppe[t * d.qk_rope + i] += kh[d.qk_nope + i];
        }
}

}  // namespace moe
