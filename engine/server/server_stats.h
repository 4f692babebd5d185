// Counters the telemetry stream reports about generation: what runs now, how fast the last
// request went, how full the KV cache is. Written by the generations (several at once with
// serve --parallel), read by any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>

#include "core/strict_json.h"

namespace moe::server {

class ServerStats {
public:
    using Clock = std::chrono::steady_clock;

    // tokens: every sequence's capacity together (max_context x the sequences generations use).
    void set_kv_capacity(int64_t tokens);
    // A request starts on a model sequence: the handle its other calls name.
    int64_t begin_request(int64_t prompt_tokens, int64_t sequence = 0);
    void on_token(int64_t request, int64_t kv_used_tokens);  // after each generated token
    enum class End { Completed, Cancelled, Failed };
    void end_request(int64_t request, End how, double decode_tokens_per_second, int64_t cached_prompt_tokens);
    void set_queued(int64_t n);

    // {"active", "queued", "time_to_first_token_ms", "tokens_per_second", ...}; see docs/api.md.
    Json generation_json() const;
    Json kv_cache_json() const;

private:
    struct Running {
        Clock::time_point start{};
        Clock::time_point first_token{};
        int64_t tokens = 0;
        int64_t sequence = 0;
    };
    mutable std::mutex mutex_;
    std::map<int64_t, Running> running_;  // by handle
    int64_t next_request_ = 1;
    int64_t queued_ = 0;
    double last_ttft_ms_ = -1;       // < 0: no request yet
    double last_decode_tps_ = -1;
    uint64_t completed_ = 0, cancelled_ = 0, failed_ = 0;
    uint64_t prompt_tokens_total_ = 0, cached_prompt_tokens_total_ = 0, completion_tokens_total_ = 0;
    int64_t kv_capacity_ = 0;
    std::map<int64_t, int64_t> kv_used_;  // per model sequence: what its cache holds (it outlives the request)
};

}  // namespace moe::server
