// Packing: first-fit placement, sample masking (targets, positions, segments) and padding.
#include <gtest/gtest.h>

#include <numeric>

#include "train/data/data_rng.h"
#include "train/data/packing.h"
#include "train_data_util.h"

namespace moe::train {
namespace {

Sample make_sample(std::vector<int32_t> tokens, std::vector<uint8_t> is_target, int32_t domain) {
    Sample s;
    s.tokens = std::move(tokens);
    s.is_target = std::move(is_target);
    s.domain = domain;
    return s;
}

// The textbook O(n * bins) first-fit, to check the tree version against.
std::vector<std::vector<int32_t>> naive_first_fit(const std::vector<int64_t>& lengths,
                                                  const std::vector<int32_t>& order, int64_t capacity) {
    std::vector<std::vector<int32_t>> bins;
    std::vector<int64_t> room;
    for (int32_t i : order) {
        size_t b = 0;
        while (b < bins.size() && room[b] < lengths[size_t(i)]) ++b;
        if (b == bins.size()) {
            bins.emplace_back();
            room.push_back(capacity);
        }
        bins[b].push_back(i);
        room[b] -= lengths[size_t(i)];
    }
    return bins;
}

TEST(Packing, FirstFitPutsEachItemInTheFirstSequenceWithRoom) {
    const std::vector<int64_t> lengths = {5, 3, 4, 2, 6};
    const std::vector<int32_t> order = {0, 1, 2, 3, 4};
    // 5 opens #0 (3 left), 3 fills #0, 4 opens #1 (4 left), 2 goes to #1 (2 left), 6 opens #2.
    EXPECT_EQ(pack_first_fit(lengths, order, 8), (std::vector<std::vector<int32_t>>{{0, 1}, {2, 3}, {4}}));
    // In another order a later small item goes back to an earlier sequence.
    const std::vector<int32_t> order2 = {4, 2, 0, 3, 1};
    // 6 -> #0 (2 left), 4 -> #1 (4 left), 5 -> #2 (3 left), 2 -> #0 (0 left), 3 -> #1 (1 left).
    EXPECT_EQ(pack_first_fit(lengths, order2, 8), (std::vector<std::vector<int32_t>>{{4, 3}, {2, 1}, {0}}));
}

TEST(Packing, FirstFitMatchesTheNaiveAlgorithmOnRandomInput) {
    DataRng rng(42);
    for (int trial = 0; trial < 20; ++trial) {
        const int64_t capacity = 16 + int64_t(rng.below(200));
        std::vector<int64_t> lengths(1 + rng.below(300));
        for (int64_t& n : lengths) n = 1 + int64_t(rng.below(uint64_t(capacity)));
        std::vector<int32_t> order(lengths.size());
        std::iota(order.begin(), order.end(), 0);
        shuffle_in_place(order, rng);
        EXPECT_EQ(pack_first_fit(lengths, order, capacity), naive_first_fit(lengths, order, capacity))
            << "trial " << trial;
    }
}

TEST(Packing, SequenceLayoutRestartsPositionsAndNeverCrossesSamples) {
    const Sample a = make_sample({10, 11, 12}, {0, 1, 1}, 2);
    const Sample b = make_sample({20, 21, 22, 23}, {0, 0, 1, 1}, 0);  // 21 is prompt: not a target
    PackedBatch p = padding_batch(2, 9, /*pad_id=*/7);
    const std::vector<const Sample*> seq0 = {&a, &b};
    write_sequence(p, 0, seq0);
    const std::vector<const Sample*> seq1 = {&b};
    write_sequence(p, 1, seq1);

    EXPECT_EQ(p.tokens, (std::vector<int32_t>{10, 11, 12, 20, 21, 22, 23, 7, 7, /**/ 20, 21, 22, 23, 7, 7, 7, 7, 7}));
    // 12 -> 20 would cross samples: -1. 20 -> 21: 21 is not a target: -1.
    EXPECT_EQ(p.targets, (std::vector<int32_t>{11, 12, -1, -1, 22, 23, -1, -1, -1, /**/ -1, 22, 23, -1, -1, -1, -1, -1, -1}));
    EXPECT_EQ(p.positions, (std::vector<int32_t>{0, 1, 2, 0, 1, 2, 3, 0, 1, /**/ 0, 1, 2, 3, 0, 1, 2, 3, 4}));
    EXPECT_EQ(p.segment_start, (std::vector<int32_t>{0, 0, 0, 3, 3, 3, 3, 7, 7, /**/ 0, 0, 0, 0, 4, 4, 4, 4, 4}));
    EXPECT_EQ(p.domain, (std::vector<int32_t>{2, 2, 2, 0, 0, 0, 0, -1, -1, /**/ 0, 0, 0, 0, -1, -1, -1, -1, -1}));
    EXPECT_EQ(p.target_count(), a.loss_tokens() + 2 * b.loss_tokens());
    test::expect_packing_invariants(p, 7);
}

TEST(Packing, FullSequenceHasNoPadding) {
    const Sample a = make_sample({1, 2, 3, 4}, {0, 1, 1, 1}, 0);
    PackedBatch p = padding_batch(1, 4, 0);
    const std::vector<const Sample*> seq = {&a};
    write_sequence(p, 0, seq);
    EXPECT_EQ(p.targets, (std::vector<int32_t>{2, 3, 4, -1}));
    EXPECT_EQ(p.segment_start, (std::vector<int32_t>{0, 0, 0, 0}));
    test::expect_packing_invariants(p, 0);
}

TEST(Packing, EmptySequenceIsOnePaddingSegment) {
    const PackedBatch p = padding_batch(2, 3, 5);
    EXPECT_EQ(p.tokens, (std::vector<int32_t>(6, 5)));
    EXPECT_EQ(p.targets, (std::vector<int32_t>(6, -1)));
    EXPECT_EQ(p.positions, (std::vector<int32_t>{0, 1, 2, 0, 1, 2}));
    EXPECT_EQ(p.segment_start, (std::vector<int32_t>(6, 0)));
    EXPECT_EQ(p.target_count(), 0);
}

TEST(Packing, RejectsWhatDoesNotFit) {
    const Sample a = make_sample({1, 2, 3}, {0, 1, 1}, 0);
    PackedBatch p = padding_batch(1, 4, 0);
    const std::vector<const Sample*> seq = {&a, &a};
    EXPECT_THROW(write_sequence(p, 0, seq), std::runtime_error);
    const std::vector<int64_t> lengths = {5};
    const std::vector<int32_t> order = {0};
    EXPECT_THROW(pack_first_fit(lengths, order, 4), std::runtime_error);
}

}  // namespace
}  // namespace moe::train
