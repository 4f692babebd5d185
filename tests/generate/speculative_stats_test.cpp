// SpeculativeStats: the counters and ratios (never NaN), and the draft-length clamp.
#include <gtest/gtest.h>

#include <cmath>

#include "generate/speculative.h"
#include "generate/speculative_stats.h"

namespace moe {
namespace {

TEST(SpeculativeStats, EmptyCountersGiveZeroRatherThanNaN) {
    const SpeculativeStats s;
    EXPECT_EQ(s.mean_accepted_length(), 0.0);
    EXPECT_EQ(s.acceptance_rate(), 0.0);
    EXPECT_EQ(s.acceptance_rate(0), 0.0);
    EXPECT_EQ(s.acceptance_rate(7), 0.0);
    const Json j = s.to_json();
    EXPECT_EQ(j["drafted"], 0);
    EXPECT_EQ(j["mean_accepted_length"], 0.0);
    EXPECT_TRUE(j["accepted_per_position"].empty());
    EXPECT_EQ(safe_ratio(3, 0), 0.0);
}

TEST(SpeculativeStats, CountsPerPositionAndMeanAcceptedLength) {
    SpeculativeStats s;
    s.record_step(2, 2);  // both kept: 3 tokens from one verification
    s.record_step(2, 1);
    s.record_step(2, 0);
    s.record_step(1, 1);  // a shorter step (near max_tokens)
    EXPECT_EQ(s.steps, 4);
    EXPECT_EQ(s.drafted, (std::vector<int64_t>{4, 3}));
    EXPECT_EQ(s.accepted, (std::vector<int64_t>{3, 1}));
    EXPECT_DOUBLE_EQ(s.acceptance_rate(0), 0.75);
    EXPECT_DOUBLE_EQ(s.acceptance_rate(1), 1.0 / 3.0);
    EXPECT_DOUBLE_EQ(s.acceptance_rate(), 4.0 / 7.0);
    EXPECT_DOUBLE_EQ(s.mean_accepted_length(), (4.0 + 4.0) / 4.0);  // (accepted + bonus per step) / steps
    EXPECT_THROW(s.record_step(2, 3), std::exception);
    EXPECT_THROW(s.record_step(0, 0), std::exception);

    SpeculativeStats t;
    t.record_step(3, 3);
    t.add(s);
    EXPECT_EQ(t.drafted, (std::vector<int64_t>{5, 4, 1}));
    EXPECT_EQ(t.accepted, (std::vector<int64_t>{4, 2, 1}));
    EXPECT_EQ(t.to_json()["accepted_per_position"], Json({4, 2, 1}));
}

TEST(SpeculativeStats, DraftLengthIsClampedToTheModulesPresent) {
    bool clamped = false;
    EXPECT_EQ(effective_draft_tokens(0, 2, &clamped), 2);  // 0: one per module
    EXPECT_FALSE(clamped);
    EXPECT_EQ(effective_draft_tokens(1, 2, &clamped), 1);
    EXPECT_FALSE(clamped);
    EXPECT_EQ(effective_draft_tokens(5, 2, &clamped), 2);
    EXPECT_TRUE(clamped);
    EXPECT_EQ(effective_draft_tokens(3, 0, &clamped), 0);  // no modules: nothing to draft with
}

}  // namespace
}  // namespace moe
