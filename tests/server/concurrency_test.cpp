// Many clients at once: every request is answered correctly (one model, requests queued, or
// decoded side by side with --parallel), and a full queue answers 503 + Retry-After instead of
// piling up. tools/asan-server-test.sh runs this
// file's tests with an ASan + UBSan build of the server and the test.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "api_client.h"
#include "server_process.h"

namespace moe::test {
namespace {

constexpr int kRequests = 200;
constexpr int kConnections = 16;

Json request_for(int i) {
    // Four prompts, greedy: each has one right answer, whatever ran before it (prefix cache included).
    static const char* prompts[] = {"alpha beta", "gamma", "delta epsilon zeta", "eta theta"};
    const bool chat = i % 2 == 0;
    Json body = {{"max_tokens", 6}, {"temperature", 0}, {"ignore_eos", true}};
    if (chat) body["messages"] = {{{"role", "user"}, {"content", prompts[i % 4]}}};
    else body["prompt"] = prompts[i % 4];
    if (i % 3 == 0) body["stream"] = true;
    return body;
}

std::string text_of(const Json& reply) {
    const Json& c = reply["choices"][0];
    return c.contains("message") ? c["message"]["content"].get<std::string>() : c["text"].get<std::string>();
}

// One answer per (endpoint, prompt), asked one at a time.
std::map<int, std::string> expected_texts(int port, const std::string& key) {
    std::map<int, std::string> out;
    ApiClient c(port, key);
    for (int i = 0; i < 4; ++i) {
        Json body = request_for(i);
        body.erase("stream");
        const bool chat = body.contains("messages");
        const Reply r = c.post(chat ? "/v1/chat/completions" : "/v1/completions", body);
        EXPECT_EQ(r.status, 200) << r.body;
        out[i] = text_of(r.json);
    }
    return out;
}

// Every request of many clients over many connections gets its right answer.
void expect_every_answer_right(const std::vector<std::string>& serve_args) {
    ServerProcess server({model_dir("deepseek-v3-tiny"), "k", serve_args});
    const auto expected = expected_texts(server.port(), "k");
    std::atomic<int> next{0}, ok{0};
    std::mutex failures_mutex;
    std::vector<std::string> failures;
    auto fail = [&](std::string what) {
        std::lock_guard lock(failures_mutex);
        failures.push_back(std::move(what));
    };
    std::vector<std::thread> clients;
    for (int t = 0; t < kConnections; ++t) {
        clients.emplace_back([&] {
            ApiClient c(server.port(), "k");  // one kept-alive connection per thread
            for (int i = next++; i < kRequests; i = next++) {
                const Json body = request_for(i);
                const std::string path = body.contains("messages") ? "/v1/chat/completions" : "/v1/completions";
                std::string text;
                if (body.value("stream", false)) {
                    const StreamReply s = c.stream(path, body);
                    if (s.status != 200 || !s.done)
                        fail("stream " + std::to_string(i) + ": " + std::to_string(s.status) + s.body + s.error);
                    text = stream_text(s);
                } else {
                    const Reply r = c.post(path, body);
                    if (r.status != 200)
                        fail("request " + std::to_string(i) + ": " + std::to_string(r.status) + r.body + r.error);
                    else text = text_of(r.json);
                }
                if (text == expected.at(i % 4)) ++ok;
                else fail("request " + std::to_string(i) + " answered '" + text + "'");
            }
        });
    }
    for (auto& t : clients) t.join();
    for (const auto& f : failures) ADD_FAILURE() << f;
    EXPECT_EQ(ok, kRequests);
    const Json health = ApiClient(server.port(), "k").get("/health").json;
    EXPECT_EQ(health["status"], "ok");
    const Json parallel = ApiClient(server.port(), "k").get("/workbench/v1/status").json["queue"]["parallel"];
    if (parallel["slots"].get<int64_t>() > 1) {  // the generations' decode steps were batched
        EXPECT_GT(parallel["batched_steps"].get<int64_t>(), 0);
        EXPECT_GE(parallel["max_batch"].get<int64_t>(), 2) << "no decode step ever carried two generations";
        EXPECT_GT(parallel["mean_batch"].get<double>(), 1.0);
    } else {
        EXPECT_EQ(parallel["batched_steps"], 0);
    }
    EXPECT_EQ(server.stop(), 0);
}

TEST(ServerConcurrency, TwoHundredRequestsOverSixteenConnections) { expect_every_answer_right({}); }

// The same with four generations decoded side by side, their steps batched: greedy answers are
// exactly those of one request at a time.
TEST(ServerConcurrency, TwoHundredRequestsDecodedFourAtATime) { expect_every_answer_right({"--parallel", "4"}); }

// With --parallel, generations really run at once (the status lists them, each in its slot), the
// routing each reply returns is its own sequence's, and a speculative request, which runs alone,
// still answers exactly.
TEST(ServerConcurrency, ParallelGenerationsRunTogetherAndKeepTheirOwnRouting) {
    ServerProcess server({model_dir("deepseek-v3-tiny"), "", {"--parallel", "3", "--test-token-delay-ms", "15"}});
    ApiClient c(server.port());
    const Json queue = c.get("/workbench/v1/status").json["queue"];
    EXPECT_EQ(queue["parallel"]["requested"], 3);
    EXPECT_EQ(queue["parallel"]["slots"], 3);
    EXPECT_TRUE(queue["parallel"]["limit"].is_null());

    auto body = [](const char* prompt) {
        return Json{{"prompt", prompt}, {"max_tokens", 12}, {"temperature", 0}, {"ignore_eos", true},
                    {"return_routed_experts", true}};
    };
    const char* prompts[] = {"alpha beta", "gamma delta", "epsilon"};
    std::map<int, Json> alone;
    for (int i = 0; i < 3; ++i) alone[i] = c.post("/v1/completions", body(prompts[i])).json;

    std::map<int, Json> together;
    std::atomic<size_t> most_running{0};
    std::atomic<bool> done{false};
    std::thread watcher([&] {
        ApiClient w(server.port());
        while (!done) {
            const size_t n = w.get("/workbench/v1/status").json["queue"]["running_all"].size();
            most_running = std::max<size_t>(most_running, n);
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });
    std::vector<std::thread> clients;
    std::mutex m;
    for (int i = 0; i < 3; ++i)
        clients.emplace_back([&, i] {
            const Json reply = ApiClient(server.port()).post("/v1/completions", body(prompts[i])).json;
            std::lock_guard lock(m);
            together[i] = reply;
        });
    for (auto& t : clients) t.join();
    done = true;
    watcher.join();
    EXPECT_GE(most_running.load(), 2u) << "no two generations ever ran at once";
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(together[i]["choices"][0]["text"], alone[i]["choices"][0]["text"]) << prompts[i];
        EXPECT_EQ(together[i]["sglext"]["routed_experts"], alone[i]["sglext"]["routed_experts"]) << prompts[i];
    }

    const Json spec = c.post("/v1/completions", {{"prompt", "alpha beta"}, {"max_tokens", 12}, {"temperature", 0},
                                                 {"ignore_eos", true}, {"speculative", true}}).json;
    EXPECT_EQ(spec["choices"][0]["text"], alone[0]["choices"][0]["text"]);
    EXPECT_TRUE(spec["workbench"]["speculative"]["enabled"].get<bool>());
    EXPECT_EQ(server.stop(), 0);
}

TEST(ServerConcurrency, AFullQueueAnswers503WithRetryAfter) {
    ServerProcess server({model_dir("deepseek-v3-tiny"), "", {"--queue", "2", "--test-token-delay-ms", "20"}});
    std::atomic<int> accepted{0}, rejected{0}, other{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 6; ++t) {
        clients.emplace_back([&] {
            const Reply r = ApiClient(server.port()).post(
                "/v1/completions", {{"prompt", "busy"}, {"max_tokens", 25}, {"ignore_eos", true}});
            if (r.status == 200) ++accepted;
            else if (r.status == 503 && r.error_code() == "queue_full" && r.headers.count("Retry-After")) ++rejected;
            else {
                ++other;
                ADD_FAILURE() << "unexpected reply " << r.status << " " << r.body << " " << r.error;
            }
        });
    }
    for (auto& t : clients) t.join();
    EXPECT_GE(accepted, 2);   // two waiting (one of them may already run)
    EXPECT_GE(rejected, 1);
    EXPECT_EQ(other, 0);
    EXPECT_EQ(ApiClient(server.port()).post("/v1/completions", {{"prompt", "after"}, {"max_tokens", 2}}).status, 200);
    EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace moe::test
