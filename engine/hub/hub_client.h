// The hub's HTTP API, as huggingface_hub uses it: model search, revision -> commit, the recursive
// file tree at that commit (sizes, git blob ids, LFS sha256), and file URLs pinned to the commit.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/strict_json.h"
#include "hub/hub_settings.h"
#include "hub/repo_names.h"

namespace moe::hub {

struct ModelHit {
    std::string id;
    std::optional<std::string> architecture;  // model_type, e.g. "deepseek_v3"
    int64_t downloads = 0;
    int64_t likes = 0;
    std::string last_modified;
    Json gated = false;                       // false, "auto" or "manual" (as the hub says)
    std::vector<std::string> tags;
};

struct RepoFile {
    std::string path;                         // validated (validate_repo_filename)
    uint64_t size = 0;
    std::optional<std::string> sha256;        // LFS files
    std::optional<std::string> git_sha1;      // the blob id ("oid") of every file
    FileKind kind = FileKind::Other;
    // The cache's blob name, as huggingface_hub names it: the sha256 for LFS files, else the git id.
    std::string blob_id() const { return sha256 ? *sha256 : git_sha1.value_or(""); }
};

struct RevisionInfo {
    std::string commit;                       // 40-hex
    Json gated = false;
};

class HubClient {
public:
    explicit HubClient(HubSettings settings);

    std::vector<ModelHit> search(const std::string& query, const std::string& architecture, int limit) const;
    // /api/models/{repo}/revision/{rev}: the commit sha the revision points at now.
    RevisionInfo resolve_revision(const std::string& repo, const std::string& revision) const;
    // /api/models/{repo}/tree/{commit}?recursive=true (all pages); every path validated.
    std::vector<RepoFile> list_files(const std::string& repo, const std::string& commit) const;
    // A small file's content (config.json), at most max_bytes.
    std::string fetch_text(const std::string& repo, const std::string& commit, const std::string& path,
                           size_t max_bytes = 16u << 20) const;

    // {endpoint}/{repo}/resolve/{commit}/{path} with each segment percent-encoded.
    std::string file_url(const std::string& repo, const std::string& commit, const std::string& path) const;
    const HubSettings& settings() const { return settings_; }
    // API calls give up (hub.stopped) when this flag is set, e.g. by SIGINT.
    void set_cancel_flag(const std::atomic<bool>* cancel) { cancel_ = cancel; }

private:
    // GET with retries for transport errors, 5xx and 429 (Retry-After honoured); throws hub.* errors.
    std::string get_text(const std::string& url, const std::string& repo, const std::string& what,
                         std::string* next_link = nullptr, size_t max_bytes = 64u << 20) const;
    HubSettings settings_;
    const std::atomic<bool>* cancel_ = nullptr;
};

// Percent-encodes one URL segment (everything but unreserved characters).
std::string url_escape(const std::string& s);

}  // namespace moe::hub
