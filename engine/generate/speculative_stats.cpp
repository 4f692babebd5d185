#include "generate/speculative_stats.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "core/error.h"

namespace moe {

double safe_ratio(double numerator, double denominator) { return denominator > 0 ? numerator / denominator : 0.0; }

void SpeculativeStats::record_step(int64_t k, int64_t m) {
    if (k < 1 || m < 0 || m > k)
        throw_invalid_argument("speculative step: " + std::to_string(m) + " of " + std::to_string(k) + " drafts accepted");
    if (drafted.size() < size_t(k)) {
        drafted.resize(size_t(k), 0);
        accepted.resize(size_t(k), 0);
    }
    ++steps;
    for (int64_t j = 0; j < k; ++j) ++drafted[size_t(j)];
    for (int64_t j = 0; j < m; ++j) ++accepted[size_t(j)];
}

void SpeculativeStats::add(const SpeculativeStats& o) {
    steps += o.steps;
    if (drafted.size() < o.drafted.size()) {
        drafted.resize(o.drafted.size(), 0);
        accepted.resize(o.drafted.size(), 0);
    }
    for (size_t j = 0; j < o.drafted.size(); ++j) {
        drafted[j] += o.drafted[j];
        accepted[j] += o.accepted[j];
    }
}

int64_t SpeculativeStats::drafted_total() const { return std::accumulate(drafted.begin(), drafted.end(), int64_t(0)); }

int64_t SpeculativeStats::accepted_total() const {
    return std::accumulate(accepted.begin(), accepted.end(), int64_t(0));
}

double SpeculativeStats::mean_accepted_length() const {
    return safe_ratio(double(accepted_total() + steps), double(steps));
}

double SpeculativeStats::acceptance_rate(size_t j) const {
    return j < drafted.size() ? safe_ratio(double(accepted[j]), double(drafted[j])) : 0.0;
}

std::vector<double> SpeculativeStats::acceptance_rates() const {
    std::vector<double> out;
    for (size_t j = 0; j < drafted.size(); ++j) out.push_back(acceptance_rate(j));
    return out;
}

double SpeculativeStats::acceptance_rate() const { return safe_ratio(double(accepted_total()), double(drafted_total())); }

Json SpeculativeStats::to_json() const {
    return Json{{"steps", steps},
                {"drafted", drafted_total()},
                {"accepted", accepted_total()},
                {"drafted_per_position", drafted},
                {"accepted_per_position", accepted},
                {"acceptance_rate_per_position", acceptance_rates()},
                {"acceptance_rate", acceptance_rate()},
                {"mean_accepted_length", mean_accepted_length()}};
}

}  // namespace moe
