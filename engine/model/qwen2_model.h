// The Qwen2 graph (R1-Distill-Qwen, doc §7): GQA with q/k/v biases, NeoX RoPE, SwiGLU MLP,
// tie_word_embeddings honoured.
#pragma once

#include <vector>

#include "model/model.h"
#include "model/qwen2_weights.h"

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
    void fill_cache_for_bench(int64_t n, uint64_t seed) override;

private:
    struct Cache {
        Tensor k, v;  // [capacity, Hkv*D]
    };

    // One token through Backend::decode_step: its logits [1, vocab] (greedy_cols 0), or only the
    // argmax over the first greedy_cols logits in out_token.
    Logits forward_one(int32_t token, int64_t pos, int64_t greedy_cols, int32_t* out_token);
    // The greedy step's recording key (the logits step's is `this`).
    const void* greedy_owner() const { return reinterpret_cast<const char*>(this) + 1; }
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
    int64_t greedy_cols_recorded_ = 0;  // the logit columns the recorded greedy step reads
};

}  // namespace moe
