#include "hub/hub_errors.h"

#include <ctime>
#include <curl/curl.h>

#include "core/strict_json.h"

namespace moe::hub {
namespace {

// The hub puts its reason in X-Error-Message or in a JSON body {"error": "..."}.
std::string server_message(const HttpResult& r) {
    std::string msg = r.head.header("x-error-message");
    if (msg.empty() && !r.body.empty()) {
        try {
            const Json j = Json::parse(r.body);
            if (j.is_object() && j.contains("error") && j["error"].is_string()) msg = j["error"].get<std::string>();
        } catch (const std::exception&) {
            msg = r.body.substr(0, 200);
        }
    }
    return msg.empty() ? "" : " (hub says: " + msg.substr(0, 300) + ")";
}

bool looks_gated(const HttpResult& r) {
    const std::string code = r.head.header("x-error-code");
    if (code == "GatedRepo") return true;
    const std::string msg = r.head.header("x-error-message") + r.body.substr(0, 2000);
    return msg.find("gated") != std::string::npos;
}

}  // namespace

Error http_failure(const HttpResult& r, const std::string& url, const std::string& repo, const std::string& what) {
    if (r.stalled)
        return Error("hub.network", url, "the connection stalled (no data) while fetching the " + what);
    if (r.curl_code != 0)
        return Error("hub.network", url, "network error while fetching the " + what + ": " + r.curl_error);
    const long s = r.head.status;
    const std::string status = "HTTP " + std::to_string(s);
    if ((s == 401 || s == 403) && looks_gated(r))
        return Error("hub.gated", url,
                     "'" + repo + "' is a gated repository: accept its licence on the hub page (" + repo +
                         ") while logged in, then set HF_TOKEN (or --token) to a token of that account" + server_message(r));
    if (s == 401)
        return Error("hub.unauthorized", url,
                     status + " for the " + what + ": the hub needs a valid token (set HF_TOKEN or --token); a private or "
                     "missing repository answers the same way" + server_message(r));
    if (s == 403)
        return Error("hub.unauthorized", url,
                     status + " for the " + what + ": the token lacks permission for this repository" + server_message(r));
    if (s == 404)
        return Error("hub.not_found", url, status + ": the " + what + " does not exist (check the repository id, revision "
                                                                        "and file name)" + server_message(r));
    if (s == 429)
        return Error("hub.rate_limited", url, status + ": the hub rate-limited the " + what + "; try again later" + server_message(r));
    return Error("hub.network", url, status + " while fetching the " + what + server_message(r));
}

bool is_retryable(const HttpResult& r) {
    if (r.cancelled) return false;
    if (r.curl_code != 0) return true;
    const long s = r.head.status;
    return s == 408 || s == 429 || s >= 500;
}

double retry_after_seconds(const HttpHead& head) {
    const std::string v = head.header("retry-after");
    if (v.empty()) return -1;
    if (v.find_first_not_of("0123456789") == std::string::npos && v.size() < 9) return std::stod(v);
    const time_t when = curl_getdate(v.c_str(), nullptr);
    if (when < 0) return -1;
    const double wait = std::difftime(when, std::time(nullptr));
    return wait > 0 ? wait : 0;
}

}  // namespace moe::hub
