// Glue between httplib and the handlers: bounded body reading, one place that turns exceptions
// into OpenAI-style error responses, and SSE response setup.
#pragma once

#include <functional>
#include <string>

#include "core/strict_json.h"
#include "server/api_error.h"
#include "server/server_core.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace moe::server {

using BodyHandler = std::function<void(const httplib::Request&, httplib::Response&, const std::string& body)>;
using GetHandler = std::function<void(const httplib::Request&, httplib::Response&)>;

// Both register the route in core.routes too (405 for the other methods). POST route whose body is read up to options.max_body_bytes (413 beyond) before `handler` runs.
void post_route(httplib::Server& http, ServerCore& core, const std::string& path, BodyHandler handler);
void get_route(httplib::Server& http, ServerCore& core, const std::string& path, GetHandler handler);

void send_json(httplib::Response& res, int status, const Json& body);
void send_error(httplib::Response& res, const ApiError& error);

// httplib calls content providers (streamed bodies) outside its exception handling, so an exception
// escaping one would end the process. Providers run through this: any failure just ends the stream.
template <class F>
bool guarded_step(F&& step) noexcept {
    try {
        return step();
    } catch (...) {
        return false;
    }
}

// 503 for a full queue (with Retry-After: retry_after_s), and for a server that is shutting down.
ApiError queue_full_error(size_t capacity, int retry_after_s = 1);
ApiError server_stopping_error();

// What the queue shows of a request (GET /workbench/v1/status): its kind, response id, and the
// client's X-Request-Id header (at most 200 bytes kept).
JobLabel job_label(const httplib::Request& req, std::string kind, std::string id = "");

}  // namespace moe::server
