// `moe-engine generate --speculative` and `bench --speculative` as child processes: stdout holds
// only the result (the text, one JSON object, the table), the counters and warnings go to stderr,
// greedy speculation picks the plain tokens, and a checkpoint without MTP modules is refused with
// its path and the way to add a drafting head.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine_child.h"
#include "support/temp_dir.h"
#include "support/test_paths.h"

namespace moe::test {
namespace {

using Json = nlohmann::json;

const std::string kMtpModel = data_path("models/deepseek-v3-tiny");
const std::string kNoMtpModel = data_path("models/moonlight-tiny");

std::vector<std::string> generate_args(const std::string& model, std::vector<std::string> more) {
    std::vector<std::string> args = {"generate", "--model", model, "--prompt", "the quick brown fox", "--max-tokens",
                                     "10", "--ignore-eos", "--backend", "cpu", "--json"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

TEST(SpeculativeCli, GenerateJsonIsOneObjectWithTheCountersAndThePlainTokens) {
    const CommandResult plain = run_engine(generate_args(kMtpModel, {}));
    ASSERT_EQ(plain.status, 0) << plain.err;
    const Json p = Json::parse(plain.out);  // the whole of stdout is one JSON object
    EXPECT_FALSE(p.contains("speculative"));

    const CommandResult spec = run_engine(generate_args(kMtpModel, {"--speculative"}));
    ASSERT_EQ(spec.status, 0) << spec.err;
    const Json s = Json::parse(spec.out);
    EXPECT_EQ(s["tokens"], p["tokens"]);
    EXPECT_EQ(s["text"], p["text"]);
    EXPECT_EQ(s["tokens"].size(), 10u);
    const Json& c = s["speculative"];
    EXPECT_GT(c["drafted"].get<int64_t>(), 0);
    EXPECT_EQ(c["accepted_per_position"].size(), 1u);
    EXPECT_GE(c["mean_accepted_length"].get<double>(), 1.0);
    EXPECT_NE(spec.err.find("[speculative: 1 draft(s) per step"), std::string::npos) << spec.err;
}

TEST(SpeculativeCli, DraftAboveTheModulesIsClampedWithAWarning) {
    const CommandResult r = run_engine(generate_args(kMtpModel, {"--speculative", "--draft", "3"}));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(Json::parse(r.out)["speculative"]["draft_tokens"], 1);
    EXPECT_NE(r.err.find("warning: --draft 3: the model has 1 MTP module(s), so each step drafts 1"), std::string::npos)
        << r.err;
    const CommandResult alone = run_engine(generate_args(kMtpModel, {"--draft", "1"}));
    EXPECT_NE(alone.status, 0);
    EXPECT_NE(alone.err.find("--draft needs --speculative"), std::string::npos) << alone.err;
}

TEST(SpeculativeCli, ACheckpointWithoutMtpModulesIsRefusedNamingItAndTheFix) {
    const CommandResult r = run_engine(generate_args(kNoMtpModel, {"--speculative"}));
    EXPECT_NE(r.status, 0);
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(r.err.find(kNoMtpModel), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("moe-engine train --model " + kNoMtpModel + " --data PATH --method mtp-head"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("[cli.no_mtp]"), std::string::npos) << r.err;
}

TEST(SpeculativeCli, BenchComparesPlainAndSpeculativeOnTheCpu) {
    TempDir tmp;
    const std::string prompts = tmp.file("prompts.txt"), report = tmp.file("report.json");
    {
        std::FILE* f = std::fopen(prompts.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs("code\tint main() {\\n  return\nplain text without a label\n", f);
        std::fclose(f);
    }
    const CommandResult r = run_engine({"bench", "--speculative", "--model", kMtpModel, "--backend", "cpu",
                                        "--decode-tokens", "12", "--prompts", prompts, "--json", report});
    ASSERT_EQ(r.status, 0) << r.err;
    // The table: a header, one line per prompt, the total; all greedy-exact.
    EXPECT_NE(r.out.find("acceptance per position"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\ncode "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\nline 2 "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\nall "), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("DIFFERS"), std::string::npos) << r.out;
    const Json j = Json::parse(read_file(report));
    EXPECT_EQ(j["greedy_exact"], true);
    EXPECT_EQ(j["draft_tokens"], 1);
    EXPECT_EQ(j["prompts"].size(), 2u);
    EXPECT_GT(j["plain_tokens_per_second"].get<double>(), 0.0);
    EXPECT_GT(j["speculative_tokens_per_second"].get<double>(), 0.0);
    EXPECT_GT(j["speculative"]["drafted"].get<int64_t>(), 0);
    EXPECT_EQ(j["backend"], "cpu");

    const CommandResult none = run_engine({"bench", "--speculative", "--model", kNoMtpModel, "--backend", "cpu"});
    EXPECT_NE(none.status, 0);
    EXPECT_NE(none.err.find("mtp-head"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace moe::test
