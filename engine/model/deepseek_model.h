// The DeepSeek V2/V3 graph (V3, R1, Moonlight, V2, V2-Lite): MLA attention with a latent KV cache,
// dense FFNs below first_k_dense_replace, MoE with shared experts above, and the optional MTP layer.
// Shared docs/deepseek-architecture.md §3 and §4 give every formula; HF-hub remote code semantics.
#pragma once

#include <array>
#include <utility>
#include <vector>

#include "model/deepseek_weights.h"
#include "model/hidden_history.h"
#include "model/kv_span.h"
#include "model/model.h"
#include "model/sequence_set.h"
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
    int64_t cached_tokens() const override { return seqs_.current().cached; }
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
    using Span = KvSpan<Tensor>;  // rows into one sequence's latent cache [capacity, kv_lora + qk_rope]
    // The most rows a recorded step takes (a speculative verification of up to 3 drafts): the
    // backends' few-token kernels (CUDA: fused MoE up to 4 rows) serve them, like a one-token step.
    static constexpr int64_t kRecordedRows = 4;
    // What one sequence holds: its caches, how much of them is valid, its MTP inputs, and the
    // keys its recorded decode steps go by (a recording captures the cache addresses).
    struct Sequence {
        std::vector<Tensor> caches;  // per main layer [capacity, kv_lora + qk_rope]
        int64_t cached = 0;
        // The MTP modules' inputs (model/hidden_history.h): level 0 the main post-final-norm
        // hidden, level j module j-1's block output. One level per module.
        std::vector<HiddenHistory> hidden;
        std::vector<Tensor> mtp_caches;   // per module [capacity, kv_lora + qk_rope]
        std::vector<int64_t> mtp_cached;  // per module
        // Per trace setting, step kind and row count: the logit columns its recorded choice
        // reads, and the recording's key (distinct addresses inside this sequence).
        int64_t cols_recorded[2][3][kRecordedRows] = {};
        char step_keys[2][3][kRecordedRows] = {};
        // Per MTP module, trace setting and row count: its draft step's key.
        std::vector<std::array<std::array<char, kRecordedRows>, 2>> mtp_step_keys;
    };
    std::unique_ptr<Sequence> make_sequence() const;
    void forget_steps(const Sequence& s);
    void truncate_sequence(Sequence& s, int64_t n);

    // h [T, hidden] += pending (the previous layer's FFN output); h += attn(norm(h)); then
    // pending = ffn(norm(h)), left for the next norm to add. spans: where h's rows go in the caches.
    void decoder_layer(Tensor& h, Tensor& pending, const DecoderLayerWeights& w, std::span<const Span> spans);
    // x [T, hidden] (normed) -> [T, hidden]
    Tensor attention(const Tensor& x, const MlaWeights& w, std::span<const Span> spans);
    Tensor moe(const Tensor& x, const MoeWeights& w, int64_t layer);
    // What a recorded step ends in: its logits, the argmax (forward_greedy, the rows of a
    // speculative verification) or a draw (forward_sample).
    enum class StepKind { Logits, Greedy, Sampled };
    // What a recorded step hands back: the logits [T, vocab], or only the chosen ids [T].
    struct StepOutput {
        Logits logits;
        std::vector<int32_t> tokens;
    };
    // forward() / forward_greedy() / forward_sample() of one token, and forward_greedy_rows() of up
    // to kRecordedRows, through Backend::decode_step (a replayed device graph on CUDA); Greedy and
    // Sampled choose among the first `cols` logits on the backend and return only the ids. Sampled
    // takes one token.
    StepOutput forward_rows(std::span<const int32_t> tokens, int64_t pos, StepKind kind, int64_t cols = 0);
    // The main layers over tokens [T] at start_pos: returns the post-final-norm hidden [T, hidden]
    // and keeps it as the MTP modules' level-0 input.
    Tensor forward_hidden(std::span<const int32_t> tokens, int64_t start_pos);
    // One recorded decode step per (sequence, routing traced, step kind, rows) combination, and one
    // draft step per (sequence, MTP module, routing traced, rows).
    const void* step_owner(const Sequence& s, bool traced, StepKind kind, int64_t rows) const;
    const void* mtp_step_owner(const Sequence& s, size_t module, bool traced, int64_t rows) const;
    // MTP module j's last-row logits over next_tokens [n] at start_pos from its input rows h_prev
    // [n, hidden], as one recorded step; keeps its block output as module j+1's input.
    Logits mtp_draft_step(size_t j, std::span<const int32_t> next_tokens, int64_t start_pos,
                          std::span<const float> h_prev);
    // Hands the routing collected in a batched step to the trace: one forward per row.
    void record_batch_routing(std::span<const BatchRow> rows,
                              const std::vector<std::pair<int64_t, RouterOutput>>& routing);
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
    SequenceSet<Sequence> seqs_;  // after what make_sequence() reads

    // Inside a decode step's body: moe() collects each layer's routing here instead of reading it
    // back (a read would synchronise inside a recorded step).
    std::vector<std::pair<int64_t, RouterOutput>>* step_routing_ = nullptr;
    std::vector<int64_t> moe_layers_;  // the main MoE layers in order: whose routing a traced step returns
    StepSampler sampler_;  // forward_sample's device state (unavailable on a host backend)
};

}  // namespace moe
