// Acceptance counters of speculative decoding (generate/speculative.h), per request and summed.
//
// A verification step drafts k tokens (positions 1..k) and accepts the longest prefix the target
// agrees with, plus one token of its own (the bonus). Position j counts as drafted in every step
// that drafted at least j tokens, and as accepted when the step kept drafts 1..j. So:
//   acceptance rate of position j  = accepted[j] / drafted[j]        (DeepSeek-V3's "acceptance
//                                     rate of the second token" is position 1)
//   mean accepted length           = (accepted drafts + steps) / steps: the tokens each verification
//                                     forward produced, bonus included (1..k+1; SGLang's
//                                     "accept length")
// Every ratio is 0, never NaN, while its denominator is 0.
#pragma once

#include <cstdint>
#include <vector>

#include "core/strict_json.h"

namespace moe {

struct SpeculativeStats {
    int64_t steps = 0;              // verification forwards that checked at least one draft
    std::vector<int64_t> drafted;   // [position - 1]: steps that drafted a token at that position
    std::vector<int64_t> accepted;  // [position - 1]: steps that kept the draft at that position

    // One verification step: k drafts, the first m of them accepted (0 <= m <= k).
    void record_step(int64_t k, int64_t m);
    void add(const SpeculativeStats& other);

    int64_t drafted_total() const;
    int64_t accepted_total() const;
    double mean_accepted_length() const;
    double acceptance_rate(size_t position_index) const;  // 0-based index: position 1 is index 0
    std::vector<double> acceptance_rates() const;
    double acceptance_rate() const;  // all positions: accepted_total / drafted_total

    // {"steps", "drafted", "accepted", "drafted_per_position", "accepted_per_position",
    //  "acceptance_rate_per_position", "acceptance_rate", "mean_accepted_length"}
    Json to_json() const;
};

// A ratio that is 0 when the denominator is 0.
double safe_ratio(double numerator, double denominator);

}  // namespace moe
