// Speculative decoding with greedy choices emits exactly the tokens plain greedy decoding emits:
// 20 prompts x every draft length, on tiny DeepSeek-V3 and V2 models with 1 and 2 MTP modules
// (tiny_mtp_model.h: built so that drafts are accepted part of the time), on the HF fixture
// deepseek-v3-tiny (random weights, drafts mostly rejected), under a vocabulary mask and a
// repetition penalty, and across chat turns that reuse and roll back the caches. Then the caches
// themselves: after partial acceptance the main cache and each MTP module's valid cache give the
// same rows as a fresh model that ran the final sequence in one go.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "generate/generator.h"
#include "io/checkpoint.h"
#include "support/test_paths.h"
#include "tiny_mtp_model.h"

namespace moe::test {
namespace {

std::vector<std::vector<int32_t>> make_prompts(int n, int64_t vocab, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<std::vector<int32_t>> out;
    for (int i = 0; i < n; ++i) {
        std::vector<int32_t> p(size_t(1 + i % 12));  // lengths 1..12
        for (int32_t& t : p) t = int32_t(rng() % uint32_t(vocab));
        out.push_back(std::move(p));
    }
    return out;
}

GenerationOptions greedy(int64_t max_new, int64_t draft) {
    GenerationOptions o;
    o.max_new_tokens = max_new;
    o.ignore_eos = true;
    o.sampling.greedy = true;
    o.speculative.enabled = draft > 0;
    o.speculative.draft_tokens = draft;
    return o;
}

struct Family {
    const char* name;
    TinyMtpSpec spec;
};

std::vector<Family> families() {
    std::vector<Family> f;
    for (bool v2 : {false, true})
        for (int64_t modules : {1, 2}) {
            TinyMtpSpec s;
            s.v2 = v2;
            s.mtp_modules = modules;
            f.push_back({v2 ? (modules == 1 ? "v2-mtp1" : "v2-mtp2") : (modules == 1 ? "v3-mtp1" : "v3-mtp2"), s});
        }
    return f;
}

// Runs every prompt plainly and speculatively (separate models of the same weights, one generator
// each, so prefixes are reused across prompts as a server would) and compares the tokens.
SpeculativeStats expect_same_tokens(Model& plain_model, Model& spec_model, const std::vector<std::vector<int32_t>>& prompts,
                                    GenerationOptions plain, GenerationOptions spec) {
    Generator plain_gen(plain_model), spec_gen(spec_model);
    SpeculativeStats total;
    for (size_t i = 0; i < prompts.size(); ++i) {
        const GenerationResult a = plain_gen.generate(prompts[i], plain);
        const GenerationResult b = spec_gen.generate(prompts[i], spec);
        EXPECT_EQ(b.tokens, a.tokens) << "prompt " << i;
        EXPECT_TRUE(b.speculative);
        EXPECT_EQ(b.drafted.size(), b.tokens.size());
        total.add(b.speculation);
    }
    return total;
}

TEST(SpeculativeGreedy, EmitsExactlyThePlainGreedyTokensForEveryFamilyAndDraftLength) {
    for (const Family& f : families()) {
        auto plain = make_tiny_mtp_model(f.spec);
        auto spec = make_tiny_mtp_model(f.spec);
        const auto prompts = make_prompts(20, f.spec.vocab, 11);
        for (int64_t draft : {1, 2}) {
            SCOPED_TRACE(std::string(f.name) + " draft " + std::to_string(draft));
            const SpeculativeStats s =
                expect_same_tokens(*plain->model, *spec->model, prompts, greedy(24, 0), greedy(24, draft));
            const int64_t k = std::min<int64_t>(draft, f.spec.mtp_modules);  // 2 on one module: clamped
            EXPECT_EQ(int64_t(s.drafted.size()), k);
            std::printf("SPECULATIVE %s draft %lld: %lld steps, acceptance per position", f.name, (long long)k,
                        (long long)s.steps);
            for (double r : s.acceptance_rates()) std::printf(" %.3f", r);
            std::printf(", mean accepted length %.3f\n", s.mean_accepted_length());
            // Both paths ran: some drafts kept, some rejected (the models are built for that).
            EXPECT_GT(s.acceptance_rate(0), 0.2);
            EXPECT_LT(s.acceptance_rate(), 0.95);
        }
    }
}

TEST(SpeculativeGreedy, HonoursTheVocabularyMaskAndTheRepetitionPenalty) {
    TinyMtpSpec spec;
    spec.mtp_modules = 2;
    auto plain = make_tiny_mtp_model(spec);
    auto spec_model = make_tiny_mtp_model(spec);
    const auto prompts = make_prompts(20, 40, 12);  // prompt ids below the mask
    GenerationOptions a = greedy(24, 0), b = greedy(24, 2);
    for (GenerationOptions* o : {&a, &b}) {
        o->vocabulary = VocabularyMask{spec.vocab, 40};  // ids 40..47 have no token
        o->sampling.repetition_penalty = 1.3f;           // the host path: each row after its own prefix
    }
    Generator pg(*plain->model), sg(*spec_model->model);
    SpeculativeStats total;
    for (const auto& p : prompts) {
        const GenerationResult x = pg.generate(p, a), y = sg.generate(p, b);
        EXPECT_EQ(y.tokens, x.tokens);
        for (int32_t t : y.tokens) EXPECT_LT(t, 40);
        total.add(y.speculation);
    }
    EXPECT_GT(total.accepted_total(), 0);
    EXPECT_LT(total.accepted_total(), total.drafted_total());
}

TEST(SpeculativeGreedy, MatchesPlainGreedyOnTheHfFixture) {
    const auto ck = Checkpoint::open(data_path("models/deepseek-v3-tiny"));
    CpuBackend backend;
    auto plain = load_model(*ck, backend, ModelOptions{128});
    auto spec = load_model(*ck, backend, ModelOptions{128});
    ASSERT_EQ(spec->mtp_modules(), 1);
    const auto prompts = make_prompts(20, spec->config().vocab_size, 13);
    const SpeculativeStats s = expect_same_tokens(*plain, *spec, prompts, greedy(16, 0), greedy(16, 1));
    EXPECT_EQ(s.drafted_total(), s.steps);
    std::printf("SPECULATIVE deepseek-v3-tiny: %lld drafts, %lld accepted\n", (long long)s.drafted_total(),
                (long long)s.accepted_total());
}

// A conversation on one generator: each prompt extends the previous prompt and reply (the prefix
// cache and the MTP caches are reused), one edits an earlier turn (both roll back), and plain and
// speculative requests alternate (the MTP modules catch up on positions they never saw).
TEST(SpeculativeGreedy, ChatTurnsReuseAndRollBackTheCachesAndStayExact) {
    TinyMtpSpec spec;
    spec.mtp_modules = 2;
    auto a = make_tiny_mtp_model(spec), b = make_tiny_mtp_model(spec);
    Generator shared(*b->model);
    std::vector<int32_t> prompt{3, 9, 27};
    std::mt19937 rng(5);
    for (int turn = 0; turn < 8; ++turn) {
        SCOPED_TRACE("turn " + std::to_string(turn));
        if (turn == 5) prompt.resize(prompt.size() / 2);  // an edit of an earlier message
        Generator fresh(*a->model);
        fresh.reset();
        const GenerationResult want = fresh.generate(prompt, greedy(12, 0));
        const GenerationResult got = shared.generate(prompt, greedy(12, turn % 3 == 2 ? 0 : 2));
        EXPECT_EQ(got.tokens, want.tokens);
        prompt.insert(prompt.end(), got.tokens.begin(), got.tokens.end());
        for (int i = 0; i < 3; ++i) prompt.push_back(int32_t(rng() % 48));  // the next user message
    }
}

TEST(SpeculativeGreedy, StopsAtAFullContextWhereThePlainLoopStops) {
    TinyMtpSpec spec;
    spec.mtp_modules = 2;
    spec.max_context = 20;  // the verify forward must never run past it
    auto a = make_tiny_mtp_model(spec), b = make_tiny_mtp_model(spec);
    const std::vector<int32_t> prompt{1, 2, 3, 4, 5};
    const GenerationResult x = Generator(*a->model).generate(prompt, greedy(100, 0));
    const GenerationResult y = Generator(*b->model).generate(prompt, greedy(100, 2));
    EXPECT_EQ(x.stop_reason, StopReason::ContextFull);
    EXPECT_EQ(y.stop_reason, StopReason::ContextFull);
    EXPECT_EQ(y.tokens, x.tokens);
    EXPECT_EQ(b->model->cached_tokens(), 20);
}

TEST(SpeculativeGreedy, NeedsMtpModules) {
    TinyMtpSpec spec;
    spec.mtp_modules = 0;
    auto m = make_tiny_mtp_model(spec);
    Generator gen(*m->model);
    try {
        gen.generate(std::vector<int32_t>{1, 2}, greedy(4, 1));
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "generate.no_mtp");
        EXPECT_NE(std::string(e.what()).find("mtp-head"), std::string::npos) << e.what();
    }
}

// Rows [row0, row0 + rows) of `want` against all of `got`: the largest |difference|.
float max_diff(const Logits& got, const Logits& want, int64_t row0) {
    float worst = 0;
    for (int64_t r = 0; r < got.rows; ++r)
        for (int64_t c = 0; c < got.cols; ++c)
            worst = std::max(worst, std::abs(got.row(r)[size_t(c)] - want.row(row0 + r)[size_t(c)]));
    return worst;
}

TEST(SpeculativeCaches, MatchAFreshComputationOfTheFinalSequenceAfterPartialAcceptance) {
    TinyMtpSpec spec;
    spec.mtp_modules = 2;
    auto a = make_tiny_mtp_model(spec), fresh = make_tiny_mtp_model(spec);
    Generator gen(*a->model);
    const GenerationResult r = gen.generate(std::vector<int32_t>{4, 8, 15, 16, 23}, greedy(40, 2));
    ASSERT_GT(r.speculation.accepted_total(), 0);
    ASSERT_LT(r.speculation.accepted_total(), r.speculation.drafted_total());

    // t_0..t_N: the main cache holds t_0..t_{N-1}; t_N was emitted last and never run.
    std::vector<int32_t> seq = gen.cached_sequence();
    const int64_t N = int64_t(seq.size());
    ASSERT_EQ(N, 5 + 40 - 1);
    seq.push_back(r.tokens.back());
    const auto tokens = std::span<const int32_t>(seq);

    // The fresh model runs the final sequence in one go: main, module 0 over 0..N-1, module 1 over 0..N-2.
    Model& f = *fresh->model;
    f.forward(tokens.first(size_t(N)), 0);
    const Logits f0 = f.mtp_module_forward(0, tokens.subspan(1, size_t(N)), 0);
    const Logits f1 = f.mtp_module_forward(1, tokens.subspan(2, size_t(N - 1)), 0);
    const Logits f_next = f.forward(tokens.subspan(size_t(N), 1), N);

    Model& m = *a->model;
    const int64_t v0 = gen.drafter().valid_positions(m, 0, seq), v1 = gen.drafter().valid_positions(m, 1, seq);
    // Valid up to the last speculative step's drafting position: behind by at most that step's 3
    // tokens and the plain step that emits the very last token, and module 1 by one more.
    EXPECT_GE(v0, N - 4);
    EXPECT_GE(v1, N - 5);
    // Tolerance: the CPU reference computes every row independently of the batch, so the rows agree
    // to rounding (1e-5 of logits of order 1).
    EXPECT_LT(max_diff(m.mtp_module_forward(0, tokens.subspan(size_t(v0) + 1, size_t(N - v0)), v0), f0, v0), 1e-5f);
    EXPECT_LT(max_diff(m.mtp_module_forward(1, tokens.subspan(size_t(v1) + 2, size_t(N - 1 - v1)), v1), f1, v1), 1e-5f);
    EXPECT_LT(max_diff(m.forward(tokens.subspan(size_t(N), 1), N), f_next, 0), 1e-5f);
}

}  // namespace
}  // namespace moe::test
