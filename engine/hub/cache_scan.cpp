#include "hub/cache_scan.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace moe::hub {
namespace {

namespace fs = std::filesystem;

std::optional<Json> read_json(const fs::path& p) {
    std::ifstream in(p);
    if (!in) return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return Json::parse(ss.str());
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

bool exists_following_links(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec);  // follows symlinks: a dangling link is "missing"
}

bool is_complete(const fs::path& dir) {
    if (!exists_following_links(dir / "config.json")) return false;
    const fs::path index = dir / "model.safetensors.index.json";
    if (!exists_following_links(index)) return exists_following_links(dir / "model.safetensors");
    const auto j = read_json(index);
    if (!j || !j->is_object() || !j->contains("weight_map") || !(*j)["weight_map"].is_object()) return false;
    std::set<std::string> shards;
    for (const auto& [tensor, file] : (*j)["weight_map"].items())
        if (file.is_string()) shards.insert(file.get<std::string>());
    for (const auto& s : shards) {
        if (s.find("..") != std::string::npos || s.empty() || s.front() == '/') return false;  // hostile index
        if (!exists_following_links(dir / s)) return false;
    }
    return !shards.empty();
}

LocalModel describe(const fs::path& dir, const std::string& source) {
    LocalModel m;
    m.path = fs::absolute(dir).lexically_normal().string();
    m.source = source;
    if (auto cfg = read_json(dir / "config.json"); cfg && cfg->is_object() && cfg->contains("model_type") &&
                                                    (*cfg)["model_type"].is_string())
        m.architecture = (*cfg)["model_type"].get<std::string>();
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code size_ec;
        if (it->is_regular_file(size_ec)) m.size_bytes += it->file_size(size_ec);
    }
    m.complete = is_complete(dir);
    return m;
}

// refs/<name> -> commit, to name snapshots by their branch.
std::map<std::string, std::string> refs_by_commit(const fs::path& repo_dir) {
    std::map<std::string, std::string> out;
    std::error_code ec;
    const fs::path refs = repo_dir / "refs";
    for (auto it = fs::recursive_directory_iterator(refs, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file()) continue;
        std::ifstream in(it->path());
        std::string commit;
        in >> commit;
        const std::string name = it->path().lexically_relative(refs).string();
        if (!out.count(commit) || name == "main") out[commit] = name;
    }
    return out;
}

// "models--org--name" -> "org/name" (the first "--" after the prefix separates org and name).
std::optional<std::string> repo_from_folder(const std::string& folder) {
    if (folder.rfind("models--", 0) != 0) return std::nullopt;
    const std::string rest = folder.substr(8);
    const size_t sep = rest.find("--");
    if (sep == std::string::npos) return rest;  // a model without an org
    return rest.substr(0, sep) + "/" + rest.substr(sep + 2);
}

}  // namespace

std::vector<LocalModel> scan_hub_cache(const std::string& cache_dir) {
    std::vector<LocalModel> out;
    std::error_code ec;
    for (const auto& repo_dir : fs::directory_iterator(cache_dir, ec)) {
        const auto repo = repo_from_folder(repo_dir.path().filename().string());
        if (!repo || !repo_dir.is_directory()) continue;
        const auto refs = refs_by_commit(repo_dir.path());
        std::error_code snap_ec;
        for (const auto& snap : fs::directory_iterator(repo_dir.path() / "snapshots", snap_ec)) {
            if (!snap.is_directory()) continue;
            LocalModel m = describe(snap.path(), "hub-cache");
            m.repo = repo;
            const std::string commit = snap.path().filename().string();
            auto ref = refs.find(commit);
            m.revision = ref != refs.end() ? ref->second : commit;
            out.push_back(std::move(m));
        }
    }
    return out;
}

std::vector<LocalModel> scan_model_folder(const std::string& dir) {
    std::vector<LocalModel> out;
    if (exists_following_links(fs::path(dir) / "config.json")) {
        out.push_back(describe(dir, "folder"));
        return out;
    }
    std::error_code ec;
    for (const auto& sub : fs::directory_iterator(dir, ec))
        if (sub.is_directory() && exists_following_links(sub.path() / "config.json")) out.push_back(describe(sub.path(), "folder"));
    return out;
}

Json local_models_to_json(const std::vector<LocalModel>& models) {
    Json arr = Json::array();
    for (const auto& m : models) {
        arr.push_back({{"repo", m.repo ? Json(*m.repo) : Json(nullptr)},
                       {"revision", m.revision ? Json(*m.revision) : Json(nullptr)},
                       {"path", m.path},
                       {"architecture", m.architecture ? Json(*m.architecture) : Json(nullptr)},
                       {"size_bytes", m.size_bytes},
                       {"complete", m.complete},
                       {"source", m.source}});
    }
    return {{"models", arr}};
}

}  // namespace moe::hub
