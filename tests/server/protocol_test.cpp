// Request validation: every rejection names the field; accepted requests parse into the right values.
#include <gtest/gtest.h>

#include "core/error.h"
#include "server/api_error.h"
#include "server/openai_protocol.h"
#include "server/request_fields.h"
#include "server/routed_experts.h"

namespace moe::server {
namespace {

ApiError chat_error(const Json& body) {
    try {
        parse_chat_request(body);
    } catch (const ApiException& e) {
        return e.error();
    }
    ADD_FAILURE() << "accepted: " << body.dump();
    return {};
}

Json chat(Json extra = Json::object()) {
    Json j = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
    j.update(extra);
    return j;
}

TEST(OpenAIProtocol, ParsesAFullChatRequest) {
    const auto r = parse_chat_request(chat({{"max_tokens", 7}, {"max_completion_tokens", 9}, {"temperature", 0.5},
                                            {"top_p", 0.9}, {"seed", 42}, {"stop", {"a", "b"}}, {"stream", true},
                                            {"stream_options", {{"include_usage", true}}},
                                            {"return_routed_experts", true}, {"user", "ignored"}}));
    EXPECT_EQ(r.common.model, "m");
    EXPECT_EQ(r.common.sampling.max_tokens, 9);  // max_completion_tokens wins
    EXPECT_DOUBLE_EQ(r.common.sampling.temperature, 0.5);
    EXPECT_EQ(r.common.sampling.seed, 42u);
    EXPECT_EQ(r.common.sampling.stop, (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(r.common.stream);
    EXPECT_TRUE(r.common.include_usage);
    EXPECT_TRUE(r.common.routed_experts.enabled);
    EXPECT_EQ(r.messages[0]["content"], "hi");
}

TEST(OpenAIProtocol, NullsAndContentPartsAreAccepted) {
    const auto r = parse_chat_request(chat({{"temperature", nullptr}, {"stop", "x"},
                                            {"messages", {{{"role", "developer"}, {"content", "sys"}},
                                                          {{"role", "user"}, {"content", {{{"type", "text"}, {"text", "a"}},
                                                                                          {{"type", "text"}, {"text", "b"}}}}},
                                                          {{"role", "assistant"}, {"content", nullptr}}}}}));
    EXPECT_DOUBLE_EQ(r.common.sampling.temperature, 1.0);
    EXPECT_EQ(r.common.sampling.stop, (std::vector<std::string>{"x"}));
    EXPECT_EQ(r.messages[0]["role"], "system");
    EXPECT_EQ(r.messages[1]["content"], "ab");
    EXPECT_TRUE(r.messages[2]["content"].is_null());
}

TEST(OpenAIProtocol, RejectionsNameTheField) {
    struct Case {
        Json extra;
        std::string param;
    };
    const std::vector<Case> cases = {
        {{{"temperature", "hot"}}, "temperature"},
        {{{"temperature", 3}}, "temperature"},
        {{{"max_tokens", 0}}, "max_tokens"},
        {{{"max_tokens", 1.5}}, "max_tokens"},
        {{{"seed", "x"}}, "seed"},
        {{{"stop", 5}}, "stop"},
        {{{"stop", {"a", "b", "c", "d", "e"}}}, "stop"},
        {{{"stop", {""}}}, "stop"},
        {{{"stream", "yes"}}, "stream"},
        {{{"stream_options", {{"include_usage", true}}}}, "stream_options"},  // without stream
        {{{"n", 2}}, "n"},
        {{{"tools", {{{"type", "function"}}}}}, "tools"},
        {{{"logprobs", true}}, "logprobs"},
        {{{"presence_penalty", 0.5}}, "presence_penalty"},
        {{{"messages", "hi"}}, "messages"},
        {{{"messages", Json::array()}}, "messages"},
        {{{"messages", {{{"role", "wizard"}, {"content", "x"}}}}}, "messages[0].role"},
        {{{"messages", {{{"content", "x"}}}}}, "messages[0].role"},
        {{{"messages", {{{"role", "user"}, {"content", 5}}}}}, "messages[0].content"},
        {{{"messages", {{{"role", "user"}, {"content", {{{"type", "image_url"}}}}}}}}, "messages[0].content[0].type"},
        {{{"routed_experts_format", "xml"}}, "routed_experts_format"},
    };
    for (const auto& c : cases) {
        const ApiError e = chat_error(chat(c.extra));
        EXPECT_EQ(e.status, 400) << c.extra.dump();
        EXPECT_EQ(e.param, c.param) << c.extra.dump() << " -> " << e.message;
        EXPECT_FALSE(e.message.empty());
    }
}

TEST(OpenAIProtocol, CompletionPrompts) {
    EXPECT_EQ(*parse_completion_request({{"prompt", "hi"}}).prompt_text, "hi");
    EXPECT_EQ(*parse_completion_request({{"prompt", {"hi"}}}).prompt_text, "hi");
    EXPECT_EQ(parse_completion_request({{"prompt", {1, 2, 3}}}).prompt_ids, (std::vector<int32_t>{1, 2, 3}));
    EXPECT_EQ(parse_completion_request({{"prompt", {{4, 5}}}}).prompt_ids, (std::vector<int32_t>{4, 5}));
    for (const Json& bad : {Json{{"prompt", {"a", "b"}}}, Json{{"prompt", 5}}, Json{{"prompt", {-1}}},
                            Json::object(), Json{{"prompt", ""}}, Json{{"prompt", "x"}, {"echo", true}}}) {
        EXPECT_THROW(parse_completion_request(bad), ApiException) << bad.dump();
    }
}

TEST(OpenAIProtocol, BodyParsing) {
    EXPECT_THROW(parse_request_body("{\"a\": 1,"), ApiException);
    EXPECT_THROW(parse_request_body("[1, 2]"), ApiException);
    EXPECT_THROW(parse_request_body(""), ApiException);
    EXPECT_THROW(parse_request_body("{\"a\": 1, \"a\": 2}"), ApiException);  // duplicate keys
    EXPECT_EQ(parse_request_body("{\"a\": 1}")["a"], 1);
}

TEST(ApiErrors, EngineCodesMapToHttpStatuses) {
    EXPECT_EQ(api_error_from(Error("checkpoint.missing_tensor", "/m", "missing", "w")).status, 422);
    EXPECT_EQ(api_error_from(Error("checkpoint.missing_tensor", "/m", "missing", "w")).extra["tensor"], "w");
    EXPECT_EQ(api_error_from(Error("config.unsupported_architecture", "", "x")).status, 422);
    EXPECT_EQ(api_error_from(Error("config.not_found", "", "x")).status, 404);
    EXPECT_EQ(api_error_from(Error("template.raised", "", "x")).status, 400);
    const ApiError ctx = api_error_from(Error("model.context_full", "", "x"));
    EXPECT_EQ(ctx.status, 400);
    EXPECT_EQ(ctx.code, "context_length_exceeded");
    const ApiError oom = api_error_from(
        Error("cuda.out_of_memory", "", "expert weights needs 12.50 GiB but only 3.25 GiB of 79.10 GiB are free on the GPU"));
    EXPECT_EQ(oom.status, 507);
    EXPECT_DOUBLE_EQ(oom.extra["needed_gib"].get<double>(), 12.5);
    EXPECT_DOUBLE_EQ(oom.extra["free_gib"].get<double>(), 3.25);
    EXPECT_EQ(api_error_from(Error("io.read_failed", "", "x")).status, 500);
    // A lost GPU context: the engine restarts, so the client is told to retry after a while.
    const ApiError fault = api_error_from(Error("cuda.device_fault", "", "x; the GPU context is lost"));
    EXPECT_EQ(fault.status, 503);
    EXPECT_EQ(fault.code, "cuda.device_fault");
    EXPECT_GT(fault.retry_after_s, 0);
    const Json body = invalid_request("stop", "bad").body();
    EXPECT_EQ(body["error"]["param"], "stop");
    EXPECT_EQ(body["error"]["type"], "invalid_request_error");
    EXPECT_TRUE(invalid_request("", "bad").body()["error"]["param"].is_null());
}

TEST(RoutedExperts, Base64MatchesTheLittleEndianBytes) {
    EXPECT_EQ(base64_encode("", 0), "");
    EXPECT_EQ(base64_encode("f", 1), "Zg==");
    EXPECT_EQ(base64_encode("foobar", 6), "Zm9vYmFy");
    const std::vector<int32_t> rows = {1, -1, 258, 3};
    EXPECT_EQ(routed_experts_value(rows, 2, 2, false), "AQAAAP////8CAQAAAwAAAA==");
    EXPECT_EQ(routed_experts_value(rows, 2, 1, true), Json::parse("[[[1],[-1]],[[258],[3]]]"));
}

}  // namespace
}  // namespace moe::server
