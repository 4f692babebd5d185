// The DeepSeek V2/V3 graph (V3, R1, Moonlight, V2, V2-Lite): MLA attention with a latent KV cache,
// dense FFNs below first_k_dense_replace, MoE with shared experts above, and the optional MTP layer.
// Shared docs/deepseek-architecture.md §3 and §4 give every formula; HF-hub remote code semantics.
#pragma once

#include <utility>
#include <vector>

#include "model/deepseek_weights.h"
#include "model/hidden_history.h"
#include "model/model.h"
#include "model/step_sampler.h"

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
    bool samples_on_backend() const override { return sampler_.available(); }
    int32_t forward_sample(int32_t token, int64_t pos, const SampleRequest& request, int64_t vocab_limit = 0) override;
    void fill_cache_for_bench(int64_t n, uint64_t seed) override;

    std::vector<int32_t> forward_greedy_rows(std::span<const int32_t> tokens, int64_t start_pos,
                                             int64_t vocab_limit = 0) override;

    int64_t mtp_modules() const override { return int64_t(weights_.mtp.size()); }
    Logits mtp_module_forward(int64_t module, std::span<const int32_t> next_tokens, int64_t start_pos,
                              LogitRows rows = LogitRows::All) override;
    int64_t mtp_module_cached(int64_t module) const override;

private:
    // h [T, hidden] += pending (the previous layer's FFN output); h += attn(norm(h)); then
    // pending = ffn(norm(h)), left for the next norm to add.
    void decoder_layer(Tensor& h, Tensor& pending, const DecoderLayerWeights& w, Tensor& cache, int64_t start_pos);
    // x [T, hidden] (normed) -> [T, hidden]
    Tensor attention(const Tensor& x, const MlaWeights& w, Tensor& cache, int64_t start_pos);
    Tensor moe(const Tensor& x, const MoeWeights& w, int64_t layer);
    // What a one-token step ends in: its logits, the argmax (forward_greedy) or a draw (forward_sample).
    enum class StepKind { Logits, Greedy, Sampled };
    // What a one-token step hands back: the logits [1, vocab], or only the chosen id.
    struct StepOutput {
        Logits logits;
        int32_t token = -1;
    };
    // forward() / forward_greedy() / forward_sample() of one token through Backend::decode_step;
    // Greedy and Sampled choose among the first `cols` logits on the backend and return only the id.
    StepOutput forward_one(int32_t token, int64_t pos, StepKind kind, int64_t cols = 0);
    // The main layers over tokens [T] at start_pos: returns the post-final-norm hidden [T, hidden]
    // and keeps it as the MTP modules' level-0 input.
    Tensor forward_hidden(std::span<const int32_t> tokens, int64_t start_pos);
    // One recorded decode step per (routing traced, step kind) combination.
    const void* step_owner(bool traced, StepKind kind) const;
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
    // The MTP modules' inputs (model/hidden_history.h): level 0 the main post-final-norm hidden,
    // level j module j-1's block output. One level per module (the last module's output feeds none).
    std::vector<HiddenHistory> hidden_;
    std::vector<Tensor> mtp_caches_;    // per module [capacity, kv_lora + qk_rope]
    std::vector<int64_t> mtp_cached_;   // per module

    // Inside a decode step's body: moe() collects each layer's routing here instead of reading it
    // back (a read would synchronise inside a recorded step).
    std::vector<std::pair<int64_t, RouterOutput>>* step_routing_ = nullptr;
    std::vector<int64_t> moe_layers_;  // the main MoE layers in order: whose routing a traced step returns
    // Per trace setting and step kind: the logit columns its recorded choice reads.
    int64_t cols_recorded_[2][3] = {};
    StepSampler sampler_;  // forward_sample's device state (unavailable on a host backend)
};

}  // namespace moe
