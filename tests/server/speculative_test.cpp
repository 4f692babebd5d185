// Speculative decoding through the server: the per-request switch and the server default, the
// acceptance counters in `usage.speculative`, the per-token drafted flags in `workbench`, the
// fallback with a reason on a model without MTP modules, the clamped draft length, the summary
// (GET /workbench/v1/speculative: cumulative, per domain, history, speed) and the telemetry
// stream, whose expert-load counters keep counting only the tokens that stay in the sequence.
#include <gtest/gtest.h>

#include <numeric>

#include "api_client.h"
#include "server_process.h"

namespace moe::test {
namespace {

const Json kPrompt = {370, 124, 131, 413, 313};

Json completion(int64_t max_tokens, Json extra = Json::object()) {
    Json body = {{"prompt", kPrompt}, {"max_tokens", max_tokens}, {"temperature", 0}, {"ignore_eos", true},
                 {"return_routed_experts", true}};
    body.update(extra);
    return body;
}

std::vector<int32_t> completion_ids(const Reply& r) {
    std::vector<int32_t> ids;
    for (const Json& t : r.json["workbench"]["completion_tokens"]) ids.push_back(t["id"]);
    return ids;
}

TEST(SpeculativeServer, PerRequestSwitchKeepsGreedyTokensAndReportsAcceptance) {
    ServerProcess server({model_dir("deepseek-v3-tiny"), "", {}});
    ApiClient c(server.port());
    const Reply plain = c.post("/v1/completions", completion(12));
    ASSERT_EQ(plain.status, 200) << plain.body;
    EXPECT_FALSE(plain.json["usage"].contains("speculative"));
    EXPECT_FALSE(plain.json["workbench"].contains("speculative"));

    const Reply spec = c.post("/v1/completions", completion(12, {{"speculative", true}, {"domain", "code"}}));
    ASSERT_EQ(spec.status, 200) << spec.body;
    EXPECT_EQ(completion_ids(spec), completion_ids(plain));
    // The token explorer's data: the routing of every kept token, as plain decoding records it.
    EXPECT_EQ(spec.json["sglext"]["routed_experts"], plain.json["sglext"]["routed_experts"]);
    EXPECT_EQ(spec.json["sglext"]["routed_expert_weights"], plain.json["sglext"]["routed_expert_weights"]);
    const Json& u = spec.json["usage"]["speculative"];
    EXPECT_EQ(u["draft_tokens"], 1);
    EXPECT_GT(u["drafted"].get<int64_t>(), 0);
    EXPECT_EQ(u["drafted_per_position"].size(), 1u);
    EXPECT_EQ(u["accepted_per_position"].size(), 1u);
    // Each step produced accepted + 1 tokens; the first token came from the prefill, and the last
    // from a plain step when only one was left to produce.
    const int64_t from_steps = u["accepted"].get<int64_t>() + u["steps"].get<int64_t>();
    EXPECT_TRUE(from_steps == 12 - 1 || from_steps == 12 - 2) << u;
    const Json& w = spec.json["workbench"]["speculative"];
    EXPECT_EQ(w["enabled"], true);
    EXPECT_TRUE(w["reason"].is_null());
    EXPECT_TRUE(w["warning"].is_null());
    ASSERT_EQ(w["drafted_tokens"].size(), 12u);
    int64_t drafted = 0;
    for (size_t i = 0; i < 12; ++i) {
        drafted += w["drafted_tokens"][i].get<bool>();
        EXPECT_EQ(spec.json["workbench"]["completion_tokens"][i]["drafted"], w["drafted_tokens"][i]);
    }
    EXPECT_EQ(drafted, u["accepted"].get<int64_t>());
    EXPECT_EQ(server.stop(), 0);
}

TEST(SpeculativeServer, ServerDefaultAppliesUnlessTheRequestSaysOtherwise) {
    ServerProcess server({model_dir("deepseek-v3-tiny"), "", {"--speculative", "--draft", "4"}});
    ApiClient c(server.port());
    const Reply on = c.post("/v1/completions", completion(6));
    ASSERT_EQ(on.status, 200) << on.body;
    const Json& w = on.json["workbench"]["speculative"];
    EXPECT_EQ(w["enabled"], true);
    EXPECT_EQ(w["draft_tokens"], 1);  // --draft 4 on one module: clamped, and said so
    EXPECT_NE(w["warning"].get<std::string>().find("1 MTP module"), std::string::npos) << w;
    EXPECT_TRUE(on.json["usage"].contains("speculative"));

    const Reply off = c.post("/v1/completions", completion(6, {{"speculative", false}}));
    ASSERT_EQ(off.status, 200) << off.body;
    EXPECT_FALSE(off.json["usage"].contains("speculative"));
    EXPECT_EQ(completion_ids(off), completion_ids(on));

    const Json summary = c.get("/workbench/v1/speculative").json;
    EXPECT_EQ(summary["default"], Json({{"enabled", true}, {"draft_tokens", 4}}));
    EXPECT_EQ(summary["requests"], Json({{"speculative", 1}, {"plain", 1}}));
    EXPECT_TRUE(summary["decode_tokens_per_second"]["speedup"].is_number());
    EXPECT_EQ(server.stop(), 0);
}

TEST(SpeculativeServer, AModelWithoutMtpModulesFallsBackWithAReason) {
    ServerProcess server({model_dir("moonlight-tiny"), "", {}});
    ApiClient c(server.port());
    const Reply plain = c.post("/v1/completions", completion(6));
    const Reply r = c.post("/v1/completions", completion(6, {{"speculative", true}}));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(completion_ids(r), completion_ids(plain));
    const Json& w = r.json["workbench"]["speculative"];
    EXPECT_EQ(w["enabled"], false);
    EXPECT_NE(w["reason"].get<std::string>().find("no MTP modules"), std::string::npos) << w;
    EXPECT_NE(w["reason"].get<std::string>().find("mtp-head"), std::string::npos) << w;
    EXPECT_FALSE(r.json["usage"].contains("speculative"));
    const Json models = c.get("/v1/models").json;
    EXPECT_EQ(models["data"][0]["mtp_modules"], 0);
    const Json summary = c.get("/workbench/v1/speculative").json;
    EXPECT_EQ(summary["mtp_modules"], 0);
    EXPECT_EQ(summary["cumulative"]["drafted"], 0);
    EXPECT_EQ(server.stop(), 0);
}

TEST(SpeculativeServer, BadFieldsAreRefusedNamingTheField) {
    ServerProcess server({model_dir("deepseek-v3-tiny"), "", {}});
    ApiClient c(server.port());
    const Reply a = c.post("/v1/completions", completion(4, {{"speculative", "yes"}}));
    EXPECT_EQ(a.status, 400);
    EXPECT_EQ(a.error_param(), "speculative");
    const Reply b = c.post("/v1/completions", completion(4, {{"speculative", true}, {"speculative_draft_tokens", 0}}));
    EXPECT_EQ(b.status, 400);
    EXPECT_EQ(b.error_param(), "speculative_draft_tokens");
    const Reply d = c.post("/v1/completions", completion(4, {{"domain", std::string(200, 'x')}}));
    EXPECT_EQ(d.status, 400);
    EXPECT_EQ(d.error_param(), "domain");
    EXPECT_EQ(c.get("/workbench/v1/speculative?history=-1").status, 400);
    EXPECT_EQ(server.stop(), 0);
}

uint64_t layer_sum(const Json& layer) {
    const auto load = layer["expert_load"].get<std::vector<uint64_t>>();
    return std::accumulate(load.begin(), load.end(), uint64_t(0));
}

TEST(SpeculativeServer, SummaryAndTelemetryCountPerDomainAndOnlyKeptTokens) {
    ServerProcess server({model_dir("deepseek-v3-tiny"), "", {}});
    ApiClient c(server.port());
    const Json empty = c.get("/workbench/v1/speculative").json;
    EXPECT_EQ(empty["object"], "workbench.speculative");
    EXPECT_EQ(empty["mtp_modules"], 1);
    EXPECT_EQ(empty["cumulative"]["mean_accepted_length"], 0.0);  // no division by zero
    EXPECT_TRUE(empty["history"].empty());
    EXPECT_TRUE(empty["decode_tokens_per_second"]["speedup"].is_null());

    // Fresh server: every token below goes through the main model once (prefix reuse aside).
    int64_t drafted_code = 0, drafted_all = 0;
    const std::vector<std::pair<Json, const char*>> runs = {
        {{370, 124, 131}, "code"}, {{5, 6, 7, 8}, "code"}, {{400, 9}, "math"}};
    for (const auto& [prompt, domain] : runs) {
        Json body = completion(10, {{"speculative", true}, {"domain", domain}});
        body["prompt"] = prompt;
        const Reply r = c.post("/v1/completions", body);
        ASSERT_EQ(r.status, 200) << r.body;
        const int64_t d = r.json["usage"]["speculative"]["drafted"];
        drafted_all += d;
        if (std::string(domain) == "code") drafted_code += d;
    }
    const Json s = c.get("/workbench/v1/speculative?history=2").json;
    EXPECT_EQ(s["cumulative"]["drafted"], drafted_all);
    EXPECT_EQ(s["domains"]["code"]["drafted"], drafted_code);
    EXPECT_EQ(s["domains"]["math"]["drafted"], drafted_all - drafted_code);
    ASSERT_EQ(s["history"].size(), 2u);  // the last two, oldest first
    EXPECT_EQ(s["history"][0]["domain"], "code");
    EXPECT_EQ(s["history"][1]["domain"], "math");
    EXPECT_LE(s["history"][0]["time"].get<double>(), s["history"][1]["time"].get<double>());
    EXPECT_EQ(s["last_request"]["domain"], "math");
    EXPECT_TRUE(s["running"].is_null());

    const Json snap = c.get("/workbench/v1/telemetry/snapshot").json;
    EXPECT_EQ(snap["speculative"]["cumulative"], s["cumulative"]);
    EXPECT_FALSE(snap["speculative"].contains("history"));
    // (prompt + completion - 1) x top_k per main MoE layer; the drafter's own load on the MTP layer.
    const uint64_t forwarded = (3 + 9) + (4 + 9) + (2 + 9);
    for (const Json& layer : snap["routing"]["layers"]) {
        if (layer["mtp"].get<bool>()) EXPECT_GT(layer_sum(layer), 0u);
        else EXPECT_EQ(layer_sum(layer), forwarded * 4) << "layer " << layer["layer"];
    }
    EXPECT_EQ(server.stop(), 0);
}

TEST(SpeculativeServer, StreamCarriesTheCountersInItsUsageChunk) {
    ServerProcess server({model_dir("deepseek-v3-tiny"), "", {}});
    ApiClient c(server.port());
    Json body = completion(8, {{"speculative", true}, {"stream", true}, {"stream_options", {{"include_usage", true}}}});
    const StreamReply s = c.stream("/v1/completions", body);
    ASSERT_EQ(s.status, 200) << s.body;
    ASSERT_GE(s.events.size(), 2u);
    const Json& usage = s.events.back()["usage"];
    EXPECT_GT(usage["speculative"]["drafted"].get<int64_t>(), 0);
    const Json& finish = s.events[s.events.size() - 2];
    EXPECT_EQ(finish["workbench"]["speculative"]["enabled"], true);
    EXPECT_EQ(finish["workbench"]["speculative"]["drafted_tokens"].size(), 8u);
    EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace moe::test
