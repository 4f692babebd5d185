// What a sampled choice of the next token applies: the parameters users set (the API's temperature,
// top_p, ... and the CLI's flags). Plain data shared by the host Sampler (generate/sampler.h, which
// documents the semantics) and the backends that sample on the device (Backend::make_token_sampler).
#pragma once

#include <cstdint>

namespace moe {

struct SamplingParams {
    bool greedy = false;
    float temperature = 1.0f;
    int64_t top_k = 0;                // 0: off
    float top_p = 1.0f;               // 1: off
    float min_p = 0.0f;               // 0: off
    float repetition_penalty = 1.0f;  // 1: off
    uint64_t seed = 0;

    bool operator==(const SamplingParams&) const = default;
    // Argmax after the repetition penalty: greedy, or no temperature.
    bool is_greedy() const { return greedy || temperature <= 0.0f; }
};

}  // namespace moe
