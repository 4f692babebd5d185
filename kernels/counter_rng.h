// Counter-based random numbers shared by the CPU reference and the CUDA kernels: the value for
// (seed, index) is a pure function, so a dropout mask is the same on every backend and its
// backward re-derives it instead of storing it. No CUDA or engine includes (the CPU build uses it).
#pragma once

#include <cstdint>

#ifdef __CUDACC__
#define MOE_HOST_DEVICE __host__ __device__
#else
#define MOE_HOST_DEVICE
#endif

namespace moe::rng {

// SplitMix64's finaliser: a bijective mix with full avalanche.
MOE_HOST_DEVICE inline uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// Uniform in [0, 1) with 24 random bits, for element `index` of the stream `seed`.
MOE_HOST_DEVICE inline float uniform(uint64_t seed, uint64_t index) {
    return float(mix64(mix64(seed) ^ index) >> 40) * (1.0f / 16777216.0f);
}

// Dropout's multiplier for element `index`: 0 with probability p, else 1 / (1 - p).
MOE_HOST_DEVICE inline float dropout_scale(uint64_t seed, uint64_t index, float p) {
    return uniform(seed, index) < p ? 0.0f : 1.0f / (1.0f - p);
}

}  // namespace moe::rng
