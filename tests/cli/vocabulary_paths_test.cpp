// Issue #14 item 13: the vocabulary mask (engine/generate/vocabulary.h) is one rule, reported by
// `inspect` and GET /v1/models and applied the same by every path that picks tokens. The
// deepseek-v3-tiny fixture pads its output head: 512 rows for a 500-token tokenizer, 12 ids masked.
#include <gtest/gtest.h>

#include <signal.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "engine_child.h"
#include "generate/generator.h"
#include "session/model_session.h"
#include "support/test_paths.h"
#include "tokenizer/tokenizer.h"

namespace moe::test {
namespace {

using Json = nlohmann::json;

const std::string kFixture = data_path("models/deepseek-v3-tiny");
constexpr int64_t kNewTokens = 12;

TEST(VocabularyMask, InspectReportsIt) {
    const CommandResult json = run_engine({"inspect", kFixture, "--json"});
    ASSERT_EQ(json.status, 0) << json.err;
    const Json v = Json::parse(json.out)["vocabulary"];
    EXPECT_EQ(v["model"], 512);
    EXPECT_EQ(v["tokenizer"], 500);
    EXPECT_EQ(v["sampleable"], 500);
    EXPECT_EQ(v["masked"], 12);

    const CommandResult text = run_engine({"inspect", kFixture});
    ASSERT_EQ(text.status, 0) << text.err;
    EXPECT_NE(text.out.find("vocabulary    512 output ids, 500 tokens; ids 500..511 have no token and are never "
                            "generated (12 masked)"),
              std::string::npos)
        << text.out;
}

// The reference: the model run in this process with the rule applied.
std::vector<int32_t> greedy_in_process(const std::vector<int32_t>& prompt, const Tokenizer& tokenizer) {
    ModelSession s = open_model(kFixture, "cpu", 256);
    Generator generator(*s.model);
    GenerationOptions go;
    go.max_new_tokens = kNewTokens;
    go.ignore_eos = true;
    go.sampling.greedy = true;
    go.vocabulary = vocabulary_mask(s.model->config(), tokenizer);
    return generator.generate(prompt, go).tokens;
}

// `moe-engine generate` and `serve` pick the same tokens as the in-process reference.
TEST(VocabularyMask, GenerateAndServeApplyTheSameRule) {
    const auto tokenizer = Tokenizer::load(kFixture);
    const std::string prompt_text = "the quick brown fox";
    const std::vector<int32_t> prompt = tokenizer->encode(prompt_text, true);  // as generate encodes it
    const std::vector<int32_t> want = greedy_in_process(prompt, *tokenizer);
    ASSERT_EQ(int64_t(want.size()), kNewTokens);
    for (int32_t id : want) EXPECT_LT(id, 500) << "a masked id was generated";

    const CommandResult cli = run_engine({"generate", "--model", kFixture, "--prompt", prompt_text, "--max-tokens",
                                          std::to_string(kNewTokens), "--ignore-eos", "--backend", "cpu"});
    ASSERT_EQ(cli.status, 0) << cli.err;
    EXPECT_EQ(cli.out, tokenizer->decode(want) + "\n");

    EngineChild serve({"serve", "--model", kFixture, "--port", "0", "--backend", "cpu"});
    const int port = Json::parse(serve.read_line(120'000))["port"];
    httplib::Client http("127.0.0.1", port);
    const Json body = {{"prompt", prompt}, {"max_tokens", kNewTokens}, {"temperature", 0}, {"ignore_eos", true},
                       {"return_routed_experts", true}};
    const auto reply = http.Post("/v1/completions", body.dump(), "application/json");
    ASSERT_TRUE(reply);
    ASSERT_EQ(reply->status, 200) << reply->body;
    const Json completion = Json::parse(reply->body);
    std::vector<int32_t> served;
    for (const Json& t : completion["workbench"]["completion_tokens"]) served.push_back(t["id"]);
    EXPECT_EQ(served, want);

    const auto models = http.Get("/v1/models");
    ASSERT_TRUE(models);
    EXPECT_EQ(Json::parse(models->body)["data"][0]["vocabulary"],
              Json({{"model", 512}, {"tokenizer", 500}, {"sampleable", 500}, {"masked", 12}}));
    EXPECT_EQ(serve.finish(SIGTERM).status, 0);
}

}  // namespace
}  // namespace moe::test
