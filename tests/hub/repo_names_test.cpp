// Hostile names from a repository listing are refused before any filesystem call (engine/hub/repo_names).
#include <gtest/gtest.h>

#include "core/error.h"
#include "hub/repo_names.h"

namespace moe::hub {
namespace {

TEST(HubRepoNames, RejectsHostileFileNames) {
    std::string deep;
    for (int i = 0; i < 600; ++i) deep += "a/";
    const std::vector<std::string> hostile = {
        "../evil.json", "a/../../evil.json", "/etc/passwd", "..\\evil.json", "C:\\evil.json", "C:evil.json",
        "a//b.json", "", "./config.json", "a/./b.json", std::string("evil\0.json", 10), "evil\n.json",
        "evil\r.json", "evil\x1b[31m.json", "\\\\server\\share\\x.json", "con.json", "NUL", "aux/x.json",
        "COM1.safetensors", "lpt9.txt", "a/b/", std::string(300, 'x') + ".json", deep + "x.json", "evil.json.",
        "evil.json ", "..", ".", "a/..", "file:stream.json", "\x7f.json", "\xff\xfe.json", "\xc0\xaf.json",
        "a\xe2\x82.json"};
    ASSERT_GE(hostile.size(), 20u);
    for (const auto& name : hostile) {
        EXPECT_NE(filename_problem(name), "") << "accepted: " << escape_for_message(name);
        try {
            validate_repo_filename("org/repo", name);
            ADD_FAILURE() << "no throw for " << escape_for_message(name);
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), "hub.bad_filename");
        }
    }
}

TEST(HubRepoNames, AcceptsRealFileNames) {
    for (const char* ok : {"config.json", "model-00001-of-00163.safetensors", "original/tokenizer.model",
                           "inference/configs/config_671B.json", ".gitattributes", "figures/benchmark.png",
                           "中文/说明.md", "a.b.c", "tokenizer_config.json"})
        EXPECT_EQ(filename_problem(ok), "") << ok;
}

TEST(HubRepoNames, RepositoryIdsAndCacheFolders) {
    validate_repo_id("deepseek-ai/DeepSeek-V3");
    EXPECT_EQ(repo_folder_name("deepseek-ai/DeepSeek-V3"), "models--deepseek-ai--DeepSeek-V3");
    validate_repo_id("gpt2");  // legacy root models have no namespace
    for (const char* bad : {"a/b/c", "../x", "a/..", "a--b/c", "-a/b", "a/b.", "a b/c", "a/", "/b"})
        EXPECT_THROW(validate_repo_id(bad), Error) << bad;
}

TEST(HubRepoNames, KindsDecideWhatIsDownloaded) {
    EXPECT_EQ(classify_file("model-00001-of-00002.safetensors"), FileKind::Safetensors);
    EXPECT_EQ(classify_file("config.json"), FileKind::Json);
    EXPECT_EQ(classify_file("tokenizer.json"), FileKind::Tokenizer);
    EXPECT_EQ(classify_file("tokenizer_config.json"), FileKind::Tokenizer);
    EXPECT_EQ(classify_file("original/tokenizer.model"), FileKind::Tokenizer);
    EXPECT_EQ(classify_file("pytorch_model.bin"), FileKind::Pickle);
    EXPECT_EQ(classify_file("consolidated.00.pth"), FileKind::Pickle);
    EXPECT_EQ(classify_file("README.md"), FileKind::Other);
    EXPECT_FALSE(is_downloadable(FileKind::Pickle));
    EXPECT_FALSE(is_downloadable(FileKind::Other));
}

TEST(HubRepoNames, Revisions) {
    EXPECT_TRUE(is_commit_sha("c15c397b0deec7e5349eb08783eb79502518d9c6"));
    EXPECT_FALSE(is_commit_sha("main"));
    validate_revision("main");
    validate_revision("refs/pr/1");
    EXPECT_THROW(validate_revision("../main"), Error);
    EXPECT_THROW(validate_revision("a b"), Error);
}

}  // namespace
}  // namespace moe::hub
