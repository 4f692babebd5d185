// Token sampling with HF transformers semantics.
//
// Order (HF's logits-processor list): repetition penalty, then temperature, top-k, top-p, min-p,
// then a draw. temperature <= 0 (or greedy = true) takes the argmax after the repetition penalty.
//   repetition penalty: for every distinct token seen so far, logit / p if logit > 0 else logit * p
//   top-k:  keep the k largest logits (ties at the k-th value are kept, as HF's "< kth value" test)
//   top-p:  keep the smallest set of most likely tokens whose probability sums to >= top_p (at least one;
//           among equal probabilities the lower ids come first)
//   min-p:  drop tokens whose probability is < min_p * max probability
// The draw uses std::mt19937_64 seeded with `seed`; the same seed and inputs give the same tokens
// on every platform (the uniform variate is built from raw 53 bits, not a std distribution).
// SamplingParams is in model/sampling_params.h: a backend that samples on the device
// (Backend::make_token_sampler, used by Model::forward_sample) applies the same processing with a
// counter-based draw of its own, so its tokens follow the same distribution, not the same stream.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "model/sampling_params.h"

namespace moe {

class Sampler {
public:
    explicit Sampler(SamplingParams params);

    // logits [vocab] of the next position; history: every token seen so far (prompt + generated).
    int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

    // The processed distribution sample() draws from (0 for masked tokens); for tests and UIs.
    std::vector<float> probabilities(std::span<const float> logits, std::span<const int32_t> history) const;

    // A draw from a distribution p [vocab] (non-negative, summing to about 1; zeros never drawn),
    // and a uniform variate in [0, 1): the sampler's own generator, for speculative decoding's
    // acceptance test and its residual draws.
    int32_t draw(std::span<const float> p);
    double uniform01();

    const SamplingParams& params() const { return params_; }
    bool is_greedy() const { return params_.is_greedy(); }
    void reseed(uint64_t seed);

private:
    std::vector<float> penalised(std::span<const float> logits, std::span<const int32_t> history) const;

    SamplingParams params_;
    std::mt19937_64 rng_;
};

// Index of the largest value; the lowest index on ties.
int32_t argmax(std::span<const float> values);

}  // namespace moe
