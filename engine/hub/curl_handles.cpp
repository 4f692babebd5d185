#include "hub/curl_handles.h"

#include "core/error.h"

namespace moe::hub {
namespace {

std::string url_part(CURLU* u, CURLUPart part) {
    char* value = nullptr;
    if (curl_url_get(u, part, &value, 0) != CURLUE_OK || value == nullptr) return "";
    std::string s = value;
    curl_free(value);
    return s;
}

CurlUrl parsed(const std::string& url) {
    CurlUrl u(curl_url());
    if (!u) throw Error("hub.network", url, "out of memory creating a URL handle");
    if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
        throw Error("hub.network", url, "not a valid URL");
    return u;
}

}  // namespace

void CurlSlist::append(const std::string& line) {
    curl_slist* next = curl_slist_append(list_, line.c_str());
    if (next == nullptr) throw Error("hub.network", "", "out of memory building HTTP headers");
    list_ = next;
}

void ensure_curl_global_init() {
    static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) throw Error("hub.network", "", std::string("curl_global_init failed: ") + curl_easy_strerror(rc));
}

CurlEasy make_easy_handle() {
    ensure_curl_global_init();
    CurlEasy h(curl_easy_init());
    if (!h) throw Error("hub.network", "", "curl_easy_init failed");
    CURL* c = h.get();
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);          // worker threads: no SIGALRM for DNS timeouts
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);    // redirects are followed by hand (token rule)
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);    // never disabled
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "moe-engine/0.1 (hub client; libcurl)");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
    return h;
}

UrlParts parse_url(const std::string& url) {
    CurlUrl u = parsed(url);
    return {url_part(u.get(), CURLUPART_SCHEME), url_part(u.get(), CURLUPART_HOST), url_part(u.get(), CURLUPART_PORT)};
}

std::string resolve_url(const std::string& base, const std::string& location) {
    CurlUrl u = parsed(base);
    // Setting a (possibly relative) URL on a handle that holds one resolves it against it (RFC 3986).
    if (curl_url_set(u.get(), CURLUPART_URL, location.c_str(), 0) != CURLUE_OK)
        throw Error("hub.network", base, "redirect to an invalid location '" + location + "'");
    return url_part(u.get(), CURLUPART_URL);
}

}  // namespace moe::hub
