// Acceptance telemetry of speculative decoding for GET /workbench/v1/speculative and the
// telemetry stream (docs/api.md): cumulative since the model loaded, per domain (requests that
// carry "domain"), the request running now (updated after every verification step), and a history
// of the recent requests with their time, so a client can plot acceptance over time. Mean decode
// rates of requests with and without speculation give the measured speed-up. Written by the model
// worker, read by any thread. Every ratio is 0 or null, never NaN (speculative_stats.h).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/strict_json.h"
#include "generate/speculative_stats.h"

namespace moe::server {

class SpeculativeTelemetry {
public:
    static constexpr size_t kHistory = 256;  // requests kept in the history

    // A model was loaded (its MTP modules) or unloaded (0): counters start over.
    void reset(int64_t mtp_modules);

    // Around each generation (several may run at once: serve --parallel); begin_request returns
    // the handle the other calls name.
    int64_t begin_request(const std::string& domain, bool speculative, int64_t draft_tokens);
    void on_step(int64_t request, const SpeculativeStats& running);  // its counters so far
    void end_request(int64_t request, const SpeculativeStats& final_stats, double decode_tokens_per_second,
                     int64_t completion_tokens);
    void abort_request(int64_t request);  // a failed generation: nothing is recorded

    // The whole summary (GET /workbench/v1/speculative); `history` caps the history entries sent.
    Json summary_json(size_t history = kHistory) const;
    // What each telemetry snapshot carries: the summary without domains and history.
    Json snapshot_json() const;

private:
    struct Running {
        std::string domain;
        bool speculative = false;
        int64_t draft_tokens = 0;
        SpeculativeStats stats;
    };
    struct Record {
        double time = 0;  // unix seconds at the end of the request
        std::string domain;
        int64_t draft_tokens = 0;
        SpeculativeStats stats;
        double decode_tokens_per_second = 0;
        int64_t completion_tokens = 0;
    };
    struct Rate {  // mean decode tokens/s over the requests that decoded at least two tokens
        int64_t requests = 0;  // every finished request of this kind
        double sum = 0;
        int64_t measured = 0;
        Json mean() const;
    };
    Json core_json() const;  // caller holds mutex_
    static Json record_json(const Record& r);

    mutable std::mutex mutex_;
    int64_t mtp_modules_ = 0;
    SpeculativeStats cumulative_;
    std::map<std::string, SpeculativeStats> domains_;
    std::map<int64_t, Running> running_;  // by handle
    int64_t next_request_ = 1;
    std::optional<Record> last_;
    std::deque<Record> history_;
    Rate speculative_rate_, plain_rate_;
};

}  // namespace moe::server
