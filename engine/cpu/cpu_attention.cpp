// CPU: causal attention with a KV cache, MLA (latent cache) and GQA
// (kernels/attention.cu, tests/model/attention_test.cpp).
//
// MLA uses the weight-absorbed form (doc §3.3), which is what makes a latent cache useful:
//   q̃_h   = W_UK[h]ᵀ q_nope_h                          [kv_lora]
//   s_h,j = (q̃_h · c_j + q_pe_h · k_pe_j) * scale       j = 0 .. pos (causal)
//   o_h   = W_UV[h] (Σ_j softmax(s_h)_j c_j)             [v_head]
// with W_UK[h] = kv_b rows [h*(nope+v), h*(nope+v)+nope), W_UV[h] = the next v rows. It equals the
// naive form (k_nope = W_UK c, v = W_UV c per position); tests/model/attention_test.cpp checks that.
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

}  // namespace moe
