// Routing telemetry under speculative decoding stays what plain decoding records: only the tokens
// that stay in the sequence are counted and observed, so every main MoE layer holds
// (prompt + completion - 1) x top_k assignments -- also when the reply ends inside an accepted run
// of drafts (EOS, the callback) -- and the routing of every position equals plain greedy's. The
// drafter's routing is counted separately, on the MTP layers.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <vector>

#include "generate/generator.h"
#include "tiny_mtp_model.h"

namespace moe::test {
namespace {

// What an observer of the trace sees, per position of the main model (as the server's recorder
// keeps it): a later forward at an earlier position replaces what followed.
struct PositionRecorder {
    std::map<int64_t, std::map<int64_t, std::vector<int32_t>>> rows;  // position -> layer -> expert ids
    int64_t mtp_forwards = 0;
    void observe(const ForwardRouting& f) {
        if (f.mtp) {
            ++mtp_forwards;
            return;
        }
        rows.erase(rows.lower_bound(f.start_pos), rows.end());
        for (const auto& [layer, r] : f.layers)
            for (int64_t t = 0; t < f.tokens; ++t)
                rows[f.start_pos + t][layer] = {r.expert_ids.begin() + t * r.top_k, r.expert_ids.begin() + (t + 1) * r.top_k};
    }
};

struct Traced {
    GenerationResult result;
    std::map<int64_t, uint64_t> main_hits;  // MoE layer -> Σ expert load
    std::map<int64_t, uint64_t> mtp_hits;
    PositionRecorder recorder;
};

Traced run(const TinyMtpSpec& spec, const std::vector<int32_t>& prompt, GenerationOptions o) {
    auto m = make_tiny_mtp_model(spec);
    Traced r;
    RoutingTrace& trace = m->model->routing_trace();
    trace.add_observer([&r](const ForwardRouting& f, const RoutingTrace&) { r.recorder.observe(f); });
    Generator gen(*m->model);
    r.result = gen.generate(prompt, o);
    const int64_t L = m->model->config().num_hidden_layers;
    for (int64_t layer : trace.layers()) {
        const auto load = trace.expert_load(layer);
        (layer < L ? r.main_hits : r.mtp_hits)[layer] = std::accumulate(load.begin(), load.end(), uint64_t(0));
    }
    return r;
}

GenerationOptions options(int64_t max_new, bool speculative) {
    GenerationOptions o;
    o.max_new_tokens = max_new;
    o.sampling.greedy = true;
    o.ignore_eos = true;
    o.speculative.enabled = speculative;
    return o;
}

void expect_true_telemetry(const Traced& plain, const Traced& spec, int64_t prompt_len) {
    ASSERT_EQ(spec.result.tokens, plain.result.tokens);
    const uint64_t rows = uint64_t(prompt_len) + spec.result.tokens.size() - 1;
    for (const auto& [layer, hits] : spec.main_hits) EXPECT_EQ(hits, rows * 2) << "layer " << layer;  // top_k 2
    EXPECT_EQ(spec.main_hits, plain.main_hits);
    EXPECT_EQ(spec.recorder.rows, plain.recorder.rows);  // the same experts at every position
    EXPECT_EQ(int64_t(spec.recorder.rows.size()), int64_t(rows));
    // The drafter's own routing: on the MTP layers, never mixed into the main layers.
    ASSERT_EQ(spec.mtp_hits.size(), 2u);
    for (const auto& [layer, hits] : spec.mtp_hits) EXPECT_GT(hits, 0u) << "MTP layer " << layer;
    for (const auto& [layer, hits] : plain.mtp_hits) EXPECT_EQ(hits, 0u);
    EXPECT_GT(spec.recorder.mtp_forwards, 0);
}

TEST(SpeculativeRouting, CountsAndShowsOnlyTheTokensThatStay) {
    TinyMtpSpec spec;
    spec.mtp_modules = 2;
    const std::vector<int32_t> prompt{7, 3, 30, 12, 5};
    const Traced plain = run(spec, prompt, options(30, false));
    const Traced s = run(spec, prompt, options(30, true));
    ASSERT_GT(s.result.speculation.accepted_total(), 0);
    ASSERT_LT(s.result.speculation.accepted_total(), s.result.speculation.drafted_total());
    expect_true_telemetry(plain, s, int64_t(prompt.size()));
}

TEST(SpeculativeRouting, StaysTrueWhenTheReplyEndsInsideAnAcceptedRun) {
    TinyMtpSpec spec;
    spec.mtp_modules = 2;
    const std::vector<int32_t> prompt{7, 3, 30, 12, 5};
    const Traced probe = run(spec, prompt, options(30, true));
    // An EOS at a token the verification emitted as an accepted draft followed by more tokens of
    // the same step: the reply, the caches and the telemetry end there.
    const auto& t = probe.result.tokens;
    size_t cut = 0;
    for (size_t i = 1; i < t.size() && cut == 0; ++i)
        if (probe.result.drafted[i] && probe.result.drafted[i - 1] &&
            std::find(t.begin(), t.begin() + std::ptrdiff_t(i - 1), t[i - 1]) == t.begin() + std::ptrdiff_t(i - 1))
            cut = i - 1;
    ASSERT_GT(cut, 0u) << "no run of two accepted drafts to stop inside";
    GenerationOptions o = options(30, true);
    o.ignore_eos = false;
    o.eos_token_ids = {probe.result.tokens[cut]};
    GenerationOptions p = o;
    p.speculative.enabled = false;
    const Traced plain = run(spec, prompt, p), s = run(spec, prompt, o);
    EXPECT_EQ(s.result.stop_reason, StopReason::Eos);
    ASSERT_EQ(s.result.tokens.size(), cut + 1);
    EXPECT_TRUE(s.result.drafted.back());  // it ended on an accepted draft, the next one dropped
    expect_true_telemetry(plain, s, int64_t(prompt.size()));

    // The same through the callback (a stop sequence in the server), one token later.
    int64_t seen = 0;
    o.eos_token_ids = {-1};
    o.on_token = [&seen, cut](int32_t) { return ++seen <= int64_t(cut) + 1; };
    const Traced c = run(spec, prompt, o);
    EXPECT_EQ(c.result.stop_reason, StopReason::Callback);
    EXPECT_EQ(c.result.tokens.size(), cut + 2);
    const uint64_t rows = prompt.size() + c.result.tokens.size() - 1;
    for (const auto& [layer, hits] : c.main_hits) EXPECT_EQ(hits, rows * 2) << "layer " << layer;
}

}  // namespace
}  // namespace moe::test
