// Issue #14 item 14, HTTP details: a known path asked with the wrong method is 405 with `Allow`
// (not 404), every response names the server's version, and every request leaves one line in the
// log file (method, path, status, duration, tokens for generations).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include "api_client.h"
#include "server_process.h"
#include "support/temp_dir.h"
#include "support/test_paths.h"

namespace moe::test {
namespace {

class HttpDetails : public ::testing::Test {
protected:
    // The server inherits this process's environment: MOE_LOG_FILE points its log at the temp dir.
    static void SetUpTestSuite() {
        dir_ = new TempDir("moe-http-details");
        const char* before = std::getenv("MOE_LOG_FILE");
        const std::string saved = before ? before : "";
        setenv("MOE_LOG_FILE", log_file().c_str(), 1);
        server_ = new ServerProcess({model_dir("deepseek-v3-tiny"), "", {}});
        if (before) setenv("MOE_LOG_FILE", saved.c_str(), 1);
        else unsetenv("MOE_LOG_FILE");
    }
    static void TearDownTestSuite() {
        EXPECT_EQ(server_->stop(), 0);
        delete server_;
        delete dir_;
    }
    static std::string log_file() { return dir_->file("engine.log"); }
    static ApiClient client() { return ApiClient(server_->port()); }
    static inline TempDir* dir_ = nullptr;
    static inline ServerProcess* server_ = nullptr;
};

TEST_F(HttpDetails, WrongMethodIs405WithAllow) {
    const Reply get_post_only = client().get("/v1/chat/completions");
    EXPECT_EQ(get_post_only.status, 405);
    EXPECT_EQ(get_post_only.error_code(), "method_not_allowed");
    EXPECT_EQ(get_post_only.headers.find("Allow")->second, "POST");

    const Reply post_get_only = client().post("/health", Json::object());
    EXPECT_EQ(post_get_only.status, 405);
    EXPECT_EQ(post_get_only.headers.find("Allow")->second, "GET, HEAD");

    const Reply pattern = client().post("/v1/models/some-model", Json::object());  // a route with a pattern
    EXPECT_EQ(pattern.status, 405);
    EXPECT_EQ(pattern.headers.find("Allow")->second, "GET, HEAD");

    const Reply unknown = client().get("/v1/nothing-here");  // no route at all: still 404
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(unknown.error_code(), "not_found");
    EXPECT_EQ(unknown.headers.count("Allow"), 0u);
}

TEST_F(HttpDetails, EveryResponseNamesTheServerVersion) {
    const Reply status = client().get("/workbench/v1/status");
    ASSERT_EQ(status.status, 200) << status.body;
    const std::string version = status.json["version"];
    EXPECT_TRUE(std::regex_match(version, std::regex(R"(\d+\.\d+\.\d+)"))) << version;
    const std::string expected = "moe-engine/" + version;
    for (const Reply& r : {status, client().get("/health"), client().get("/v1/nothing-here"),
                           client().post("/v1/completions", {{"prompt", "hi"}, {"max_tokens", 2}})}) {
        ASSERT_EQ(r.headers.count("Server"), 1u) << r.status << " " << r.body;
        EXPECT_EQ(r.headers.find("Server")->second, expected);
    }
    const StreamReply s = client().stream("/v1/completions", {{"prompt", "hi"}, {"max_tokens", 2}, {"stream", true}});
    EXPECT_TRUE(s.done);
}

// An access log line: "[access] [info] <METHOD> <path> <status> <ms> ms[ prompt_tokens=P completion_tokens=C]".
struct LogLine {
    int status = 0;
    double ms = -1;
    int64_t prompt_tokens = -1, completion_tokens = -1;  // -1: not logged
};

std::vector<LogLine> log_lines_for(const std::string& log, const std::string& method, const std::string& path) {
    const std::regex line_re("\\[access\\] \\[info\\] " + method + " " + path +
                             R"( (\d{3}) (\d+\.\d) ms(?: prompt_tokens=(\d+) completion_tokens=(\d+))?$)");
    std::vector<LogLine> out;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (!std::regex_search(line, m, line_re)) continue;
        LogLine l{std::stoi(m[1]), std::stod(m[2])};
        if (m[3].matched) {
            l.prompt_tokens = std::stoll(m[3]);
            l.completion_tokens = std::stoll(m[4]);
        }
        out.push_back(l);
    }
    return out;
}

// httplib logs a request right after its response went out, so a client may look a moment too
// early: poll the file (up to 10 s) until a line for the request satisfies `want`.
std::optional<LogLine> wait_for_log_line(const std::string& file, const std::string& method, const std::string& path,
                                         const std::function<bool(const LogLine&)>& want) {
    for (int i = 0; i < 200; ++i) {
        for (const LogLine& l : log_lines_for(read_file(file), method, path))
            if (want(l)) return l;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
}

TEST_F(HttpDetails, EachRequestIsLoggedWithStatusDurationAndTokens) {
    const Reply done = client().post("/v1/completions", {{"prompt", "log me"}, {"max_tokens", 5}, {"ignore_eos", true}});
    ASSERT_EQ(done.status, 200) << done.body;
    const int64_t prompt_tokens = done.json["usage"]["prompt_tokens"];
    const auto completion = wait_for_log_line(log_file(), "POST", "/v1/completions", [&](const LogLine& l) {
        return l.status == 200 && l.prompt_tokens == prompt_tokens && l.completion_tokens == 5;
    });
    ASSERT_TRUE(completion) << "no line with prompt_tokens=" << prompt_tokens << " completion_tokens=5:\n"
                            << read_file(log_file());
    EXPECT_GT(completion->ms, 0.0);

    const StreamReply streamed = client().stream(
        "/v1/chat/completions",
        {{"messages", {{{"role", "user"}, {"content", "stream me"}}}}, {"max_tokens", 4}, {"ignore_eos", true},
         {"stream", true}});
    ASSERT_TRUE(streamed.done);
    EXPECT_TRUE(wait_for_log_line(log_file(), "POST", "/v1/chat/completions",
                                  [](const LogLine& l) { return l.status == 200 && l.completion_tokens == 4; }))
        << "a stream is logged when it ends, with its tokens:\n" << read_file(log_file());

    EXPECT_EQ(client().get("/v1/chat/completions").status, 405);
    const auto refused = wait_for_log_line(log_file(), "GET", "/v1/chat/completions",
                                           [](const LogLine& l) { return l.status == 405; });
    ASSERT_TRUE(refused) << read_file(log_file());
    EXPECT_EQ(refused->prompt_tokens, -1) << "no tokens on a request that generated nothing";
}

}  // namespace
}  // namespace moe::test
