// Deterministic random numbers for the data pipeline (shuffling, held-out choice, FIM).
//
// SplitMix64 (Steele, Lea & Flood 2014) with our own Fisher-Yates and bounded draws instead of
// std::mt19937 + std::shuffle: the standard library's distributions and shuffle differ between
// implementations, and a run must draw the same order from the same seed on every machine.
// The whole state is one uint64_t, so a DataCursor can carry it. Tested in tests/train_data.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace moe::train {

// SplitMix64's output function: a bijective 64-bit mix.
inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

class DataRng {
public:
    explicit DataRng(uint64_t state) : state_(state) {}

    uint64_t next() { return mix64(state_ += 0x9E3779B97F4A7C15ull); }

    // Uniform in [0, n) without modulo bias (draws below 2^64 mod n are rejected). n > 0.
    uint64_t below(uint64_t n) {
        const uint64_t threshold = (0 - n) % n;
        for (;;) {
            const uint64_t r = next();
            if (r >= threshold) return r % n;
        }
    }

    // Uniform in [0, 1) with 53 random bits.
    double unit() { return double(next() >> 11) * 0x1.0p-53; }

    uint64_t state() const { return state_; }

private:
    uint64_t state_;
};

// The seed of one named stream ("shuffle" epoch 3, "fim" document 17, ...) of a run's seed. Each
// decision draws from its own stream, so adding a draw in one place never shifts another.
inline uint64_t derive_seed(uint64_t seed, std::string_view stream, uint64_t index) {
    uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a of the stream name
    for (unsigned char c : stream) h = (h ^ c) * 0x100000001B3ull;
    return mix64(mix64(seed ^ h) + 0x9E3779B97F4A7C15ull * (index + 1));
}

// Fisher-Yates with DataRng: the same permutation everywhere for the same state.
template <class T>
void shuffle_in_place(std::vector<T>& v, DataRng& rng) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[size_t(rng.below(i))]);
}

}  // namespace moe::train
