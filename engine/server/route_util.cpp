#include "server/route_util.h"

#include <httplib.h>

#include "server/sse.h"

namespace moe::server {
namespace {

ApiError body_too_large(size_t limit) {
    ApiError e;
    e.status = 413;
    e.type = "invalid_request_error";
    e.code = "request_too_large";
    e.message = "the request body is larger than the server's limit of " + std::to_string(limit) +
                " bytes (serve --max-body-bytes)";
    return e;
}

// Reads the whole body or reports why not. A body left half-read would be parsed as the next
// request on a kept-alive connection, so a failed read also closes the connection.
std::string read_body(const httplib::ContentReader& reader, httplib::Response& res, size_t limit) {
    std::string body;
    bool too_large = false;
    const bool ok = reader([&](const char* data, size_t n) {
        if (body.size() + n > limit) {
            too_large = true;
            return false;
        }
        body.append(data, n);
        return true;
    });
    if (too_large || res.status == 413) throw ApiException(body_too_large(limit));
    if (!ok) throw_invalid_request("", "the request body could not be read (incomplete or malformed)", "bad_body");
    return body;
}

}  // namespace

void send_json(httplib::Response& res, int status, const Json& body) {
    res.status = status;
    res.set_content(json_text(body), "application/json");
}

void send_error(httplib::Response& res, const ApiError& error) {
    send_json(res, error.status, error.body());
    if (error.retry_after_s > 0) res.set_header("Retry-After", std::to_string(error.retry_after_s));
    if (error.status == 413 || error.code == "bad_body") res.set_header("Connection", "close");
}

ApiError queue_full_error(size_t capacity, int retry_after_s) {
    ApiError e;
    e.status = 503;
    e.code = "queue_full";
    e.message = "the server is busy: " + std::to_string(capacity) +
                " requests are already waiting for the model; retry after the Retry-After delay";
    e.retry_after_s = retry_after_s;
    return e;
}

ApiError server_stopping_error() {
    ApiError e;
    e.status = 503;
    e.code = "server_stopping";
    e.message = "the server is shutting down";
    return e;
}

JobLabel job_label(const httplib::Request& req, std::string kind, std::string id) {
    std::string request_id = req.get_header_value("X-Request-Id");
    if (request_id.size() > 200) request_id.resize(200);
    return JobLabel{std::move(kind), std::move(id), std::move(request_id)};
}

void post_route(httplib::Server& http, ServerCore& core, const std::string& path, BodyHandler handler) {
    core.routes.add("POST", path);
    http.Post(path, [&core, handler = std::move(handler)](const httplib::Request& req, httplib::Response& res,
                                                           const httplib::ContentReader& reader) {
        try {
            const std::string body = read_body(reader, res, core.options.max_body_bytes);
            res.status = -1;
            handler(req, res, body);
        } catch (...) {
            send_error(res, current_exception_error(std::current_exception()));
        }
    });
}

void get_route(httplib::Server& http, ServerCore& core, const std::string& path, GetHandler handler) {
    core.routes.add("GET", path);
    http.Get(path, [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
        try {
            handler(req, res);
        } catch (...) {
            send_error(res, current_exception_error(std::current_exception()));
        }
    });
}

}  // namespace moe::server
