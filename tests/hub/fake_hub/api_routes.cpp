// The hub's JSON API as the fake hub serves it: search, revision info, the paginated file tree.
#include <algorithm>

#include "fake_hub/fake_hub.h"

using nlohmann::json;

namespace moe::fakehub {
namespace {

json model_json(const FakeRepo& r, bool full) {
    json tags = json::array({"transformers", "safetensors", "text-generation"});
    if (!r.model_type.empty()) tags.push_back(r.model_type);
    json j = {{"_id", r.commit.substr(0, 24)}, {"id", r.id}, {"modelId", r.id}, {"author", r.id.substr(0, r.id.find('/'))},
              {"sha", r.commit}, {"lastModified", "2026-11-01T12:00:00.000Z"}, {"createdAt", "2026-10-01T12:00:00.000Z"},
              {"private", false}, {"disabled", false}, {"gated", r.gated.empty() ? json(false) : json(r.gated)},
              {"downloads", r.downloads}, {"likes", r.likes}, {"tags", tags}, {"pipeline_tag", "text-generation"},
              {"library_name", "transformers"}};
    if (!r.model_type.empty()) j["config"] = {{"model_type", r.model_type}};
    if (full) {
        json siblings = json::array();
        for (const auto& f : r.files) siblings.push_back({{"rfilename", f.path}});
        j["siblings"] = siblings;
    }
    return j;
}

void search(const Hub& hub, const httplib::Request& req, httplib::Response& res) {
    std::string q = req.get_param_value("search"), filter = req.get_param_value("filter");
    const size_t limit = req.has_param("limit") ? size_t(std::stoul(req.get_param_value("limit"))) : 1000;
    std::transform(q.begin(), q.end(), q.begin(), ::tolower);
    json out = json::array();
    for (const auto& r : hub.repos) {
        if (r.id.find("hostile") != std::string::npos && q.find("hostile") == std::string::npos) continue;
        std::string id = r.id;
        std::transform(id.begin(), id.end(), id.begin(), ::tolower);
        if (id.find(q) == std::string::npos) continue;
        if (!filter.empty() && filter != r.model_type) continue;
        if (out.size() >= limit) break;
        out.push_back(model_json(r, req.get_param_value("full") == "true"));
    }
    res.set_content(out.dump(), "application/json");
}

json tree_entries(const FakeRepo& r) {
    json all = json::array();
    std::vector<std::string> dirs;
    for (const auto& f : r.files) {
        const size_t slash = f.path.find('/');
        if (slash != std::string::npos && slash > 0 && f.path.find('\\') == std::string::npos &&
            std::find(dirs.begin(), dirs.end(), f.path.substr(0, slash)) == dirs.end()) {
            dirs.push_back(f.path.substr(0, slash));
            all.push_back({{"type", "directory"}, {"oid", git_blob_sha1_hex(dirs.back())}, {"size", 0}, {"path", dirs.back()}});
        }
        json e = {{"type", "file"}, {"oid", f.git_sha1}, {"size", f.content.size()}, {"path", f.path}};
        if (f.lfs) e["lfs"] = {{"oid", f.sha256}, {"size", f.content.size()}, {"pointerSize", 134}};
        all.push_back(e);
    }
    return all;
}

// /api/models/{org}/{name}/tree/{rev}: 4 entries per page, the rest behind a Link rel="next" cursor.
void tree(const Hub& hub, const httplib::Request& req, httplib::Response& res) {
    const FakeRepo* r = find_repo(hub, req, res);
    if (!r) return;
    const std::string commit = commit_of(*r, req.matches[3].str(), res);
    if (commit.empty()) return;
    const json all = tree_entries(*r);
    const size_t page = 4, start = req.has_param("cursor") ? size_t(std::stoul(req.get_param_value("cursor"))) : 0;
    json out = json::array();
    for (size_t i = start; i < all.size() && i < start + page; ++i) out.push_back(all[i]);
    if (start + page < all.size())
        res.set_header("Link", "<http://" + req.get_header_value("Host") + req.path + "?recursive=true&cursor=" +
                                   std::to_string(start + page) + ">; rel=\"next\"");
    res.set_content(out.dump(), "application/json");
}

void revision(const Hub& hub, const httplib::Request& req, httplib::Response& res) {
    const FakeRepo* r = find_repo(hub, req, res);
    if (!r) return;
    const std::string commit = commit_of(*r, req.matches[3].str(), res);
    if (commit.empty()) return;
    json j = model_json(*r, true);
    j["sha"] = commit;
    res.set_content(j.dump(), "application/json");
}

// Sends content[start, end) under the faults given; Content-Length is set by hand so that httplib's

}  // namespace

void add_api_routes(httplib::Server& svr, Hub& hub) {
    svr.Get("/api/models", logged(hub, [](Hub& h, const httplib::Request& q, httplib::Response& s) { search(h, q, s); }));
    svr.Get(R"(/api/models/([^/]+)/([^/]+)/revision/(.+))",
            logged(hub, [](Hub& h, const httplib::Request& q, httplib::Response& s) { revision(h, q, s); }));
    svr.Get(R"(/api/models/([^/]+)/([^/]+)/tree/([^/]+))",
            logged(hub, [](Hub& h, const httplib::Request& q, httplib::Response& s) { tree(h, q, s); }));
}

}  // namespace moe::fakehub
