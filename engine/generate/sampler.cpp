#include "generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_set>

#include "core/error.h"

namespace moe {

namespace {

constexpr float kMasked = -std::numeric_limits<float>::infinity();

void apply_top_k(std::vector<float>& logits, int64_t k) {
    if (k <= 0 || k >= int64_t(logits.size())) return;
    std::vector<float> sorted = logits;
    std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<float>());
    const float kth = sorted[size_t(k - 1)];
    for (float& v : logits)
        if (v < kth) v = kMasked;
}

// Softmax in double over the unmasked logits.
std::vector<double> softmax(const std::vector<float>& logits) {
    const float max_v = *std::max_element(logits.begin(), logits.end());
    std::vector<double> p(logits.size());
    double sum = 0.0;
    for (size_t i = 0; i < logits.size(); ++i) {
        p[i] = logits[i] == kMasked ? 0.0 : std::exp(double(logits[i]) - double(max_v));
        sum += p[i];
    }
    for (double& v : p) v /= sum;
    return p;
}

void apply_top_p(std::vector<float>& logits, float top_p) {
    if (top_p >= 1.0f) return;
    const std::vector<double> p = softmax(logits);
    std::vector<int32_t> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return p[size_t(a)] > p[size_t(b)]; });
    double cumulative = 0.0;
    size_t keep = 0;
    while (keep < order.size()) {  // keep tokens until the kept mass reaches top_p (at least one)
        cumulative += p[size_t(order[keep])];
        ++keep;
        if (cumulative >= double(top_p)) break;
    }
    for (size_t i = keep; i < order.size(); ++i) logits[size_t(order[i])] = kMasked;
}

void apply_min_p(std::vector<float>& logits, float min_p) {
    if (min_p <= 0.0f) return;
    const std::vector<double> p = softmax(logits);
    const double threshold = double(min_p) * *std::max_element(p.begin(), p.end());
    for (size_t i = 0; i < p.size(); ++i)
        if (p[i] < threshold) logits[i] = kMasked;
}

}  // namespace

int32_t argmax(std::span<const float> values) {
    if (values.empty()) throw_invalid_argument("argmax of an empty span");
    return int32_t(std::max_element(values.begin(), values.end()) - values.begin());
}

Sampler::Sampler(SamplingParams params) : params_(params), rng_(params.seed) {
    if (params_.repetition_penalty <= 0.0f) throw_invalid_argument("repetition_penalty must be > 0");
    if (params_.top_p <= 0.0f || params_.top_p > 1.0f) throw_invalid_argument("top_p must be in (0, 1]");
    if (params_.min_p < 0.0f || params_.min_p > 1.0f) throw_invalid_argument("min_p must be in [0, 1]");
    if (params_.top_k < 0) throw_invalid_argument("top_k must be >= 0");
}

void Sampler::reseed(uint64_t seed) {
    params_.seed = seed;
    rng_.seed(seed);
}

std::vector<float> Sampler::penalised(std::span<const float> logits, std::span<const int32_t> history) const {
    std::vector<float> out(logits.begin(), logits.end());
    if (params_.repetition_penalty == 1.0f) return out;
    const std::unordered_set<int32_t> seen(history.begin(), history.end());
    for (int32_t id : seen) {
        if (id < 0 || size_t(id) >= out.size()) continue;
        float& v = out[size_t(id)];
        v = v > 0.0f ? v / params_.repetition_penalty : v * params_.repetition_penalty;
    }
    return out;
}

std::vector<float> Sampler::probabilities(std::span<const float> logits, std::span<const int32_t> history) const {
    if (logits.empty()) throw_invalid_argument("sampling from empty logits");
    std::vector<float> l = penalised(logits, history);
    if (is_greedy()) {
        std::vector<float> one_hot(l.size(), 0.0f);
        one_hot[size_t(argmax(l))] = 1.0f;
        return one_hot;
    }
    for (float& v : l) v /= params_.temperature;
    apply_top_k(l, params_.top_k);
    apply_top_p(l, params_.top_p);
    apply_min_p(l, params_.min_p);
    const std::vector<double> p = softmax(l);
    return std::vector<float>(p.begin(), p.end());
}

double Sampler::uniform01() {
    return double(rng_() >> 11) * 0x1.0p-53;  // [0, 1) from the top 53 bits
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
    if (is_greedy()) return argmax(penalised(logits, history));
    return draw(probabilities(logits, history));
}

int32_t Sampler::draw(std::span<const float> p) {
    if (p.empty()) throw_invalid_argument("drawing from an empty distribution");
    const double u = uniform01();
    double cumulative = 0.0;
    int32_t last_nonzero = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        if (p[i] <= 0.0f) continue;
        cumulative += double(p[i]);
        last_nonzero = int32_t(i);
        if (u < cumulative) return int32_t(i);
    }
    return last_nonzero;  // rounding left the total just under 1
}

}  // namespace moe
