// Model::forward_greedy on CUDA: the decode step recorded once and replayed, ending in the device
// argmax (Backend::argmax_rows) and reading back only the id. Against the same model's logits step
// at the same position (forward(), its own recording) on the HF fixtures, routing traced and not:
// the chosen id is the argmax of those logits (whole vocabulary and a vocab limit), the routing
// trace of the two steps is identical, and an MTP model's draft afterwards is the same. Then the
// benchmark's path: a RandomSource model (random bf16 weights drawn on the device) decodes after
// fill_cache_for_bench at two contexts with one recording, deterministically per seed.
#include <algorithm>
#include <string>
#include <vector>

#include "cuda_test_util.h"
#include "io/checkpoint.h"
#include "model/model.h"
#include "model/weight_source.h"
#include "support/test_paths.h"

namespace moe::test {
namespace {

int32_t argmax_first(std::span<const float> row, int64_t n) {
    return int32_t(std::max_element(row.begin(), row.begin() + n) - row.begin());
}

TEST(CudaGreedyStep, ReplayedGreedyStepIsTheArgmaxOfTheLogitsStep) {
    MOE_SKIP_WITHOUT_CUDA();
    for (const std::string name : {"deepseek-v3-tiny", "moonlight-tiny", "qwen2-tiny"}) {
        SCOPED_TRACE(name);
        const auto ck = Checkpoint::open(data_path("models/" + name));
        CudaBackend be(CudaBackendOptions{0, true, true});
        auto m = load_model(*ck, be, ModelOptions{128});
        const int64_t vocab = m->config().vocab_size, limit = vocab / 3;
        for (bool traced : {true, false}) {
            SCOPED_TRACE(traced ? "traced" : "untraced");
            m->routing_trace().set_enabled(traced);
            const std::vector<int32_t> prompt = {1, 17, 42, 5, 99, 3, 64};
            Logits l = m->forward(prompt, 0, LogitRows::Last);
            int32_t token = argmax_first(l.row(0), vocab);
            int64_t pos = int64_t(prompt.size());
            if (m->has_mtp()) {
                std::vector<int32_t> next(prompt.begin() + 1, prompt.end());
                next.push_back(token);
                m->mtp_forward(next, 0);
            }
            for (int step = 0; step < 6; ++step) {  // the first records both graphs, the rest replay them
                SCOPED_TRACE("step " + std::to_string(step));
                l = m->forward(std::vector<int32_t>{token}, pos, LogitRows::Last);
                const ForwardRouting routed = m->routing_trace().last_forward();
                Logits draft;
                if (m->has_mtp()) draft = m->mtp_forward(std::vector<int32_t>{7}, pos);
                EXPECT_EQ(m->forward_greedy(token, pos, limit), argmax_first(l.row(0), limit));
                const int32_t next = m->forward_greedy(token, pos);
                EXPECT_EQ(next, argmax_first(l.row(0), vocab));
                EXPECT_EQ(m->cached_tokens(), pos + 1);
                const ForwardRouting greedy_routed = m->routing_trace().last_forward();
                ASSERT_EQ(greedy_routed.layers.size(), routed.layers.size());
                for (const auto& [layer, r] : routed.layers)
                    EXPECT_EQ(greedy_routed.layers.at(layer).expert_ids, r.expert_ids) << "layer " << layer;
                if (m->has_mtp()) {
                    EXPECT_TRUE(close(m->mtp_forward(std::vector<int32_t>{7}, pos).data, draft.data, kNmseF32));
                }
                token = next;
                ++pos;
            }
        }
        EXPECT_EQ(be.damaged_guards(), 0);
    }
}

// What `moe-engine bench` runs: random weights on the device, random KV rows, greedy steps.
std::vector<int32_t> bench_decode(const ModelConfig& config, uint64_t seed) {
    CudaBackend be;
    RandomSource source(config, be, seed);
    auto m = load_model(source, ModelOptions{96});
    m->routing_trace().set_enabled(false);
    std::vector<int32_t> tokens;
    for (int64_t context : {20, 60}) {
        m->fill_cache_for_bench(context, seed);
        int32_t token = 1;
        for (int64_t i = 0; i < 5; ++i) tokens.push_back(token = m->forward_greedy(token, context + i));
        EXPECT_EQ(m->cached_tokens(), context + 5);
    }
    return tokens;
}

TEST(CudaGreedyStep, RandomWeightModelsDecodeAfterABenchCacheFill) {
    MOE_SKIP_WITHOUT_CUDA();
    for (const std::string name : {"deepseek-v3-tiny", "qwen2-tiny"}) {
        SCOPED_TRACE(name);
        const ModelConfig config = load_model_config(data_path("models/" + name));
        const std::vector<int32_t> a = bench_decode(config, 3), b = bench_decode(config, 3);
        ASSERT_EQ(a.size(), 10u);
        for (int32_t t : a) EXPECT_TRUE(t >= 0 && t < config.vocab_size);
        EXPECT_EQ(a, b);  // weights and cache noise are functions of the seed
    }
}

}  // namespace
}  // namespace moe::test
