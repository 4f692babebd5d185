#include "hub/hub_client.h"

#include <chrono>
#include <thread>

#include "hub/curl_handles.h"
#include "hub/hub_errors.h"
#include "hub/http_request.h"
#include "hub/retry_policy.h"

namespace moe::hub {
namespace {

// `<https://hub/api/...?cursor=x>; rel="next"` -> the URL (GitHub-style pagination).
std::string next_link(const std::string& link_header) {
    const size_t rel = link_header.find("rel=\"next\"");
    if (rel == std::string::npos) return "";
    const size_t open = link_header.rfind('<', rel);
    const size_t close = link_header.find('>', open);
    if (open == std::string::npos || close == std::string::npos || close > rel) return "";
    return link_header.substr(open + 1, close - open - 1);
}

std::string str_or(const Json& j, const char* key, const std::string& fallback = "") {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

int64_t int_or(const Json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

Json gated_value(const Json& j) {
    auto it = j.find("gated");
    if (it != j.end() && it->is_string()) return *it;
    return it != j.end() && it->is_boolean() && it->get<bool>() ? Json("auto") : Json(false);
}

const char* kArchTags[] = {"deepseek_v3", "deepseek_v2", "qwen2"};

ModelHit parse_hit(const Json& m) {
    ModelHit h;
    h.id = str_or(m, "id", str_or(m, "modelId"));
    h.downloads = int_or(m, "downloads");
    h.likes = int_or(m, "likes");
    h.last_modified = str_or(m, "lastModified", str_or(m, "createdAt"));
    h.gated = gated_value(m);
    if (auto t = m.find("tags"); t != m.end() && t->is_array())
        for (const auto& tag : *t)
            if (tag.is_string()) h.tags.push_back(tag.get<std::string>());
    if (auto c = m.find("config"); c != m.end() && c->is_object() && c->contains("model_type") &&
                                   (*c)["model_type"].is_string())
        h.architecture = (*c)["model_type"].get<std::string>();
    for (const char* arch : kArchTags)
        for (const auto& tag : h.tags)
            if (!h.architecture && tag == arch) h.architecture = tag;
    return h;
}

RepoFile parse_tree_entry(const std::string& repo, const Json& e) {
    RepoFile f;
    f.path = str_or(e, "path");
    validate_repo_filename(repo, f.path);
    f.size = uint64_t(std::max<int64_t>(0, int_or(e, "size")));
    const std::string oid = str_or(e, "oid");
    if (!oid.empty()) f.git_sha1 = oid;
    if (auto lfs = e.find("lfs"); lfs != e.end() && lfs->is_object()) {
        const std::string sha = str_or(*lfs, "oid", str_or(*lfs, "sha256"));
        if (!sha.empty()) f.sha256 = sha;
        if (int_or(*lfs, "size") > 0) f.size = uint64_t(int_or(*lfs, "size"));
    }
    // Hashes become file names in the cache: only plain hex is accepted.
    auto hex_ok = [](const std::optional<std::string>& h, size_t len) {
        return !h || (h->size() == len && h->find_first_not_of("0123456789abcdef") == std::string::npos);
    };
    if (!hex_ok(f.sha256, 64) || !hex_ok(f.git_sha1, 40))
        throw Error("hub.bad_listing", repo, "file '" + escape_for_message(f.path) + "' has a malformed hash in the listing");
    f.kind = classify_file(f.path);
    return f;
}

}  // namespace

std::string url_escape(const std::string& s) {
    CurlEasy h = make_easy_handle();
    char* out = curl_easy_escape(h.get(), s.data(), int(s.size()));
    if (out == nullptr) throw Error("hub.network", "", "curl_easy_escape failed");
    std::string r = out;
    curl_free(out);
    return r;
}

HubClient::HubClient(HubSettings settings) : settings_(std::move(settings)) {}

std::string HubClient::get_text(const std::string& url, const std::string& repo, const std::string& what,
                                std::string* next, size_t max_bytes) const {
    const RetryPolicy policy = default_retry_policy();
    for (int attempt = 1;; ++attempt) {
        HttpRequest req;
        req.url = url;
        req.token = settings_.token;
        req.max_body = max_bytes;
        req.stall_seconds = 30;
        req.cancel = cancel_;
        HttpResult r = http_get(req);
        if (r.cancelled) throw Error("hub.stopped", url, "stopped while fetching the " + what);
        if (r.ok()) {
            if (next) *next = next_link(r.head.header("link"));
            return r.body;
        }
        if (r.aborted_by_callback)
            throw Error("hub.too_large", url, "the " + what + " is larger than " + std::to_string(max_bytes) + " bytes");
        const double retry_after = retry_after_seconds(r.head);
        if (!is_retryable(r) || attempt >= policy.max_attempts || retry_after > policy.max_retry_after)
            throw http_failure(r, url, repo, what);
        const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(policy.wait_seconds(attempt, retry_after));
        while (std::chrono::steady_clock::now() < until) {
            if (cancel_ && cancel_->load()) throw Error("hub.stopped", url, "stopped while waiting to retry the " + what);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
}

std::vector<ModelHit> HubClient::search(const std::string& query, const std::string& architecture, int limit) const {
    std::string url = settings_.endpoint + "/api/models?search=" + url_escape(query) + "&limit=" + std::to_string(limit) +
                      "&full=true&config=true&sort=downloads&direction=-1";
    if (!architecture.empty()) url += "&filter=" + url_escape(architecture);
    const Json j = parse_strict_json(get_text(url, "", "model search"), url, "hub");
    if (!j.is_array()) throw Error("hub.bad_listing", url, "the search answer is not a JSON array");
    std::vector<ModelHit> hits;
    for (const auto& m : j)
        if (m.is_object()) hits.push_back(parse_hit(m));
    return hits;
}

RevisionInfo HubClient::resolve_revision(const std::string& repo, const std::string& revision) const {
    validate_repo_id(repo);
    validate_revision(revision);
    const std::string url = settings_.endpoint + "/api/models/" + repo + "/revision/" + url_escape(revision);
    const Json j = parse_strict_json(get_text(url, repo, "revision '" + revision + "' of " + repo), url, "hub");
    RevisionInfo info;
    info.commit = j.is_object() ? str_or(j, "sha") : "";
    if (!is_commit_sha(info.commit))
        throw Error("hub.bad_listing", url, "the hub did not resolve revision '" + revision + "' to a 40-hex commit");
    info.gated = gated_value(j);
    return info;
}

std::vector<RepoFile> HubClient::list_files(const std::string& repo, const std::string& commit) const {
    std::string url = settings_.endpoint + "/api/models/" + repo + "/tree/" + commit + "?recursive=true&expand=false";
    std::vector<RepoFile> files;
    for (int page = 0; !url.empty(); ++page) {
        if (page > 1000) throw Error("hub.bad_listing", url, "more than 1000 pages of file listing");
        std::string next;
        const Json j = parse_strict_json(get_text(url, repo, "file list of " + repo, &next), url, "hub");
        if (!j.is_array()) throw Error("hub.bad_listing", url, "the file list is not a JSON array");
        for (const auto& e : j)
            if (e.is_object() && str_or(e, "type") == "file") files.push_back(parse_tree_entry(repo, e));
        if (!next.empty() && !same_origin(next, settings_.endpoint))
            throw Error("hub.bad_listing", url, "the next page of the listing points to another host: " + next);
        url = next;
    }
    return files;
}

std::string HubClient::fetch_text(const std::string& repo, const std::string& commit, const std::string& path,
                                  size_t max_bytes) const {
    return get_text(file_url(repo, commit, path), repo, "file '" + path + "' of " + repo, nullptr, max_bytes);
}

std::string HubClient::file_url(const std::string& repo, const std::string& commit, const std::string& path) const {
    std::string encoded;
    size_t start = 0;
    for (;;) {
        const size_t slash = path.find('/', start);
        encoded += url_escape(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
        if (slash == std::string::npos) break;
        encoded += '/';
        start = slash + 1;
    }
    return settings_.endpoint + "/" + repo + "/resolve/" + commit + "/" + encoded;
}

}  // namespace moe::hub
