// RAII owners for libcurl's C handles, and the process-wide curl_global_init.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>

namespace moe::hub {

struct CurlEasyDeleter {
    void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlUrlDeleter {
    void operator()(CURLU* h) const { curl_url_cleanup(h); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlDeleter>;

// A header list; append() keeps ownership inside.
class CurlSlist {
public:
    CurlSlist() = default;
    CurlSlist(const CurlSlist&) = delete;
    CurlSlist& operator=(const CurlSlist&) = delete;
    ~CurlSlist() { curl_slist_free_all(list_); }
    void append(const std::string& line);
    curl_slist* get() const { return list_; }

private:
    curl_slist* list_ = nullptr;
};

// curl_global_init once per process (thread-safe through a function-local static).
void ensure_curl_global_init();
// A new easy handle with the settings every hub request shares (TLS verification stays on,
// http/https only, no automatic redirects, no signals). Throws moe::Error("hub.network") on failure.
CurlEasy make_easy_handle();

// Parsed pieces of an absolute URL (via curl's own URL parser, so it matches what curl connects to).
struct UrlParts {
    std::string scheme, host, port;  // port "" when the default
};
UrlParts parse_url(const std::string& url);
// `location` (absolute or relative) resolved against `base`.
std::string resolve_url(const std::string& base, const std::string& location);

}  // namespace moe::hub
