#include "server/server_stats.h"

#include <algorithm>

namespace moe::server {
namespace {
double ms_between(ServerStats::Clock::time_point a, ServerStats::Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}
Json non_negative_or_null(double v) { return v < 0 ? Json(nullptr) : Json(v); }
}  // namespace

void ServerStats::set_kv_capacity(int64_t tokens) {
    std::lock_guard lock(mutex_);
    kv_capacity_ = tokens;
    kv_used_.clear();
}

int64_t ServerStats::begin_request(int64_t prompt_tokens, int64_t sequence) {
    std::lock_guard lock(mutex_);
    const int64_t id = next_request_++;
    running_[id] = Running{Clock::now(), {}, 0, sequence};
    prompt_tokens_total_ += uint64_t(prompt_tokens);
    return id;
}

void ServerStats::on_token(int64_t request, int64_t kv_used_tokens) {
    std::lock_guard lock(mutex_);
    const auto it = running_.find(request);
    if (it == running_.end()) return;
    Running& r = it->second;
    const auto now = Clock::now();
    if (r.tokens++ == 0) {
        r.first_token = now;
        last_ttft_ms_ = ms_between(r.start, now);
    }
    ++completion_tokens_total_;
    kv_used_[r.sequence] = kv_used_tokens;
}

void ServerStats::end_request(int64_t request, End how, double decode_tokens_per_second, int64_t cached_prompt_tokens) {
    std::lock_guard lock(mutex_);
    running_.erase(request);
    cached_prompt_tokens_total_ += uint64_t(cached_prompt_tokens);
    if (how == End::Completed) ++completed_;
    if (how == End::Cancelled) ++cancelled_;
    if (how == End::Failed) ++failed_;
    if (decode_tokens_per_second > 0) last_decode_tps_ = decode_tokens_per_second;
}

void ServerStats::set_queued(int64_t n) {
    std::lock_guard lock(mutex_);
    queued_ = n;
}

Json ServerStats::generation_json() const {
    std::lock_guard lock(mutex_);
    // Live rate of the running requests (each one's tokens after its first over the time since
    // it, summed: what the server produces now), else the last request's.
    const auto now = Clock::now();
    double current = -1;
    for (const auto& [id, r] : running_) {
        if (r.tokens <= 1) continue;
        const double s = ms_between(r.first_token, now) / 1000.0;
        if (s > 0) current = std::max(current, 0.0) + double(r.tokens - 1) / s;
    }
    const bool active = !running_.empty();
    return Json{{"active", active},
                {"active_requests", int64_t(running_.size())},
                {"queued", queued_},
                {"tokens_per_second", non_negative_or_null(active ? current : last_decode_tps_)},
                {"last_tokens_per_second", non_negative_or_null(last_decode_tps_)},
                {"time_to_first_token_ms", non_negative_or_null(last_ttft_ms_)},
                {"requests_completed", completed_},
                {"requests_cancelled", cancelled_},
                {"requests_failed", failed_},
                {"prompt_tokens_total", prompt_tokens_total_},
                {"cached_prompt_tokens_total", cached_prompt_tokens_total_},
                {"completion_tokens_total", completion_tokens_total_}};
}

Json ServerStats::kv_cache_json() const {
    std::lock_guard lock(mutex_);
    int64_t used = 0;
    for (const auto& [sequence, n] : kv_used_) used += n;
    return Json{{"used_tokens", used},
                {"capacity_tokens", kv_capacity_},
                {"fraction", kv_capacity_ > 0 ? double(used) / double(kv_capacity_) : 0.0}};
}

}  // namespace moe::server
