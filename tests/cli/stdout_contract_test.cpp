// Issue #14 item 12: stdout carries only a command's result. Every subcommand that promises
// machine-readable stdout runs on a checkpoint whose loading logs warnings (warning_checkpoint.h);
// stdout must parse as the promised result and nothing else, while the warnings reach stderr and
// the log file ($MOE_LOG_FILE). Before the fix spdlog's default logger wrote them to stdout.
#include <gtest/gtest.h>

#include <signal.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "engine_child.h"
#include "support/temp_dir.h"
#include "support/test_paths.h"
#include "warning_checkpoint.h"

namespace moe::test {
namespace {

using Json = nlohmann::json;

class StdoutContract : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir("moe-cli-contract");
        write_warning_checkpoint(dir_->path());
    }
    static void TearDownTestSuite() {
        delete dir_;
        dir_ = nullptr;
    }
    static std::string model() { return dir_->path(); }

    // Each test logs into a file of its own.
    std::string log_file() const {
        return dir_->file(std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".log");
    }
    std::vector<std::string> env() const { return {"MOE_LOG_FILE=" + log_file()}; }

    // The warning on stderr (marked as one) and in the log file: the model did warn, not on stdout.
    void expect_warning_logged(const CommandResult& r) const {
        EXPECT_NE(r.err.find(kMissingMtpWarning), std::string::npos) << "stderr lacks the warning:\n" << r.err;
        const std::string message = std::string(kMissingMtpWarning).substr(std::string("warning: ").size());
        EXPECT_NE(read_file(log_file()).find("[warning] " + message), std::string::npos) << "log file lacks it";
        EXPECT_EQ(r.out.find(message), std::string::npos) << "the warning reached stdout";
    }

    static inline TempDir* dir_ = nullptr;
};

TEST_F(StdoutContract, InspectJsonIsTheWholeStdout) {
    const CommandResult r = run_engine({"inspect", model(), "--json"}, env());
    ASSERT_EQ(r.status, 0) << r.err;
    const Json j = Json::parse(r.out);  // throws on anything but one JSON document
    EXPECT_EQ(j["model_type"], "deepseek_v3");
}

TEST_F(StdoutContract, TokenizeIsOneJsonLine) {
    const CommandResult r = run_engine({"tokenize", "--tokenizer", model(), "--text", "hello world"}, env());
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_EQ(r.out.back(), '\n');
    EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "one line: " << r.out;
    EXPECT_GT(Json::parse(r.out)["count"].get<int>(), 0);
}

TEST_F(StdoutContract, RouteWritesItsFileAndNothingOnStdout) {
    const std::string out = dir_->file("route.json");
    const CommandResult r = run_engine({"route", "--model", model(), "--tokens", "1,7,42", "--out", out, "--backend", "cpu"},
                                       env());
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "");
    expect_warning_logged(r);
    EXPECT_EQ(Json::parse(read_file(out))["tokens"], Json({1, 7, 42}));
}

TEST_F(StdoutContract, LogitsWritesItsFileAndNothingOnStdout) {
    const CommandResult r = run_engine(
        {"logits", "--model", model(), "--tokens", "1,7", "--out", dir_->file("logits.npy"), "--backend", "cpu"}, env());
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "");
    expect_warning_logged(r);
}

TEST_F(StdoutContract, GenerateStdoutIsOnlyTheText) {
    const CommandResult r = run_engine({"generate", "--model", model(), "--prompt", "hello world", "--max-tokens", "6",
                                        "--ignore-eos", "--backend", "cpu"},
                                       env());
    ASSERT_EQ(r.status, 0) << r.err;
    expect_warning_logged(r);
    ASSERT_FALSE(r.out.empty());
    EXPECT_EQ(r.out.back(), '\n');  // the text and one newline; the timing line goes to stderr
    EXPECT_NE(r.err.find("new tokens"), std::string::npos) << r.err;
}

// The workbench reads serve's stdout: one {"event":"listening"} line, then nothing until exit.
TEST_F(StdoutContract, ServePrintsExactlyOneLineAndLogsEachRequest) {
    EngineChild serve({"serve", "--model", model(), "--port", "0", "--backend", "cpu"}, env());
    const Json listening = Json::parse(serve.read_line(120'000));
    ASSERT_EQ(listening["event"], "listening");
    httplib::Client http("127.0.0.1", listening["port"].get<int>());
    const auto reply = http.Post("/v1/completions", R"({"prompt": "hello", "max_tokens": 3, "temperature": 0})",
                                 "application/json");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200) << reply->body;
    const CommandResult r = serve.finish(SIGTERM);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "") << "stdout after the listening line";
    expect_warning_logged(r);
    // The access log (item 14) is in the log file, not on stderr.
    const std::string log = read_file(log_file());
    EXPECT_NE(log.find("POST /v1/completions 200 "), std::string::npos) << log;
    EXPECT_EQ(r.err.find("POST /v1/completions 200 "), std::string::npos) << r.err;
}

// A log file that cannot be opened is no reason to fail: stderr says why, logging goes on there.
TEST_F(StdoutContract, AnUnwritableLogFileIsReportedOnStderr) {
    const CommandResult r = run_engine({"inspect", model(), "--json"}, {"MOE_LOG_FILE=/proc/no-such-dir/engine.log"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NO_THROW(Json::parse(r.out));
    EXPECT_NE(r.err.find("warning: no log file: cannot open /proc/no-such-dir/engine.log"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace moe::test
