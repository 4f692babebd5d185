#include "hub/http_request.h"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "core/error.h"
#include "hub/curl_handles.h"

namespace moe::hub {
namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::string trim(const std::string& s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return s.substr(b, e - b);
}

// State shared with curl's C callbacks during one perform().
struct Transfer {
    const HttpRequest* req = nullptr;
    CURL* curl = nullptr;
    HttpResult* result = nullptr;
    bool head_delivered = false;
    bool final_2xx = false;
    // Our own stall clock: curl's low-speed check averages over a window of several seconds, so a
    // burst followed by silence would go unnoticed for that long.
    std::chrono::steady_clock::time_point last_activity = std::chrono::steady_clock::now();

    long status() const {
        long code = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        return code;
    }
    // Decides, at the first body byte (or at the end of an empty body), what this response is.
    bool deliver_head() {
        if (head_delivered) return true;
        head_delivered = true;
        result->head.status = status();
        final_2xx = result->head.status >= 200 && result->head.status < 300;
        if (final_2xx && req->on_head) return req->on_head(result->head);
        return true;
    }
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    t->last_activity = std::chrono::steady_clock::now();
    const std::string line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) {
        t->result->head.headers.clear();  // a new response (e.g. after 100 Continue)
        return size * n;
    }
    const size_t colon = line.find(':');
    if (colon != std::string::npos) t->result->head.headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
    return size * n;
}

size_t on_write(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    t->last_activity = std::chrono::steady_clock::now();
    const size_t bytes = size * n;
    if (!t->deliver_head()) {
        t->result->aborted_by_callback = true;
        return 0;
    }
    if (t->final_2xx && t->req->on_body) {
        if (t->req->on_body(data, bytes)) return bytes;
        t->result->aborted_by_callback = true;
        return 0;
    }
    const size_t cap = t->final_2xx ? t->req->max_body : size_t(64) << 10;
    if (t->result->body.size() + bytes > cap) {
        if (t->final_2xx) {
            t->result->aborted_by_callback = true;
            return 0;
        }
        return bytes;  // error bodies: keep the first 64 KiB for the message
    }
    t->result->body.append(data, bytes);
    return bytes;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* t = static_cast<Transfer*>(user);
    if (t->req->cancel && t->req->cancel->load()) {
        t->result->cancelled = true;
        return 1;
    }
    if (std::chrono::steady_clock::now() - t->last_activity > std::chrono::seconds(t->req->stall_seconds)) {
        t->result->stalled = true;
        return 1;
    }
    return 0;
}

// One request/response without following redirects.
void perform_once(const HttpRequest& req, const std::string& url, bool send_token, HttpResult& result) {
    CurlEasy easy = make_easy_handle();
    CURL* c = easy.get();
    Transfer t{&req, c, &result};
    result.head = HttpHead{};
    result.head.url = url;
    result.body.clear();
    CurlSlist headers;
    headers.append("Accept-Encoding: identity");  // byte counts must be the file's, not a gzip stream's
    if (send_token && !req.token.empty()) {
        headers.append("Authorization: Bearer " + req.token);
        result.sent_token_to += (result.sent_token_to.empty() ? "" : ",") + parse_url(url).host;
    }
    if (req.range_start) headers.append("Range: bytes=" + std::to_string(*req.range_start) + "-");
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    const CURLcode rc = curl_easy_perform(c);
    result.curl_code = rc;
    result.curl_error = rc == CURLE_OK ? "" : (errbuf[0] ? errbuf : curl_easy_strerror(rc));
    if (rc == CURLE_OK && !t.head_delivered) {
        // Empty body: the head was never seen by on_write.
        if (!t.deliver_head()) result.aborted_by_callback = true;
    }
    if (!t.head_delivered) result.head.status = t.status();
}

}  // namespace

std::string HttpHead::header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
}

bool same_origin(const std::string& a, const std::string& b) {
    const UrlParts pa = parse_url(a), pb = parse_url(b);
    return lower(pa.scheme) == lower(pb.scheme) && lower(pa.host) == lower(pb.host) && pa.port == pb.port;
}

HttpResult http_get(const HttpRequest& req) {
    HttpResult result;
    std::string url = req.url;
    for (int hop = 0;; ++hop) {
        // The token belongs to the origin the caller asked for; never to a host a redirect names.
        perform_once(req, url, same_origin(url, req.url), result);
        const long s = result.head.status;
        const bool redirect = result.curl_code == 0 && (s == 301 || s == 302 || s == 303 || s == 307 || s == 308);
        if (!redirect) return result;
        const std::string location = result.head.header("location");
        if (location.empty()) throw Error("hub.network", url, "HTTP " + std::to_string(s) + " redirect without a Location");
        if (hop >= req.max_redirects) throw Error("hub.network", req.url, "more than " + std::to_string(req.max_redirects) + " redirects");
        const std::string next = resolve_url(url, location);
        if (lower(parse_url(url).scheme) == "https" && lower(parse_url(next).scheme) != "https")
            throw Error("hub.network", url, "refusing a redirect from https to '" + next + "'");
        url = next;
    }
}

}  // namespace moe::hub
