// Access rules, revision lookup and request logging shared by every route of the fake hub.
#include "fake_hub/fake_hub.h"

using nlohmann::json;

namespace moe::fakehub {

void error(httplib::Response& res, int status, const std::string& code, const std::string& message) {
    res.status = status;
    if (!code.empty()) res.set_header("X-Error-Code", code);
    res.set_header("X-Error-Message", message);
    res.set_content(json{{"error", message}}.dump(), "application/json");
}

namespace {

std::string bearer(const httplib::Request& req) {
    const std::string h = req.get_header_value("Authorization");
    return h.rfind("Bearer ", 0) == 0 ? h.substr(7) : "";
}

// Access rules of the real hub, reduced: a bad token is refused everywhere; a gated repository wants
// a token that has accepted its licence (401 without a token, 403 with another one).
bool allowed(const FakeRepo& r, const httplib::Request& req, httplib::Response& res) {
    const std::string token = bearer(req);
    if (token == kInvalidToken) {
        error(res, 401, "", "Invalid credentials in Authorization header");
        return false;
    }
    if (r.gated.empty() || token == kGoodToken) return true;
    if (token.empty())
        error(res, 401, "GatedRepo", "Access to model " + r.id + " is restricted. You must have access to it and be authenticated to access it. Please log in.");
    else
        error(res, 403, "GatedRepo", "Access to model " + r.id + " is restricted and you are not in the authorized list. Visit https://huggingface.co/" + r.id + " to ask for access.");
    return false;
}

}  // namespace

// Like the real hub, a gated repository's metadata (info, tree) is public; its files are not.
const FakeRepo* find_repo(const Hub& hub, const httplib::Request& req, httplib::Response& res, bool files) {
    const std::string id = req.matches[1].str() + "/" + req.matches[2].str();
    const FakeRepo* r = hub.repo(id);
    if (!r) {
        error(res, 401, "RepoNotFound", "Repository Not Found for url: " + req.path + ". Please make sure you specified the correct `repo_id` and `repo_type`. If you are trying to access a private or gated repo, make sure you are authenticated.");
        res.status = 404;
        return nullptr;
    }
    if (!files && bearer(req) != kInvalidToken) return r;
    return allowed(*r, req, res) ? r : nullptr;
}

std::string commit_of(const FakeRepo& r, const std::string& rev, httplib::Response& res) {
    if (rev == r.commit) return rev;
    auto it = r.refs.find(rev);
    if (it != r.refs.end()) return it->second;
    error(res, 404, "RevisionNotFound", "Invalid rev id: " + rev);
    return "";
}

bool before(Hub& hub, const httplib::Request& req, httplib::Response& res, int* log_index) {
    *log_index = hub.faults.log_request({{"method", req.method}, {"path", req.path}, {"host", req.get_header_value("Host")},
                                         {"authorization", req.get_header_value("Authorization")},
                                         {"range", req.get_header_value("Range")}});
    const Fault f = hub.faults.take_status(req.path);
    if (f.status == 0) return true;
    error(res, f.status, f.error_code, "injected HTTP " + std::to_string(f.status));
    if (f.retry_after >= 0) res.set_header("Retry-After", std::to_string(f.retry_after));
    return false;
}

}  // namespace moe::fakehub
