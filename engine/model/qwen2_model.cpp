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
      seqs_([this] { return make_sequence(); }),
      sampler_(backend_, config_.vocab_size) {
    rope_.layout = RopeLayout::NeoxHalves;  // Qwen2 weights are in rotate_half layout
}

std::unique_ptr<Qwen2Model::Sequence> Qwen2Model::make_sequence() const {
    auto s = std::make_unique<Sequence>();
    const int64_t kv_out = config_.num_key_value_heads * config_.head_dim;
    for (size_t i = 0; i < weights_.layers.size(); ++i)
        s->caches.push_back(Cache{backend_.alloc(capacity_, kv_out), backend_.alloc(capacity_, kv_out)});
    return s;
}

int64_t Qwen2Model::sequence_cache_bytes() const {
    return int64_t(weights_.layers.size()) * 2 * capacity_ * config_.num_key_value_heads * config_.head_dim * 4;
}

void Qwen2Model::remove_sequence(int64_t sequence) {
    const std::unique_ptr<Sequence> gone = seqs_.remove(sequence);
    forget_steps(*gone);
}

void Qwen2Model::forget_steps(const Sequence& s) {
    for (StepKind kind : {StepKind::Logits, StepKind::Greedy, StepKind::Sampled}) backend_.forget_steps(step_owner(s, kind));
}

Logits Qwen2Model::forward(std::span<const int32_t> tokens, int64_t start_pos, LogitRows rows) {
    const int64_t T = int64_t(tokens.size());
    Sequence& seq = seqs_.current();
    check_forward_range(start_pos, T, seq.cached, capacity_);
    seq.cached = start_pos;
    if (T == 1) return forward_one(tokens[0], start_pos, StepKind::Logits, 0, nullptr);

    Tensor h = backend_.embedding(weights_.embed, tokens);
    Tensor pending;  // the latest FFN output, added to h by the next norm
    for (size_t i = 0; i < weights_.layers.size(); ++i) {
        const Span span{&seq.caches[i], start_pos, T};
        decoder_layer(h, pending, weights_.layers[i], std::span(&span, 1));
    }
    seq.cached = start_pos + T;
    Tensor normed = add_pending_rmsnorm(backend_, h, pending, weights_.final_norm, eps_);
    if (rows == LogitRows::Last) normed = backend_.slice_rows(normed, T - 1, 1);
    return download_logits(backend_, backend_.linear(normed, weights_.lm_head));
}

int32_t Qwen2Model::forward_greedy(int32_t token, int64_t pos, int64_t vocab_limit) {
    Sequence& seq = seqs_.current();
    check_forward_range(pos, 1, seq.cached, capacity_);
    seq.cached = pos;
    int32_t id = -1;
    forward_one(token, pos, StepKind::Greedy, greedy_columns(vocab_limit, config_.vocab_size), &id);
    return checked_greedy_id(id);
}

int32_t Qwen2Model::forward_sample(int32_t token, int64_t pos, const SampleRequest& request, int64_t vocab_limit) {
    if (!sampler_.available()) return Model::forward_sample(token, pos, request, vocab_limit);
    Sequence& seq = seqs_.current();
    check_forward_range(pos, 1, seq.cached, capacity_);
    seq.cached = pos;
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
    Sequence& seq = seqs_.current();
    const int64_t kv_out = config_.num_key_value_heads * config_.head_dim;
    for (size_t i = 0; i < seq.caches.size(); ++i) {
        const std::string layer = std::to_string(i);
        backend_.add_inplace(seq.caches[i].k, backend_.random_tensor(capacity_, kv_out,
                                                                     tensor_seed(seed, "k_cache." + layer), 0.0f, 1.0f));
        backend_.add_inplace(seq.caches[i].v, backend_.random_tensor(capacity_, kv_out,
                                                                     tensor_seed(seed, "v_cache." + layer), 0.0f, 1.0f));
    }
    seq.cached = n;
}

Qwen2Model::~Qwen2Model() {
    seqs_.for_each([&](const Sequence& s) { forget_steps(s); });
}

// One token: the whole forward is one Backend::decode_step (a replayed device graph on CUDA).
Logits Qwen2Model::forward_one(int32_t token, int64_t pos, StepKind kind, int64_t cols, int32_t* out_token) {
    check_token(token, config_.vocab_size);  // a recorded step reads the id on the device, unchecked
    Sequence& seq = seqs_.current();
    const bool chooses = kind != StepKind::Logits;
    const void* owner = step_owner(seq, kind);
    if (chooses && seq.cols_recorded[int(kind)] != cols) {
        backend_.forget_steps(owner);  // a recording reads a fixed number of logit columns
        seq.cols_recorded[int(kind)] = cols;
    }
    auto body = [&](const Tensor&) {
        Tensor h = backend_.embedding(weights_.embed, std::span<const int32_t>(&token, 1));
        Tensor pending;
        for (size_t i = 0; i < weights_.layers.size(); ++i) {
            const Span span{&seq.caches[i], pos, 1};
            decoder_layer(h, pending, weights_.layers[i], std::span(&span, 1));
        }
        const Tensor normed = add_pending_rmsnorm(backend_, h, pending, weights_.final_norm, eps_);
        const Tensor logits = backend_.linear(normed, weights_.lm_head);
        return std::vector<Tensor>{kind == StepKind::Greedy    ? greedy_choice(backend_, logits, cols)
                                   : kind == StepKind::Sampled ? sampler_.choose(logits, cols)
                                                               : logits};
    };
    std::vector<HostTensor> out = backend_.decode_step(owner, {std::span(&token, 1), pos}, body);
    seq.cached = pos + 1;
    if (chooses) {
        *out_token = out[0].i32.at(0);
        return Logits{};
    }
    return Logits{out[0].rows, out[0].cols, std::move(out[0].f32)};
}

// One token of each of several sequences in one forward (DeepseekModel::decode_batch's twin).
Logits Qwen2Model::decode_batch(std::span<const BatchRow> rows, std::vector<int32_t>* greedy_ids, int64_t vocab_limit) {
    const std::vector<Sequence*> seqs = seqs_.batch(rows, capacity_, config_.vocab_size);
    std::vector<int32_t> tokens;
    for (const BatchRow& r : rows) tokens.push_back(r.token);
    for (size_t b = 0; b < rows.size(); ++b) seqs[b]->cached = rows[b].pos;
    Tensor h = backend_.embedding(weights_.embed, tokens);
    Tensor pending;
    std::vector<Span> spans(rows.size());
    for (size_t i = 0; i < weights_.layers.size(); ++i) {
        for (size_t b = 0; b < rows.size(); ++b) spans[b] = Span{&seqs[b]->caches[i], rows[b].pos, 1};
        decoder_layer(h, pending, weights_.layers[i], spans);
    }
    for (size_t b = 0; b < rows.size(); ++b) seqs[b]->cached = rows[b].pos + 1;
    const Tensor normed = add_pending_rmsnorm(backend_, h, pending, weights_.final_norm, eps_);
    return batch_outputs(backend_, backend_.linear(normed, weights_.lm_head), rows, greedy_ids, vocab_limit);
}

void Qwen2Model::truncate(int64_t n) {
    if (n < 0) throw_invalid_argument("truncate: negative length");
    Sequence& seq = seqs_.current();
    seq.cached = std::min(seq.cached, n);
}

void Qwen2Model::decoder_layer(Tensor& h, Tensor& pending, const GqaLayerWeights& w, std::span<const Span> spans) {
    const Tensor x = add_pending_rmsnorm(backend_, h, pending, w.input_norm, eps_);  // h += pending
    const Tensor attn_out = attention(x, w, spans);
    const Tensor x2 = backend_.add_rmsnorm(h, attn_out, w.post_norm, eps_);  // h += attn_out
    pending = backend_.ffn(x2, w.mlp);
}

Tensor Qwen2Model::attention(const Tensor& x, const GqaLayerWeights& w, std::span<const Span> spans) {
    const Weight* weights[] = {&w.q, &w.k, &w.v};
    const Tensor* biases[] = {&w.q_bias, &w.k_bias, &w.v_bias};
    std::vector<Tensor> qkv = backend_.linear_multi(x, weights, biases);
    if (spans.size() > 1 && int64_t(spans.size()) == x.rows()) {  // a batched step: one row per sequence
        std::vector<Tensor*> k_caches, v_caches;
        std::vector<int64_t> positions;
        for (const Span& s : spans) {
            k_caches.push_back(&s.cache->k);
            v_caches.push_back(&s.cache->v);
            positions.push_back(s.start_pos);
        }
        return backend_.linear(
            backend_.gqa_attention_rows(qkv[0], qkv[1], qkv[2], rope_, k_caches, v_caches, positions, gqa_), w.o);
    }
    const Tensor o = attend_per_span(backend_, spans, [&](int64_t row0, const Span& s) {
        Tensor q = span_rows(backend_, qkv[0], row0, s.rows), k = span_rows(backend_, qkv[1], row0, s.rows);  // roped in place
        return backend_.gqa_attention_from_projections(q, k, span_rows(backend_, qkv[2], row0, s.rows), rope_,
                                                       s.cache->k, s.cache->v, s.start_pos, gqa_);
    });
    return backend_.linear(o, w.o);
}

}  // namespace moe
