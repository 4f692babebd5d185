#include "hub/retry_policy.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>

namespace moe::hub {

double RetryPolicy::wait_seconds(int attempt, double retry_after) const {
    if (retry_after >= 0) return retry_after;
    thread_local std::mt19937 rng{std::random_device{}()};
    const double exp = std::min(max_seconds, base_seconds * std::pow(2.0, std::max(0, attempt - 1)));
    // "Full jitter" between half and the whole step: parallel downloads hitting one failure
    // (a CDN hiccup) do not come back in lockstep.
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    return exp * jitter(rng);
}

RetryPolicy default_retry_policy() {
    RetryPolicy p;
    if (const char* b = std::getenv("MOE_HUB_BACKOFF_BASE"); b != nullptr && *b) {
        const double v = std::atof(b);
        if (v > 0) {
            p.base_seconds = v;
            p.max_seconds = std::max(v, std::min(p.max_seconds, v * 16));
        }
    }
    return p;
}

}  // namespace moe::hub
