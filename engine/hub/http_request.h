// One HTTP GET against the hub or its CDN, with redirects followed by hand so the token rule is
// ours: the Authorization header goes only to the origin (scheme, host, port) of the first URL;
// a redirect elsewhere (the CDN of an LFS file) is fetched without it, and https -> http is refused.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace moe::hub {

struct HttpHead {
    long status = 0;
    std::map<std::string, std::string> headers;  // lower-case names, of the final response
    std::string url;                             // the URL that answered (after redirects)
    std::string header(const std::string& lower_name) const;
};

struct HttpRequest {
    std::string url;
    std::string token;                        // "" = none
    std::optional<uint64_t> range_start;      // "Range: bytes=<n>-"
    long stall_seconds = 30;                  // no byte (nor header) for this long -> abort, the caller reconnects
    int max_redirects = 5;
    const std::atomic<bool>* cancel = nullptr;
    // Final 2xx response: on_head once before the first body byte (false aborts), then on_body.
    // Without on_body, a 2xx body is collected into HttpResult::body (up to max_body bytes).
    std::function<bool(const HttpHead&)> on_head;
    std::function<bool(const char*, size_t)> on_body;
    size_t max_body = 64u << 20;
};

struct HttpResult {
    HttpHead head;
    std::string body;               // error bodies (capped) or the collected 2xx body
    int curl_code = 0;              // CURLcode; 0 = transfer completed
    std::string curl_error;         // curl's message when curl_code != 0
    bool cancelled = false;         // stopped through `cancel`
    bool stalled = false;           // no byte for stall_seconds: aborted so the caller reconnects
    bool aborted_by_callback = false;
    std::string sent_token_to;      // hosts that received the Authorization header (for logs)
    bool ok() const { return curl_code == 0 && head.status >= 200 && head.status < 300; }
};

HttpResult http_get(const HttpRequest& request);

// Same origin: scheme, host and port equal (hosts compared case-insensitively).
bool same_origin(const std::string& a, const std::string& b);

}  // namespace moe::hub
