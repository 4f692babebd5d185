// Issue #14 item 15: until batched decoding lands, requests wait in one queue; GET
// /workbench/v1/status shows what runs and each waiting request's position (found by the client's
// X-Request-Id or the response id), and a full queue (serve --queue) answers 503 with Retry-After.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "api_client.h"
#include "server_process.h"

namespace moe::test {
namespace {

using namespace std::chrono_literals;

// Polls the status until `pred` holds (or 20 s pass); returns the last status.
Json wait_for_status(int port, const std::function<bool(const Json&)>& pred) {
    Json status;
    for (int i = 0; i < 400; ++i) {
        status = ApiClient(port).get("/workbench/v1/status").json;
        if (pred(status)) break;
        std::this_thread::sleep_for(50ms);
    }
    return status;
}

Json long_completion() { return {{"prompt", "queue"}, {"max_tokens", 40}, {"ignore_eos", true}}; }

TEST(QueueStatus, PositionsAndRetryAfter) {
    // 40 tokens x 75 ms: each request holds the model for about 3 s. (At 2 s the hint, a moving
    // average that starts from the quick model load, sat right at the 1 s / 2 s rounding edge.)
    ServerProcess server({model_dir("deepseek-v3-tiny"), "", {"--queue", "2", "--test-token-delay-ms", "75"}});
    const int port = server.port();
    const Json idle = ApiClient(port).get("/workbench/v1/status").json;
    EXPECT_EQ(idle["object"], "workbench.status");
    EXPECT_EQ(idle["queue"]["capacity"], 2);
    EXPECT_EQ(idle["queue"]["length"], 0);
    EXPECT_TRUE(idle["queue"]["running"].is_null());

    auto send = [port](const std::string& request_id) {
        return std::thread([port, request_id] {
            const Reply r = ApiClient(port).post("/v1/completions", long_completion(), {{"X-Request-Id", request_id}});
            EXPECT_EQ(r.status, 200) << request_id << ": " << r.body;
        });
    };
    std::thread a = send("req-a");
    Json s = wait_for_status(port, [](const Json& j) { return !j["queue"]["running"].is_null(); });
    ASSERT_FALSE(s["queue"]["running"].is_null()) << s.dump();
    EXPECT_EQ(s["queue"]["running"]["request_id"], "req-a");
    EXPECT_EQ(s["queue"]["running"]["kind"], "text_completion");
    EXPECT_EQ(s["queue"]["running"]["id"].get<std::string>().rfind("cmpl-", 0), 0u);

    std::thread b = send("req-b");
    wait_for_status(port, [](const Json& j) { return j["queue"]["length"] == 1; });
    std::thread c = send("req-c");
    s = wait_for_status(port, [](const Json& j) { return j["queue"]["length"] == 2; });
    ASSERT_EQ(s["queue"]["length"], 2) << s.dump();
    const Json& waiting = s["queue"]["waiting"];
    EXPECT_EQ(waiting[0]["position"], 1);
    EXPECT_EQ(waiting[0]["request_id"], "req-b");
    EXPECT_EQ(waiting[1]["position"], 2);
    EXPECT_EQ(waiting[1]["request_id"], "req-c");
    EXPECT_GE(waiting[0]["waiting_ms"].get<double>(), waiting[1]["waiting_ms"].get<double>());

    // The configured limit is reached: the next request is turned away with a Retry-After.
    const Reply full = ApiClient(port).post("/v1/completions", long_completion(), {{"X-Request-Id", "req-d"}});
    EXPECT_EQ(full.status, 503);
    EXPECT_EQ(full.error_code(), "queue_full");
    ASSERT_EQ(full.headers.count("Retry-After"), 1u);
    const int retry_after = std::stoi(full.headers.find("Retry-After")->second);
    EXPECT_GE(retry_after, 1);
    EXPECT_LE(retry_after, 60);

    a.join();
    b.join();
    c.join();
    const Json after = ApiClient(port).get("/workbench/v1/status").json;
    EXPECT_EQ(after["queue"]["length"], 0);
    EXPECT_TRUE(after["queue"]["running"].is_null());
    // Three requests of about 3 s each ran: the Retry-After hint follows their run time.
    EXPECT_GE(after["queue"]["retry_after_s"].get<int>(), 2) << after.dump();
    EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace moe::test
