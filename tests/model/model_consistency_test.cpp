// End-to-end internal consistency on tiny random checkpoints written to a temp dir: the KV cache
// (incremental decode == full forward, truncate, LogitRows::Last), MTP, FP8 == its dequantised
// twin, routing telemetry, and the errors. Parity with HF transformers is in parity_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "core/error.h"
#include "io/checkpoint.h"
#include "cpu/cpu_backend.h"
#include "model/hidden_history.h"
#include "model/model.h"
#include "op_test_util.h"
#include "tiny_checkpoint.h"

namespace moe {
namespace {

const std::vector<int32_t> kTokens{5, 17, 3, 42, 8, 8, 60, 1, 23};

// max over rows of max|a - b| / max|b| for rows [row0, row0 + n) of b.
float max_row_rel_err(const Logits& a, const Logits& b, int64_t b_row0 = 0) {
    float worst = 0;
    for (int64_t r = 0; r < a.rows; ++r) {
        const auto ra = a.row(r), rb = b.row(b_row0 + r);
        float diff = 0, ref = 0;
        for (size_t i = 0; i < ra.size(); ++i) {
            diff = std::max(diff, std::abs(ra[i] - rb[i]));
            ref = std::max(ref, std::abs(rb[i]));
        }
        worst = std::max(worst, diff / ref);
    }
    return worst;
}

Logits concat(const std::vector<Logits>& parts) {
    Logits out;
    for (const Logits& p : parts) {
        out.cols = p.cols;
        out.rows += p.rows;
        out.data.insert(out.data.end(), p.data.begin(), p.data.end());
    }
    return out;
}

struct Loaded {
    test::TempDir dir{"moe-tiny"};
    std::unique_ptr<Checkpoint> checkpoint;
    CpuBackend backend;
    std::unique_ptr<Model> model;
};

std::unique_ptr<Loaded> load_deepseek(const test::TinyDeepseekSpec& spec, ModelOptions options = {}) {
    auto l = std::make_unique<Loaded>();
    test::write_tiny_deepseek(l->dir.path(), spec);
    l->checkpoint = Checkpoint::open(l->dir.path());
    l->model = load_model(*l->checkpoint, l->backend, options);
    return l;
}

std::unique_ptr<Loaded> load_qwen2(const test::TinyQwen2Spec& spec) {
    auto l = std::make_unique<Loaded>();
    test::write_tiny_qwen2(l->dir.path(), spec);
    l->checkpoint = Checkpoint::open(l->dir.path());
    l->model = load_model(*l->checkpoint, l->backend);
    return l;
}

// Full forward vs prefill-3-then-one-at-a-time vs truncate-and-redo; and LogitRows::Last.
void expect_cache_consistent(Model& m) {
    m.reset();
    const Logits full = m.forward(kTokens, 0);
    ASSERT_EQ(full.rows, int64_t(kTokens.size()));
    ASSERT_EQ(full.cols, m.config().vocab_size);
    for (float v : full.data) ASSERT_TRUE(std::isfinite(v));
    EXPECT_EQ(m.cached_tokens(), int64_t(kTokens.size()));

    m.reset();
    std::vector<Logits> parts{m.forward(std::span(kTokens).first(3), 0)};
    for (size_t t = 3; t < kTokens.size(); ++t)
        parts.push_back(m.forward(std::span(kTokens).subspan(t, 1), int64_t(t)));
    EXPECT_LT(max_row_rel_err(concat(parts), full), 1e-5f) << "incremental decode differs from the full forward";

    m.truncate(4);
    EXPECT_EQ(m.cached_tokens(), 4);
    const Logits redo = m.forward(std::span(kTokens).subspan(4), 4);
    EXPECT_LT(max_row_rel_err(redo, full, 4), 1e-5f) << "forward after truncate differs";

    const Logits last = m.forward(std::span(kTokens).subspan(2), 2, LogitRows::Last);  // rewinds to 2
    ASSERT_EQ(last.rows, 1);
    EXPECT_LT(max_row_rel_err(last, full, int64_t(kTokens.size()) - 1), 1e-5f);
}

TEST(TinyModel, DeepseekV3CacheIsConsistent) {
    auto l = load_deepseek({});
    EXPECT_EQ(l->model->config().arch, Architecture::DeepseekV3);
    EXPECT_TRUE(l->model->has_mtp());
    expect_cache_consistent(*l->model);
}

TEST(TinyModel, DeepseekV2LiteShapeCacheIsConsistent) {
    test::TinyDeepseekSpec spec;
    spec.v2 = true;
    spec.q_lora = false;
    spec.mtp = false;
    spec.dtype = DType::F16;
    auto l = load_deepseek(spec);
    EXPECT_EQ(l->model->config().arch, Architecture::DeepseekV2);
    EXPECT_FALSE(l->model->has_mtp());
    expect_cache_consistent(*l->model);
    EXPECT_THROW(l->model->mtp_forward(kTokens, 0), Error);
}

TEST(TinyModel, MoonlightShapeCacheIsConsistent) {
    test::TinyDeepseekSpec spec;
    spec.q_lora = false;
    spec.mtp = false;
    spec.yarn = false;
    spec.dtype = DType::F32;
    auto l = load_deepseek(spec);
    expect_cache_consistent(*l->model);
}

TEST(TinyModel, Qwen2CacheIsConsistentShardedAndTied) {
    auto sharded = load_qwen2({});
    EXPECT_EQ(sharded->model->config().arch, Architecture::Qwen2);
    expect_cache_consistent(*sharded->model);
    test::TinyQwen2Spec tied;
    tied.tie_word_embeddings = true;
    tied.sharded = false;
    auto t = load_qwen2(tied);
    expect_cache_consistent(*t->model);
}

TEST(TinyModel, Fp8MatchesItsDequantisedTwin) {
    test::TinyDeepseekSpec fp8;
    fp8.fp8 = true;
    test::TinyDeepseekSpec twin;
    twin.fp8_as_f32 = true;
    auto a = load_deepseek(fp8);
    auto b = load_deepseek(twin);
    const Logits la = a->model->forward(kTokens, 0), lb = b->model->forward(kTokens, 0);
    EXPECT_LT(max_row_rel_err(la, lb), 1e-5f);
    // and the twin is not trivially the unquantised model
    auto plain = load_deepseek({});
    EXPECT_GT(max_row_rel_err(plain->model->forward(kTokens, 0), lb), 1e-4f);
}

TEST(TinyModel, MtpDraftsFromTheMainHiddenStatesWithItsOwnCache) {
    auto l = load_deepseek({});
    Model& m = *l->model;
    const int64_t T = int64_t(kTokens.size());
    m.forward(kTokens, 0);
    const auto next = std::span(kTokens).subspan(1);  // t_{i+1} for i = 0 .. T-2
    const Logits all = m.mtp_forward(next, 0);
    EXPECT_EQ(all.rows, T - 1);
    EXPECT_EQ(m.mtp_cached_tokens(), T - 1);

    // incremental: 4 rows, then one at a time, each after the main forward of the next position.
    // The model keeps the hidden state of every cached position, so position i's row is there
    // although the latest forward covered only position i+1.
    m.reset();
    m.forward(std::span(kTokens).first(5), 0);
    std::vector<Logits> parts{m.mtp_forward(next.first(4), 0)};
    for (int64_t i = 4; i < T - 1; ++i) {
        m.forward(std::span(kTokens).subspan(size_t(i) + 1, 1), i + 1);
        parts.push_back(m.mtp_forward(next.subspan(size_t(i), 1), i));
    }
    EXPECT_LT(max_row_rel_err(concat(parts), all), 1e-5f);
    // a rolled-back main position takes its hidden state with it
    m.truncate(T - 2);
    try {
        m.mtp_forward(next.subspan(size_t(T) - 2, 1), T - 2);
        ADD_FAILURE() << "mtp_forward over a rolled-back position did not throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "model.mtp_without_hidden");
    }
}

TEST(TinyModel, MtpFallsBackToTheMainEmbeddingAndHead) {
    test::TinyDeepseekSpec spec;
    spec.mtp_copies = false;
    auto l = load_deepseek(spec);
    ASSERT_TRUE(l->model->has_mtp());
    l->model->forward(kTokens, 0);
    const Logits d = l->model->mtp_forward(std::span(kTokens).subspan(1), 0);
    EXPECT_EQ(d.rows, int64_t(kTokens.size()) - 1);
}

TEST(TinyModel, MtpNeedsHiddenStatesThatAreStillCached) {
    auto l = load_deepseek({});
    EXPECT_THROW(l->model->mtp_forward(kTokens, 0), Error);
    l->model->forward(kTokens, 0);
    l->model->truncate(3);  // rows 3.. of the hidden states belong to rolled-back tokens
    EXPECT_THROW(l->model->mtp_forward(std::span(kTokens).subspan(1, 4), 0), Error);
    EXPECT_EQ(l->model->mtp_forward(std::span(kTokens).subspan(1, 3), 0).rows, 3);
}

TEST(TinyModel, RoutingTraceRecordsEveryMoeLayerAndToken) {
    auto l = load_deepseek({});
    Model& m = *l->model;
    RoutingTrace& trace = m.routing_trace();
    EXPECT_EQ(trace.layers(), (std::vector<int64_t>{1, 2, 3}));  // layer 0 is dense, 3 is MTP
    const std::vector<float> bias = trace.bias(1);
    EXPECT_EQ(bias, l->checkpoint->vector_f32("model.layers.1.mlp.gate.e_score_correction_bias", {8}));

    int observed = 0;
    const int id = trace.add_observer([&](const ForwardRouting& f, const RoutingTrace&) {
        ++observed;
        EXPECT_EQ(f.tokens, int64_t(kTokens.size()));
    });
    m.forward(kTokens, 0);
    EXPECT_EQ(observed, 1);
    trace.remove_observer(id);

    const ForwardRouting f = trace.last_forward();
    EXPECT_FALSE(f.mtp);
    ASSERT_EQ(f.layers.size(), 2u);
    for (const auto& [layer, r] : f.layers) {
        EXPECT_EQ(r.top_k, 2);
        EXPECT_EQ(r.tokens(), int64_t(kTokens.size()));
        for (size_t t = 0; t < kTokens.size(); ++t) {
            EXPECT_NE(r.expert_ids[2 * t], r.expert_ids[2 * t + 1]);
            // normalised then x2.5
            EXPECT_NEAR(r.weights[2 * t] + r.weights[2 * t + 1], 2.5f, 1e-5);
        }
        const auto load = trace.expert_load(layer);
        EXPECT_EQ(std::accumulate(load.begin(), load.end(), uint64_t(0)), 2 * kTokens.size());
    }
    m.mtp_forward(std::span(kTokens).subspan(1), 0);
    EXPECT_TRUE(trace.last_forward().mtp);
    EXPECT_EQ(trace.last_forward().layers.count(3), 1u);
    EXPECT_EQ(trace.snapshot().forwards, 2u);

    trace.reset_load();
    const auto zero = trace.expert_load(1);
    EXPECT_EQ(std::accumulate(zero.begin(), zero.end(), uint64_t(0)), 0u);
    trace.set_enabled(false);
    m.forward(kTokens, 0);
    EXPECT_TRUE(trace.last_forward().layers.empty());
}

TEST(TinyModel, Errors) {
    ModelOptions small;
    small.max_context = 8;
    auto l = load_deepseek({}, small);
    Model& m = *l->model;
    EXPECT_EQ(m.max_context(), 8);
    try {
        m.forward(kTokens, 0);  // 9 tokens
        FAIL() << "expected model.context_full";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "model.context_full");
    }
    m.reset();
    m.forward(std::span(kTokens).first(2), 0);
    try {
        m.forward(std::span(kTokens).first(1), 3);
        FAIL() << "expected model.bad_position";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "model.bad_position");
    }
    try {
        m.forward(std::vector<int32_t>{96}, 2);
        FAIL() << "expected model.token_out_of_range";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "model.token_out_of_range");
    }
}

}  // namespace
}  // namespace moe

namespace moe {
namespace {

TEST(HiddenHistory, KeepsTheValidRowsThroughWritesRollbacksAndResets) {
    HiddenHistory h(2);
    EXPECT_FALSE(h.covers(0, 1));
    h.write(0, std::vector<float>{0, 0, 1, 1, 2, 2});  // positions 0..2
    h.write(3, std::vector<float>{3, 3});
    EXPECT_TRUE(h.covers(0, 4));
    EXPECT_EQ(std::vector<float>(h.rows(2, 2).begin(), h.rows(2, 2).end()), (std::vector<float>{2, 2, 3, 3}));
    h.write(1, std::vector<float>{9, 9});  // rewinds: position 1 replaced, 2.. dropped
    EXPECT_EQ(h.end(), 2);
    EXPECT_EQ(h.rows(1, 1)[0], 9.0f);
    EXPECT_THROW(h.write(4, std::vector<float>{1, 1}), std::exception);  // skips position 2..3
    EXPECT_THROW(h.write(2, std::vector<float>{1}), std::exception);     // not a whole row
    h.truncate(1);
    EXPECT_FALSE(h.covers(1, 1));
    h.reset_to(50);  // a benchmark's synthetic cache: nothing below 50 has a row
    EXPECT_FALSE(h.covers(49, 1));
    h.write(50, std::vector<float>{5, 5});
    EXPECT_TRUE(h.covers(50, 1));
    EXPECT_FALSE(h.covers(0, 51));
    EXPECT_EQ(h.rows(50, 1)[1], 5.0f);
    EXPECT_THROW(h.rows(49, 2), std::exception);
}

}  // namespace
}  // namespace moe
