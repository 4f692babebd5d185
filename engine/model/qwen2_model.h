// The Qwen2 graph (R1-Distill-Qwen, doc §7): GQA with q/k/v biases, NeoX RoPE, SwiGLU MLP,
// tie_word_embeddings honoured.
#pragma once

#include <vector>

#include "model/model.h"
#include "model/qwen2_weights.h"
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
    void reset() override { cached_ = 0; }
    void truncate(int64_t n) override;
    int64_t cached_tokens() const override { return cached_; }
    int64_t max_context() const override { return capacity_; }
    int32_t forward_greedy(int32_t token, int64_t pos, int64_t vocab_limit = 0) override;
    bool samples_on_backend() const override { return sampler_.available(); }
    int32_t forward_sample(int32_t token, int64_t pos, const SampleRequest& request, int64_t vocab_limit = 0) override;
    void fill_cache_for_bench(int64_t n, uint64_t seed) override;

private:
    struct Cache {
        Tensor k, v;  // [capacity, Hkv*D]
    };

    // What a one-token step ends in: its logits, the argmax (forward_greedy) or a draw (forward_sample).
    enum class StepKind { Logits, Greedy, Sampled };
    // One token through Backend::decode_step: its logits [1, vocab] (StepKind::Logits), or only
    // the id chosen among the first `cols` logits in out_token.
    Logits forward_one(int32_t token, int64_t pos, StepKind kind, int64_t cols, int32_t* out_token);
    // Each kind's recording key (the logits step's is `this`).
    const void* step_owner(StepKind kind) const { return reinterpret_cast<const char*>(this) + int(kind); }
    // h += pending; h += attn(norm(h)); pending = ffn(norm(h)) (added by the next norm).
    void decoder_layer(Tensor& h, Tensor& pending, const GqaLayerWeights& w, Cache& cache, int64_t start_pos);
    Tensor attention(const Tensor& x, const GqaLayerWeights& w, Cache& cache, int64_t start_pos);

    ModelConfig config_;
    Backend& backend_;
    Qwen2Weights weights_;
    std::vector<Cache> caches_;
    RopeTable rope_;
    GqaDims gqa_;
    float eps_;
    int64_t capacity_ = 0;
    int64_t cached_ = 0;
    int64_t cols_recorded_[3] = {};  // per step kind: the logit columns its recorded choice reads
    StepSampler sampler_;            // forward_sample's device state (unavailable on a host backend)
};

}  // namespace moe
