// `moe-engine hub scan|search|files --json` against a cache written by a real download, a
// huggingface_hub-style cache built by hand, and plain model folders.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hub_test_support.h"
#include "support/test_paths.h"

namespace moe::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const json* find_model(const json& models, const std::string& key, const std::string& value) {
    for (const auto& m : models)
        if (m[key].is_string() && m[key] == value) return &m;
    return nullptr;
}

// Every test talks to its own fake hub, with an empty HF_HOME.
class HubScan : public ::testing::Test {
protected:
    FakeHub hub_;
    TempDir home_;
    const std::vector<std::string> env_ = hub_env(hub_, home_.path());
};

TEST_F(HubScan, FindsOurDownloadsHuggingfaceHubCachesAndFolders) {
    ASSERT_EQ(run_engine({"download", "moe-test/tiny-deepseek"}, env_).status, 0);
    // An incomplete snapshot, laid out as huggingface_hub leaves one: config and index, one shard missing.
    const std::string other = home_.path() + "/hub/models--someone--partial";
    fs::create_directories(other + "/snapshots/0123456789012345678901234567890123456789");
    fs::create_directories(other + "/blobs");
    fs::create_directories(other + "/refs");
    std::ofstream(other + "/refs/main") << "0123456789012345678901234567890123456789";
    std::ofstream(other + "/blobs/aaaa") << R"({"model_type": "qwen2"})";
    std::ofstream(other + "/blobs/bbbb") << R"({"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}})";
    std::ofstream(other + "/blobs/cccc") << "x";
    const std::string snap = other + "/snapshots/0123456789012345678901234567890123456789/";
    fs::create_symlink("../../blobs/aaaa", snap + "config.json");
    fs::create_symlink("../../blobs/bbbb", snap + "model.safetensors.index.json");
    fs::create_symlink("../../blobs/cccc", snap + "model-00001-of-00002.safetensors");

    const DownloadRun run = run_engine({"hub", "scan", "--dir", data_path("models")}, env_);
    ASSERT_EQ(run.status, 0);
    const json& models = run.events.at(0)["models"];
    const json* ours = find_model(models, "repo", "moe-test/tiny-deepseek");
    ASSERT_NE(ours, nullptr);
    EXPECT_TRUE((*ours)["complete"].get<bool>());
    EXPECT_EQ((*ours)["revision"], "main");
    EXPECT_EQ((*ours)["architecture"], "deepseek_v3");
    EXPECT_EQ((*ours)["source"], "hub-cache");
    EXPECT_EQ((*ours)["size_bytes"].get<uint64_t>(), 5796420u);
    const json* partial = find_model(models, "repo", "someone/partial");
    ASSERT_NE(partial, nullptr);
    EXPECT_FALSE((*partial)["complete"].get<bool>());
    EXPECT_EQ((*partial)["architecture"], "qwen2");
    const json* folder = find_model(models, "path", fs::absolute(data_path("models/qwen2-tiny")).lexically_normal().string());
    ASSERT_NE(folder, nullptr);
    EXPECT_EQ((*folder)["source"], "folder");
    EXPECT_TRUE((*folder)["complete"].get<bool>());
    EXPECT_TRUE((*folder)["repo"].is_null());
}

// search -> files -> download -> the engine opens the snapshot: the whole path a person takes.
TEST_F(HubScan, ADownloadedFixtureModelOpensInTheEngine) {
    const DownloadRun search = run_engine({"hub", "search", "v3-tiny", "--arch", "deepseek_v3"}, env_);
    ASSERT_EQ(search.status, 0);
    ASSERT_EQ(search.events.at(0)["models"].size(), 1u);
    const std::string repo = search.events.at(0)["models"][0]["id"];
    const DownloadRun run = run_engine({"download", repo}, env_);
    ASSERT_EQ(run.status, 0);
    const std::string snapshot = run.last("done")->at("snapshot");
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"})
        EXPECT_EQ(sha256_file_hex(snapshot + "/" + f), sha256_file_hex(data_path(std::string("models/deepseek-v3-tiny/") + f))) << f;
    ChildProcess inspect({engine_bin(), "inspect", snapshot, "--json"}, env_);
    std::vector<std::string> lines;
    ASSERT_EQ(inspect.wait(&lines), 0);
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    const json summary = json::parse(text);
    EXPECT_EQ(summary["model_type"], "deepseek_v3");
}

TEST_F(HubScan, SearchAndFilesFollowTheJsonContract) {
    const DownloadRun search = run_engine({"hub", "search", "tiny-qwen", "--arch", "qwen2"}, env_);
    ASSERT_EQ(search.status, 0);
    const json& models = search.events.at(0)["models"];
    ASSERT_EQ(models.size(), 1u);
    EXPECT_EQ(models[0]["id"], "moe-test/tiny-qwen");
    EXPECT_EQ(models[0]["architecture"], "qwen2");
    // The architecture filter keeps exactly the qwen2 repositories.
    const DownloadRun all_qwen = run_engine({"hub", "search", "", "--arch", "qwen2"}, env_);
    for (const auto& m : all_qwen.events.at(0)["models"]) EXPECT_EQ(m["architecture"], "qwen2") << m["id"];
    EXPECT_EQ(all_qwen.events.at(0)["models"].size(), 2u);
    for (const char* k : {"downloads", "likes", "last_modified", "gated", "tags"}) EXPECT_TRUE(models[0].contains(k)) << k;
    const DownloadRun gated = run_engine({"hub", "search", "gated"}, env_);
    EXPECT_EQ(gated.events.at(0)["models"][0]["gated"], "manual");

    const DownloadRun files = run_engine({"hub", "files", "moe-test/tiny-deepseek", "--ctx", "1000"}, env_);
    ASSERT_EQ(files.status, 0);
    const json& f = files.events.at(0);
    EXPECT_EQ(f["revision_requested"], "main");
    EXPECT_EQ(f["revision"].get<std::string>().size(), 40u);
    uint64_t selected = 0;
    for (const auto& file : f["files"]) {
        if (file["selected"].get<bool>()) selected += file["size"].get<uint64_t>();
        if (file["kind"] == "safetensors") {
            EXPECT_EQ(file["sha256"].get<std::string>().size(), 64u);
        }
        if (file["kind"] == "pickle") {
            EXPECT_FALSE(file["selected"].get<bool>());
        }
    }
    EXPECT_EQ(f["download_bytes"].get<uint64_t>(), selected);
    EXPECT_EQ(f["config"]["model_type"], "deepseek_v3");
    const json& e = f["estimate"];
    EXPECT_EQ(e["architecture"], "deepseek_v3");
    EXPECT_EQ(e["ctx"], 1000);
    // deepseek-v3-tiny: kv_lora_rank 64 + qk_rope_head_dim 16, 3 layers, bf16.
    EXPECT_EQ(e["kv_bytes_per_token"], (64 + 16) * 3 * 2);
    EXPECT_EQ(e["kv_bytes"], (64 + 16) * 3 * 2 * 1000);
    EXPECT_EQ(e["weights_bytes"]["stored"], 3145808 + 2621520);
    EXPECT_TRUE(e["ram"]["fits"].get<bool>());
    EXPECT_TRUE(e["gpu"].is_null() || e["gpu"].contains("free_bytes"));
    // Gated: the listing is public, the config is not; the error says why.
    const DownloadRun gated_files = run_engine({"hub", "files", "moe-test/gated-model"}, env_);
    ASSERT_EQ(gated_files.status, 0);
    EXPECT_TRUE(gated_files.events.at(0)["config"].is_null());
    EXPECT_EQ(gated_files.events.at(0)["config_error"]["code"], "hub.gated");
    const DownloadRun pickle = run_engine({"hub", "files", "moe-test/pickle-only"}, env_);
    ASSERT_EQ(pickle.status, 0);
    EXPECT_EQ(pickle.events.at(0)["download_bytes"], pickle.events.at(0)["files"][0]["size"]);  // config.json only
}

}  // namespace
}  // namespace moe::test
