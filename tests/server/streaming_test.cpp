// Streaming gives the same text as the non-streamed reply (same seed); stop sequences, reasoning
// splitting and routed experts behave the same on both paths.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "api_client.h"
#include "support/test_paths.h"
#include "tiny_server_suite.h"

namespace moe::test {
namespace {

class StreamingTest : public TinyServerSuite {};

Json chat(const std::string& text, Json extra) {
    Json j = {{"messages", {{{"role", "user"}, {"content", text}}}}};
    j.update(extra);
    return j;
}

TEST_F(StreamingTest, ChatStreamEqualsTheNonStreamedReply) {
    const Json body = chat("Tell me a story", {{"temperature", 0.9}, {"top_p", 0.95}, {"seed", 1234}, {"max_tokens", 40}});
    const Reply whole = client().post("/v1/chat/completions", body);
    ASSERT_EQ(whole.status, 200) << whole.body;
    Json sbody = body;
    sbody["stream"] = true;
    sbody["stream_options"] = {{"include_usage", true}};
    const StreamReply s = client().stream("/v1/chat/completions", sbody);
    ASSERT_EQ(s.status, 200) << s.body;
    ASSERT_TRUE(s.done);
    ASSERT_GE(s.events.size(), 3u);
    EXPECT_EQ(s.events.front()["choices"][0]["delta"]["role"], "assistant");
    EXPECT_EQ(stream_text(s), whole.json["choices"][0]["message"]["content"]);
    const Json& finish = s.events[s.events.size() - 2];
    EXPECT_EQ(finish["choices"][0]["finish_reason"], whole.json["choices"][0]["finish_reason"]);
    const Json& usage = s.events.back();
    EXPECT_TRUE(usage["choices"].empty());
    EXPECT_EQ(usage["usage"]["completion_tokens"], whole.json["usage"]["completion_tokens"]);
    EXPECT_EQ(usage["usage"]["prompt_tokens"], whole.json["usage"]["prompt_tokens"]);
    for (size_t i = 0; i + 1 < s.events.size(); ++i) {
        EXPECT_EQ(s.events[i]["object"], "chat.completion.chunk");
        EXPECT_TRUE(s.events[i]["usage"].is_null());
        EXPECT_EQ(s.events[i]["id"], s.events[0]["id"]);
    }
}

TEST_F(StreamingTest, CompletionStreamEqualsTheNonStreamedReply) {
    const Json body = {{"prompt", "The quick brown"}, {"max_tokens", 30}, {"seed", 7}, {"temperature", 1.0}};
    const Reply whole = client().post("/v1/completions", body);
    ASSERT_EQ(whole.status, 200) << whole.body;
    Json sbody = body;
    sbody["stream"] = true;
    const StreamReply s = client().stream("/v1/completions", sbody);
    ASSERT_TRUE(s.done);
    EXPECT_EQ(stream_text(s), whole.json["choices"][0]["text"]);
    EXPECT_EQ(s.events.back()["choices"][0]["finish_reason"], whole.json["choices"][0]["finish_reason"]);
    EXPECT_FALSE(s.events.back().contains("usage"));  // only with stream_options.include_usage
}

// A stop sequence taken from the middle of a known reply cuts it there, streamed or not.
TEST_F(StreamingTest, StopSequencesCutTheReply) {
    const Json base = chat("Count with me", {{"temperature", 0}, {"max_tokens", 60}, {"ignore_eos", true}});
    const Reply full = client().post("/v1/chat/completions", base);
    ASSERT_EQ(full.status, 200);
    const std::string text = full.json["choices"][0]["message"]["content"];
    ASSERT_GT(text.size(), 24u) << text;
    std::string stop = text.substr(text.size() / 2, 3);
    while (!stop.empty() && (static_cast<unsigned char>(stop[0]) & 0xC0) == 0x80) stop.erase(0, 1);  // char boundary
    ASSERT_FALSE(stop.empty());
    const std::string expected = text.substr(0, text.find(stop));

    Json body = base;
    body["stop"] = Json::array({"never-in-this-output-\x01", stop});
    const Reply cut = client().post("/v1/chat/completions", body);
    ASSERT_EQ(cut.status, 200) << cut.body;
    EXPECT_EQ(cut.json["choices"][0]["message"]["content"], expected);
    EXPECT_EQ(cut.json["choices"][0]["finish_reason"], "stop");
    EXPECT_EQ(cut.json["workbench"]["matched_stop"], stop);
    body["stream"] = true;
    const StreamReply s = client().stream("/v1/chat/completions", body);
    EXPECT_EQ(stream_text(s), expected);
    EXPECT_EQ(s.events.back()["choices"][0]["finish_reason"], "stop");

    body = base;
    body["stop"] = "never-in-this-output-\x01";
    const Reply uncut = client().post("/v1/chat/completions", body);
    EXPECT_EQ(uncut.json["choices"][0]["message"]["content"], text);
    EXPECT_EQ(uncut.json["choices"][0]["finish_reason"], "length");
}

// The routed experts of the prompt match transformers' routing in the fixture's reference.
TEST_F(StreamingTest, RoutedExpertsMatchTheReferenceRouting) {
    const Json ref = Json::parse(read_file(data_path("models/deepseek-v3-tiny/reference/reference.json")));
    for (const Json& c : ref["cases"]) {
        if (c["routing_margin_min"].get<double>() < 1e-3) continue;  // a near tie is not a fair test
        const auto& ids = c["input_ids"];
        const int64_t P = int64_t(ids.size());
        const Reply r = client().post("/v1/completions", {{"prompt", ids}, {"max_tokens", 2}, {"ignore_eos", true},
                                                          {"temperature", 0}, {"return_routed_experts", true}});
        ASSERT_EQ(r.status, 200) << r.body;
        const std::vector<int32_t> rows = decode_int32_base64(r.json["sglext"]["routed_experts"]);
        const Json& info = r.json["workbench"]["routed_experts"];
        EXPECT_EQ(info["shape"], Json::array({P + 1, 3, 4}));  // prompt + 2 generated - 1 never run
        ASSERT_EQ(rows.size(), size_t((P + 1) * 3 * 4));
        for (int64_t t = 0; t < P; ++t) {
            for (int j = 0; j < 4; ++j) EXPECT_EQ(rows[size_t(t * 12 + j)], -1) << "dense layer 0";
            for (int layer : {1, 2}) {
                std::vector<int32_t> got(rows.begin() + t * 12 + layer * 4, rows.begin() + t * 12 + layer * 4 + 4);
                std::vector<int32_t> want = c["routing"][std::to_string(layer)]["experts"][t].get<std::vector<int32_t>>();
                std::sort(got.begin(), got.end());
                std::sort(want.begin(), want.end());
                EXPECT_EQ(got, want) << c["name"] << " token " << t << " layer " << layer;
            }
        }
        // The JSON form is the same data; start_len drops leading rows; the prefix cache keeps routing.
        const Reply j = client().post("/v1/completions", {{"prompt", ids}, {"max_tokens", 2}, {"ignore_eos", true},
                                                          {"temperature", 0}, {"return_routed_experts", true},
                                                          {"routed_experts_format", "json"}, {"routed_experts_start_len", 2}});
        ASSERT_EQ(j.status, 200) << j.body;
        const Json& nested = j.json["sglext"]["routed_experts"];
        ASSERT_EQ(nested.size(), size_t(P - 1));
        EXPECT_EQ(j.json["usage"]["prompt_tokens_details"]["cached_tokens"], P - 1);
        for (int64_t t = 2; t < P + 1; ++t)
            for (int layer = 0; layer < 3; ++layer)
                for (int k = 0; k < 4; ++k)
                    EXPECT_EQ(nested[size_t(t - 2)][size_t(layer)][size_t(k)], rows[size_t(t * 12 + layer * 4 + k)]);
    }
}

// A copy of the fixture whose chat template ends the prompt with "<think>\n", as R1's does: the
// whole reply is then reasoning (the random tiny model never writes "</think>").
std::string reasoning_model_dir() {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("moe-r1-tiny-" + std::to_string(getpid()));
    fs::create_directories(dir);
    const fs::path src = model_dir("deepseek-v3-tiny");
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"})
        fs::copy_file(src / f, dir / f, fs::copy_options::overwrite_existing);
    Json tc = Json::parse(read_file((src / "tokenizer_config.json").string()));
    tc["chat_template"] = "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}"
                          "{% if add_generation_prompt %}<|assistant|><think>\n{% endif %}";
    std::ofstream(dir / "tokenizer_config.json") << tc.dump();
    return dir.string();
}

TEST(Reasoning, ReplyAfterAnOpenThinkIsReasoningContent) {
    const std::string dir = reasoning_model_dir();
    {
        ServerProcess server({dir, "", {}});
        ApiClient c(server.port());
        const Json body = chat("2+2?", {{"max_tokens", 20}, {"ignore_eos", true}, {"seed", 5}});
        const Reply r = c.post("/v1/chat/completions", body);
        ASSERT_EQ(r.status, 200) << r.body;
        const Json& msg = r.json["choices"][0]["message"];
        ASSERT_TRUE(msg["reasoning_content"].is_string()) << r.body;
        EXPECT_FALSE(msg["reasoning_content"].get<std::string>().empty());
        EXPECT_EQ(msg["content"], "");
        Json sbody = body;
        sbody["stream"] = true;
        const StreamReply s = c.stream("/v1/chat/completions", sbody);
        EXPECT_EQ(stream_text(s, "reasoning_content"), msg["reasoning_content"]);
        EXPECT_EQ(stream_text(s, "content"), "");
        EXPECT_TRUE(c.get("/v1/models").json["data"][0]["reasoning"].get<bool>());
        EXPECT_EQ(server.stop(), 0);
    }
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace moe::test
