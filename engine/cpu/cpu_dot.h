// The CPU reference's inner products (cpu_dot.cpp): every matrix product of the CPU backend —
// linear layers, experts, the router, attention scores, the training GEMMs — ends in these.
//
// Each dot sums 16-element chunks into two 8-lane partial sums, then the lanes in a fixed tree, then
// the tail: the same order for a given n however many rows are computed together, so dot_rows of T
// tokens gives the bits dot gives for each (speculative verification of 2 rows must reproduce plain
// decoding's logits exactly). The two partial sums are independent chains (a single chain waits
// on each add's latency), and dot_rows reads x once for 4 weight rows. On x86-64 GCC builds each
// function also exists for x86-64-v3 (AVX2 + FMA), picked at load by the CPU (ifunc); the baseline
// build stays runnable anywhere. Results agree across the two within float rounding (FMA), and are
// fixed on one machine.
#pragma once

#include <cstdint>

namespace moe::cpu {

// Σ a[i] · b[i] over i < n, f32.
float dot(const float* a, const float* b, int64_t n);

// out[r] = dot(x, w + r · stride, n) for r < count, bit for bit.
void dot_rows(const float* x, const float* w, int64_t stride, int64_t count, int64_t n, float* out);

}  // namespace moe::cpu
