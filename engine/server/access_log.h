// One line per HTTP request in the log file (core/logging.h's access log), e.g.
//   POST /v1/chat/completions 200 812.4 ms prompt_tokens=12 completion_tokens=40
// (tokens only for generations). httplib runs a request's routing, its handler, a streamed body
// and the logger on the connection's thread, one request at a time, so the facts of the request in
// flight are kept per thread between those calls.
#pragma once

#include <cstdint>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace moe::server {

// Before routing: the request's clock starts.
void access_log_begin();
// A generation finished (or was cut short) with these counts.
void access_log_tokens(int64_t prompt_tokens, int64_t completion_tokens);
// httplib's logger, after the response went out (streams included): writes the line.
void access_log_end(const httplib::Request& req, const httplib::Response& res);

}  // namespace moe::server
