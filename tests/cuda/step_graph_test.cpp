// Batch-1 decode steps through Backend::decode_step on CUDA (cuda_step_graph.cpp): the first step
// runs eagerly and records a graph, later steps replay it. Against the same model on a CUDA backend
// with step graphs off (every op launched from the host, the host position), for a DeepSeek MoE
// fixture (routing traced and not) and a Qwen2 one: the logits of every step within the f32
// tolerance (only split-K summation order differs), the same greedy tokens, the same expert ids
// per layer, and the same cumulative expert load.
#include <string>
#include <vector>

#include "cuda_test_util.h"
#include "generate/sampler.h"
#include "io/checkpoint.h"
#include "model/model.h"
#include "support/test_paths.h"

namespace moe::test {
namespace {

struct Run {
    std::vector<std::vector<float>> logits;
    std::vector<int32_t> tokens;
    std::vector<ForwardRouting> routing;
};

Run decode(Model& m, const std::vector<int32_t>& prompt, int steps) {
    Run r;
    Logits l = m.forward(prompt, 0, LogitRows::Last);
    int64_t pos = int64_t(prompt.size());
    for (int i = 0; i < steps; ++i) {
        const int32_t tok = argmax(l.row(0));
        r.tokens.push_back(tok);
        l = m.forward(std::vector<int32_t>{tok}, pos++, LogitRows::Last);
        r.logits.push_back(l.data);
        r.routing.push_back(m.routing_trace().last_forward());
    }
    return r;
}

void expect_same(const Run& graph, const Run& eager) {
    ASSERT_EQ(graph.tokens, eager.tokens);
    for (size_t i = 0; i < graph.logits.size(); ++i) {
        EXPECT_TRUE(close(graph.logits[i], eager.logits[i], kNmseF32)) << "step " << i;
        ASSERT_EQ(graph.routing[i].layers.size(), eager.routing[i].layers.size()) << "step " << i;
        for (const auto& [layer, lr] : eager.routing[i].layers) {
            ASSERT_TRUE(graph.routing[i].layers.count(layer)) << "layer " << layer;
            EXPECT_EQ(graph.routing[i].layers.at(layer).expert_ids, lr.expert_ids) << "step " << i << " layer " << layer;
            EXPECT_TRUE(close(graph.routing[i].layers.at(layer).weights, lr.weights, kNmseF32));
        }
    }
}

TEST(CudaStepGraph, ReplayedStepsMatchEagerSteps) {
    MOE_SKIP_WITHOUT_CUDA();
    for (const std::string name : {"deepseek-v3-tiny", "moonlight-tiny", "qwen2-tiny"}) {
        SCOPED_TRACE(name);
        const auto ck = Checkpoint::open(data_path("models/" + name));
        CudaBackend graphs(CudaBackendOptions{0, true, true}), eager(CudaBackendOptions{0, true, false});
        auto gm = load_model(*ck, graphs, ModelOptions{128});
        auto em = load_model(*ck, eager, ModelOptions{128});
        const std::vector<int32_t> prompt = {1, 17, 42, 5, 99, 3, 64};
        for (bool traced : {true, false}) {
            gm->routing_trace().set_enabled(traced);
            em->routing_trace().set_enabled(traced);
            expect_same(decode(*gm, prompt, 6), decode(*em, prompt, 6));
            for (int64_t layer : gm->routing_trace().layers())
                EXPECT_EQ(gm->routing_trace().expert_load(layer), em->routing_trace().expert_load(layer)) << layer;
        }
        // Rolling back and decoding again replays the same recording at earlier positions.
        expect_same(decode(*gm, prompt, 3), decode(*em, prompt, 3));
        EXPECT_THROW(gm->forward(std::vector<int32_t>{int32_t(ck->config().vocab_size)}, 7), Error);
        EXPECT_EQ(graphs.damaged_guards(), 0);
    }
}

}  // namespace
}  // namespace moe::test
