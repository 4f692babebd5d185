// Continuous batching (generate/decode_batcher.h, generate/sequence_model.h): generations on
// their own threads, each on its own sequence of one model, decode together in batched steps and
// produce exactly the tokens each produces alone — greedy and sampled with a seed — whatever joins
// or leaves; steps are as large as the members allow; a failed step fails each of its rows.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <thread>
#include <vector>

#include "core/error.h"
#include "generate/decode_batcher.h"
#include "generate/generator.h"
#include "generate/sequence_model.h"
#include "tiny_mtp_model.h"

namespace moe::test {
namespace {

std::vector<std::vector<int32_t>> prompts(int n, int64_t vocab) {
    std::mt19937 rng(7);
    std::vector<std::vector<int32_t>> out;
    for (int i = 0; i < n; ++i) {
        std::vector<int32_t> p(size_t(2 + (5 * i) % 9));  // >= 2: a one-token prompt would prefill as a decode row
        for (int32_t& t : p) t = int32_t(rng() % uint32_t(vocab));
        out.push_back(std::move(p));
    }
    return out;
}

GenerationOptions options(int64_t max_new, bool sampled) {
    GenerationOptions o;
    o.max_new_tokens = max_new;
    o.ignore_eos = true;
    o.sampling.greedy = !sampled;
    o.sampling.temperature = sampled ? 0.9f : 0.0f;
    o.sampling.top_p = sampled ? 0.95f : 1.0f;
    o.sampling.seed = 11;
    return o;
}

// Each prompt generated alone by a plain Generator on the model's sequence 0.
std::vector<std::vector<int32_t>> alone(Model& m, const std::vector<std::vector<int32_t>>& ps,
                                        const std::vector<int64_t>& max_new, bool sampled) {
    std::vector<std::vector<int32_t>> out;
    for (size_t i = 0; i < ps.size(); ++i) {
        Generator gen(m);
        gen.reset();
        out.push_back(gen.generate(ps[i], options(max_new[i], sampled)).tokens);
    }
    return out;
}

// Every prompt at once, each on its own thread and sequence, all members from the start; stream
// i samples when sampled(i), else decodes greedily.
std::vector<std::vector<int32_t>> together(DecodeBatcher& batcher, const std::vector<std::vector<int32_t>>& ps,
                                           const std::vector<int64_t>& max_new,
                                           const std::function<bool(size_t)>& sampled) {
    std::vector<std::vector<int32_t>> out(ps.size());
    std::vector<std::exception_ptr> errors(ps.size());
    {
        std::vector<std::unique_ptr<DecodeBatcher::Member>> members;
        for (size_t i = 0; i < ps.size(); ++i) members.push_back(std::make_unique<DecodeBatcher::Member>(batcher));
        std::vector<std::jthread> threads;
        for (size_t i = 0; i < ps.size(); ++i)
            threads.emplace_back([&, i, member = std::move(members[i])]() mutable {
                try {
                    SequenceModel seq(batcher);
                    Generator gen(seq);
                    out[i] = gen.generate(ps[i], options(max_new[i], sampled(i))).tokens;
                } catch (...) {
                    errors[i] = std::current_exception();
                }
                member.reset();  // leaves: the others stop waiting for it
            });
    }
    for (const auto& e : errors)
        if (e) std::rethrow_exception(e);
    return out;
}

TEST(DecodeBatcher, GreedyStreamsDecodeTogetherExactlyAsAlone) {
    auto t = make_tiny_mtp_model({});
    const auto ps = prompts(4, 48);
    const std::vector<int64_t> max_new(ps.size(), 9);
    const auto ref = alone(*t->model, ps, max_new, false);
    // A long max_wait: a step waits for every member, so the batches are deterministic.
    DecodeBatcher batcher(*t->model, std::chrono::seconds(5));
    EXPECT_EQ(together(batcher, ps, max_new, [](size_t) { return false; }), ref);
    const DecodeBatcherStats s = batcher.stats();
    EXPECT_EQ(s.steps, 8u);  // 9 tokens each: the first from the prefill, 8 decode steps
    EXPECT_EQ(s.rows, 8u * ps.size());
    EXPECT_EQ(s.max_rows, int64_t(ps.size()));
    EXPECT_EQ(t->model->live_sequences(), 1);  // every stream's sequence was removed
}

TEST(DecodeBatcher, SampledStreamsDrawWhatTheyDrawAlone) {
    auto t = make_tiny_mtp_model({});
    const auto ps = prompts(3, 48);
    const std::vector<int64_t> max_new(ps.size(), 7);
    const auto ref = alone(*t->model, ps, max_new, true);
    DecodeBatcher batcher(*t->model, std::chrono::seconds(5));
    EXPECT_EQ(together(batcher, ps, max_new, [](size_t) { return true; }), ref);
}

// Greedy rows (their ids chosen on the backend) and sampled rows (their logits read back) in the
// same steps.
TEST(DecodeBatcher, GreedyAndSampledStreamsShareSteps) {
    auto t = make_tiny_mtp_model({});
    const auto ps = prompts(4, 48);
    const std::vector<int64_t> max_new(ps.size(), 8);
    const auto greedy_ref = alone(*t->model, ps, max_new, false), sampled_ref = alone(*t->model, ps, max_new, true);
    DecodeBatcher batcher(*t->model, std::chrono::seconds(5));
    const auto got = together(batcher, ps, max_new, [](size_t i) { return i % 2 == 1; });
    for (size_t i = 0; i < ps.size(); ++i) EXPECT_EQ(got[i], i % 2 ? sampled_ref[i] : greedy_ref[i]) << "stream " << i;
    EXPECT_EQ(batcher.stats().max_rows, int64_t(ps.size()));
}

// Streams of different lengths: the short ones leave and the rest go on in smaller batches
// without waiting out max_wait for those that left.
TEST(DecodeBatcher, StreamsLeaveAndTheRestGoOn) {
    auto t = make_tiny_mtp_model({});
    const auto ps = prompts(3, 48);
    const std::vector<int64_t> max_new{3, 6, 10};
    const auto ref = alone(*t->model, ps, max_new, false);
    DecodeBatcher batcher(*t->model, std::chrono::seconds(30));  // a wait for a departed member would hang the test
    EXPECT_EQ(together(batcher, ps, max_new, [](size_t) { return false; }), ref);
    const DecodeBatcherStats s = batcher.stats();
    EXPECT_EQ(s.steps, 9u);                    // the longest stream's decode steps
    EXPECT_EQ(s.rows, uint64_t(2 + 5 + 9));    // every stream's decode steps
}

TEST(DecodeBatcher, AFailedStepFailsItsRowsAndTheBatcherGoesOn) {
    auto t = make_tiny_mtp_model({});
    DecodeBatcher batcher(*t->model, std::chrono::milliseconds(1));
    try {
        batcher.decode(42, 1, 0);  // no such sequence
        FAIL() << "expected model.no_sequence";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "model.no_sequence");
    }
    SequenceModel seq(batcher);
    Generator gen(seq);
    const auto ps = prompts(1, 48);
    const auto ref = alone(*t->model, ps, {5}, false);
    EXPECT_EQ(gen.generate(ps[0], options(5, false)).tokens, ref[0]);
}

// A long prefill runs in chunks (each with the model to itself, the others' steps between them):
// the same logits as one prefill, and the same generation.
TEST(DecodeBatcher, ChunkedPrefillGivesTheOnePrefillsLogits) {
    auto t = make_tiny_mtp_model({});
    std::vector<int32_t> prompt;
    for (int i = 0; i < 23; ++i) prompt.push_back(int32_t((i * 7 + 3) % 48));
    const Logits whole = t->model->forward(prompt, 0, LogitRows::All);
    t->model->reset();
    DecodeBatcher batcher(*t->model);
    SequenceModel chunked(batcher, 5);
    const Logits parts = chunked.forward(prompt, 0, LogitRows::All);
    ASSERT_EQ(parts.rows, whole.rows);
    for (size_t i = 0; i < whole.data.size(); ++i) ASSERT_NEAR(parts.data[i], whole.data[i], 1e-5f) << i;
    const Logits last = chunked.forward(prompt, 0, LogitRows::Last);
    ASSERT_EQ(last.rows, 1);
    for (int64_t c = 0; c < last.cols; ++c) EXPECT_NEAR(last.row(0)[size_t(c)], whole.row(whole.rows - 1)[size_t(c)], 1e-5f);
    EXPECT_EQ(chunked.cached_tokens(), int64_t(prompt.size()));
    const auto ref = alone(*t->model, {prompt}, {6}, false);
    chunked.reset();
    EXPECT_EQ(Generator(chunked).generate(prompt, options(6, false)).tokens, ref[0]);
}

TEST(DecodeBatcher, NeedsAModelThatHoldsSequences) {
    struct OneSequence final : Model {
        ModelConfig c;
        const ModelConfig& config() const override { return c; }
        Logits forward(std::span<const int32_t>, int64_t, LogitRows) override { return {}; }
        void reset() override {}
        void truncate(int64_t) override {}
        int64_t cached_tokens() const override { return 0; }
        int64_t max_context() const override { return 1; }
    } one;
    try {
        DecodeBatcher batcher(one);
        FAIL() << "expected engine.unsupported";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "engine.unsupported");
    }
}

}  // namespace
}  // namespace moe::test
