#include "model/qwen2_model.h"

#include <algorithm>
#include <memory>
#include <string>

#include "core/error.h"
#include "io/checkpoint.h"
#include "model/weight_source.h"

namespace moe {

Qwen2Model::Qwen2Model(const Checkpoint& checkpoint, Backend& backend, const ModelOptions& options)
    : Qwen2Model(*std::make_unique<CheckpointSource>(checkpoint, backend), options) {}

Qwen2Model::Qwen2Model(WeightSource& source, const ModelOptions& options)
    : config_(source.config()),
      backend_(source.backend()),
      weights_(load_qwen2_weights(source)),
      rope_(make_rope_table(config_.rope, config_.head_dim)),
      gqa_{config_.num_attention_heads, config_.num_key_value_heads, config_.head_dim, float(config_.softmax_scale())},
      eps_(float(config_.rms_norm_eps)),
      capacity_(context_capacity(config_, options)),
      sampler_(backend_, config_.vocab_size) {
    rope_.layout = RopeLayout::NeoxHalves;  // Qwen2 weights are in rotate_half layout
    const int64_t kv_out = config_.num_key_value_heads * config_.head_dim;
    for (size_t i = 0; i < weights_.layers.size(); ++i)
        caches_.push_back(Cache{backend_.alloc(capacity_, kv_out), backend_.alloc(capacity_, kv_out)});
}

Logits Qwen2Model::forward(std::span<const int32_t> tokens, int64_t start_pos, LogitRows rows) {
    const int64_t T = int64_t(tokens.size());
    check_forward_range(start_pos, T, cached_, capacity_);
    cached_ = start_pos;
    if (T == 1) return forward_one(tokens[0], start_pos, StepKind::Logits, 0, nullptr);

    Tensor h = backend_.embedding(weights_.embed, tokens);
    Tensor pending;  // the latest FFN output, added to h by the next norm
    for (size_t i = 0; i < weights_.layers.size(); ++i) decoder_layer(h, pending, weights_.layers[i], caches_[i], start_pos);
    cached_ = start_pos + T;
    Tensor normed = add_pending_rmsnorm(backend_, h, pending, weights_.final_norm, eps_);
    if (rows == LogitRows::Last) normed = backend_.slice_rows(normed, T - 1, 1);
    return download_logits(backend_, backend_.linear(normed, weights_.lm_head));
}

int32_t Qwen2Model::forward_greedy(int32_t token, int64_t pos, int64_t vocab_limit) {
    check_forward_range(pos, 1, cached_, capacity_);
    cached_ = pos;
    int32_t id = -1;
    forward_one(token, pos, StepKind::Greedy, greedy_columns(vocab_limit, config_.vocab_size), &id);
    return checked_greedy_id(id);
}

int32_t Qwen2Model::forward_sample(int32_t token, int64_t pos, const SampleRequest& request, int64_t vocab_limit) {
    if (!sampler_.available()) return Model::forward_sample(token, pos, request, vocab_limit);
    check_forward_range(pos, 1, cached_, capacity_);
    cached_ = pos;
    sampler_.prepare(request);
    int32_t id = -1;
    try {
        forward_one(token, pos, StepKind::Sampled, greedy_columns(vocab_limit, config_.vocab_size), &id);
        sampler_.drew(id);
    } catch (...) {
        sampler_.invalidate();
        throw;
    }
    return checked_greedy_id(id);
}

// Benchmarks only: noise added in place (the caches keep their device addresses, so recorded
// decode steps stay valid).
void Qwen2Model::fill_cache_for_bench(int64_t n, uint64_t seed) {
    check_bench_fill(n, capacity_);
    const int64_t kv_out = config_.num_key_value_heads * config_.head_dim;
    for (size_t i = 0; i < caches_.size(); ++i) {
        const std::string layer = std::to_string(i);
        backend_.add_inplace(caches_[i].k, backend_.random_tensor(capacity_, kv_out, tensor_seed(seed, "k_cache." + layer),
                                                                  0.0f, 1.0f));
        backend_.add_inplace(caches_[i].v, backend_.random_tensor(capacity_, kv_out, tensor_seed(seed, "v_cache." + layer),
                                                                  0.0f, 1.0f));
    }
    cached_ = n;
}

Qwen2Model::~Qwen2Model() {
    for (StepKind kind : {StepKind::Logits, StepKind::Greedy, StepKind::Sampled})
        backend_.forget_steps(step_owner(kind));
}

// One token: the whole forward is one Backend::decode_step (a replayed device graph on CUDA).
Logits Qwen2Model::forward_one(int32_t token, int64_t pos, StepKind kind, int64_t cols, int32_t* out_token) {
    check_token(token, config_.vocab_size);  // a recorded step reads the id on the device, unchecked
    const bool chooses = kind != StepKind::Logits;
    const void* owner = step_owner(kind);
    if (chooses && cols_recorded_[int(kind)] != cols) {
        backend_.forget_steps(owner);  // a recording reads a fixed number of logit columns
        cols_recorded_[int(kind)] = cols;
    }
    auto body = [&]() {
        Tensor h = backend_.embedding(weights_.embed, std::span<const int32_t>(&token, 1));
        Tensor pending;
        for (size_t i = 0; i < weights_.layers.size(); ++i) decoder_layer(h, pending, weights_.layers[i], caches_[i], pos);
        const Tensor normed = add_pending_rmsnorm(backend_, h, pending, weights_.final_norm, eps_);
        const Tensor logits = backend_.linear(normed, weights_.lm_head);
        return std::vector<Tensor>{kind == StepKind::Greedy    ? greedy_choice(backend_, logits, cols)
                                   : kind == StepKind::Sampled ? sampler_.choose(logits, cols)
                                                               : logits};
    };
    std::vector<HostTensor> out = backend_.decode_step(owner, token, pos, body);
    cached_ = pos + 1;
    if (chooses) {
        *out_token = out[0].i32.at(0);
        return Logits{};
    }
    return Logits{out[0].rows, out[0].cols, std::move(out[0].f32)};
}

void Qwen2Model::truncate(int64_t n) {
    if (n < 0) throw_invalid_argument("truncate: negative length");
    cached_ = std::min(cached_, n);
}

void Qwen2Model::decoder_layer(Tensor& h, Tensor& pending, const GqaLayerWeights& w, Cache& cache,
                               int64_t start_pos) {
    const Tensor x = add_pending_rmsnorm(backend_, h, pending, w.input_norm, eps_);  // h += pending
    const Tensor attn_out = attention(x, w, cache, start_pos);
    const Tensor x2 = backend_.add_rmsnorm(h, attn_out, w.post_norm, eps_);  // h += attn_out
    pending = backend_.ffn(x2, w.mlp);
}

Tensor Qwen2Model::attention(const Tensor& x, const GqaLayerWeights& w, Cache& cache, int64_t start_pos) {
    const Weight* weights[] = {&w.q, &w.k, &w.v};
    const Tensor* biases[] = {&w.q_bias, &w.k_bias, &w.v_bias};
    std::vector<Tensor> qkv = backend_.linear_multi(x, weights, biases);
    const Tensor o =
        backend_.gqa_attention_from_projections(qkv[0], qkv[1], qkv[2], rope_, cache.k, cache.v, start_pos, gqa_);
    return backend_.linear(o, w.o);
}

}  // namespace moe
