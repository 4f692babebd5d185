// The Qwen2 graph (R1-Distill-Qwen, doc §7): GQA with q/k/v biases, NeoX RoPE, SwiGLU MLP,
// tie_word_embeddings honoured.
#pragma once

#include <vector>

#include "model/kv_span.h"
#include "model/model.h"
#include "model/qwen2_weights.h"
#include "model/sequence_set.h"
#include "model/step_sampler.h"

namespace moe {

class Qwen2Model final : public Model {
public:
    Qwen2Model(const Checkpoint& checkpoint, Backend& backend, const ModelOptions& options);
    // Any weight source (random weights for the benchmark, trainable masters).
    Qwen2Model(WeightSource& source, const ModelOptions& options);
    ~Qwen2Model() override;

    const ModelConfig& config() const override { return config_; }
    Logits forward(std::span<const int32_t> tokens, int64_t start_pos, LogitRows rows = LogitRows::All) override;
    void reset() override { seqs_.current().cached = 0; }
    void truncate(int64_t n) override;
    int64_t cached_tokens() const override { return seqs_.current().cached; }
    int64_t max_context() const override { return capacity_; }
    int32_t forward_greedy(int32_t token, int64_t pos, int64_t vocab_limit = 0) override;
    bool samples_on_backend() const override { return sampler_.available(); }
    int32_t forward_sample(int32_t token, int64_t pos, const SampleRequest& request, int64_t vocab_limit = 0) override;
    void fill_cache_for_bench(int64_t n, uint64_t seed) override;

    bool supports_sequences() const override { return true; }
    int64_t add_sequence() override { return seqs_.add(); }
    void remove_sequence(int64_t sequence) override;
    void select_sequence(int64_t sequence) override { seqs_.select(sequence); }
    int64_t selected_sequence() const override { return seqs_.selected(); }
    int64_t live_sequences() const override { return seqs_.live(); }
    int64_t sequence_cache_bytes() const override;
    Logits decode_batch(std::span<const BatchRow> rows, std::vector<int32_t>* greedy_ids = nullptr,
                        int64_t vocab_limit = 0) override;

private:
    struct Cache {
        Tensor k, v;  // [capacity, Hkv*D]
    };
    using Span = KvSpan<Cache>;
    // One sequence: its caches per layer, how much of them is valid, and its recorded steps'
    // keys and logit columns per step kind (a recording captures the cache addresses).
    struct Sequence {
        std::vector<Cache> caches;
        int64_t cached = 0;
        int64_t cols_recorded[3] = {};
        char step_keys[3] = {};
    };
    std::unique_ptr<Sequence> make_sequence() const;
    void forget_steps(const Sequence& s);

    // What a one-token step ends in: its logits, the argmax (forward_greedy) or a draw (forward_sample).
    enum class StepKind { Logits, Greedy, Sampled };
    // One token through Backend::decode_step: its logits [1, vocab] (StepKind::Logits), or only
    // the id chosen among the first `cols` logits in out_token.
    Logits forward_one(int32_t token, int64_t pos, StepKind kind, int64_t cols, int32_t* out_token);
    // Each (sequence, kind)'s recording key.
    const void* step_owner(const Sequence& s, StepKind kind) const { return &s.step_keys[int(kind)]; }
    // h += pending; h += attn(norm(h)); pending = ffn(norm(h)) (added by the next norm).
    // spans: where h's rows go in the caches (kv_span.h).
    void decoder_layer(Tensor& h, Tensor& pending, const GqaLayerWeights& w, std::span<const Span> spans);
    Tensor attention(const Tensor& x, const GqaLayerWeights& w, std::span<const Span> spans);

    ModelConfig config_;
    Backend& backend_;
    Qwen2Weights weights_;
    RopeTable rope_;
    GqaDims gqa_;
    float eps_;
    int64_t capacity_ = 0;
    SequenceSet<Sequence> seqs_;  // after what make_sequence() reads
    StepSampler sampler_;         // forward_sample's device state (unavailable on a host backend)
};

}  // namespace moe
