// The repositories the fake hub serves, generated deterministically at start-up (same bytes and
// hashes on every run). Hashes are computed with OpenSSL here, independently of the engine's own
// SHA-256, so a test comparing the two proves something.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace moe::fakehub {

struct FakeFile {
    std::string path;
    std::string content;
    bool lfs = false;            // served through a 302 to the "CDN" host, listed with lfs.oid
    std::string sha256;          // hex of content
    std::string git_sha1;        // hex of "blob <size>\0" + content
};

struct FakeRepo {
    std::string id;              // "org/name"
    std::string commit;          // 40-hex
    std::map<std::string, std::string> refs;  // "main" -> commit, "v1.0" -> commit
    std::string model_type;      // "" when no config
    std::string gated;           // "" (not gated), "auto" or "manual"
    int64_t downloads = 0, likes = 0;
    std::vector<FakeFile> files;
    const FakeFile* file(const std::string& path) const;
    const FakeFile* file_by_sha256(const std::string& sha) const;
};

// `data_dir` is tests/data (configs and tokenizers of the tiny fixture models are served as-is).
std::vector<FakeRepo> make_fake_repos(const std::string& data_dir);

// The hostile file names served by the repositories "moe-test/hostile-<i>" (one each).
const std::vector<std::string>& hostile_names();

std::string sha256_hex(const std::string& data);
std::string git_blob_sha1_hex(const std::string& data);

}  // namespace moe::fakehub
