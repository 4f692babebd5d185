// RoutingTrace as plain data: layers, load counters, biases, observers, snapshots.
#include <gtest/gtest.h>

#include "telemetry/routing_trace.h"

namespace moe {
namespace {

TEST(RoutingTrace, RecordsAForwardAndCountsLoad) {
    RoutingTrace trace;
    trace.add_layer(3, 4, {0.1f, -0.1f, 0.0f, 0.2f});
    trace.add_layer(4, 4);
    EXPECT_EQ(trace.layers(), (std::vector<int64_t>{3, 4}));
    EXPECT_EQ(trace.bias(3), (std::vector<float>{0.1f, -0.1f, 0.0f, 0.2f}));
    EXPECT_TRUE(trace.bias(4).empty());

    trace.begin_forward(10, 2, false);
    trace.record(3, 2, {0, 3, 3, 1}, {0.5f, 0.5f, 0.7f, 0.3f});
    trace.end_forward();
    const ForwardRouting f = trace.last_forward();
    EXPECT_EQ(f.start_pos, 10);
    EXPECT_EQ(f.tokens, 2);
    EXPECT_EQ(f.layers.at(3).tokens(), 2);
    EXPECT_EQ(trace.expert_load(3), (std::vector<uint64_t>{1, 1, 0, 2}));

    trace.begin_forward(12, 1, false);
    trace.record(3, 2, {3, 2}, {0.6f, 0.4f});
    trace.end_forward();
    EXPECT_EQ(trace.expert_load(3), (std::vector<uint64_t>{1, 1, 1, 3}));  // cumulative
    EXPECT_EQ(trace.snapshot().forwards, 2u);
    trace.reset_load();
    EXPECT_EQ(trace.expert_load(3), (std::vector<uint64_t>{0, 0, 0, 0}));
    EXPECT_EQ(trace.snapshot().forwards, 0u);
}

TEST(RoutingTrace, RejectsUndeclaredLayersAndWrongSizes) {
    RoutingTrace trace;
    trace.add_layer(1, 4);
    trace.begin_forward(0, 2, false);
    EXPECT_THROW(trace.record(2, 1, {0, 1}, {1, 1}), std::exception);
    EXPECT_THROW(trace.record(1, 2, {0, 1}, {1, 1}), std::exception);  // 2 tokens x top-2 needs 4
}

TEST(RoutingTrace, ObserversSeeEachForwardUntilRemoved) {
    RoutingTrace trace;
    trace.add_layer(1, 2);
    int calls = 0;
    const int id = trace.add_observer([&](const ForwardRouting& f, const RoutingTrace& t) {
        ++calls;
        EXPECT_EQ(f.layers.size(), 1u);
        EXPECT_EQ(t.snapshot().last_forward.tokens, 1);  // snapshot() from inside an observer is fine
    });
    for (int i = 0; i < 2; ++i) {
        trace.begin_forward(i, 1, false);
        trace.record(1, 1, {1}, {1.0f});
        trace.end_forward();
    }
    trace.remove_observer(id);
    trace.begin_forward(2, 1, false);
    trace.record(1, 1, {0}, {1.0f});
    trace.end_forward();
    EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace moe

namespace moe {
namespace {

// Speculative verification: a held forward counts and is observed only for the rows committed.
TEST(RoutingTrace, AHeldForwardCountsOnlyTheCommittedRows) {
    RoutingTrace trace;
    trace.add_layer(1, 4);
    trace.add_layer(9, 4);  // an MTP layer
    std::vector<std::pair<int64_t, int64_t>> seen;  // (start_pos, tokens) of observed main forwards
    trace.add_observer([&](const ForwardRouting& f, const RoutingTrace&) {
        if (!f.mtp) seen.emplace_back(f.start_pos, f.tokens);
    });

    trace.hold_next_forward();
    trace.begin_forward(5, 1, true);  // the drafter's forward is never held
    trace.record(9, 1, {2}, {1.0f});
    trace.end_forward();
    EXPECT_EQ(trace.expert_load(9), (std::vector<uint64_t>{0, 0, 1, 0}));
    EXPECT_TRUE(trace.holding());

    trace.begin_forward(5, 3, false);  // [t_N, d_1, d_2]
    trace.record(1, 2, {0, 1, 2, 3, 3, 0}, {0.5f, 0.5f, 0.6f, 0.4f, 0.7f, 0.3f});
    trace.end_forward();
    EXPECT_EQ(trace.expert_load(1), (std::vector<uint64_t>{0, 0, 0, 0}));  // held: not counted yet
    EXPECT_TRUE(seen.empty());
    EXPECT_EQ(trace.snapshot().forwards, 1u);

    trace.commit_held(2);  // d_1 accepted, d_2 rejected
    EXPECT_FALSE(trace.holding());
    EXPECT_EQ(trace.expert_load(1), (std::vector<uint64_t>{1, 1, 1, 1}));
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0], (std::pair<int64_t, int64_t>{5, 2}));
    const ForwardRouting last = trace.last_forward();
    EXPECT_EQ(last.tokens, 2);
    EXPECT_EQ(last.layers.at(1).expert_ids, (std::vector<int32_t>{0, 1, 2, 3}));
    EXPECT_EQ(last.layers.at(1).weights, (std::vector<float>{0.5f, 0.5f, 0.6f, 0.4f}));
    EXPECT_THROW(trace.commit_held(1), std::exception);  // nothing held any more

    trace.hold_next_forward();
    trace.begin_forward(7, 2, false);
    trace.record(1, 2, {0, 1, 2, 3}, {1, 1, 1, 1});
    trace.end_forward();
    EXPECT_THROW(trace.commit_held(3), std::exception);  // more rows than the forward had
    trace.discard_held();
    EXPECT_FALSE(trace.holding());
    EXPECT_EQ(trace.expert_load(1), (std::vector<uint64_t>{1, 1, 1, 1}));
    EXPECT_EQ(seen.size(), 1u);
}

}  // namespace
}  // namespace moe
