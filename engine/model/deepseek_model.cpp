#include "model/deepseek_model.h"

#include <algorithm>
#include <memory>
#include <string>

#include "core/error.h"
#include "io/checkpoint.h"
#include "model/weight_source.h"

namespace moe {

namespace {
// q_a_layernorm and kv_a_layernorm are built without eps in HF and the remote code (doc §3.2).
constexpr float kLatentNormEps = 1e-6f;
}  // namespace

DeepseekModel::DeepseekModel(const Checkpoint& checkpoint, Backend& backend, const ModelOptions& options)
    : DeepseekModel(*std::make_unique<CheckpointSource>(checkpoint, backend), options) {}

DeepseekModel::DeepseekModel(WeightSource& source, const ModelOptions& options)
    : config_(source.config()),
      backend_(source.backend()),
      weights_(load_deepseek_weights(source)),
      rope_(make_rope_table(config_.rope, config_.qk_rope_head_dim)),
      mla_{config_.num_attention_heads, config_.qk_nope_head_dim, config_.qk_rope_head_dim,
           config_.v_head_dim,          config_.kv_lora_rank,     float(config_.softmax_scale())},
      router_(router_params_from_config(config_)),
      eps_(float(config_.rms_norm_eps)),
      capacity_(context_capacity(config_, options)) {
    for (size_t i = 0; i < weights_.layers.size(); ++i) caches_.push_back(backend_.alloc(capacity_, mla_.cache_cols()));
    if (!weights_.mtp.empty()) mtp_cache_ = backend_.alloc(capacity_, mla_.cache_cols());

    auto declare = [&](const DecoderLayerWeights& w) {
        if (w.is_moe) trace_.add_layer(w.index, config_.n_routed_experts, w.moe.bias_host);
    };
    for (const auto& w : weights_.layers) declare(w);
    for (const MtpWeights& m : weights_.mtp) declare(m.layer);
    for (const auto& w : weights_.layers)
        if (w.is_moe) moe_layers_.push_back(w.index);
}

Logits DeepseekModel::forward(std::span<const int32_t> tokens, int64_t start_pos, LogitRows rows) {
    const int64_t T = int64_t(tokens.size());
    check_forward_range(start_pos, T, cached_, capacity_);
    truncate(start_pos);

    trace_.begin_forward(start_pos, T, false);
    if (T == 1) return std::move(forward_one(tokens[0], start_pos, 0).logits);
    Tensor h = backend_.embedding(weights_.embed, tokens);
    Tensor pending;  // the latest FFN output, added to h by the next norm
    for (size_t i = 0; i < weights_.layers.size(); ++i)
        decoder_layer(h, pending, weights_.layers[i], caches_[i], start_pos);
    last_hidden_ = add_pending_rmsnorm(backend_, h, pending, weights_.final_norm, eps_);
    last_hidden_start_ = start_pos;
    cached_ = start_pos + T;
    trace_.end_forward();
    return head_logits(last_hidden_, weights_.lm_head, rows);
}

int32_t DeepseekModel::forward_greedy(int32_t token, int64_t pos, int64_t vocab_limit) {
    check_forward_range(pos, 1, cached_, capacity_);
    truncate(pos);
    trace_.begin_forward(pos, 1, false);
    return checked_greedy_id(forward_one(token, pos, greedy_columns(vocab_limit, config_.vocab_size)).token);
}

DeepseekModel::~DeepseekModel() {
    for (bool traced : {false, true})
        for (bool greedy : {false, true}) backend_.forget_steps(step_owner(traced, greedy));
}

const void* DeepseekModel::step_owner(bool traced, bool greedy) const {
    // Distinct addresses inside this object: one recording per combination.
    return reinterpret_cast<const char*>(this) + (traced ? 1 : 0) + (greedy ? 2 : 0);
}

// One token: the whole forward is one Backend::decode_step (a replayed device graph on CUDA), and
// everything the host needs comes back in one read after it: the logits (or, greedy, only the
// chosen id), the normed hidden state (the MTP layer's input) and, when routing is traced, every
// MoE layer's expert ids and weights.
DeepseekModel::StepOutput DeepseekModel::forward_one(int32_t token, int64_t pos, int64_t greedy_cols) {
    check_token(token, config_.vocab_size);  // a recorded step reads the id on the device, unchecked
    const bool traced = trace_.enabled(), keep_hidden = !weights_.mtp.empty(), greedy = greedy_cols > 0;
    const void* owner = step_owner(traced, greedy);
    if (greedy && greedy_cols_recorded_[traced] != greedy_cols) {
        backend_.forget_steps(owner);  // a recording reads a fixed number of logit columns
        greedy_cols_recorded_[traced] = greedy_cols;
    }
    using StepRouting = std::vector<std::pair<int64_t, RouterOutput>>;
    auto body = [&]() {
        StepRouting routing;
        struct Detach {
            StepRouting*& slot;
            ~Detach() { slot = nullptr; }
        } detach{step_routing_};
        step_routing_ = &routing;
        Tensor h = backend_.embedding(weights_.embed, std::span<const int32_t>(&token, 1));
        Tensor pending;
        for (size_t i = 0; i < weights_.layers.size(); ++i)
            decoder_layer(h, pending, weights_.layers[i], caches_[i], pos);
        const Tensor normed = add_pending_rmsnorm(backend_, h, pending, weights_.final_norm, eps_);
        const Tensor logits = backend_.linear(normed, weights_.lm_head);
        std::vector<Tensor> outs{greedy ? greedy_choice(backend_, logits, greedy_cols) : logits};
        if (keep_hidden) outs.push_back(normed);
        if (traced)
            for (const auto& [layer, r] : routing) {  // layer order: moe_layers_
                outs.push_back(r.expert_ids);
                outs.push_back(r.weights);
            }
        return outs;
    };
    std::vector<HostTensor> out = backend_.decode_step(owner, token, pos, body);
    StepOutput result;
    size_t i = 0;
    if (greedy)
        result.token = out[i].i32.at(0);
    else
        result.logits = Logits{out[i].rows, out[i].cols, std::move(out[i].f32)};
    ++i;
    if (keep_hidden) {
        last_hidden_ = backend_.upload(out[i].f32, out[i].rows, out[i].cols);
        last_hidden_start_ = pos;
        ++i;
    }
    if (traced) {
        if (out.size() != i + 2 * moe_layers_.size())
            throw_invalid_argument("decode step returned routing for a different number of MoE layers");
        for (int64_t layer : moe_layers_) {
            trace_.record(layer, router_.top_k, std::move(out[i].i32), std::move(out[i + 1].f32));
            i += 2;
        }
    }
    cached_ = pos + 1;
    trace_.end_forward();
    return result;
}

// Benchmarks only: noise added in place (the caches keep their device addresses, so recorded
// decode steps stay valid).
void DeepseekModel::fill_cache_for_bench(int64_t n, uint64_t seed) {
    check_bench_fill(n, capacity_);
    for (size_t i = 0; i < caches_.size(); ++i)
        backend_.add_inplace(caches_[i], backend_.random_tensor(capacity_, mla_.cache_cols(),
                                                                tensor_seed(seed, "kv_cache." + std::to_string(i)),
                                                                0.0f, 1.0f));
    cached_ = n;
    mtp_cached_ = 0;
    last_hidden_ = Tensor();
}

void DeepseekModel::reset() {
    cached_ = 0;
    mtp_cached_ = 0;
    last_hidden_ = Tensor();
}

void DeepseekModel::truncate(int64_t n) {
    if (n < 0) throw_invalid_argument("truncate: negative length");
    cached_ = std::min(cached_, n);
    mtp_cached_ = std::min(mtp_cached_, n);
}

void DeepseekModel::decoder_layer(Tensor& h, Tensor& pending, const DecoderLayerWeights& w, Tensor& cache,
                                  int64_t start_pos) {
    const Tensor x = add_pending_rmsnorm(backend_, h, pending, w.input_norm, eps_);  // h += pending
    const Tensor attn_out = attention(x, w.attn, cache, start_pos);
    const Tensor x2 = backend_.add_rmsnorm(h, attn_out, w.post_norm, eps_);  // h += attn_out
    pending = w.is_moe ? moe(x2, w.moe, w.index) : backend_.ffn(x2, w.mlp);
}

Tensor DeepseekModel::attention(const Tensor& x, const MlaWeights& w, Tensor& cache, int64_t start_pos) {
    // q [T, H * (nope + rope)], head-major, nope first; ckv [T, kv_lora + qk_rope] = [c ; k_pe]:
    // both projections of x in one step. Rope, the latent norm and the cache write follow inside
    // mla_attention_from_projections.
    const Weight* first = w.q_lora ? &w.q_a : &w.q;
    const Weight* weights[] = {first, &w.kv_a};
    const Tensor* biases[] = {nullptr, nullptr};
    std::vector<Tensor> proj = backend_.linear_multi(x, weights, biases);
    Tensor q = w.q_lora ? backend_.linear(backend_.rmsnorm(proj[0], w.q_a_norm, kLatentNormEps), w.q_b) : proj[0];
    const Tensor o = backend_.mla_attention_from_projections(q, proj[1], w.kv_a_norm, kLatentNormEps, rope_, w.kv_b,
                                                             cache, start_pos, mla_);
    return backend_.linear(o, w.o);
}

Tensor DeepseekModel::moe(const Tensor& x, const MoeWeights& w, int64_t layer) {
    RouterOutput routing;
    Tensor y = backend_.moe_block(x, w.gate, w.bias.empty() ? nullptr : &w.bias, router_, w.experts,
                                  w.shared ? &*w.shared : nullptr, routing);
    if (step_routing_)
        step_routing_->emplace_back(layer, routing);  // read back after the decode step
    else if (trace_.enabled())
        trace_.record(layer, router_.top_k, backend_.download_i32(routing.expert_ids),
                      backend_.download(routing.weights));
    return y;
}

Logits DeepseekModel::head_logits(const Tensor& normed, const Weight& head, LogitRows rows) {
    if (rows == LogitRows::Last)
        return download_logits(backend_, backend_.linear(backend_.slice_rows(normed, normed.rows() - 1, 1), head));
    return download_logits(backend_, backend_.linear(normed, head));
}

Logits DeepseekModel::mtp_forward(std::span<const int32_t> next_tokens, int64_t start_pos) {
    if (weights_.mtp.empty()) return Model::mtp_forward(next_tokens, start_pos);
    const MtpWeights& m = weights_.mtp[0];
    const int64_t n = int64_t(next_tokens.size());
    check_forward_range(start_pos, n, mtp_cached_, capacity_);
    // h_i must come from the latest forward() and still be in the main cache (not rolled back).
    if (last_hidden_.empty() || start_pos < last_hidden_start_ ||
        start_pos + n > last_hidden_start_ + last_hidden_.rows() || start_pos + n > cached_)
        throw Error("model.mtp_without_hidden", "",
                    "mtp_forward needs the main model's hidden states for positions " + std::to_string(start_pos) +
                        ".." + std::to_string(start_pos + n) + " from the latest forward(), still cached");
    mtp_cached_ = start_pos;

    // h' = eh_proj([enorm(emb(t_{i+1})) ; hnorm(h_i)]): embedding FIRST (doc §4.2).
    const Tensor h_main = backend_.slice_rows(last_hidden_, start_pos - last_hidden_start_, n);
    const Tensor e = backend_.rmsnorm(backend_.embedding(m.embed, next_tokens), m.enorm, eps_);
    Tensor h = backend_.linear(backend_.concat_cols(e, backend_.rmsnorm(h_main, m.hnorm, eps_)), m.eh_proj);

    trace_.begin_forward(start_pos, n, true);
    Tensor pending;
    decoder_layer(h, pending, m.layer, mtp_cache_, start_pos);
    mtp_cached_ = start_pos + n;
    trace_.end_forward();
    return head_logits(add_pending_rmsnorm(backend_, h, pending, m.head_norm, eps_), m.head, LogitRows::All);
}

}  // namespace moe
