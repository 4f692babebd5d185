// Speculative sampling leaves the output distribution the target's: on a tiny model with two MTP
// modules and a vocabulary of 8 (one id masked), the first three of four tokens after a fixed
// prompt -- the first from the prefill, the next from a speculative step of two drafts (each
// accepted, resampled from the residual, or the bonus), or of one draft after a rejection -- are
// drawn 8000 times with seeds 0..7999 and
// compared with the exact joint distribution p(t1) p(t2 | t1) p(t3 | t1 t2) computed from the
// main model's logits through the same sampling rules. Chi-square over the 7^3 cells (cells with
// fewer than 5 expected draws pooled), rejected at the 0.1% level (critical value from the
// Wilson-Hilferty approximation); cells the rules make impossible (masked id, outside top-k) must
// stay empty. The test has the power to see a wrong rule: drawing a rejected draft's replacement
// from p instead of the residual max(0, p - q) scored chi2 950 and 1910 against the critical 280
// and 102 of the two cases below.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <vector>

#include "generate/generator.h"
#include "generate/token_policy.h"
#include "tiny_mtp_model.h"

namespace moe::test {
namespace {

using Triple = std::array<int32_t, 3>;

const std::vector<int32_t> kPrompt{1, 5, 2, 6};
constexpr int64_t kVocab = 8;
const VocabularyMask kMask{kVocab, 7};  // id 7 has no token

// The target's joint distribution of the three tokens after kPrompt.
std::map<Triple, double> exact_joint(Model& m, const SamplingParams& params) {
    Sampler sampler(params);
    TokenPolicy policy(kMask, sampler);
    const int64_t P = int64_t(kPrompt.size());
    std::map<Triple, double> joint;
    m.reset();
    const std::vector<float> p1 = policy.distribution(m.forward(kPrompt, 0, LogitRows::Last).row(0), kPrompt);
    for (int32_t a = 0; a < kVocab; ++a) {
        if (p1[size_t(a)] <= 0) continue;
        std::vector<int32_t> h1 = kPrompt;
        h1.push_back(a);
        const std::vector<float> p2 = policy.distribution(m.forward(std::vector<int32_t>{a}, P, LogitRows::Last).row(0), h1);
        for (int32_t b = 0; b < kVocab; ++b) {
            if (p2[size_t(b)] <= 0) continue;
            std::vector<int32_t> h2 = h1;
            h2.push_back(b);
            const std::vector<float> p3 =
                policy.distribution(m.forward(std::vector<int32_t>{b}, P + 1, LogitRows::Last).row(0), h2);
            for (int32_t c = 0; c < kVocab; ++c)
                if (p3[size_t(c)] > 0) joint[{a, b, c}] = double(p1[size_t(a)]) * p2[size_t(b)] * p3[size_t(c)];
        }
    }
    return joint;
}

struct ChiSquare {
    double statistic = 0;
    int dof = 0;
    double critical = 0;  // at the 0.1% level
    double total_variation = 0;
};

ChiSquare chi_square(const std::map<Triple, int64_t>& observed, const std::map<Triple, double>& expected_p, int64_t n) {
    ChiSquare r;
    double pooled_e = 0, pooled_o = 0;
    int bins = 0;
    for (const auto& [cell, p] : expected_p) {
        const double e = p * double(n);
        const auto it = observed.find(cell);
        const double o = it == observed.end() ? 0.0 : double(it->second);
        r.total_variation += 0.5 * std::abs(o / double(n) - p);
        if (e < 5) {
            pooled_e += e;
            pooled_o += o;
            continue;
        }
        r.statistic += (o - e) * (o - e) / e;
        ++bins;
    }
    if (pooled_e > 0) {
        r.statistic += (pooled_o - pooled_e) * (pooled_o - pooled_e) / pooled_e;
        ++bins;
    }
    r.dof = bins - 1;
    const double d = r.dof, z = 3.0902;  // the standard normal's 99.9% quantile
    r.critical = d * std::pow(1 - 2 / (9 * d) + z * std::sqrt(2 / (9 * d)), 3);
    return r;
}

void expect_target_distribution(const SamplingParams& params, const char* label) {
    TinyMtpSpec spec;
    spec.vocab = kVocab;
    spec.mtp_modules = 2;
    spec.residual_scale = 0.3f;
    auto target = make_tiny_mtp_model(spec), spec_model = make_tiny_mtp_model(spec);
    const std::map<Triple, double> exact = exact_joint(*target->model, params);

    Generator gen(*spec_model->model);
    GenerationOptions o;
    o.max_new_tokens = 4;  // 3 left after the prefill's token: the first step drafts 2
    o.ignore_eos = true;
    o.vocabulary = kMask;
    o.sampling = params;
    o.speculative.enabled = true;
    o.speculative.draft_tokens = 2;
    constexpr int64_t kSamples = 8000;
    std::map<Triple, int64_t> observed;
    SpeculativeStats stats;
    for (int64_t s = 0; s < kSamples; ++s) {
        o.sampling.seed = uint64_t(s);
        const GenerationResult r = gen.generate(kPrompt, o);
        ASSERT_EQ(r.tokens.size(), 4u);
        const Triple t{r.tokens[0], r.tokens[1], r.tokens[2]};
        ASSERT_TRUE(exact.count(t)) << "drew (" << t[0] << "," << t[1] << "," << t[2] << "), which the target never draws";
        ++observed[t];
        stats.add(r.speculation);
    }
    ASSERT_EQ(stats.drafted.size(), 2u);
    EXPECT_EQ(stats.drafted[1], kSamples);  // every first step drafted two tokens
    const ChiSquare c = chi_square(observed, exact, kSamples);
    std::printf("SPECULATIVE sampling %s: chi2 %.1f (dof %d, 0.1%% critical %.1f), total variation %.4f, "
                "acceptance per position %.3f %.3f\n",
                label, c.statistic, c.dof, c.critical, c.total_variation, stats.acceptance_rate(0),
                stats.acceptance_rate(1));
    EXPECT_LT(c.statistic, c.critical);
    // Both sides of the rule ran: drafts kept and drafts replaced by a residual draw.
    for (size_t j : {0, 1}) {
        EXPECT_GT(stats.acceptance_rate(j), 0.1) << "position " << j + 1;
        EXPECT_LT(stats.acceptance_rate(j), 0.95) << "position " << j + 1;
    }
}

TEST(SpeculativeSampling, OutputDistributionIsTheTargetsAtTemperatureOne) {
    SamplingParams p;
    p.temperature = 1.0f;
    expect_target_distribution(p, "temperature 1");
}

TEST(SpeculativeSampling, OutputDistributionIsTheTargetsWithTopKAndARepetitionPenalty) {
    SamplingParams p;
    p.temperature = 0.8f;
    p.top_k = 4;
    p.repetition_penalty = 1.5f;  // each draft and target row sees its own history
    expect_target_distribution(p, "top-k 4, repetition penalty 1.5");
}

}  // namespace
}  // namespace moe::test
