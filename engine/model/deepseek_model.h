// The DeepSeek V2/V3 graph (V3, R1, Moonlight, V2, V2-Lite): MLA attention with a latent KV cache,
// dense FFNs below first_k_dense_replace, MoE with shared experts above, and the optional MTP layer.
// Shared docs/deepseek-architecture.md §3 and §4 give every formula; HF-hub remote code semantics.
#pragma once

#include <utility>
#include <vector>

#include "model/deepseek_weights.h"
#include "model/model.h"

namespace moe {

class DeepseekModel final : public Model {
public:
    DeepseekModel(const Checkpoint& checkpoint, Backend& backend, const ModelOptions& options);
    // Any weight source (random weights for the benchmark, trainable masters).
    DeepseekModel(WeightSource& source, const ModelOptions& options);
    ~DeepseekModel() override;

    const ModelConfig& config() const override { return config_; }
    Logits forward(std::span<const int32_t> tokens, int64_t start_pos, LogitRows rows = LogitRows::All) override;
    void reset() override;
    void truncate(int64_t n) override;
    int64_t cached_tokens() const override { return cached_; }
    int64_t max_context() const override { return capacity_; }
    int32_t forward_greedy(int32_t token, int64_t pos, int64_t vocab_limit = 0) override;
    void fill_cache_for_bench(int64_t n, uint64_t seed) override;

    bool has_mtp() const override { return !weights_.mtp.empty(); }
    Logits mtp_forward(std::span<const int32_t> next_tokens, int64_t start_pos) override;
    int64_t mtp_cached_tokens() const override { return mtp_cached_; }

private:
    // h [T, hidden] += pending (the previous layer's FFN output); h += attn(norm(h)); then
    // pending = ffn(norm(h)), left for the next norm to add.
    void decoder_layer(Tensor& h, Tensor& pending, const DecoderLayerWeights& w, Tensor& cache, int64_t start_pos);
    // x [T, hidden] (normed) -> [T, hidden]
    Tensor attention(const Tensor& x, const MlaWeights& w, Tensor& cache, int64_t start_pos);
    Tensor moe(const Tensor& x, const MoeWeights& w, int64_t layer);
    // What a one-token step hands back: the logits [1, vocab], or only the greedy choice.
    struct StepOutput {
        Logits logits;
        int32_t token = -1;
    };
    // forward() / forward_greedy() of one token through Backend::decode_step; greedy_cols > 0:
    // the step ends in the argmax over the first greedy_cols logits and returns only that id.
    StepOutput forward_one(int32_t token, int64_t pos, int64_t greedy_cols);
    // One recorded decode step per (routing traced, greedy) combination.
    const void* step_owner(bool traced, bool greedy) const;
    // normed hidden [T, hidden] -> logits through `head`.
    Logits head_logits(const Tensor& normed, const Weight& head, LogitRows rows);

    ModelConfig config_;
    Backend& backend_;
    DeepseekWeights weights_;
    RopeTable rope_;
    MlaDims mla_;
    RouterParams router_;
    float eps_;

    int64_t capacity_ = 0;
    std::vector<Tensor> caches_;  // per main layer [capacity, kv_lora + qk_rope]
    int64_t cached_ = 0;
    Tensor last_hidden_;  // post-final-norm hidden of the latest forward [T, hidden] (MTP input)
    int64_t last_hidden_start_ = 0;

    Tensor mtp_cache_;
    int64_t mtp_cached_ = 0;

    // Inside a decode step's body: moe() collects each layer's routing here instead of reading it
    // back (a read would synchronise inside a recorded step).
    std::vector<std::pair<int64_t, RouterOutput>>* step_routing_ = nullptr;
    std::vector<int64_t> moe_layers_;  // the main MoE layers in order: whose routing a traced step returns
    int64_t greedy_cols_recorded_[2] = {0, 0};  // per trace setting: the logit columns its greedy step reads
};

}  // namespace moe
