// StepSampler (model/step_sampler.h) over a recording TokenSampler: what reaches the device per
// step. A generation's steps send nothing after the first (the device counts its draws and adds
// each drawn id to its history); new parameters or a jump of the draw index re-send the
// configuration; a history that extends the device's sends only its new tokens, any other starts
// it over; without a repetition penalty the history is not sent at all; a failed step forgets.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "model/step_sampler.h"

namespace moe {
namespace {

struct Recorded {
    int configures = 0;
    SamplingParams params;
    uint64_t next_draw = 0;
    int clears = 0;
    std::vector<std::vector<int32_t>> added;
    std::vector<int32_t> history;  // what the device would hold
};

class RecordingSampler final : public TokenSampler {
public:
    explicit RecordingSampler(Recorded& r) : r_(r) {}
    void configure(const SamplingParams& p, uint64_t next_draw) override {
        ++r_.configures;
        r_.params = p;
        r_.next_draw = next_draw;
    }
    void clear_history() override {
        ++r_.clears;
        r_.history.clear();
    }
    void add_history(std::span<const int32_t> ids) override {
        r_.added.emplace_back(ids.begin(), ids.end());
        r_.history.insert(r_.history.end(), ids.begin(), ids.end());
    }
    Tensor sample(const Tensor&, int64_t) override { return {}; }

private:
    Recorded& r_;
};

// One step as a model runs it: prepare, the device draws `id` (adds it, counts the draw), drew.
void step(StepSampler& s, Recorded& r, const SampleRequest& request, int32_t id) {
    s.prepare(request);
    r.history.push_back(id);
    ++r.next_draw;
    s.drew(id);
}

TEST(StepSampler, AGenerationSendsItsStateOnceThenOnlyWhatChanged) {
    Recorded r;
    StepSampler s(std::make_unique<RecordingSampler>(r));
    ASSERT_TRUE(s.available());
    SamplingParams p;
    p.temperature = 0.8f;
    p.repetition_penalty = 1.3f;
    p.seed = 9;
    std::vector<int32_t> history = {5, 6, 7};
    uint64_t draw = 1;
    for (int32_t id : {11, 12, 13}) {
        step(s, r, SampleRequest{p, history, draw++}, id);
        history.push_back(id);
    }
    EXPECT_EQ(r.configures, 1);
    EXPECT_EQ(r.params, p);
    EXPECT_EQ(r.clears, 1);
    ASSERT_EQ(r.added.size(), 1u);  // the prompt; the drawn ids were added on the device
    EXPECT_EQ(r.added[0], (std::vector<int32_t>{5, 6, 7}));
    EXPECT_EQ(r.history, history);

    // Tokens chosen elsewhere (a speculative step) extend the history: only they are sent.
    history.insert(history.end(), {20, 21});
    draw += 2;  // and the draw index jumped: the configuration goes again
    step(s, r, SampleRequest{p, history, draw++}, 22);
    history.push_back(22);
    EXPECT_EQ(r.configures, 2);
    EXPECT_EQ(r.next_draw, draw);
    EXPECT_EQ(r.clears, 1);
    EXPECT_EQ(r.added.back(), (std::vector<int32_t>{20, 21}));
    EXPECT_EQ(r.history, history);

    // Another conversation: its history does not extend the device's, which starts over.
    const std::vector<int32_t> other = {5, 9};
    step(s, r, SampleRequest{p, other, 1}, 30);
    EXPECT_EQ(r.clears, 2);
    EXPECT_EQ(r.added.back(), other);
    EXPECT_EQ(r.configures, 3);

    // New parameters: configured again, the history kept.
    SamplingParams q = p;
    q.top_k = 4;
    const std::vector<int32_t> longer = {5, 9, 30};
    step(s, r, SampleRequest{q, longer, 2}, 31);
    EXPECT_EQ(r.configures, 4);
    EXPECT_EQ(r.params, q);
    EXPECT_EQ(r.clears, 2);
}

TEST(StepSampler, WithoutAPenaltyTheHistoryIsNotSentAndAFailureForgets) {
    Recorded r;
    StepSampler s(std::make_unique<RecordingSampler>(r));
    SamplingParams p;  // repetition_penalty 1
    const std::vector<int32_t> history = {1, 2, 3};
    step(s, r, SampleRequest{p, history, 0}, 4);
    EXPECT_EQ(r.clears, 0);
    EXPECT_TRUE(r.added.empty());

    // A penalty later: the device's history was never sent, so it starts over from this one.
    p.repetition_penalty = 1.2f;
    const std::vector<int32_t> more = {1, 2, 3, 4};
    step(s, r, SampleRequest{p, more, 1}, 5);
    EXPECT_EQ(r.clears, 1);
    EXPECT_EQ(r.added.back(), more);

    // A step that failed leaves the device unknown: everything goes again.
    s.invalidate();
    const int configures = r.configures;
    const std::vector<int32_t> after = {1, 2, 3, 4, 5};
    s.prepare(SampleRequest{p, after, 2});
    EXPECT_EQ(r.configures, configures + 1);
    EXPECT_EQ(r.clears, 2);
    EXPECT_EQ(r.added.back(), after);
}

}  // namespace
}  // namespace moe
