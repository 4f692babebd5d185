#include "server/access_log.h"

#include <chrono>
#include <optional>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "core/logging.h"

namespace moe::server {
namespace {

struct RequestInFlight {
    std::chrono::steady_clock::time_point start;
    int64_t prompt_tokens = -1, completion_tokens = -1;  // -1: not a generation
};

// Requests httplib rejects before routing (a malformed request line) never begin: they log no duration.
thread_local std::optional<RequestInFlight> t_request;

}  // namespace

void access_log_begin() { t_request = RequestInFlight{std::chrono::steady_clock::now()}; }

void access_log_tokens(int64_t prompt_tokens, int64_t completion_tokens) {
    if (!t_request) return;
    t_request->prompt_tokens = prompt_tokens;
    t_request->completion_tokens = completion_tokens;
}

void access_log_end(const httplib::Request& req, const httplib::Response& res) {
    const std::optional<RequestInFlight> r = std::move(t_request);
    t_request.reset();
    const double ms = r ? std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - r->start).count()
                        : -1.0;
    const auto log = access_log();
    if (r && r->prompt_tokens >= 0)
        log->info("{} {} {} {:.1f} ms prompt_tokens={} completion_tokens={}", req.method, req.path, res.status, ms,
                  r->prompt_tokens, r->completion_tokens);
    else if (r)
        log->info("{} {} {} {:.1f} ms", req.method, req.path, res.status, ms);
    else
        log->info("{} {} {}", req.method.empty() ? "-" : req.method, req.path.empty() ? "-" : req.path, res.status);
}

}  // namespace moe::server
