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

// Points moe()'s routing sink at `target` for a scope: a step collects each layer's routing and
// reads it back once at its end (a read inside a recorded step would synchronise).
using StepRouting = std::vector<std::pair<int64_t, RouterOutput>>;

struct CollectInto {
    using Sink = StepRouting;
    Sink*& slot;
    CollectInto(Sink*& s, Sink* target) : slot(s) { slot = target; }
    ~CollectInto() { slot = nullptr; }
    CollectInto(const CollectInto&) = delete;
    CollectInto& operator=(const CollectInto&) = delete;
};
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
      capacity_(context_capacity(config_, options)),
      seqs_([this] { return make_sequence(); }),
      sampler_(backend_, config_.vocab_size) {
    auto declare = [&](const DecoderLayerWeights& w) {
        if (w.is_moe) trace_.add_layer(w.index, config_.n_routed_experts, w.moe.bias_host);
    };
    for (const auto& w : weights_.layers) declare(w);
    for (const MtpWeights& m : weights_.mtp) declare(m.layer);
    for (const auto& w : weights_.layers)
        if (w.is_moe) moe_layers_.push_back(w.index);
}

std::unique_ptr<DeepseekModel::Sequence> DeepseekModel::make_sequence() const {
    auto s = std::make_unique<Sequence>();
    for (size_t i = 0; i < weights_.layers.size(); ++i) s->caches.push_back(backend_.alloc(capacity_, mla_.cache_cols()));
    for (size_t j = 0; j < weights_.mtp.size(); ++j) {
        s->mtp_caches.push_back(backend_.alloc(capacity_, mla_.cache_cols()));
        s->mtp_cached.push_back(0);
        s->hidden.emplace_back(config_.hidden_size);
    }
    s->mtp_step_keys.resize(weights_.mtp.size());
    return s;
}

int64_t DeepseekModel::sequence_cache_bytes() const {
    return int64_t(weights_.layers.size() + weights_.mtp.size()) * capacity_ * mla_.cache_cols() * 4;
}

void DeepseekModel::remove_sequence(int64_t sequence) {
    const std::unique_ptr<Sequence> gone = seqs_.remove(sequence);
    forget_steps(*gone);
}

Logits DeepseekModel::forward(std::span<const int32_t> tokens, int64_t start_pos, LogitRows rows) {
    const int64_t T = int64_t(tokens.size());
    Sequence& seq = seqs_.current();
    check_forward_range(start_pos, T, seq.cached, capacity_);
    truncate_sequence(seq, start_pos);

    trace_.begin_forward(start_pos, T, false, seqs_.selected());
    if (T == 1) return std::move(forward_rows(tokens, start_pos, StepKind::Logits).logits);
    const Tensor normed = forward_hidden(tokens, start_pos);
    trace_.end_forward();
    return head_logits(normed, weights_.lm_head, rows);
}

Tensor DeepseekModel::forward_hidden(std::span<const int32_t> tokens, int64_t start_pos) {
    Sequence& seq = seqs_.current();
    const int64_t T = int64_t(tokens.size());
    Tensor h = backend_.embedding(weights_.embed, tokens);
    Tensor pending;  // the latest FFN output, added to h by the next norm
    for (size_t i = 0; i < weights_.layers.size(); ++i) {
        const Span span{&seq.caches[i], start_pos, T};
        decoder_layer(h, pending, weights_.layers[i], std::span(&span, 1));
    }
    Tensor normed = add_pending_rmsnorm(backend_, h, pending, weights_.final_norm, eps_);
    if (!seq.hidden.empty()) seq.hidden[0].write(start_pos, backend_.download(normed));
    seq.cached = start_pos + T;
    return normed;
}

std::vector<int32_t> DeepseekModel::forward_greedy_rows(std::span<const int32_t> tokens, int64_t start_pos,
                                                        int64_t vocab_limit) {
    const int64_t T = int64_t(tokens.size());
    Sequence& seq = seqs_.current();
    check_forward_range(start_pos, T, seq.cached, capacity_);
    if (T == 1) return {forward_greedy(tokens[0], start_pos, vocab_limit)};
    truncate_sequence(seq, start_pos);
    trace_.begin_forward(start_pos, T, false, seqs_.selected());
    if (T <= kRecordedRows) {  // a speculative verification: one recorded step like a decode token
        std::vector<int32_t> ids =
            forward_rows(tokens, start_pos, StepKind::Greedy, greedy_columns(vocab_limit, config_.vocab_size)).tokens;
        for (int32_t& id : ids) id = checked_greedy_id(id);
        return ids;
    }
    const Tensor normed = forward_hidden(tokens, start_pos);
    trace_.end_forward();
    const Tensor logits = backend_.linear(normed, weights_.lm_head);
    std::vector<int32_t> ids = backend_.download_i32(greedy_choice(backend_, logits, vocab_limit));
    for (int32_t& id : ids) id = checked_greedy_id(id);
    return ids;
}

int32_t DeepseekModel::forward_greedy(int32_t token, int64_t pos, int64_t vocab_limit) {
    Sequence& seq = seqs_.current();
    check_forward_range(pos, 1, seq.cached, capacity_);
    truncate_sequence(seq, pos);
    trace_.begin_forward(pos, 1, false, seqs_.selected());
    return checked_greedy_id(
        forward_rows(std::span(&token, 1), pos, StepKind::Greedy, greedy_columns(vocab_limit, config_.vocab_size))
            .tokens.at(0));
}

int32_t DeepseekModel::forward_sample(int32_t token, int64_t pos, const SampleRequest& request, int64_t vocab_limit) {
    if (!sampler_.available()) return Model::forward_sample(token, pos, request, vocab_limit);
    Sequence& seq = seqs_.current();
    check_forward_range(pos, 1, seq.cached, capacity_);
    truncate_sequence(seq, pos);
    sampler_.prepare(request);
    trace_.begin_forward(pos, 1, false, seqs_.selected());
    try {
        const int32_t id =
            forward_rows(std::span(&token, 1), pos, StepKind::Sampled, greedy_columns(vocab_limit, config_.vocab_size))
                .tokens.at(0);
        sampler_.drew(id);
        return checked_greedy_id(id);
    } catch (...) {
        sampler_.invalidate();
        throw;
    }
}

DeepseekModel::~DeepseekModel() {
    seqs_.for_each([&](const Sequence& s) { forget_steps(s); });
}

void DeepseekModel::forget_steps(const Sequence& s) {
    for (bool traced : {false, true})
        for (StepKind kind : {StepKind::Logits, StepKind::Greedy, StepKind::Sampled})
            for (int64_t rows = 1; rows <= kRecordedRows; ++rows) backend_.forget_steps(step_owner(s, traced, kind, rows));
    for (size_t j = 0; j < s.mtp_step_keys.size(); ++j)
        for (bool traced : {false, true})
            for (int64_t rows = 1; rows <= kRecordedRows; ++rows)
                backend_.forget_steps(mtp_step_owner(s, j, traced, rows));
}

const void* DeepseekModel::step_owner(const Sequence& s, bool traced, StepKind kind, int64_t rows) const {
    if (rows < 1 || rows > kRecordedRows)
        throw_invalid_argument("a recorded step takes 1.." + std::to_string(kRecordedRows) + " rows, not " +
                               std::to_string(rows));
    return &s.step_keys[traced ? 1 : 0][int(kind)][rows - 1];
}

const void* DeepseekModel::mtp_step_owner(const Sequence& s, size_t module, bool traced, int64_t rows) const {
    if (rows < 1 || rows > kRecordedRows || module >= s.mtp_step_keys.size())
        throw_invalid_argument("no recorded draft step for MTP module " + std::to_string(module) + " over " +
                               std::to_string(rows) + " rows");
    return &s.mtp_step_keys[module][traced ? 1 : 0][size_t(rows - 1)];
}

// A few tokens of one sequence (one in decoding, the rows of a speculative verification): the
// whole forward is one Backend::decode_step (a replayed device graph on CUDA), and everything the
// host needs comes back in one read after it: the logits (or, greedy or sampled, only the chosen
// ids), the normed hidden states (the MTP layer's input) and, when routing is traced, every MoE
// layer's expert ids and weights.
DeepseekModel::StepOutput DeepseekModel::forward_rows(std::span<const int32_t> tokens, int64_t pos, StepKind kind,
                                                      int64_t cols) {
    const int64_t T = int64_t(tokens.size());
    if (kind == StepKind::Sampled && T != 1) throw_invalid_argument("a sampled step takes one token");
    for (int32_t token : tokens) check_token(token, config_.vocab_size);  // a recorded step reads ids unchecked
    Sequence& seq = seqs_.current();
    const bool traced = trace_.enabled(), keep_hidden = !weights_.mtp.empty();
    const bool chooses = kind != StepKind::Logits;
    const void* owner = step_owner(seq, traced, kind, T);
    int64_t& recorded = seq.cols_recorded[traced][int(kind)][T - 1];
    if (chooses && recorded != cols) {
        backend_.forget_steps(owner);  // a recording reads a fixed number of logit columns
        recorded = cols;
    }
    auto body = [&](const Tensor&) {
        StepRouting routing;
        const CollectInto collect(step_routing_, &routing);
        Tensor h = backend_.embedding(weights_.embed, tokens);
        Tensor pending;
        for (size_t i = 0; i < weights_.layers.size(); ++i) {
            const Span span{&seq.caches[i], pos, T};
            decoder_layer(h, pending, weights_.layers[i], std::span(&span, 1));
        }
        const Tensor normed = add_pending_rmsnorm(backend_, h, pending, weights_.final_norm, eps_);
        const Tensor logits = backend_.linear(normed, weights_.lm_head);
        std::vector<Tensor> outs{kind == StepKind::Greedy    ? greedy_choice(backend_, logits, cols)
                                 : kind == StepKind::Sampled ? sampler_.choose(logits, cols)
                                                             : logits};
        if (keep_hidden) outs.push_back(normed);
        if (traced)
            for (const auto& [layer, r] : routing) {  // layer order: moe_layers_
                outs.push_back(r.expert_ids);
                outs.push_back(r.weights);
            }
        return outs;
    };
    std::vector<HostTensor> out = backend_.decode_step(owner, {tokens, pos}, body);
    StepOutput result;
    size_t i = 0;
    if (chooses)
        result.tokens = std::move(out[i].i32);
    else
        result.logits = Logits{out[i].rows, out[i].cols, std::move(out[i].f32)};
    ++i;
    if (keep_hidden) seq.hidden[0].write(pos, out[i++].f32);
    if (traced) {
        if (out.size() != i + 2 * moe_layers_.size())
            throw_invalid_argument("decode step returned routing for a different number of MoE layers");
        for (int64_t layer : moe_layers_) {
            trace_.record(layer, router_.top_k, std::move(out[i].i32), std::move(out[i + 1].f32));
            i += 2;
        }
    }
    seq.cached = pos + T;
    trace_.end_forward();
    return result;
}

// One token of each of several sequences in one forward: every linear, norm and MoE layer runs
// over the B rows at once (the weights are read once per step, not once per sequence); attention
// reads each row's own cache (Backend::mla_attention_rows). Not a recorded step: B and the caches
// change from step to step.
Logits DeepseekModel::decode_batch(std::span<const BatchRow> rows, std::vector<int32_t>* greedy_ids,
                                   int64_t vocab_limit) {
    const std::vector<Sequence*> seqs = seqs_.batch(rows, capacity_, config_.vocab_size);
    std::vector<int32_t> tokens;
    for (const BatchRow& r : rows) tokens.push_back(r.token);
    for (size_t b = 0; b < rows.size(); ++b) truncate_sequence(*seqs[b], rows[b].pos);

    std::vector<std::pair<int64_t, RouterOutput>> routing;
    const CollectInto collect(step_routing_, &routing);
    Tensor h = backend_.embedding(weights_.embed, tokens);
    Tensor pending;
    std::vector<Span> spans(rows.size());
    for (size_t i = 0; i < weights_.layers.size(); ++i) {
        for (size_t b = 0; b < rows.size(); ++b) spans[b] = Span{&seqs[b]->caches[i], rows[b].pos, 1};
        decoder_layer(h, pending, weights_.layers[i], spans);
    }
    const Tensor normed = add_pending_rmsnorm(backend_, h, pending, weights_.final_norm, eps_);
    Logits logits = batch_outputs(backend_, backend_.linear(normed, weights_.lm_head), rows, greedy_ids, vocab_limit);
    if (!weights_.mtp.empty()) {
        const std::vector<float> hidden = backend_.download(normed);  // [B, hidden]
        const auto width = size_t(config_.hidden_size);
        for (size_t b = 0; b < rows.size(); ++b)
            seqs[b]->hidden[0].write(rows[b].pos, std::span(hidden).subspan(b * width, width));
    }
    for (size_t b = 0; b < rows.size(); ++b) seqs[b]->cached = rows[b].pos + 1;
    if (trace_.enabled()) record_batch_routing(rows, routing);
    return logits;
}

void DeepseekModel::record_batch_routing(std::span<const BatchRow> rows,
                                         const std::vector<std::pair<int64_t, RouterOutput>>& routing) {
    const auto k = size_t(router_.top_k);
    std::vector<std::pair<std::vector<int32_t>, std::vector<float>>> host;  // per layer [B, k]
    for (const auto& [layer, r] : routing) host.emplace_back(backend_.download_i32(r.expert_ids), backend_.download(r.weights));
    for (size_t b = 0; b < rows.size(); ++b) {
        trace_.begin_forward(rows[b].pos, 1, false, rows[b].sequence);
        for (size_t l = 0; l < routing.size(); ++l) {
            const auto& [ids, weights] = host[l];
            trace_.record(routing[l].first, router_.top_k, {ids.begin() + long(b * k), ids.begin() + long((b + 1) * k)},
                          {weights.begin() + long(b * k), weights.begin() + long((b + 1) * k)});
        }
        trace_.end_forward();
    }
}

// Benchmarks only: noise added in place (the caches keep their device addresses, so recorded
// decode steps stay valid).
void DeepseekModel::fill_cache_for_bench(int64_t n, uint64_t seed) {
    check_bench_fill(n, capacity_);
    Sequence& seq = seqs_.current();
    for (size_t i = 0; i < seq.caches.size(); ++i)
        backend_.add_inplace(seq.caches[i], backend_.random_tensor(capacity_, mla_.cache_cols(),
                                                                   tensor_seed(seed, "kv_cache." + std::to_string(i)),
                                                                   0.0f, 1.0f));
    seq.cached = n;
    for (size_t j = 0; j < seq.hidden.size(); ++j) {
        seq.mtp_cached[j] = 0;
        seq.hidden[j].reset_to(j == 0 ? n : 0);  // no hidden state for the synthetic positions
    }
}

void DeepseekModel::reset() {
    truncate(0);
}

void DeepseekModel::truncate(int64_t n) {
    truncate_sequence(seqs_.current(), n);
}

void DeepseekModel::truncate_sequence(Sequence& s, int64_t n) {
    if (n < 0) throw_invalid_argument("truncate: negative length");
    s.cached = std::min(s.cached, n);
    for (int64_t& c : s.mtp_cached) c = std::min(c, n);
    for (HiddenHistory& h : s.hidden) h.truncate(n);
}

int64_t DeepseekModel::mtp_module_cached(int64_t module) const {
    return module >= 0 && module < mtp_modules() ? seqs_.current().mtp_cached[size_t(module)] : 0;
}

void DeepseekModel::decoder_layer(Tensor& h, Tensor& pending, const DecoderLayerWeights& w,
                                  std::span<const Span> spans) {
    const Tensor x = add_pending_rmsnorm(backend_, h, pending, w.input_norm, eps_);  // h += pending
    const Tensor attn_out = attention(x, w.attn, spans);
    const Tensor x2 = backend_.add_rmsnorm(h, attn_out, w.post_norm, eps_);  // h += attn_out
    pending = w.is_moe ? moe(x2, w.moe, w.index) : backend_.ffn(x2, w.mlp);
}

Tensor DeepseekModel::attention(const Tensor& x, const MlaWeights& w, std::span<const Span> spans) {
    // q [T, H * (nope + rope)], head-major, nope first; ckv [T, kv_lora + qk_rope] = [c ; k_pe]:
    // both projections of x in one step, over every span's rows. Rope, the latent norm and the
    // cache write follow inside mla_attention_from_projections, per span.
    const Weight* first = w.q_lora ? &w.q_a : &w.q;
    const Weight* weights[] = {first, &w.kv_a};
    const Tensor* biases[] = {nullptr, nullptr};
    std::vector<Tensor> proj = backend_.linear_multi(x, weights, biases);
    Tensor q = w.q_lora ? backend_.linear(backend_.rmsnorm(proj[0], w.q_a_norm, kLatentNormEps), w.q_b) : proj[0];
    if (spans.size() > 1 && int64_t(spans.size()) == x.rows()) {  // a batched step: one row per sequence
        std::vector<Tensor*> caches;
        std::vector<int64_t> positions;
        for (const Span& s : spans) {
            caches.push_back(s.cache);
            positions.push_back(s.start_pos);
        }
        return backend_.linear(backend_.mla_attention_rows(q, proj[1], w.kv_a_norm, kLatentNormEps, rope_, w.kv_b,
                                                           caches, positions, mla_),
                               w.o);
    }
    const Tensor o = attend_per_span(backend_, spans, [&](int64_t row0, const Span& s) {
        Tensor q_rows = span_rows(backend_, q, row0, s.rows);  // roped in place
        return backend_.mla_attention_from_projections(q_rows, span_rows(backend_, proj[1], row0, s.rows), w.kv_a_norm,
                                                       kLatentNormEps, rope_, w.kv_b, *s.cache, s.start_pos, mla_);
    });
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

Logits DeepseekModel::mtp_module_forward(int64_t module, std::span<const int32_t> next_tokens, int64_t start_pos,
                                         LogitRows rows) {
    if (module < 0 || module >= mtp_modules()) return Model::mtp_module_forward(module, next_tokens, start_pos, rows);
    const size_t j = size_t(module);
    const MtpWeights& m = weights_.mtp[j];
    const int64_t n = int64_t(next_tokens.size());
    Sequence& seq = seqs_.current();
    std::vector<HiddenHistory>& hidden = seq.hidden;
    check_forward_range(start_pos, n, seq.mtp_cached[j], capacity_);
    // Level j must hold positions [start_pos, start_pos + n) (level 0: still in the main cache).
    if (!hidden[j].covers(start_pos, n))
        throw Error("model.mtp_without_hidden", "",
                    "MTP module " + std::to_string(module) + " needs the " +
                        (j == 0 ? std::string("main model's hidden states") : "hidden states of MTP module " + std::to_string(j - 1)) +
                        " for positions " + std::to_string(start_pos) + ".." + std::to_string(start_pos + n) +
                        ", computed and still cached (it has " + std::to_string(hidden[j].begin()) + ".." +
                        std::to_string(hidden[j].end()) + ")");
    seq.mtp_cached[j] = start_pos;
    if (j + 1 < hidden.size()) hidden[j + 1].truncate(start_pos);
    if (n <= kRecordedRows && rows == LogitRows::Last) {  // a draft: one recorded step
        for (int32_t t : next_tokens) check_token(t, config_.vocab_size);
        const std::span<const float> h_prev = hidden[j].rows(start_pos, n);
        trace_.begin_forward(start_pos, n, true, seqs_.selected());
        Logits logits = mtp_draft_step(j, next_tokens, start_pos, h_prev);
        seq.mtp_cached[j] = start_pos + n;
        trace_.end_forward();
        return logits;
    }

    // h' = eh_proj([enorm(emb(t_{i+j+1})) ; hnorm(h_i)]): embedding FIRST (doc §4.2).
    const Tensor h_prev = backend_.upload(hidden[j].rows(start_pos, n), n, config_.hidden_size);
    const Tensor e = backend_.rmsnorm(backend_.embedding(m.embed, next_tokens), m.enorm, eps_);
    Tensor h = backend_.linear(backend_.concat_cols(e, backend_.rmsnorm(h_prev, m.hnorm, eps_)), m.eh_proj);

    trace_.begin_forward(start_pos, n, true, seqs_.selected());
    Tensor pending;
    const Span span{&seq.mtp_caches[j], start_pos, n};
    decoder_layer(h, pending, m.layer, std::span(&span, 1));
    const Tensor normed = add_pending_rmsnorm(backend_, h, pending, m.head_norm, eps_);  // h: the block output
    if (j + 1 < hidden.size()) hidden[j + 1].write(start_pos, backend_.download(h));
    seq.mtp_cached[j] = start_pos + n;
    trace_.end_forward();
    return head_logits(normed, m.head, rows);
}

// The same ops as mtp_module_forward's general path, in one Backend::decode_step: the previous
// level's rows go in as the step's F32 input, and everything comes back in one read — the last
// row's logits, the block output (the next module's input) and the MTP layer's routing.
Logits DeepseekModel::mtp_draft_step(size_t j, std::span<const int32_t> next_tokens, int64_t start_pos,
                                     std::span<const float> h_prev) {
    const MtpWeights& m = weights_.mtp[j];
    Sequence& seq = seqs_.current();
    const int64_t n = int64_t(next_tokens.size());
    const bool traced = trace_.enabled(), feeds_next = j + 1 < seq.hidden.size();
    auto body = [&](const Tensor& h_in) {
        StepRouting routing;
        const CollectInto collect(step_routing_, &routing);
        const Tensor e = backend_.rmsnorm(backend_.embedding(m.embed, next_tokens), m.enorm, eps_);
        Tensor h = backend_.linear(backend_.concat_cols(e, backend_.rmsnorm(h_in, m.hnorm, eps_)), m.eh_proj);
        Tensor pending;
        const Span span{&seq.mtp_caches[j], start_pos, n};
        decoder_layer(h, pending, m.layer, std::span(&span, 1));
        const Tensor normed = add_pending_rmsnorm(backend_, h, pending, m.head_norm, eps_);  // h: the block output
        std::vector<Tensor> outs{backend_.linear(backend_.slice_rows(normed, n - 1, 1), m.head)};
        if (feeds_next) outs.push_back(h);
        if (traced)
            for (const auto& [layer, r] : routing) {
                outs.push_back(r.expert_ids);
                outs.push_back(r.weights);
            }
        return outs;
    };
    std::vector<HostTensor> out = backend_.decode_step(mtp_step_owner(seq, j, traced, n),
                                                       {next_tokens, start_pos, h_prev, config_.hidden_size}, body);
    Logits logits{out[0].rows, out[0].cols, std::move(out[0].f32)};
    size_t i = 1;
    if (feeds_next) seq.hidden[j + 1].write(start_pos, out[i++].f32);
    if (traced && m.layer.is_moe) {
        if (out.size() != i + 2) throw_invalid_argument("draft step returned routing for a different number of MoE layers");
        trace_.record(m.layer.index, router_.top_k, std::move(out[i].i32), std::move(out[i + 1].f32));
    }
    return logits;
}

}  // namespace moe
