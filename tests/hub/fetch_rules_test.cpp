// The small rules the fetcher relies on: Content-Range parsing (resume only on an exact match),
// Retry-After, backoff bounds, and the download plan (kinds, globs, pickle-only).
#include <gtest/gtest.h>

#include "core/error.h"
#include "hub/blob_fetcher.h"
#include "hub/download_plan.h"
#include "hub/hub_errors.h"
#include "hub/retry_policy.h"

namespace moe::hub {
namespace {

TEST(HubFetchRules, ContentRange) {
    uint64_t start = 0;
    int64_t total = 0;
    ASSERT_TRUE(parse_content_range("bytes 100-999/1000", &start, &total));
    EXPECT_EQ(start, 100u);
    EXPECT_EQ(total, 1000);
    ASSERT_TRUE(parse_content_range("bytes 0-0/*", &start, &total));
    EXPECT_EQ(total, -1);
    for (const char* bad : {"", "bytes */1000", "bytes 10-5/100", "bytes 0-999/999", "items 0-1/2", "bytes 0-9/1x"})
        EXPECT_FALSE(parse_content_range(bad, &start, &total)) << bad;
}

TEST(HubFetchRules, RetryAfterAndBackoff) {
    HttpHead h;
    h.headers["retry-after"] = "7";
    EXPECT_EQ(retry_after_seconds(h), 7.0);
    h.headers["retry-after"] = "Wed, 21 Oct 2015 07:28:00 GMT";  // in the past: no wait
    EXPECT_EQ(retry_after_seconds(h), 0.0);
    h.headers.clear();
    EXPECT_LT(retry_after_seconds(h), 0.0);
    RetryPolicy p;
    for (int attempt = 1; attempt <= 10; ++attempt) {
        const double w = p.wait_seconds(attempt, -1);
        const double step = std::min(p.max_seconds, p.base_seconds * double(1 << (attempt - 1)));
        EXPECT_GE(w, step * 0.5) << attempt;
        EXPECT_LE(w, step) << attempt;
    }
    EXPECT_EQ(p.wait_seconds(3, 12.0), 12.0);  // the server's word wins
}

RepoFile file(const std::string& path) {
    RepoFile f;
    f.path = path;
    f.kind = classify_file(path);
    f.size = 1;
    return f;
}

TEST(HubFetchRules, PlanSelectsKindsAndGlobs) {
    const std::vector<RepoFile> files = {file("config.json"), file("model-00001-of-00002.safetensors"),
                                         file("model-00002-of-00002.safetensors"), file("tokenizer.json"),
                                         file("README.md"), file("original/consolidated.00.pth")};
    EXPECT_EQ(plan_download("o/r", files, {}).size(), 4u);
    FileFilter first_shard;
    first_shard.include = {std::string("*.safetensors")};
    first_shard.exclude = {std::string("*-00002-of-*")};
    const auto shards = plan_download("o/r", files, first_shard);
    ASSERT_EQ(shards.size(), 1u);
    EXPECT_EQ(shards[0].path, "model-00001-of-00002.safetensors");
    EXPECT_TRUE(glob_match("*.json", "sub/dir/config.json"));  // '*' crosses '/', as huggingface_hub's fnmatch
    try {
        plan_download("o/r", {file("config.json"), file("pytorch_model.bin")}, {});
        FAIL() << "pickle-only accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), "hub.pickle_only");
        EXPECT_NE(std::string(e.what()).find("pytorch_model.bin"), std::string::npos);
    }
    FileFilter gguf;
    gguf.include = {std::string("*.gguf")};
    EXPECT_THROW(plan_download("o/r", files, gguf), Error);
}

}  // namespace
}  // namespace moe::hub
