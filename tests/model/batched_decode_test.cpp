// Several sequences in one model and Model::decode_batch (continuous batching): every row of a
// batched step must give the logits, routing and MTP inputs that its sequence gets when it is
// decoded alone, whatever the other rows are, and the sequences' caches must stay independent.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "core/error.h"
#include "cpu/cpu_backend.h"
#include "io/checkpoint.h"
#include "model/model.h"
#include "tiny_checkpoint.h"

namespace moe {
namespace {

// Rows of a batched step agree with single-sequence decoding to float rounding: the batched
// linears and expert GEMMs sum in the same order per row, so the bound is tight.
constexpr float kRowTolerance = 1e-5f;

struct Loaded {
    test::TempDir dir{"moe-batch"};
    std::unique_ptr<Checkpoint> checkpoint;
    CpuBackend backend;
    std::unique_ptr<Model> model;
};

std::unique_ptr<Loaded> load(bool qwen2, const test::TinyDeepseekSpec& spec = {}) {
    auto l = std::make_unique<Loaded>();
    if (qwen2)
        test::write_tiny_qwen2(l->dir.path(), {});
    else
        test::write_tiny_deepseek(l->dir.path(), spec);
    l->checkpoint = Checkpoint::open(l->dir.path());
    l->model = load_model(*l->checkpoint, l->backend);
    return l;
}

// max|a - b| / max|b| over one row.
float row_rel_err(std::span<const float> a, std::span<const float> b) {
    float diff = 0, ref = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(a[i] - b[i]));
        ref = std::max(ref, std::abs(b[i]));
    }
    return diff / ref;
}

template <class F>
void expect_error(F&& f, const std::string& code) {
    try {
        f();
        ADD_FAILURE() << "expected " << code;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
    }
}

const std::vector<std::vector<int32_t>> kPrompts{{5, 17, 3}, {42, 8, 8, 60, 1}, {23}};
constexpr int kSteps = 4;

// The token sequence b feeds at decode step s (any valid ids; not the model's choices, so the
// test does not depend on near-ties).
int32_t step_token(size_t b, int s) { return int32_t((7 * s + 13 * b + 2) % 90); }

// Sequence b decoded alone on a fresh cache: its prompt, then its step tokens one at a time.
// Returns the logits of each step.
std::vector<Logits> decode_alone(Model& m, size_t b) {
    m.reset();
    m.forward(kPrompts[b], 0, LogitRows::Last);
    std::vector<Logits> out;
    int64_t pos = int64_t(kPrompts[b].size());
    for (int s = 0; s < kSteps; ++s) out.push_back(m.forward(std::vector<int32_t>{step_token(b, s)}, pos++));
    return out;
}

// Every prompt in its own sequence of `m`, then kSteps batched steps over all of them: returns
// each step's batched logits and the sequence ids.
std::vector<Logits> decode_batched(Model& m, std::vector<int64_t>& ids) {
    ids = {0};
    for (size_t b = 1; b < kPrompts.size(); ++b) ids.push_back(m.add_sequence());
    for (size_t b = 0; b < kPrompts.size(); ++b) {
        m.select_sequence(ids[b]);
        m.forward(kPrompts[b], 0, LogitRows::Last);
    }
    std::vector<Logits> out;
    for (int s = 0; s < kSteps; ++s) {
        std::vector<Model::BatchRow> rows;
        for (size_t b = 0; b < kPrompts.size(); ++b)
            rows.push_back({ids[b], step_token(b, s), int64_t(kPrompts[b].size()) + s});
        out.push_back(m.decode_batch(rows));
    }
    return out;
}

void expect_rows_match_single_decoding(bool qwen2, const test::TinyDeepseekSpec& spec = {}) {
    auto batched = load(qwen2, spec), alone = load(qwen2, spec);
    std::vector<int64_t> ids;
    const std::vector<Logits> steps = decode_batched(*batched->model, ids);
    EXPECT_EQ(batched->model->live_sequences(), int64_t(kPrompts.size()));
    for (size_t b = 0; b < kPrompts.size(); ++b) {
        const std::vector<Logits> ref = decode_alone(*alone->model, b);
        for (int s = 0; s < kSteps; ++s) {
            ASSERT_EQ(steps[size_t(s)].rows, int64_t(kPrompts.size()));
            EXPECT_LE(row_rel_err(steps[size_t(s)].row(int64_t(b)), ref[size_t(s)].row(0)), kRowTolerance)
                << "sequence " << b << " step " << s;
        }
        batched->model->select_sequence(ids[b]);
        EXPECT_EQ(batched->model->cached_tokens(), int64_t(kPrompts[b].size()) + kSteps);
    }
}

TEST(BatchedDecode, DeepseekRowsEqualEachSequenceDecodedAlone) { expect_rows_match_single_decoding(false); }

TEST(BatchedDecode, DeepseekV2RowsEqualEachSequenceDecodedAlone) {
    test::TinyDeepseekSpec spec;
    spec.v2 = true;
    spec.q_lora = false;
    spec.mtp = false;
    expect_rows_match_single_decoding(false, spec);
}

TEST(BatchedDecode, Qwen2RowsEqualEachSequenceDecodedAlone) { expect_rows_match_single_decoding(true); }

// After batched steps a sequence's MTP module drafts exactly as it does for the same sequence
// decoded alone: the batched step kept each row's hidden state as that sequence's MTP input.
TEST(BatchedDecode, EachSequenceKeepsItsOwnMtpInputs) {
    auto batched = load(false), alone = load(false);
    std::vector<int64_t> ids;
    decode_batched(*batched->model, ids);
    for (size_t b = 0; b < kPrompts.size(); ++b) {
        std::vector<int32_t> seq = kPrompts[b];
        for (int s = 0; s < kSteps; ++s) seq.push_back(step_token(b, s));
        const std::span<const int32_t> next(seq.begin() + 1, seq.end());  // token i+1 for position i
        decode_alone(*alone->model, b);
        const Logits ref = alone->model->mtp_forward(next, 0);
        batched->model->select_sequence(ids[b]);
        const Logits got = batched->model->mtp_forward(next, 0);
        ASSERT_EQ(got.rows, ref.rows);
        for (int64_t r = 0; r < got.rows; ++r) EXPECT_LE(row_rel_err(got.row(r), ref.row(r)), kRowTolerance);
    }
}

// The routing trace sees one forward per row, tagged with its sequence and position, with the
// routing that sequence gets alone; the load counters grow by top_k per row and MoE layer.
TEST(BatchedDecode, RoutingIsRecordedPerRowAndSequence) {
    auto batched = load(false), alone = load(false);
    Model& m = *batched->model;
    std::vector<int64_t> ids;
    decode_batched(m, ids);
    std::vector<ForwardRouting> seen;
    const int observer = m.routing_trace().add_observer([&](const ForwardRouting& f, const RoutingTrace&) { seen.push_back(f); });
    const auto load_before = m.routing_trace().expert_load(1);
    std::vector<Model::BatchRow> rows;
    for (size_t b = 0; b < kPrompts.size(); ++b) rows.push_back({ids[b], 11, int64_t(kPrompts[b].size()) + kSteps});
    m.decode_batch(rows);
    m.routing_trace().remove_observer(observer);

    ASSERT_EQ(seen.size(), kPrompts.size());
    for (size_t b = 0; b < kPrompts.size(); ++b) {
        EXPECT_EQ(seen[b].sequence, ids[b]);
        EXPECT_EQ(seen[b].start_pos, rows[b].pos);
        EXPECT_EQ(seen[b].tokens, 1);
        EXPECT_FALSE(seen[b].mtp);
        decode_alone(*alone->model, b);
        alone->model->forward(std::vector<int32_t>{11}, rows[b].pos);
        const ForwardRouting ref = alone->model->routing_trace().last_forward();
        ASSERT_EQ(seen[b].layers.size(), ref.layers.size());
        for (const auto& [layer, r] : ref.layers) EXPECT_EQ(seen[b].layers.at(layer).expert_ids, r.expert_ids);
    }
    const auto load_after = m.routing_trace().expert_load(1);
    EXPECT_EQ(std::accumulate(load_after.begin(), load_after.end(), uint64_t(0)) -
                  std::accumulate(load_before.begin(), load_before.end(), uint64_t(0)),
              2 * kPrompts.size());  // top_k 2
}

// A row may roll its sequence back (a position below its cached length), as forward() does, and
// the other sequences are untouched.
TEST(BatchedDecode, ARowRollsOnlyItsOwnSequenceBack) {
    auto batched = load(false), alone = load(false);
    Model& m = *batched->model;
    std::vector<int64_t> ids;
    decode_batched(m, ids);
    const int64_t back = int64_t(kPrompts[1].size()) + 1;  // drop sequence 1's last three steps
    const std::vector<Model::BatchRow> rows{{ids[1], 50, back}, {ids[2], 51, int64_t(kPrompts[2].size()) + kSteps}};
    const Logits got = m.decode_batch(rows);
    m.select_sequence(ids[1]);
    EXPECT_EQ(m.cached_tokens(), back + 1);
    m.select_sequence(ids[0]);
    EXPECT_EQ(m.cached_tokens(), int64_t(kPrompts[0].size()) + kSteps);

    decode_alone(*alone->model, 1);
    const Logits ref = alone->model->forward(std::vector<int32_t>{50}, back);
    EXPECT_LE(row_rel_err(got.row(0), ref.row(0)), kRowTolerance);
}

// Greedy rows read back only their id, chosen on the backend among the first vocab_limit ids;
// the logits come back only for the rows that want them, in row order.
TEST(BatchedDecode, GreedyRowsGetIdsAndOnlyTheRowsThatAskGetLogits) {
    auto a = load(false), b = load(false);
    std::vector<int64_t> ids_a, ids_b;
    decode_batched(*a->model, ids_a);
    decode_batched(*b->model, ids_b);
    std::vector<Model::BatchRow> rows;
    for (size_t s = 0; s < kPrompts.size(); ++s) rows.push_back({ids_a[s], 9, int64_t(kPrompts[s].size()) + kSteps});
    const Logits all = a->model->decode_batch(rows);
    rows[1].want_logits = false;
    std::vector<int32_t> greedy;
    const int64_t limit = 50;
    const Logits some = b->model->decode_batch(rows, &greedy, limit);
    ASSERT_EQ(some.rows, 2);
    EXPECT_EQ(std::vector<float>(some.row(0).begin(), some.row(0).end()), std::vector<float>(all.row(0).begin(), all.row(0).end()));
    EXPECT_EQ(std::vector<float>(some.row(1).begin(), some.row(1).end()), std::vector<float>(all.row(2).begin(), all.row(2).end()));
    ASSERT_EQ(greedy.size(), rows.size());
    for (size_t s = 0; s < rows.size(); ++s) {
        EXPECT_EQ(greedy[s], host_greedy_choice(all.row(int64_t(s)), limit)) << "row " << s;
        EXPECT_LT(greedy[s], limit);
    }
}

TEST(BatchedDecode, SequencesComeAndGoAndBadBatchesAreRefused) {
    auto l = load(false);
    Model& m = *l->model;
    EXPECT_TRUE(m.supports_sequences());
    EXPECT_GT(m.sequence_cache_bytes(), 0);
    const int64_t a = m.add_sequence(), b = m.add_sequence();
    EXPECT_EQ(m.live_sequences(), 3);
    m.select_sequence(b);
    m.forward(kPrompts[1], 0);
    m.select_sequence(0);
    EXPECT_EQ(m.cached_tokens(), 0);  // sequence 0 untouched by b's prefill
    m.select_sequence(a);
    m.remove_sequence(a);
    EXPECT_EQ(m.selected_sequence(), 0);  // removing the selected sequence selects 0
    expect_error([&] { m.select_sequence(a); }, "model.no_sequence");
    EXPECT_EQ(m.add_sequence(), a);  // a freed id is reused
    m.select_sequence(a);
    EXPECT_EQ(m.cached_tokens(), 0);  // ... with empty caches
    expect_error([&] { m.remove_sequence(0); }, "model.no_sequence");
    expect_error([&] { m.remove_sequence(99); }, "model.no_sequence");

    const int64_t b_len = int64_t(kPrompts[1].size());
    expect_error([&] { m.decode_batch({}); }, "model.bad_batch");
    const std::vector<Model::BatchRow> twice{{b, 1, b_len}, {b, 2, b_len}};
    expect_error([&] { m.decode_batch(twice); }, "model.bad_batch");
    const std::vector<Model::BatchRow> unknown{{b, 1, b_len}, {42, 2, 0}};
    expect_error([&] { m.decode_batch(unknown); }, "model.no_sequence");
    const std::vector<Model::BatchRow> gap{{b, 1, b_len + 1}};
    expect_error([&] { m.decode_batch(gap); }, "model.bad_position");
    const std::vector<Model::BatchRow> bad_token{{b, 96, b_len}};
    expect_error([&] { m.decode_batch(bad_token); }, "model.token_out_of_range");
    m.select_sequence(b);
    EXPECT_EQ(m.cached_tokens(), b_len);  // refused batches change nothing
}

}  // namespace
}  // namespace moe
