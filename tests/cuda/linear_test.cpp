// CUDA linear vs the CPU reference: the GEMV path (T <= 8, f32 activations) and the cuBLAS path
// (bf16 activations), with and without bias, aligned and unaligned widths, NaN parity; and the
// multi-projection GEMV (linear_multi) against one CPU linear per weight.
#include <cmath>
#include <string>
#include <vector>

#include "cuda_test_util.h"

namespace moe::test {
namespace {

using CudaLinear = CudaTest;

struct Case {
    int64_t T, in, out;
    bool bias;
    double tol;
};

TEST_F(CudaLinear, MatchesCpuOnBothPaths) {
    const Case cases[] = {{1, 2048, 1000, false, kNmseF32}, {1, 100, 37, true, kNmseF32},   {3, 512, 300, true, kNmseF32},
                          {8, 1408, 64, false, kNmseF32},   {9, 256, 129, true, kNmseBf16}, {64, 2048, 576, false, kNmseBf16},
                          {33, 1536, 256, true, kNmseBf16}};
    uint64_t s = seed;
    for (const Case& c : cases) {
        auto [cx, gx] = both(random_f32(size_t(c.T * c.in), ++s), c.T, c.in);
        auto [cw, gw] = both_weights(random_bf16_exact(size_t(c.out * c.in), ++s), c.out, c.in);
        auto [cb, gb] = both(random_f32(size_t(c.out), ++s), 1, c.out);
        const auto g = gpu->download(gpu->linear(gx, gw, c.bias ? &gb : nullptr));
        const auto r = cpu.download(cpu.linear(cx, cw, c.bias ? &cb : nullptr));
        const auto ok = close(g, r, c.tol);
        EXPECT_TRUE(ok) << "T " << c.T << " in " << c.in << " out " << c.out;
        if (!ok) {  // where the error sits (rows / columns) says which kernel or tile went wrong
            for (int64_t t = 0; t < c.T; ++t) {
                double worst = 0;
                int64_t at = 0;
                for (int64_t o = 0; o < c.out; ++o) {
                    const double e = std::abs(double(g[size_t(t * c.out + o)]) - r[size_t(t * c.out + o)]);
                    if (e > worst) worst = e, at = o;
                }
                if (worst > 1e-2) std::printf("  row %ld: max |err| %.4g at column %ld\n", long(t), worst, long(at));
            }
        }
    }
}

// linear_multi: several projections of one x in one split-K launch (T <= 8, aligned widths), the
// Backend default (one linear per weight) otherwise; each output must match the CPU's linear.
TEST_F(CudaLinear, MultiMatchesCpu) {
    struct MultiCase {
        int64_t T, in;
        std::vector<int64_t> outs;
        bool bias;
        double tol;
    };
    const MultiCase cases[] = {{1, 2048, {3072, 576}, false, kNmseF32},     // moonlight q | kv_a
                               {2, 1536, {1536, 256, 256}, true, kNmseF32}, // qwen q | k | v
                               {5, 512, {7, 300, 64, 1}, true, kNmseF32},   // odd row counts, 4 segments
                               {1, 100, {37, 12}, true, kNmseF32},          // unaligned width: the default path
                               {12, 256, {128, 64}, true, kNmseBf16}};      // many tokens: the default path
    uint64_t s = seed;
    for (const MultiCase& c : cases) {
        SCOPED_TRACE("T " + std::to_string(c.T) + " in " + std::to_string(c.in));
        auto [cx, gx] = both(random_f32(size_t(c.T * c.in), ++s), c.T, c.in);
        std::vector<Weight> cws, gws;
        std::vector<Tensor> cbs, gbs;
        for (int64_t out : c.outs) {
            auto [cw, gw] = both_weights(random_bf16_exact(size_t(out * c.in), ++s), out, c.in);
            auto [cb, gb] = both(random_f32(size_t(out), ++s), 1, out);
            cws.push_back(cw), gws.push_back(gw), cbs.push_back(cb), gbs.push_back(gb);
        }
        std::vector<const Weight*> cwp, gwp;
        std::vector<const Tensor*> cbp, gbp;
        for (size_t i = 0; i < c.outs.size(); ++i) {
            cwp.push_back(&cws[i]), gwp.push_back(&gws[i]);
            cbp.push_back(c.bias ? &cbs[i] : nullptr), gbp.push_back(c.bias ? &gbs[i] : nullptr);
        }
        const auto g = gpu->linear_multi(gx, gwp, gbp);
        ASSERT_EQ(g.size(), c.outs.size());
        for (size_t i = 0; i < c.outs.size(); ++i) {
            ASSERT_EQ(g[i].rows(), c.T);
            ASSERT_EQ(g[i].cols(), c.outs[i]);
            EXPECT_TRUE(close(gpu->download(g[i]), cpu.download(cpu.linear(cx, cws[i], cbp[i])), c.tol)) << "segment " << i;
        }
    }
}

TEST_F(CudaLinear, NanInOneRowStaysInThatRow) {
    for (int64_t T : {4, 16}) {
        auto x = random_f32(size_t(T * 256), seed + T);
        x[size_t(256 + 7)] = NAN;
        auto [cx, gx] = both(x, T, 256);
        auto [cw, gw] = both_weights(random_bf16_exact(size_t(128 * 256), seed), 128, 256);
        EXPECT_TRUE(close(gpu->download(gpu->linear(gx, gw)), cpu.download(cpu.linear(cx, cw)), kNmseBf16)) << "T " << T;
    }
}

TEST_F(CudaLinear, RejectsAMismatchedWidth) {
    auto [cw, gw] = both_weights(random_bf16_exact(64, seed), 8, 8);
    EXPECT_THROW(gpu->linear(gpu->alloc(2, 9), gw), std::exception);
}

}  // namespace
}  // namespace moe::test
