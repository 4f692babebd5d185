// Shared helpers for the op tests: deterministic random data and comparisons.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "cpu/cpu_backend.h"

namespace moe::test {

// n values uniform in [lo, hi), from a fixed seed so every run sees the same numbers.
inline std::vector<float> random_values(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

inline float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    float m = a.size() == b.size() ? 0.0f : INFINITY;
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::abs(a[i] - b[i]));
    return m;
}

inline float max_abs(const std::vector<float>& a) {
    float m = 0.0f;
    for (float x : a) m = std::max(m, std::abs(x));
    return m;
}

// Reference y[t, o] = Σ_i x[t, i] * w[o, i] (+ b[o]) in double.
inline std::vector<float> naive_linear(const std::vector<float>& x, int64_t T, int64_t in, const std::vector<float>& w,
                                       int64_t out, const std::vector<float>* b = nullptr) {
    std::vector<float> y(size_t(T * out));
    for (int64_t t = 0; t < T; ++t)
        for (int64_t o = 0; o < out; ++o) {
            double s = b ? double((*b)[size_t(o)]) : 0.0;
            for (int64_t i = 0; i < in; ++i) s += double(x[size_t(t * in + i)]) * double(w[size_t(o * in + i)]);
            y[size_t(t * out + o)] = float(s);
        }
    return y;
}

}  // namespace moe::test
