// `moe-engine distill`: self-distillation data for MTP heads. stdout is one JSON summary; the JSONL
// holds, per domain, prompts from the data continued by the model's own greedy decoding (the same
// tokens `generate` picks), chats with --chat; the prompts file feeds `bench --speculative`; and
// `train` reads the JSONL as training data.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine_child.h"
#include "support/temp_dir.h"
#include "support/test_paths.h"

namespace moe::test {
namespace {

using Json = nlohmann::json;

const std::string kModel = data_path("models/deepseek-v3-tiny");

std::vector<Json> read_jsonl(const std::string& path) {
    std::vector<Json> out;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) out.push_back(Json::parse(line));
    return out;
}

CommandResult distill(const TempDir& dir, std::vector<std::string> more) {
    std::vector<std::string> args = {"distill", "--model", kModel, "--data", data_path("train_data/prose"), "--data",
                                     data_path("train_data/code") + "=code", "--out", dir.path() + "/d.jsonl",
                                     "--prompts", "2", "--prompt-tokens", "10", "--new-tokens", "6", "--backend", "cpu",
                                     "--prompts-tsv", dir.path() + "/p.tsv"};
    args.insert(args.end(), more.begin(), more.end());
    return run_engine(args);
}

TEST(DistillCli, ContinuesPromptsPerDomainWithTheModelsGreedyTokens) {
    TempDir dir;
    const CommandResult r = distill(dir, {});
    ASSERT_EQ(r.status, 0) << r.err;
    const Json summary = Json::parse(r.out);  // all of stdout
    EXPECT_EQ(summary["prompts"], 4);
    EXPECT_EQ(summary["domains"]["prose"]["samples"], 2);
    EXPECT_EQ(summary["domains"]["code"]["samples"], 2);
    const std::vector<Json> lines = read_jsonl(dir.path() + "/d.jsonl");
    ASSERT_EQ(lines.size(), 4u);
    std::ifstream tsv(dir.path() + "/p.tsv");
    int compared = 0;
    for (const Json& line : lines) {
        std::string tsv_line;
        ASSERT_TRUE(std::getline(tsv, tsv_line));
        const size_t tab = tsv_line.find('\t');
        EXPECT_EQ(tsv_line.substr(0, tab), line["domain"].get<std::string>());
        std::string prompt = tsv_line.substr(tab + 1);
        for (size_t at = prompt.find("\\n"); at != std::string::npos; at = prompt.find("\\n", at + 1)) prompt.replace(at, 2, "\n");
        const std::string text = line["text"];
        ASSERT_EQ(text.rfind(prompt, 0), 0u) << "the sample starts with its prompt: " << text;
        // The continuation is what `generate` gives greedily for the same prompt.
        const CommandResult g = run_engine({"generate", "--model", kModel, "--prompt", prompt, "--max-tokens", "6",
                                            "--temperature", "0", "--backend", "cpu", "--json"});
        ASSERT_EQ(g.status, 0) << g.err;
        const Json gj = Json::parse(g.out);
        if (gj["stop_reason"] == "eos") continue;  // generate's text keeps the EOS token's text; distill drops it
        EXPECT_EQ(text.substr(prompt.size()), gj["text"].get<std::string>()) << prompt;
        ++compared;
    }
    EXPECT_GT(compared, 0) << "every prompt ended at EOS: nothing compared";
    // The same seed gives the same file; train reads it.
    TempDir again;
    ASSERT_EQ(distill(again, {}).status, 0);
    EXPECT_EQ(read_file(again.path() + "/d.jsonl"), read_file(dir.path() + "/d.jsonl"));
    const CommandResult dry = run_engine({"train", "--model", kModel, "--data", dir.path() + "/d.jsonl", "--method",
                                          "mtp-head", "--dry-run", "--backend", "cpu", "--out", dir.path() + "/run"});
    EXPECT_EQ(dry.status, 0) << dry.err;
}

TEST(DistillCli, ChatRepliesAreAssistantMessages) {
    TempDir dir;
    const CommandResult r = distill(dir, {"--chat"});
    ASSERT_EQ(r.status, 0) << r.err;
    for (const Json& line : read_jsonl(dir.path() + "/d.jsonl")) {
        ASSERT_EQ(line["messages"].size(), 2u);
        EXPECT_EQ(line["messages"][0]["role"], "user");
        EXPECT_EQ(line["messages"][1]["role"], "assistant");
        EXPECT_TRUE(line["messages"][1]["content"].is_string());
    }
}

TEST(DistillCli, PromptsOnlyWritesNoJsonlAndBadInputIsNamed) {
    TempDir dir;
    const CommandResult r = distill(dir, {"--new-tokens", "0"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(Json::parse(r.out)["out"].is_null());
    EXPECT_FALSE(file_exists(dir.path() + "/d.jsonl"));
    EXPECT_TRUE(file_exists(dir.path() + "/p.tsv"));
    const CommandResult missing = run_engine({"distill", "--model", kModel, "--data", "/nonexistent/data", "--out",
                                              dir.path() + "/x.jsonl", "--backend", "cpu"});
    EXPECT_NE(missing.status, 0);
    EXPECT_TRUE(missing.out.empty());
    EXPECT_NE(missing.err.find("/nonexistent/data"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace moe::test
