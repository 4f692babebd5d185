#include "model/backend.h"

#include "core/error.h"

namespace moe {

RouterParams router_params_from_config(const ModelConfig& c) {
    RouterParams p;
    p.n_experts = c.n_routed_experts;
    p.top_k = c.num_experts_per_tok;
    p.n_group = c.n_group > 0 ? c.n_group : 1;
    p.topk_group = c.topk_group > 0 ? c.topk_group : 1;
    p.scoring = c.scoring_func;
    p.method = c.topk_method;
    p.norm_topk_prob = c.norm_topk_prob;
    p.routed_scaling_factor = float(c.routed_scaling_factor);
    p.scaling = c.arch == Architecture::DeepseekV2 ? RouterScaling::OnlyWhenNotNormalised : RouterScaling::Always;
    return p;
}

Tensor add_pending_rmsnorm(Backend& backend, Tensor& h, const Tensor& pending, const Tensor& weight, float eps) {
    return pending.empty() ? backend.rmsnorm(h, weight, eps) : backend.add_rmsnorm(h, pending, weight, eps);
}

std::vector<Tensor> Backend::linear_multi(const Tensor& x, std::span<const Weight* const> weights,
                                          std::span<const Tensor* const> biases) {
    if (biases.size() != weights.size()) throw_invalid_argument("linear_multi: one bias slot per weight");
    std::vector<Tensor> out;
    for (size_t i = 0; i < weights.size(); ++i) out.push_back(linear(x, *weights[i], biases[i]));
    return out;
}

Tensor Backend::mla_attention_from_projections(Tensor& q, const Tensor& ckv, const Tensor& kv_a_norm, float norm_eps,
                                               const RopeTable& rope_table, const Weight& kv_b, Tensor& cache,
                                               int64_t start_pos, const MlaDims& d) {
    rope(q, rope_table, RopeSpan{d.n_heads, d.qk_head(), d.qk_nope}, start_pos);
    const Tensor latent = rmsnorm(slice_cols(ckv, 0, d.kv_lora), kv_a_norm, norm_eps);
    Tensor k_pe = slice_cols(ckv, d.kv_lora, d.qk_rope);
    rope(k_pe, rope_table, RopeSpan{1, d.qk_rope, 0}, start_pos);
    return mla_attention(q, latent, k_pe, kv_b, cache, start_pos, d);
}

Tensor Backend::gqa_attention_from_projections(Tensor& q, Tensor& k, const Tensor& v, const RopeTable& rope_table,
                                               Tensor& k_cache, Tensor& v_cache, int64_t start_pos, const GqaDims& d) {
    rope(q, rope_table, RopeSpan{d.n_heads, d.head_dim, 0}, start_pos);
    rope(k, rope_table, RopeSpan{d.n_kv_heads, d.head_dim, 0}, start_pos);
    return gqa_attention(q, k, v, k_cache, v_cache, start_pos, d);
}

Tensor Backend::moe_block(const Tensor& x, const Weight& gate, const Tensor* bias, const RouterParams& params,
                          const ExpertSet& experts, const FfnWeights* shared, RouterOutput& routing) {
    routing = route(x, gate, bias, params);
    Tensor y = moe_experts(x, routing, experts);
    if (shared) add_inplace(y, ffn(x, *shared));
    return y;
}

std::vector<HostTensor> Backend::decode_step(const void*, int32_t, int64_t,
                                             const std::function<std::vector<Tensor>()>& body) {
    std::vector<HostTensor> host;
    for (const Tensor& t : body()) {
        HostTensor h{t.rows(), t.cols(), t.dtype(), {}, {}};
        if (t.dtype() == DType::I32)
            h.i32 = download_i32(t);
        else
            h.f32 = download(t);
        host.push_back(std::move(h));
    }
    return host;
}

void Backend::forget_steps(const void*) {}

}  // namespace moe
