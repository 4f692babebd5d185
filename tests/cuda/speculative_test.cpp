// Speculative decoding on the CUDA backend, through the same model graph and Generator as the CPU
// reference (tests/generate/speculative_*_test.cpp), on the tiny V3 models with 1 and 2 MTP modules
// of tests/generate/tiny_mtp_model.h built on the device.
//
// Greedy: plain decoding runs one-token steps (the recorded decode graph, the argmax on the
// device) while speculation verifies k+1 tokens in one batched forward (prefill kernels, bf16
// tensor-core inputs), so the two can round differently. Stated rule: the tokens are equal, or
// they first differ at a position where the two paths' logits disagree by at least a quarter of
// the gap between the two chosen tokens (a near-tie the paths' rounding decides; the same rule as
// model_parity_test's greedy check). The routing counters and the sampled path are exact checks.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "cuda_test_util.h"
#include "generate/generator.h"
#include "generate/tiny_mtp_model.h"

namespace moe::test {
namespace {

GenerationOptions greedy(int64_t max_new, bool speculative) {
    GenerationOptions o;
    o.max_new_tokens = max_new;
    o.ignore_eos = true;
    o.sampling.greedy = true;
    o.speculative.enabled = speculative;
    return o;
}

// At the first differing position i: the plain path's logits (one-token step after the prefix)
// and the batched path's (the whole prefix in one forward), and whether the two choices are a
// near-tie by the rule above.
bool explained_divergence(Model& m, const std::vector<int32_t>& prompt, const std::vector<int32_t>& plain,
                          const std::vector<int32_t>& spec, size_t i) {
    std::vector<int32_t> prefix = prompt;
    prefix.insert(prefix.end(), plain.begin(), plain.begin() + std::ptrdiff_t(i));
    m.reset();
    const Logits batched = m.forward(prefix, 0, LogitRows::Last);
    m.reset();
    m.forward(std::span(prefix).first(prefix.size() - 1), 0);
    const Logits stepped = m.forward(std::span(prefix).last(1), int64_t(prefix.size()) - 1, LogitRows::Last);
    float err = 0;
    for (int64_t c = 0; c < batched.cols; ++c)
        err = std::max(err, std::abs(batched.row(0)[size_t(c)] - stepped.row(0)[size_t(c)]));
    const float gap = std::abs(stepped.row(0)[size_t(plain[i])] - stepped.row(0)[size_t(spec[i])]);
    std::printf("CUDA speculative: tokens differ at %zu: gap %.3g between the choices, paths differ by %.3g\n", i, gap,
                err);
    return gap <= 4 * err;
}

TEST(CudaSpeculative, GreedyMatchesPlainGreedyUpToNearTies) {
    MOE_SKIP_WITHOUT_CUDA();
    for (int64_t modules : {1, 2}) {
        SCOPED_TRACE("MTP modules " + std::to_string(modules));
        TinyMtpSpec spec;
        spec.mtp_modules = modules;
        CudaBackend be;
        auto plain_model = load_tiny_mtp_model(spec, be), spec_model = load_tiny_mtp_model(spec, be);
        Generator plain_gen(*plain_model), spec_gen(*spec_model);
        std::mt19937 rng(21);
        SpeculativeStats total;
        int exact = 0;
        for (int p = 0; p < 10; ++p) {
            std::vector<int32_t> prompt(size_t(2 + p));
            for (int32_t& t : prompt) t = int32_t(rng() % 48);
            plain_gen.reset();
            spec_gen.reset();
            const GenerationResult a = plain_gen.generate(prompt, greedy(24, false));
            const GenerationResult b = spec_gen.generate(prompt, greedy(24, true));
            total.add(b.speculation);
            if (a.tokens == b.tokens) {
                ++exact;
                continue;
            }
            size_t i = 0;
            while (a.tokens[i] == b.tokens[i]) ++i;
            EXPECT_TRUE(explained_divergence(*plain_model, prompt, a.tokens, b.tokens, i)) << "prompt " << p;
        }
        std::printf("CUDA speculative, %lld module(s): %d of 10 prompts token-identical, acceptance %.3f, mean accepted "
                    "length %.3f\n",
                    (long long)modules, exact, total.acceptance_rate(), total.mean_accepted_length());
        EXPECT_GT(total.accepted_total(), 0);
        EXPECT_EQ(be.damaged_guards(), 0);
    }
}

TEST(CudaSpeculative, RoutingCountersHoldOnlyTheKeptTokens) {
    MOE_SKIP_WITHOUT_CUDA();
    TinyMtpSpec spec;
    spec.mtp_modules = 2;
    CudaBackend be;
    auto m = load_tiny_mtp_model(spec, be);
    const std::vector<int32_t> prompt{7, 3, 30, 12, 5};
    const GenerationResult r = Generator(*m).generate(prompt, greedy(30, true));
    ASSERT_GT(r.speculation.drafted_total(), r.speculation.accepted_total());
    const RoutingTrace& trace = m->routing_trace();
    const uint64_t rows = prompt.size() + r.tokens.size() - 1;
    for (int64_t layer : trace.layers()) {
        const auto load = trace.expert_load(layer);
        const uint64_t hits = std::accumulate(load.begin(), load.end(), uint64_t(0));
        if (layer < m->config().num_hidden_layers) EXPECT_EQ(hits, rows * 2) << "layer " << layer;
        else EXPECT_GT(hits, 0u) << "MTP layer " << layer;
    }
}

TEST(CudaSpeculative, SamplingDrawsOnlySampleableTokensAndCountsConsistently) {
    MOE_SKIP_WITHOUT_CUDA();
    TinyMtpSpec spec;
    spec.mtp_modules = 2;
    CudaBackend be;
    auto m = load_tiny_mtp_model(spec, be);
    Generator gen(*m);
    GenerationOptions o = greedy(20, true);
    o.sampling.greedy = false;
    o.sampling.temperature = 1.0f;
    o.vocabulary = VocabularyMask{spec.vocab, 40};
    SpeculativeStats total;
    for (uint64_t seed = 0; seed < 20; ++seed) {
        o.sampling.seed = seed;
        const GenerationResult r = gen.generate(std::vector<int32_t>{1, 2, 3}, o);
        ASSERT_EQ(r.tokens.size(), 20u);
        for (int32_t t : r.tokens) EXPECT_LT(t, 40);
        int64_t drafted_tokens = 0;
        for (bool d : r.drafted) drafted_tokens += d;
        EXPECT_LE(drafted_tokens, r.speculation.accepted_total());  // a stop may drop accepted drafts, never add
        total.add(r.speculation);
    }
    EXPECT_GT(total.accepted_total(), 0);
    EXPECT_LT(total.accepted_total(), total.drafted_total());
}

}  // namespace
}  // namespace moe::test
