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

private:
    struct Cache {
        Tensor k, v;  // [capacity, Hkv*D]
    };

    // forward() of one token through Backend::decode_step.
    Logits forward_one(int32_t token, int64_t pos);
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
};

}  // namespace moe
