// The CPU inner products (engine/cpu/cpu_dot.h): dot_rows gives, for every row, the bits dot gives
// (whatever the row count: blocks of 4 and the rest; speculative verification relies on a 2-row
// product reproducing a 1-row one), and both are within float rounding of a double sum: |error| <=
// n · 2^-23 · Σ|a·b| (the recursive-summation bound, loose for the partial sums used). Lengths
// around the 16-element chunk and an odd, long one; unaligned starts.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "cpu/cpu_dot.h"

namespace moe {
namespace {

TEST(CpuDot, RowsGiveTheBitsOfDotAndStayWithinRounding) {
    std::mt19937 rng(20261208);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (const int64_t n : {0, 1, 7, 15, 16, 17, 31, 32, 33, 100, 2051}) {
        for (const int64_t count : {1, 3, 4, 6, 9}) {
            const int64_t stride = n + 3;  // rows at unaligned offsets
            std::vector<float> x(size_t(n) + 1), w(size_t(count * stride) + 1);
            for (float& v : x) v = u(rng);
            for (float& v : w) v = u(rng);
            const float* xs = x.data() + 1;  // not 16-byte aligned
            std::vector<float> got(static_cast<size_t>(count));
            cpu::dot_rows(xs, w.data(), stride, count, n, got.data());
            for (int64_t r = 0; r < count; ++r) {
                const float* row = w.data() + r * stride;
                const float single = cpu::dot(xs, row, n);
                EXPECT_EQ(got[size_t(r)], single) << "n " << n << ", " << count << " rows, row " << r;
                double exact = 0.0, magnitude = 0.0;
                for (int64_t i = 0; i < n; ++i) {
                    exact += double(xs[i]) * double(row[i]);
                    magnitude += std::abs(double(xs[i]) * double(row[i]));
                }
                EXPECT_LE(std::abs(double(single) - exact), double(n) * std::ldexp(1.0, -23) * magnitude + 1e-30)
                    << "n " << n;
            }
        }
    }
}

}  // namespace
}  // namespace moe
