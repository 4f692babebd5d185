// Model::forward_greedy (the decode step that chooses on the backend and reads back only the id)
// and the benchmark hooks, on the CPU reference over the HF fixtures in tests/data/models/ (every
// family: V3 with MTP, V3 fp8, Moonlight, V2-Lite, V2, Qwen2) and over RandomSource models:
//   - forward_greedy(token, pos[, limit]) is exactly the argmax (lowest id on ties) of forward()'s
//     logits at the same position (over the first `limit` ids with a limit), leaves the same cache
//     length, the same routing trace, and the same MTP input (mtp_forward afterwards is identical);
//   - a RandomSource model is a pure function of (config, seed): equal seeds give bit-identical
//     logits, different seeds different ones;
//   - fill_cache_for_bench(n, seed) claims n positions, is deterministic in its seed, changes what
//     the next step attends to, empties the MTP input, and refuses n beyond the capacity.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "io/checkpoint.h"
#include "model/model.h"
#include "model/weight_source.h"
#include "support/test_paths.h"

namespace moe {
namespace {

const char* const kFixtures[] = {"deepseek-v3-tiny",      "deepseek-v3-tiny-fp8", "moonlight-tiny",
                                 "deepseek-v2-lite-tiny", "deepseek-v2-tiny",     "qwen2-tiny"};
const std::vector<int32_t> kPrompt{3, 17, 42, 5, 99, 8, 64};

// The lowest index of the largest value among the first `n` (NaN never appears in these logits).
int32_t argmax_first(std::span<const float> row, int64_t n) {
    return int32_t(std::max_element(row.begin(), row.begin() + n) - row.begin());
}

void expect_same_routing(const ForwardRouting& a, const ForwardRouting& b) {
    EXPECT_EQ(a.start_pos, b.start_pos);
    EXPECT_EQ(a.tokens, b.tokens);
    ASSERT_EQ(a.layers.size(), b.layers.size());
    for (const auto& [layer, r] : a.layers) {
        ASSERT_TRUE(b.layers.count(layer)) << "layer " << layer;
        EXPECT_EQ(r.expert_ids, b.layers.at(layer).expert_ids) << "layer " << layer;
        EXPECT_EQ(r.weights, b.layers.at(layer).weights) << "layer " << layer;
    }
}

TEST(ModelGreedy, ForwardGreedyIsTheArgmaxOfForwardOnEveryFixture) {
    for (const char* name : kFixtures) {
        SCOPED_TRACE(name);
        const auto ck = Checkpoint::open(test::data_path(std::string("models/") + name));
        CpuBackend backend;
        auto m = load_model(*ck, backend, ModelOptions{64});
        const int64_t vocab = m->config().vocab_size;
        const int64_t limit = vocab / 3;  // a sample_vocab_limit below the vocabulary
        Logits l = m->forward(kPrompt, 0, LogitRows::Last);
        int32_t token = argmax_first(l.row(0), vocab);
        int64_t pos = int64_t(kPrompt.size());
        if (m->has_mtp()) {  // the MTP cache covers the prompt, so each step can draft
            std::vector<int32_t> next(kPrompt.begin() + 1, kPrompt.end());
            next.push_back(token);
            m->mtp_forward(next, 0);
        }
        for (int step = 0; step < 5; ++step) {
            SCOPED_TRACE("step " + std::to_string(step));
            const std::vector<int32_t> one{token};
            l = m->forward(one, pos, LogitRows::Last);
            const ForwardRouting routed = m->routing_trace().last_forward();
            Logits draft_after_forward;
            if (m->has_mtp()) draft_after_forward = m->mtp_forward(std::vector<int32_t>{7}, pos);

            // The same position again (forward_greedy rolls the cache back to pos first).
            EXPECT_EQ(m->forward_greedy(token, pos, limit), argmax_first(l.row(0), limit));
            EXPECT_EQ(m->cached_tokens(), pos + 1);
            const int32_t next = m->forward_greedy(token, pos);
            EXPECT_EQ(next, argmax_first(l.row(0), vocab));
            EXPECT_EQ(m->forward_greedy(token, pos, vocab + 5), next);  // a limit past the vocabulary: none
            EXPECT_EQ(m->cached_tokens(), pos + 1);
            expect_same_routing(m->routing_trace().last_forward(), routed);
            if (m->has_mtp()) {
                const Logits draft = m->mtp_forward(std::vector<int32_t>{7}, pos);
                EXPECT_EQ(draft.data, draft_after_forward.data);  // the MTP input came back with the id
            }
            token = next;
            ++pos;
        }
    }
}

// CpuBackend copies weights to f32 at load within its budget and converts the rest at every use:
// the logits must not depend on which (the values are the same conversions).
TEST(ModelGreedy, F32WeightCopiesAtLoadGiveTheSameLogitsAsConversionAtUse) {
    for (const char* name : kFixtures) {
        SCOPED_TRACE(name);
        const auto ck = Checkpoint::open(test::data_path(std::string("models/") + name));
        CpuBackend copied, converted(0), split(64 << 10);  // split: the first weights copied, the rest not
        auto a = load_model(*ck, copied, ModelOptions{16});
        auto b = load_model(*ck, converted, ModelOptions{16});
        auto c = load_model(*ck, split, ModelOptions{16});
        const Logits la = a->forward(kPrompt, 0, LogitRows::All);
        EXPECT_EQ(la.data, b->forward(kPrompt, 0, LogitRows::All).data);
        EXPECT_EQ(la.data, c->forward(kPrompt, 0, LogitRows::All).data);
    }
}

TEST(ModelGreedy, ForwardGreedyChecksItsInputsAsForwardDoes) {
    const auto ck = Checkpoint::open(test::data_path("models/deepseek-v3-tiny"));
    CpuBackend backend;
    auto m = load_model(*ck, backend, ModelOptions{16});
    m->forward(kPrompt, 0, LogitRows::Last);
    EXPECT_THROW(m->forward_greedy(1, int64_t(kPrompt.size()) + 1), Error);          // skips a position
    EXPECT_THROW(m->forward_greedy(int32_t(m->config().vocab_size), 3), Error);      // not a token
    EXPECT_THROW(m->forward_greedy(-1, 3), Error);
}

std::string error_code(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.code();
    }
    return "no error";
}

ModelConfig fixture_config(const char* name) {
    return load_model_config(test::data_path(std::string("models/") + name));
}

Logits random_model_logits(const ModelConfig& config, uint64_t seed, Backend& backend) {
    RandomSource source(config, backend, seed);
    auto m = load_model(source, ModelOptions{32});
    return m->forward(kPrompt, 0);
}

TEST(ModelGreedy, RandomSourceModelsAreAFunctionOfConfigAndSeed) {
    for (const char* name : {"deepseek-v3-tiny", "deepseek-v2-lite-tiny", "qwen2-tiny"}) {
        SCOPED_TRACE(name);
        const ModelConfig config = fixture_config(name);
        CpuBackend b1, b2;
        const Logits a = random_model_logits(config, 11, b1), again = random_model_logits(config, 11, b2);
        const Logits other = random_model_logits(config, 12, b1);
        ASSERT_EQ(a.rows, int64_t(kPrompt.size()));
        ASSERT_EQ(a.cols, config.vocab_size);
        for (float v : a.data) ASSERT_TRUE(std::isfinite(v));
        EXPECT_EQ(a.data, again.data);
        EXPECT_NE(a.data, other.data);
    }
}

TEST(ModelGreedy, FillCacheForBenchClaimsPositionsDeterministically) {
    for (const char* name : {"deepseek-v3-tiny", "qwen2-tiny"}) {
        SCOPED_TRACE(name);
        const ModelConfig config = fixture_config(name);
        CpuBackend backend;
        RandomSource source(config, backend, 5);
        auto m1 = load_model(source, ModelOptions{32});
        auto m2 = load_model(source, ModelOptions{32});
        const std::vector<int32_t> one{4};

        m1->fill_cache_for_bench(20, 77);
        m2->fill_cache_for_bench(20, 77);
        EXPECT_EQ(m1->cached_tokens(), 20);
        const Logits a = m1->forward(one, 20), b = m2->forward(one, 20);
        for (float v : a.data) ASSERT_TRUE(std::isfinite(v));
        EXPECT_EQ(a.data, b.data);  // same seed, same cache contents
        EXPECT_EQ(m1->cached_tokens(), 21);
        EXPECT_EQ(m1->forward_greedy(4, 20), argmax_first(a.row(0), a.cols));

        m2->fill_cache_for_bench(20, 78);  // more noise from another seed: other keys and values
        EXPECT_NE(m2->forward(one, 20).data, a.data);

        if (m1->has_mtp()) {  // the fill empties the MTP cache and input
            m1->forward(kPrompt, 0);
            m1->mtp_forward(std::vector<int32_t>(kPrompt.begin() + 1, kPrompt.end()), 0);
            EXPECT_EQ(m1->mtp_cached_tokens(), int64_t(kPrompt.size()) - 1);
            m1->fill_cache_for_bench(20, 77);
            EXPECT_EQ(m1->mtp_cached_tokens(), 0);
            EXPECT_EQ(error_code([&] { m1->mtp_forward(one, 0); }), "model.mtp_without_hidden");
        }
        EXPECT_THROW(m1->fill_cache_for_bench(33, 1), Error);
        EXPECT_THROW(m1->fill_cache_for_bench(-1, 1), Error);
        m1->fill_cache_for_bench(32, 1);  // the whole capacity is allowed (no room left to decode)
        EXPECT_THROW(m1->forward_greedy(4, 32), Error);
    }
}

}  // namespace
}  // namespace moe
