// One sequence of a shared model, as a Model of its own, for a Generator that decodes alongside
// others (generate/decode_batcher.h): a one-token forward goes into the batcher's next batched
// step (a greedy one reads back only its id, chosen on the backend with the step's other greedy
// rows; a sampled one its logits, drawn from on the host); a longer forward (the prefill, in
// chunks of prefill_chunk tokens so the others' steps run between them), truncate and reset run
// with the model to itself, on this sequence. Plain decoding only: it has no MTP modules —
// speculative decoding holds forwards in the shared routing trace, so a speculative generation
// runs alone on the model itself.
// Creating one adds a sequence to the model (its caches are allocated then); destroying it removes
// the sequence.
#pragma once

#include <cstdint>
#include <functional>

#include "generate/decode_batcher.h"
#include "model/model.h"

namespace moe {

class SequenceModel final : public Model {
public:
    static constexpr int64_t kPrefillChunk = 512;
    explicit SequenceModel(DecodeBatcher& batcher, int64_t prefill_chunk = kPrefillChunk);
    ~SequenceModel() override;

    const ModelConfig& config() const override { return config_; }
    Logits forward(std::span<const int32_t> tokens, int64_t start_pos, LogitRows rows = LogitRows::All) override;
    void reset() override { truncate(0); }
    void truncate(int64_t n) override;
    int64_t cached_tokens() const override { return cached_; }
    int64_t max_context() const override { return max_context_; }
    // The step's greedy choice on the backend, with the batch's other greedy rows.
    int32_t forward_greedy(int32_t token, int64_t pos, int64_t vocab_limit = 0) override;

    int64_t sequence() const { return sequence_; }

private:
    void on_sequence(const std::function<void(Model&)>& f);

    DecodeBatcher& batcher_;
    const ModelConfig& config_;
    const int64_t max_context_;
    const int64_t prefill_chunk_;
    int64_t sequence_ = -1;
    int64_t cached_ = 0;  // mirrors the shared model's length of this sequence (only we change it)
};

}  // namespace moe
