// How a generation turns one row of logits into a token: the vocabulary mask first (ids without a
// token are never produced), then the sampler's processing over the history. Plain decoding, the
// MTP drafts and speculative verification all choose through this one policy, so a draft and its
// target see the same rules.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "generate/sampler.h"
#include "generate/vocabulary.h"

namespace moe {

class TokenPolicy {
public:
    TokenPolicy(const VocabularyMask& vocabulary, Sampler& sampler) : vocabulary_(vocabulary), sampler_(sampler) {}

    bool greedy() const { return sampler_.is_greedy(); }
    // Greedy without a repetition penalty needs nothing but the argmax of the masked logits: the
    // model can choose on the backend (Model::forward_greedy / forward_greedy_rows). Any other
    // plain step can too where the model samples there (Model::forward_sample with the sampler's
    // params and vocab_limit(): the same processing, a device draw).
    bool argmax_only() const { return greedy() && sampler_.params().repetition_penalty == 1.0f; }
    // The column limit those backend choices take (0: nothing masked).
    int64_t vocab_limit() const { return vocabulary_.masked() > 0 ? vocabulary_.sampleable() : 0; }

    // The token sample() would choose after `history` (draws from the sampler's generator unless greedy).
    int32_t choose(std::span<const float> logits, std::span<const int32_t> history);
    // The processed distribution [vocab] the sampled choice draws from (masked ids 0; one-hot when greedy).
    std::vector<float> distribution(std::span<const float> logits, std::span<const int32_t> history) const;

    Sampler& sampler() { return sampler_; }

private:
    std::vector<float> masked(std::span<const float> logits) const;

    const VocabularyMask& vocabulary_;
    Sampler& sampler_;
};

}  // namespace moe
