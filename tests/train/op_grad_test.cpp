// Every op of the op table (op_table.cpp): its backward against central finite differences of its
// forward on the CPU reference. The probe loss is L = Σ_outputs r ⊙ y with fixed random r, summed
// in float64; the gradient of L w.r.t. a sampled input element is (L(x+h) − L(x−h)) / 2h, compared
// with what the op's backward gives for dy = r. Tolerance per case (op_table.h):
// |g − g_fd| <= tol · max|g_fd| + 1e-5 over the sampled elements of each input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "cpu/cpu_backend.h"
#include "op_table.h"

namespace moe::test {
namespace {

double probe(const OpOutputs& y, const OpOutputs& r) {
    double s = 0.0;
    for (size_t i = 0; i < y.size(); ++i)
        for (size_t j = 0; j < y[i].size(); ++j) s += double(r[i][j]) * double(y[i][j]);
    return s;
}

bool same_discrete(const OpCase& c, const OpOutputs& a, const OpOutputs& b) {
    for (size_t i : c.discrete_outputs)
        if (a[i] != b[i]) return false;
    return true;
}

class OpGrad : public ::testing::TestWithParam<size_t> {};

TEST_P(OpGrad, BackwardMatchesFiniteDifferences) {
    const OpCase& c = op_table()[GetParam()];
    CpuBackend cpu;
    const OpInstance base = c.make(20261205);
    const OpOutputs y0 = c.forward(cpu, base);
    std::mt19937_64 rng(99);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    OpOutputs r = y0;
    for (size_t i = 0; i < r.size(); ++i)
        for (float& v : r[i]) v = std::count(c.discrete_outputs.begin(), c.discrete_outputs.end(), i) ? 0.0f : dist(rng);
    const OpOutputs grads = c.backward(cpu, base, r);

    size_t g = 0, checked = 0, skipped = 0;
    for (size_t in = 0; in < base.inputs.size(); ++in) {
        if (!base.inputs[in].differentiable) continue;
        ASSERT_LT(g, grads.size()) << c.name << ": backward returned too few gradients";
        const std::vector<float>& analytic = grads[g++];
        ASSERT_EQ(analytic.size(), base.inputs[in].f32.size()) << c.name << " d" << base.inputs[in].name;
        // Up to 24 elements per input, spread over it.
        const size_t n = analytic.size(), stride = std::max<size_t>(1, n / 24);
        std::vector<std::pair<double, double>> pairs;  // (analytic, fd)
        for (size_t e = (n > 24 ? 7 % stride : 0); e < n; e += stride) {
            OpInstance plus = base, minus = base;
            const double x = base.inputs[in].f32[e];
            const double h = c.fd_step * std::max(1.0, std::abs(x));
            plus.inputs[in].f32[e] = float(x + h);
            minus.inputs[in].f32[e] = float(x - h);
            const double h_eff = (double(plus.inputs[in].f32[e]) - double(minus.inputs[in].f32[e])) / 2.0;
            const OpOutputs yp = c.forward(cpu, plus), ym = c.forward(cpu, minus);
            if (!same_discrete(c, yp, y0) || !same_discrete(c, ym, y0)) {
                ++skipped;
                continue;
            }
            pairs.push_back({analytic[e], (probe(yp, r) - probe(ym, r)) / (2.0 * h_eff)});
        }
        double scale = 0.0;
        for (auto [a, f] : pairs) scale = std::max(scale, std::abs(f));
        for (auto [a, f] : pairs) {
            EXPECT_LE(std::abs(a - f), c.fd_tolerance * scale + 1e-5)
                << c.name << " d" << base.inputs[in].name << ": analytic " << a << " vs finite difference " << f;
            ++checked;
        }
    }
    EXPECT_EQ(g, grads.size()) << c.name << ": backward returned more gradients than differentiable inputs";
    EXPECT_GT(checked, 3 * skipped) << c.name << ": too many samples crossed a selection change";
}

std::string case_name(const ::testing::TestParamInfo<size_t>& info) {
    return op_table()[info.param].name;
}

INSTANTIATE_TEST_SUITE_P(OpTable, OpGrad, ::testing::Range<size_t>(0, op_table().size()), case_name);

// A routed expert that receives no token has an exactly zero gradient (expert 3 of the moe cases).
TEST(OpGradMoe, ExpertWithoutTokensHasExactlyZeroGradient) {
    for (const OpCase& c : op_table()) {
        if (c.name.rfind("moe_experts", 0) != 0) continue;
        CpuBackend cpu;
        const OpInstance in = c.make(5);
        OpOutputs r = c.forward(cpu, in);
        for (float& v : r[0]) v = 1.0f;
        const OpOutputs g = c.backward(cpu, in, r);
        // gradients: x, w, gate [E*I, H], up, down [E*H, I], then LoRA a/b per projection.
        const int64_t I = 5, H = 8, E3 = 3, rk = 2;
        for (size_t k = 0; k < 5 * H; ++k) EXPECT_EQ(g[2][size_t(E3 * I * H) + k], 0.0f) << c.name << " gate";
        for (size_t k = 0; k < 5 * H; ++k) EXPECT_EQ(g[3][size_t(E3 * I * H) + k], 0.0f) << c.name << " up";
        for (size_t k = 0; k < size_t(H * I); ++k) EXPECT_EQ(g[4][size_t(E3 * H * I) + k], 0.0f) << c.name << " down";
        if (g.size() > 5) {
            for (size_t k = 0; k < size_t(rk * H); ++k) EXPECT_EQ(g[5][size_t(E3 * rk * H) + k], 0.0f) << c.name << " lora";
        }
    }
}

}  // namespace
}  // namespace moe::test
