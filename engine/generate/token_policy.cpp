#include "generate/token_policy.h"

namespace moe {

std::vector<float> TokenPolicy::masked(std::span<const float> logits) const {
    std::vector<float> l(logits.begin(), logits.end());
    vocabulary_.apply(l);
    return l;
}

int32_t TokenPolicy::choose(std::span<const float> logits, std::span<const int32_t> history) {
    return sampler_.sample(masked(logits), history);
}

std::vector<float> TokenPolicy::distribution(std::span<const float> logits, std::span<const int32_t> history) const {
    return sampler_.probabilities(masked(logits), history);
}

}  // namespace moe
