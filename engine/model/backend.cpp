#include "model/backend.h"

#include <cmath>

#include "core/dtype.h"
#include "core/error.h"
#include "counter_rng.h"
#include "io/checkpoint.h"

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

Tensor Backend::mla_attention_rows(Tensor& q, const Tensor& ckv, const Tensor& kv_a_norm, float norm_eps,
                                   const RopeTable& rope_table, const Weight& kv_b, std::span<Tensor* const> caches,
                                   std::span<const int64_t> positions, const MlaDims& d) {
    const int64_t B = q.rows();
    if (int64_t(caches.size()) != B || int64_t(positions.size()) != B || ckv.rows() != B)
        throw_invalid_argument("mla_attention_rows: q, ckv, caches and positions need one row each");
    if (B == 1) return mla_attention_from_projections(q, ckv, kv_a_norm, norm_eps, rope_table, kv_b, *caches[0], positions[0], d);
    std::vector<Tensor> outs;
    for (int64_t b = 0; b < B; ++b) {
        Tensor q_row = slice_rows(q, b, 1);
        outs.push_back(mla_attention_from_projections(q_row, slice_rows(ckv, b, 1), kv_a_norm, norm_eps, rope_table,
                                                      kv_b, *caches[size_t(b)], positions[size_t(b)], d));
    }
    return concat_rows(outs);
}

Tensor Backend::gqa_attention_rows(Tensor& q, Tensor& k, const Tensor& v, const RopeTable& rope_table,
                                   std::span<Tensor* const> k_caches, std::span<Tensor* const> v_caches,
                                   std::span<const int64_t> positions, const GqaDims& d) {
    const int64_t B = q.rows();
    if (int64_t(k_caches.size()) != B || int64_t(v_caches.size()) != B || int64_t(positions.size()) != B ||
        k.rows() != B || v.rows() != B)
        throw_invalid_argument("gqa_attention_rows: q, k, v, the caches and positions need one row each");
    std::vector<Tensor> outs;
    for (int64_t b = 0; b < B; ++b) {
        Tensor q_row = slice_rows(q, b, 1), k_row = slice_rows(k, b, 1);
        outs.push_back(gqa_attention_from_projections(q_row, k_row, slice_rows(v, b, 1), rope_table, *k_caches[size_t(b)],
                                                      *v_caches[size_t(b)], positions[size_t(b)], d));
    }
    return concat_rows(outs);
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
    // The shared expert first: a backend that must bring the routing to the host (CUDA prefill)
    // waits for it while the shared expert's work keeps the device busy. y = routed + shared either way.
    const Tensor shared_y = shared ? ffn(x, *shared) : Tensor();
    Tensor y = moe_experts(x, routing, experts);
    if (shared) add_inplace(y, shared_y);
    return y;
}

namespace {
std::vector<float> host_random(int64_t n, uint64_t seed, float center, float scale) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[size_t(i)] = center + scale * (2.0f * rng::uniform(seed, uint64_t(i)) - 1.0f);
    return v;
}
}  // namespace

Weight Backend::random_weight(int64_t rows, int64_t cols, uint64_t seed, float scale) {
    // bf16-exact, as the CUDA backend stores them: a random model is the same on every backend.
    std::vector<float> v = host_random(rows * cols, seed, 0.0f, scale);
    for (float& x : v) x = bf16_to_f32(f32_to_bf16(x));
    return weight_from_f32(v, rows, cols);
}

Tensor Backend::random_tensor(int64_t rows, int64_t cols, uint64_t seed, float center, float scale) {
    return upload(host_random(rows * cols, seed, center, scale), rows, cols);
}

ExpertSet Backend::load_expert_set(const std::vector<WeightMatrix>& gate_up_down) {
    if (gate_up_down.size() % 3 != 0) throw_invalid_argument("load_expert_set: 3 matrices per expert");
    std::vector<FfnWeights> experts;
    for (size_t i = 0; i < gate_up_down.size(); i += 3)
        experts.push_back(FfnWeights{load_weight(gate_up_down[i]), load_weight(gate_up_down[i + 1]),
                                     load_weight(gate_up_down[i + 2])});
    return make_expert_set(std::move(experts));
}

ExpertSet Backend::random_expert_set(int64_t n_experts, int64_t hidden, int64_t inter, uint64_t seed, float scale) {
    std::vector<FfnWeights> experts;
    for (int64_t e = 0; e < n_experts; ++e) {
        const uint64_t s = seed + uint64_t(e) * 3;
        experts.push_back(FfnWeights{random_weight(inter, hidden, s, scale), random_weight(inter, hidden, s + 1, scale),
                                     random_weight(hidden, inter, s + 2, std::sqrt(3.0f / float(inter)))});
    }
    return make_expert_set(std::move(experts));
}

std::vector<std::vector<int32_t>> Backend::download_i32_many(std::span<const Tensor> ts) {
    std::vector<std::vector<int32_t>> out;
    for (const Tensor& t : ts) out.push_back(download_i32(t));
    return out;
}

std::vector<HostTensor> Backend::decode_step(const void*, const StepInputs& in, const StepBody& body) {
    const Tensor input = in.f32.empty() ? Tensor{} : upload(in.f32, int64_t(in.tokens.size()), in.f32_cols);
    std::vector<HostTensor> host;
    for (const Tensor& t : body(input)) {
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

Tensor Backend::argmax_rows(const Tensor& logits) {
    const std::vector<float> v = download(logits);
    const int64_t rows = logits.rows(), cols = logits.cols();
    std::vector<int32_t> ids(static_cast<size_t>(rows), -1);
    for (int64_t r = 0; r < rows; ++r) {
        const float* row = v.data() + r * cols;
        for (int64_t c = 0; c < cols; ++c) {
            if (std::isnan(row[c])) continue;  // as the device kernel: NaN never wins
            int32_t& best = ids[size_t(r)];
            if (best < 0 || row[c] > row[best]) best = int32_t(c);
        }
    }
    return upload_i32(ids, rows, 1);
}

std::unique_ptr<TokenSampler> Backend::make_token_sampler(int64_t) { return nullptr; }

}  // namespace moe

// ---- training ops: a backend that has not implemented one says so by name ----------------------
namespace moe {

namespace {
[[noreturn]] void unsupported(const Backend& b, const char* op) {
    throw Error("engine.unsupported", "", std::string(op) + " is not implemented on the " + b.name() + " backend");
}
}  // namespace

Weight Backend::weight_from_tensor(const Tensor&) { unsupported(*this, "weight_from_tensor"); }
void Backend::refresh_weight(const Weight&, const Tensor&) { unsupported(*this, "refresh_weight"); }
ExpertSet Backend::expert_set_from_tensors(const Tensor&, const Tensor&, const Tensor&, int64_t) {
    unsupported(*this, "expert_set_from_tensors");
}
void Backend::refresh_expert_set(const ExpertSet&, const Tensor&, const Tensor&, const Tensor&) {
    unsupported(*this, "refresh_expert_set");
}
Tensor Backend::add(const Tensor& a, const Tensor& b) {
    Tensor out = alloc(a.rows(), a.cols());
    add_inplace(out, a);
    add_inplace(out, b);
    return out;
}

void Backend::scale_add(Tensor&, const Tensor&, float) { unsupported(*this, "scale_add"); }
void Backend::scale_inplace(Tensor&, float) { unsupported(*this, "scale_inplace"); }
void Backend::zero(Tensor&) { unsupported(*this, "zero"); }
Tensor Backend::gather_rows(const Tensor&, const Tensor&) { unsupported(*this, "gather_rows"); }
void Backend::scatter_add_rows(const Tensor&, const Tensor&, Tensor&) { unsupported(*this, "scatter_add_rows"); }
Tensor Backend::dropout(const Tensor&, float, uint64_t) { unsupported(*this, "dropout"); }
Tensor Backend::linear_backward_input(const Tensor&, const Weight&) { unsupported(*this, "linear_backward_input"); }
void Backend::linear_backward_weight(const Tensor&, const Tensor&, Tensor&) {
    unsupported(*this, "linear_backward_weight");
}
void Backend::sum_rows_into(const Tensor&, Tensor&) { unsupported(*this, "sum_rows_into"); }

Tensor Backend::linear_lora(const Tensor& x, const Weight& w, const Tensor* bias, const Weight& a, const Weight& b,
                            float scale) {
    Tensor y = linear(x, w, bias);
    scale_add(y, linear(linear(x, a), b), scale);
    return y;
}

// y = x Wᵀ + s (x Aᵀ) Bᵀ:  dB += s·dyᵀ z;  dz = s·dy B;  dA += dzᵀ x;  dx = dy W + dz A  (z = x Aᵀ).
Tensor Backend::linear_lora_backward(const Tensor& x, const Weight& w, const Weight& a, const Weight& b, float scale,
                                     const Tensor& dy, Tensor* dw, Tensor& da, Tensor& db) {
    Tensor dx = linear_backward_input(dy, w);
    if (dw) linear_backward_weight(dy, x, *dw);
    const Tensor z = linear(x, a);
    Tensor dys = alloc(dy.rows(), dy.cols());
    scale_add(dys, dy, scale);
    linear_backward_weight(dys, z, db);
    const Tensor dz = linear_backward_input(dys, b);
    linear_backward_weight(dz, x, da);
    add_inplace(dx, linear_backward_input(dz, a));
    return dx;
}
std::vector<Tensor> Backend::linear_lora_group(const Tensor& x, std::span<const LoraLinear> ps) {
    std::vector<Tensor> ys;
    for (const LoraLinear& p : ps) ys.push_back(linear_lora(x, *p.w, nullptr, *p.a, *p.b, p.scale));
    return ys;
}

Tensor Backend::linear_lora_group_backward(const Tensor& x, std::span<const LoraLinear> ps) {
    if (ps.empty()) throw_invalid_argument("linear_lora_group_backward: no projection");
    Tensor dx;
    for (const LoraLinear& p : ps) {
        if (!p.dy || !p.da || !p.db) throw_invalid_argument("linear_lora_group_backward: a projection without dy, da or db");
        const Tensor dxi = linear_lora_backward(x, *p.w, *p.a, *p.b, p.scale, *p.dy, p.dw, *p.da, *p.db);
        if (dx.empty())
            dx = dxi;
        else
            add_inplace(dx, dxi);
    }
    return dx;
}

void Backend::embedding_backward(const Tensor&, std::span<const int32_t>, Tensor&) {
    unsupported(*this, "embedding_backward");
}
Tensor Backend::rmsnorm_backward(const Tensor&, const Tensor&, float, const Tensor&, Tensor*) {
    unsupported(*this, "rmsnorm_backward");
}
void Backend::rope_rows(Tensor&, const RopeTable&, const RopeSpan&, const Tensor&, bool) {
    unsupported(*this, "rope_rows");
}
AttentionSaved Backend::attention_train(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                        const AttentionDims&) {
    unsupported(*this, "attention_train");
}
AttentionGrads Backend::attention_train_backward(const Tensor&, const Tensor&, const Tensor&, const AttentionSaved&,
                                                 const Tensor&, const Tensor&, const AttentionDims&) {
    unsupported(*this, "attention_train_backward");
}
void Backend::mla_split_kv(const Tensor&, const Tensor&, const MlaDims&, Tensor&, Tensor&) {
    unsupported(*this, "mla_split_kv");
}
void Backend::mla_split_kv_backward(const Tensor&, const Tensor&, const MlaDims&, Tensor&, Tensor&) {
    unsupported(*this, "mla_split_kv_backward");
}
Tensor Backend::router_logits(const Tensor& x, const Weight& gate) { return linear(x, gate); }
RouterOutput Backend::route_from_logits(const Tensor&, const Tensor*, const RouterParams&, Tensor&) {
    unsupported(*this, "route_from_logits");
}
Tensor Backend::route_backward(const Tensor&, const RouterOutput&, const Tensor&, const Tensor*,
                               const RouterParams&) {
    unsupported(*this, "route_backward");
}
BalanceLossResult Backend::balance_loss(const Tensor&, const Tensor&, int64_t, int64_t, float) {
    unsupported(*this, "balance_loss");
}
std::vector<int64_t> Backend::expert_counts(const Tensor&, int64_t) { unsupported(*this, "expert_counts"); }
Tensor Backend::swiglu(const Tensor&, const Tensor&) { unsupported(*this, "swiglu"); }
void Backend::swiglu_backward(const Tensor&, const Tensor&, const Tensor&, Tensor&, Tensor&) {
    unsupported(*this, "swiglu_backward");
}
Tensor Backend::moe_experts_train(const Tensor&, const RouterOutput&, const ExpertSet&, const ExpertLora*,
                                  std::shared_ptr<ExpertRows>*) {
    unsupported(*this, "moe_experts_train");
}
Tensor Backend::moe_experts_backward(const Tensor&, const RouterOutput&, const ExpertSet&, const ExpertLora*,
                                     const Tensor&, Tensor&, ExpertGrads*, ExpertLoraGrads*, const ExpertRows*) {
    unsupported(*this, "moe_experts_backward");
}
CrossEntropyResult Backend::cross_entropy(const Tensor&, const Tensor&, float) { unsupported(*this, "cross_entropy"); }
double Backend::sum_squares(const Tensor&) { unsupported(*this, "sum_squares"); }
double Backend::sum_squares_many(std::span<const Tensor* const> xs) {
    double s = 0.0;
    for (const Tensor* x : xs) s += sum_squares(*x);
    return s;
}
void Backend::adamw_update(Tensor&, const Tensor&, Tensor&, Tensor&, const AdamWStep&) {
    unsupported(*this, "adamw_update");
}
void Backend::adamw_update_many(std::span<const AdamWParam> params, const AdamWStep& step) {
    for (const AdamWParam& p : params) {
        AdamWStep s = step;
        s.weight_decay = p.weight_decay;
        adamw_update(*p.p, *p.g, *p.m, *p.v, s);
    }
}
void Backend::refresh_weights_many(std::span<const WeightRefresh> ws) {
    for (const WeightRefresh& w : ws) refresh_weight(*w.weight, *w.master);
}
void Backend::zero_many(std::span<Tensor* const> xs) {
    for (Tensor* x : xs) zero(*x);
}

}  // namespace moe
