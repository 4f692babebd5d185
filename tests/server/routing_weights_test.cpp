// The workbench additions to `return_routed_experts`: routing weights in sglext.routed_expert_weights
// (same [tokens, layers, top_k] layout as the ids, float32) and workbench.completion_tokens (each
// generated id with its text piece). Checked against transformers' reference routing and against the
// engine run in this process (the same model and greedy decoding, no server in between).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "api_client.h"
#include "generate/generator.h"
#include "session/model_session.h"
#include "support/test_paths.h"
#include "tiny_server_suite.h"
#include "tokenizer/tokenizer.h"

namespace moe::test {
namespace {

constexpr int kLayers = 3, kTopK = 4;  // deepseek-v3-tiny: 3 decoder layers (0 dense), 4 experts per token

std::vector<float> decode_float32_base64(const std::string& b64) {
    const std::vector<int32_t> raw = decode_int32_base64(b64);  // same bytes, reinterpreted
    std::vector<float> out(raw.size());
    std::memcpy(out.data(), raw.data(), raw.size() * sizeof(float));
    return out;
}

class RoutingWeightsTest : public TinyServerSuite {};

TEST_F(RoutingWeightsTest, WeightsMatchTheReferenceRouting) {
    const Json ref = Json::parse(read_file(data_path("models/deepseek-v3-tiny/reference/reference.json")));
    int checked = 0;
    for (const Json& c : ref["cases"]) {
        if (c["routing_margin_min"].get<double>() < 1e-3) continue;  // a near tie is not a fair test
        const auto& ids = c["input_ids"];
        const int64_t P = int64_t(ids.size());
        const Json body = {{"prompt", ids}, {"max_tokens", 2}, {"ignore_eos", true}, {"temperature", 0},
                           {"return_routed_experts", true}};
        const Reply r = client().post("/v1/completions", body);
        ASSERT_EQ(r.status, 200) << r.body;
        const std::vector<int32_t> rows = decode_int32_base64(r.json["sglext"]["routed_experts"]);
        const std::vector<float> weights = decode_float32_base64(r.json["sglext"]["routed_expert_weights"]);
        ASSERT_EQ(weights.size(), rows.size());
        ASSERT_EQ(rows.size(), size_t((P + 1) * kLayers * kTopK));
        for (int64_t t = 0; t < P; ++t) {
            for (int k = 0; k < kTopK; ++k) EXPECT_EQ(weights[size_t(t * kLayers * kTopK + k)], 0.0f) << "dense layer 0";
            for (int layer : {1, 2}) {
                const Json& want = c["routing"][std::to_string(layer)];
                std::map<int32_t, double> by_expert;  // transformers' weight of each chosen expert
                for (int k = 0; k < kTopK; ++k)
                    by_expert[want["experts"][t][k].get<int32_t>()] = want["weights"][t][k].get<double>();
                for (int k = 0; k < kTopK; ++k) {
                    const size_t at = size_t((t * kLayers + layer) * kTopK + k);
                    ASSERT_TRUE(by_expert.count(rows[at])) << "token " << t << " layer " << layer;
                    EXPECT_NEAR(weights[at], by_expert[rows[at]], 1e-4 * std::max(1.0, by_expert[rows[at]]))
                        << c["name"] << " token " << t << " layer " << layer << " expert " << rows[at];
                }
            }
        }
        // The JSON form carries the same numbers.
        Json jbody = body;
        jbody["routed_experts_format"] = "json";
        const Reply j = client().post("/v1/completions", jbody);
        ASSERT_EQ(j.status, 200) << j.body;
        const Json& nested = j.json["sglext"]["routed_expert_weights"];
        ASSERT_EQ(nested.size(), size_t(P + 1));
        for (int64_t t = 0; t < P + 1; ++t)
            for (int l = 0; l < kLayers; ++l)
                for (int k = 0; k < kTopK; ++k)
                    EXPECT_FLOAT_EQ(nested[size_t(t)][size_t(l)][size_t(k)].get<float>(),
                                    weights[size_t((t * kLayers + l) * kTopK + k)]);
        ++checked;
    }
    EXPECT_GT(checked, 0) << "every reference case was a near tie";
}

// What the model's own routing trace records for every position, run in this process.
struct TracedRun {
    std::vector<int32_t> completion;
    std::map<int64_t, std::map<int64_t, LayerRouting>> by_position;  // position -> layer -> routing of that token
};

TracedRun run_in_process(const std::vector<int32_t>& prompt, int64_t max_new, const Tokenizer& tokenizer) {
    ModelSession s = open_model(model_dir("deepseek-v3-tiny"), "cpu", 256);
    TracedRun run;
    const int id = s.model->routing_trace().add_observer([&run](const ForwardRouting& f, const RoutingTrace&) {
        if (f.mtp) return;
        for (const auto& [layer, r] : f.layers)
            for (int64_t t = 0; t < f.tokens; ++t) {
                LayerRouting one{r.top_k, {}, {}};
                one.expert_ids.assign(r.expert_ids.begin() + t * r.top_k, r.expert_ids.begin() + (t + 1) * r.top_k);
                one.weights.assign(r.weights.begin() + t * r.top_k, r.weights.begin() + (t + 1) * r.top_k);
                run.by_position[f.start_pos + t][layer] = std::move(one);
            }
    });
    Generator gen(*s.model);
    GenerationOptions go;
    go.max_new_tokens = max_new;
    go.ignore_eos = true;
    go.vocabulary = vocabulary_mask(s.model->config(), tokenizer);  // as the server does
    go.sampling.temperature = 0;
    run.completion = gen.generate(prompt, go).tokens;
    s.model->routing_trace().remove_observer(id);
    return run;
}

TEST_F(RoutingWeightsTest, CompletionTokensAndWeightsMatchTheModelRunInProcess) {
    const std::vector<int32_t> prompt = {370, 124, 131, 413, 313};
    constexpr int64_t kNew = 12;
    const auto tokenizer = Tokenizer::load(model_dir("deepseek-v3-tiny"));
    const TracedRun want = run_in_process(prompt, kNew, *tokenizer);
    ASSERT_EQ(int64_t(want.completion.size()), kNew);

    const Reply r = client().post("/v1/completions", {{"prompt", prompt}, {"max_tokens", kNew}, {"ignore_eos", true},
                                                      {"temperature", 0}, {"return_routed_experts", true}});
    ASSERT_EQ(r.status, 200) << r.body;
    const Json& tokens = r.json["workbench"]["completion_tokens"];
    ASSERT_EQ(tokens.size(), size_t(kNew));
    std::string joined;
    for (size_t i = 0; i < tokens.size(); ++i) {
        EXPECT_EQ(tokens[i]["id"].get<int32_t>(), want.completion[i]) << "token " << i;
        joined += tokens[i]["text"].get<std::string>();
    }
    EXPECT_EQ(joined, tokenizer->decode(want.completion)) << "pieces concatenate to the decoded reply";

    const std::vector<int32_t> rows = decode_int32_base64(r.json["sglext"]["routed_experts"]);
    const std::vector<float> weights = decode_float32_base64(r.json["sglext"]["routed_expert_weights"]);
    const int64_t T = int64_t(prompt.size()) + kNew - 1;
    ASSERT_EQ(rows.size(), size_t(T * kLayers * kTopK));
    for (int64_t t = 0; t < T; ++t)
        for (int layer : {1, 2}) {
            const LayerRouting& lr = want.by_position.at(t).at(layer);
            float sum = 0, want_sum = 0;
            for (int k = 0; k < kTopK; ++k) {
                const size_t at = size_t((t * kLayers + layer) * kTopK + k);
                EXPECT_EQ(rows[at], lr.expert_ids[size_t(k)]) << "position " << t << " layer " << layer;
                EXPECT_EQ(weights[at], lr.weights[size_t(k)]) << "position " << t << " layer " << layer;
                sum += weights[at];
                want_sum += lr.weights[size_t(k)];
            }
            EXPECT_FLOAT_EQ(sum, want_sum);
        }
}

TEST_F(RoutingWeightsTest, TelemetryMemoryHasNoGpuFiguresOnTheCpu) {
    const Reply r = client().get("/workbench/v1/telemetry/snapshot");
    ASSERT_EQ(r.status, 200) << r.body;
    const Json& mem = r.json["memory"];
    EXPECT_GT(mem["rss_bytes"].get<int64_t>(), 0);
    EXPECT_TRUE(mem.contains("gpu_used_bytes") && mem["gpu_used_bytes"].is_null());
    EXPECT_TRUE(mem.contains("gpu_total_bytes") && mem["gpu_total_bytes"].is_null());
    const Reply m = client().get("/v1/models");
    ASSERT_EQ(m.status, 200) << m.body;
    EXPECT_EQ(m.json["data"][0]["backend"], "cpu");
}

}  // namespace
}  // namespace moe::test
