// `moe-engine bench --streams` as a child process: stdout holds only the table, the JSON report has
// a row per stream count (one stream always measured, as the speed-up's base) with every stream
// greedy-exact and the batches as large as the streams; bad stream counts and a shape without a
// CUDA build are refused clearly.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine_child.h"
#include "support/temp_dir.h"
#include "support/test_paths.h"

namespace moe::test {
namespace {

using Json = nlohmann::json;

TEST(BenchStreamsCli, ConcurrentStreamsAreBatchedAndExactOnTheCpu) {
    TempDir tmp;
    const std::string report = tmp.file("streams.json");
    const CommandResult r = run_engine({"bench", "--streams", "3", "--model", data_path("models/deepseek-v3-tiny"),
                                        "--backend", "cpu", "--decode-tokens", "8", "--json", report});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("aggregate/s"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("DIFFERS"), std::string::npos) << r.out;
    const Json j = Json::parse(read_file(report));
    ASSERT_EQ(j["rows"].size(), 2u);  // 1 (always) and 3
    EXPECT_EQ(j["rows"][0]["streams"], 1);
    EXPECT_EQ(j["rows"][0]["speedup"], 1.0);
    const Json& three = j["rows"][1];
    EXPECT_EQ(three["streams"], 3);
    EXPECT_EQ(three["greedy_exact"], true);
    EXPECT_EQ(three["max_batch"], 3);
    EXPECT_GT(three["aggregate_tokens_per_second"].get<double>(), 0.0);
    EXPECT_GT(three["min_stream_tokens_per_second"].get<double>(), 0.0);
    EXPECT_EQ(j["backend"], "cpu");
    EXPECT_EQ(j["decode_tokens"], 8);
}

TEST(BenchStreamsCli, BadArgumentsAreRefusedClearly) {
    const std::string model = data_path("models/deepseek-v3-tiny");
    const CommandResult zero = run_engine({"bench", "--streams", "0", "--model", model, "--backend", "cpu"});
    EXPECT_NE(zero.status, 0);
    EXPECT_NE(zero.err.find("--streams"), std::string::npos) << zero.err;
    const CommandResult junk = run_engine({"bench", "--streams", "4,x", "--model", model, "--backend", "cpu"});
    EXPECT_NE(junk.status, 0);
    EXPECT_NE(junk.err.find("4,x"), std::string::npos) << junk.err;
    const CommandResult shape = run_engine({"bench", "--streams", "2", "--shape", "no-such-shape", "--backend", "cpu"});
    EXPECT_NE(shape.status, 0);
    EXPECT_NE(shape.err.find("no-such-shape"), std::string::npos) << shape.err;
}

}  // namespace
}  // namespace moe::test
