// Generator over a scripted fake model: prefill then one-token decode steps through the cache,
// stop conditions (EOS included in the output, max tokens, callbacks, context), prefix reuse,
// timing and seeded sampling.
#include <gtest/gtest.h>

#include "generate/generator.h"
#include "model/model.h"

namespace moe {
namespace {

// Vocabulary of 10; the most likely next token is (last token + 1) % 10 (logit 5, others 0).
// Records every forward call so tests can check what went through the cache.
class CountingModel final : public Model {
public:
    struct Call {
        std::vector<int32_t> tokens;
        int64_t start_pos;
        LogitRows rows;
        int64_t vocab_limit = 0;  // greedy steps
    };

    explicit CountingModel(int64_t capacity = 64) : capacity_(capacity) {
        config_.vocab_size = 10;
        config_.eos_token_ids = {9};
    }

    const ModelConfig& config() const override { return config_; }
    Logits forward(std::span<const int32_t> tokens, int64_t start_pos, LogitRows rows) override {
        check_forward_range(start_pos, int64_t(tokens.size()), cached_, capacity_);
        calls.push_back({{tokens.begin(), tokens.end()}, start_pos, rows});
        cached_ = start_pos + int64_t(tokens.size());
        Logits l;
        l.cols = 10;
        const size_t first = rows == LogitRows::Last ? tokens.size() - 1 : 0;
        for (size_t t = first; t < tokens.size(); ++t) {
            ++l.rows;
            for (int32_t v = 0; v < 10; ++v) l.data.push_back(v == (tokens[t] + 1) % 10 ? 5.0f : 0.0f);
        }
        return l;
    }
    // Records the greedy steps, then answers as the default does (forward() + the host argmax).
    int32_t forward_greedy(int32_t token, int64_t pos, int64_t vocab_limit) override {
        greedy_calls.push_back({{token}, pos, LogitRows::Last, vocab_limit});
        return Model::forward_greedy(token, pos, vocab_limit);
    }
    // With backend_sampling: records each sampled step and "draws" (token + 2) % 10, which the
    // logits (favouring token + 1) would hardly give, so the test sees which path chose.
    bool samples_on_backend() const override { return backend_sampling; }
    int32_t forward_sample(int32_t token, int64_t pos, const SampleRequest& request, int64_t vocab_limit) override {
        sample_calls.push_back({{token}, pos, LogitRows::Last, vocab_limit});
        sample_requests.push_back({request.params, {request.history.begin(), request.history.end()}, request.draw});
        const int32_t one[1] = {token};
        (void)forward(one, pos, LogitRows::Last);
        return (token + 2) % 10;
    }
    void reset() override { cached_ = 0; }
    void truncate(int64_t n) override { cached_ = std::min(cached_, n); }
    int64_t cached_tokens() const override { return cached_; }
    int64_t max_context() const override { return capacity_; }

    std::vector<Call> calls;
    std::vector<Call> greedy_calls;
    bool backend_sampling = false;
    struct Request {
        SamplingParams params;
        std::vector<int32_t> history;
        uint64_t draw;
    };
    std::vector<Call> sample_calls;
    std::vector<Request> sample_requests;

private:
    ModelConfig config_;
    int64_t capacity_;
    int64_t cached_ = 0;
};

GenerationOptions greedy(int64_t max_new) {
    GenerationOptions o;
    o.max_new_tokens = max_new;
    o.sampling.greedy = true;
    return o;
}

TEST(Generator, PrefillsThenDecodesOneTokenAtATimeThroughTheCache) {
    CountingModel m;
    Generator g(m);
    const GenerationResult r = g.generate(std::vector<int32_t>{1, 2}, greedy(4));
    EXPECT_EQ(r.tokens, (std::vector<int32_t>{3, 4, 5, 6}));
    EXPECT_EQ(r.stop_reason, StopReason::MaxTokens);
    ASSERT_EQ(m.calls.size(), 4u);  // prefill + 3 decode steps (the last token is not fed back)
    EXPECT_EQ(m.calls[0].tokens, (std::vector<int32_t>{1, 2}));
    EXPECT_EQ(m.calls[0].rows, LogitRows::Last);
    for (size_t i = 1; i < 4; ++i) {
        EXPECT_EQ(m.calls[i].tokens.size(), 1u);
        EXPECT_EQ(m.calls[i].start_pos, int64_t(i) + 1);
    }
    EXPECT_EQ(g.cached_sequence(), (std::vector<int32_t>{1, 2, 3, 4, 5}));
    EXPECT_EQ(r.prompt_tokens, 2);
    EXPECT_EQ(r.prefilled_tokens, 2);
    EXPECT_GE(r.prefill_seconds, 0.0);
    EXPECT_GT(r.decode_tokens_per_second(), 0.0);
}

TEST(Generator, GreedyDecodeStepsChooseThroughTheModelWithTheVocabLimit) {
    CountingModel m;
    Generator g(m);
    GenerationOptions o = greedy(4);
    o.vocabulary = VocabularyMask{10, 6};  // ids 6..9 are padding: never chosen
    const GenerationResult r = g.generate(std::vector<int32_t>{1, 2}, o);
    // 3 from the prefill's logits (host), then 4, 5 and, with 6 masked, the lowest of the equal rest: 0
    EXPECT_EQ(r.tokens, (std::vector<int32_t>{3, 4, 5, 0}));
    ASSERT_EQ(m.greedy_calls.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(m.greedy_calls[i].tokens, (std::vector<int32_t>{int32_t(3 + i)}));
        EXPECT_EQ(m.greedy_calls[i].start_pos, int64_t(2 + i));
        EXPECT_EQ(m.greedy_calls[i].vocab_limit, 6);
    }
    EXPECT_EQ(g.cached_sequence(), (std::vector<int32_t>{1, 2, 3, 4, 5}));

    // A repetition penalty reshapes the logits on the host: the steps return logits instead.
    CountingModel host;
    Generator hg(host);
    o.sampling.repetition_penalty = 1.5f;
    EXPECT_EQ(hg.generate(std::vector<int32_t>{1, 2}, o).tokens, r.tokens);
    EXPECT_TRUE(host.greedy_calls.empty());
    EXPECT_EQ(host.calls.size(), 4u);
}

TEST(Generator, StopsAtEosAndKeepsIt) {
    CountingModel m;  // config eos: 9
    Generator g(m);
    const GenerationResult r = g.generate(std::vector<int32_t>{6}, greedy(10));
    EXPECT_EQ(r.tokens, (std::vector<int32_t>{7, 8, 9}));
    EXPECT_EQ(r.stop_reason, StopReason::Eos);

    GenerationOptions custom = greedy(10);
    custom.eos_token_ids = {8};
    EXPECT_EQ(g.generate(std::vector<int32_t>{6}, custom).tokens, (std::vector<int32_t>{7, 8}));

    GenerationOptions ignore = greedy(5);
    ignore.ignore_eos = true;
    const GenerationResult all = g.generate(std::vector<int32_t>{6}, ignore);
    EXPECT_EQ(all.tokens, (std::vector<int32_t>{7, 8, 9, 0, 1}));
    EXPECT_EQ(all.stop_reason, StopReason::MaxTokens);
}

TEST(Generator, CallbacksSeeEveryTokenAndCanStop) {
    CountingModel m;
    Generator g(m);
    std::vector<int32_t> seen;
    GenerationOptions o = greedy(10);
    o.on_token = [&](int32_t id) {
        seen.push_back(id);
        return seen.size() < 2;
    };
    const GenerationResult r = g.generate(std::vector<int32_t>{0}, o);
    EXPECT_EQ(r.tokens, (std::vector<int32_t>{1, 2}));
    EXPECT_EQ(seen, r.tokens);
    EXPECT_EQ(r.stop_reason, StopReason::Callback);

    int polls = 0;
    GenerationOptions s = greedy(10);
    s.should_stop = [&] { return ++polls == 3; };
    const GenerationResult r2 = g.generate(std::vector<int32_t>{0}, s);
    EXPECT_EQ(r2.tokens.size(), 3u);
    EXPECT_EQ(r2.stop_reason, StopReason::Callback);
}

TEST(Generator, ReusesTheCachedPrefix) {
    CountingModel m;
    Generator g(m);
    const GenerationResult first = g.generate(std::vector<int32_t>{1, 2, 3}, greedy(3));  // 4 5 6; cache 1..5
    ASSERT_EQ(first.tokens, (std::vector<int32_t>{4, 5, 6}));
    m.calls.clear();
    // the next turn extends the conversation: only the new tail is prefilled
    const std::vector<int32_t> turn2{1, 2, 3, 4, 5, 6, 7, 0};
    const GenerationResult second = g.generate(turn2, greedy(1));
    EXPECT_EQ(second.prefilled_tokens, 3);
    EXPECT_EQ(m.calls[0].start_pos, 5);
    EXPECT_EQ(m.calls[0].tokens, (std::vector<int32_t>{6, 7, 0}));
    // the same prompt again: only its last token runs (its logits are needed)
    m.calls.clear();
    g.generate(turn2, greedy(1));
    EXPECT_EQ(m.calls[0].start_pos, 7);
    // a diverging prompt rolls the cache back to the common prefix
    m.calls.clear();
    g.generate(std::vector<int32_t>{1, 2, 9}, greedy(1));
    EXPECT_EQ(m.calls[0].start_pos, 2);
    // reset() forgets everything
    g.reset();
    m.calls.clear();
    g.generate(std::vector<int32_t>{1, 2, 9}, greedy(1));
    EXPECT_EQ(m.calls[0].start_pos, 0);
}

TEST(Generator, StopsWhenTheContextIsFull) {
    CountingModel m(5);
    Generator g(m);
    GenerationOptions o = greedy(100);
    o.ignore_eos = true;
    const GenerationResult r = g.generate(std::vector<int32_t>{0, 1}, o);
    EXPECT_EQ(r.stop_reason, StopReason::ContextFull);
    EXPECT_EQ(r.tokens.size(), 4u);  // positions 2, 3, 4 fed back would need 6 > 5 slots for the 5th
    EXPECT_THROW(g.generate(std::vector<int32_t>(6, 1), o), std::exception);
}

TEST(Generator, SeededSamplingIsReproducible) {
    CountingModel m;
    Generator g(m);
    GenerationOptions o;
    o.max_new_tokens = 12;
    o.ignore_eos = true;
    o.sampling.temperature = 5.0f;  // flat enough to wander
    o.sampling.seed = 77;
    const auto a = g.generate(std::vector<int32_t>{0}, o).tokens;
    const auto b = g.generate(std::vector<int32_t>{0}, o).tokens;
    EXPECT_EQ(a, b);
    o.sampling.seed = 78;
    EXPECT_NE(g.generate(std::vector<int32_t>{0}, o).tokens, a);
    EXPECT_TRUE(m.greedy_calls.empty());  // sampling needs the logits on the host
}

// A model that samples on the backend gets every plain sampled step (and greedy ones with a
// repetition penalty) through forward_sample, with the history so far, the token's index as the
// draw and the vocabulary limit; the first token still comes from the prompt's logits on the host.
TEST(Generator, SampledStepsChooseOnTheBackendWhenTheModelCan) {
    CountingModel m;
    m.backend_sampling = true;
    Generator g(m);
    GenerationOptions o;
    o.max_new_tokens = 4;
    o.ignore_eos = true;
    o.vocabulary = VocabularyMask{10, 8};
    o.sampling.temperature = 0.7f;
    o.sampling.top_p = 0.9f;
    o.sampling.seed = 5;
    const GenerationResult r = g.generate(std::vector<int32_t>{1, 2}, o);
    ASSERT_EQ(r.tokens.size(), 4u);
    ASSERT_EQ(m.sample_calls.size(), 3u);
    std::vector<int32_t> history = {1, 2, r.tokens[0]};
    for (size_t i = 0; i < 3; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(m.sample_calls[i].tokens, (std::vector<int32_t>{r.tokens[i]}));
        EXPECT_EQ(m.sample_calls[i].start_pos, int64_t(2 + i));
        EXPECT_EQ(m.sample_calls[i].vocab_limit, 8);
        EXPECT_EQ(m.sample_requests[i].params, o.sampling);
        EXPECT_EQ(m.sample_requests[i].history, history);
        EXPECT_EQ(m.sample_requests[i].draw, i + 1);
        EXPECT_EQ(r.tokens[i + 1], (r.tokens[i] + 2) % 10);  // the backend's choice was taken
        history.push_back(r.tokens[i + 1]);
    }
    EXPECT_TRUE(m.greedy_calls.empty());
    EXPECT_EQ(g.cached_sequence(), (std::vector<int32_t>{1, 2, r.tokens[0], r.tokens[1], r.tokens[2]}));

    // Greedy with a repetition penalty samples there too; plain greedy stays on forward_greedy.
    CountingModel penalised;
    penalised.backend_sampling = true;
    Generator pg(penalised);
    GenerationOptions p = greedy(3);
    p.sampling.repetition_penalty = 1.5f;
    (void)pg.generate(std::vector<int32_t>{1}, p);
    EXPECT_EQ(penalised.sample_calls.size(), 2u);
    EXPECT_TRUE(penalised.greedy_calls.empty());
    CountingModel plain;
    plain.backend_sampling = true;
    Generator plain_g(plain);
    (void)plain_g.generate(std::vector<int32_t>{1}, greedy(3));
    EXPECT_TRUE(plain.sample_calls.empty());
    EXPECT_EQ(plain.greedy_calls.size(), 2u);
}

}  // namespace
}  // namespace moe
