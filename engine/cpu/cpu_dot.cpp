// The CPU inner products (cpu_dot.h): fixed summation order, independent partial sums, x shared
// by 4 rows, an x86-64-v3 clone beside the baseline one.
#include "cpu/cpu_dot.h"

#include <cstring>

// GCC's function multiversioning: the x86-64-v3 body where the CPU has AVX2 and FMA, else the
// baseline one (clang and other targets: the baseline only).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define MOE_CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MOE_CPU_CLONES
#endif

// The 32-byte vectors below only pass between always-inlined helpers, never across a call: GCC's
// note that their calling convention differs with and without AVX does not apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace moe::cpu {
namespace {

typedef float v8 __attribute__((vector_size(32)));

__attribute__((always_inline)) inline v8 load8(const float* p) {
    v8 v;
    std::memcpy(&v, p, sizeof v);  // unaligned rows
    return v;
}

// The two partial sums' lanes, in a fixed tree.
__attribute__((always_inline)) inline float lane_sum(const v8& a, const v8& b) {
    const v8 s = a + b;
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

// out[r] = Σ_i x[i] · w[r · stride + i] for r < R: chunks of 16 into two 8-lane sums per row, x
// loaded once per chunk for all R rows.
template <int R>
__attribute__((always_inline)) inline void dots(const float* x, const float* w, int64_t stride, int64_t n,
                                                float* out) {
    v8 acc[R][2] = {};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const v8 x0 = load8(x + i), x1 = load8(x + i + 8);
        for (int r = 0; r < R; ++r) {
            acc[r][0] += x0 * load8(w + r * stride + i);
            acc[r][1] += x1 * load8(w + r * stride + i + 8);
        }
    }
    for (int r = 0; r < R; ++r) {
        float tail = 0.0f;
        for (int64_t j = i; j < n; ++j) tail += x[j] * w[r * stride + j];
        out[r] = lane_sum(acc[r][0], acc[r][1]) + tail;
    }
}

}  // namespace

MOE_CPU_CLONES float dot(const float* a, const float* b, int64_t n) {
    float out;
    dots<1>(a, b, 0, n, &out);
    return out;
}

MOE_CPU_CLONES void dot_rows(const float* x, const float* w, int64_t stride, int64_t count, int64_t n, float* out) {
    int64_t r = 0;
    for (; r + 4 <= count; r += 4) dots<4>(x, w + r * stride, stride, n, out + r);
    for (; r < count; ++r) dots<1>(x, w + r * stride, stride, n, out + r);
}

}  // namespace moe::cpu
