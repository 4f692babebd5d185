// The expert buckets of the grouped GEMMs (engine/cuda/expert_groups.h): host logic, runs without
// a GPU. Every active expert in exactly one bucket, none inactive; padded rows within the bucket
// ratio; the row maps consistent (every slot's row holds that slot, padding rows hold none).
#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <set>

#include "cuda/expert_groups.h"

namespace moe::cuda {
namespace {

void expect_consistent(const ExpertGroups& g, std::span<const int32_t> ids) {
    std::set<int64_t> seen;
    for (const ExpertBucket& b : g.buckets)
        for (int64_t e : b.experts) {
            EXPECT_TRUE(seen.insert(e).second) << "expert " << e << " in two buckets";
            EXPECT_GT(g.count[size_t(e)], 0) << "inactive expert " << e << " in a bucket";
            if (!g.grouped) {
                EXPECT_LE(g.count[size_t(e)], b.rows) << "expert " << e << " has more rows than its bucket";
            }
        }
    EXPECT_EQ(seen.size(), g.active.size());
    int64_t real = 0;
    for (int64_t slot = 0; slot < g.N; ++slot) {
        const int32_t row = g.row_of_slot[size_t(slot)];
        ASSERT_GE(row, 0);
        EXPECT_EQ(g.slot_of_row[size_t(row)], slot);
        EXPECT_EQ(g.token_of[size_t(row)], slot / g.K);
        const int64_t e = ids[size_t(slot)];
        EXPECT_GE(row, g.offset[size_t(e)]);
        EXPECT_LT(row, g.offset[size_t(e)] + g.count[size_t(e)]);  // an expert's real rows come first
        ++real;
    }
    int64_t padding = 0;
    for (int64_t r = 0; r < g.P; ++r) padding += g.slot_of_row[size_t(r)] < 0;
    EXPECT_EQ(real + padding, g.P);
}

TEST(ExpertBuckets, EvenRoutingIsOnePaddedBucket) {
    std::mt19937 rng(1);
    const int64_t T = 2048, K = 6, E = 64;
    std::vector<int32_t> ids(size_t(T * K));
    for (auto& id : ids) id = int32_t(rng() % E);
    const ExpertGroups g = group_by_expert(ids, T, K, E, 64, 32);
    EXPECT_EQ(g.buckets.size(), 1u);
    EXPECT_EQ(g.buckets[0].rows, g.max_count);
    EXPECT_LE(double(g.P), 1.5 * double(g.N));  // counts ~192 ± 14: within the first ratios
    expect_consistent(g, ids);
}

TEST(ExpertBuckets, UnevenRoutingNeedsFewLaunchesAndLittlePadding) {
    // Three experts take every token, the others a handful (a random model's routing).
    const int64_t T = 600, K = 4, E = 32;
    std::vector<int32_t> ids;
    std::mt19937 rng(2);
    for (int64_t t = 0; t < T; ++t) {
        ids.push_back(0);
        ids.push_back(1);
        ids.push_back(2);
        ids.push_back(int32_t(3 + rng() % (E - 3)));
    }
    const ExpertGroups g = group_by_expert(ids, T, K, E, 64, 32);
    EXPECT_LE(g.buckets.size(), size_t(kMaxBuckets));
    EXPECT_GE(g.buckets.size(), 2u);                // the hot experts are not padded with the rest ...
    EXPECT_LE(double(g.P), 1.5 * double(g.N));      // ... so padding stays small
    EXPECT_EQ(g.buckets[0].rows, T);
    expect_consistent(g, ids);
}

TEST(ExpertBuckets, CountsSpreadOverDecadesStayWithinEightBuckets) {
    std::vector<int64_t> count;
    for (int64_t e = 0; e < 64; ++e) count.push_back(e % 7 == 0 ? 0 : (int64_t(1) << (e % 12)));
    const std::vector<ExpertBucket> b = bucket_experts(count);
    ASSERT_LE(b.size(), size_t(kMaxBuckets));
    int64_t real = 0, padded = 0;
    for (const ExpertBucket& x : b)
        for (int64_t e : x.experts) {
            real += count[size_t(e)];
            padded += x.rows;
        }
    EXPECT_EQ(real, std::accumulate(count.begin(), count.end(), int64_t(0)));
    EXPECT_LE(double(padded), 4.0 * double(real));  // the ratio that fits 2^0 .. 2^11 in 8 buckets
}

TEST(ExpertBuckets, GroupedModeRunsExactRowsWithoutPadding) {
    const int64_t T = 600, K = 4, E = 32;
    std::vector<int32_t> ids;
    std::mt19937 rng(3);
    for (int64_t t = 0; t < T * K; ++t) ids.push_back(int32_t(t % 3 == 0 ? 0 : rng() % E));
    const ExpertGroups g = group_by_expert(ids, T, K, E, 64, 32, ExpertGemmMode::kGrouped);
    EXPECT_TRUE(g.grouped);
    ASSERT_EQ(g.buckets.size(), 1u);
    EXPECT_EQ(g.buckets[0].experts, g.active);
    EXPECT_EQ(g.P, g.N);  // no padding row
    int64_t next = 0;
    for (int64_t e : g.active) {  // packed in expert order
        EXPECT_EQ(g.offset[size_t(e)], next);
        next += g.count[size_t(e)];
    }
    expect_consistent(g, ids);
}

TEST(ExpertBuckets, NoTokensNoBuckets) {
    const ExpertGroups g = group_by_expert({}, 0, 2, 8, 64, 32);
    EXPECT_TRUE(g.buckets.empty());
    EXPECT_EQ(g.P, 0);
}

}  // namespace
}  // namespace moe::cuda
