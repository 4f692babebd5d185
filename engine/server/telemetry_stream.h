// Live telemetry snapshots for GET /workbench/v1/telemetry (an SSE stream, one snapshot per interval)
// and GET /workbench/v1/telemetry/snapshot: cumulative expert load and routing bias per MoE layer,
// generation speed, time to first token, KV-cache use and process memory. Field list: docs/api.md.
// MTP acceptance: the speculative-decoding counters (server/speculative_telemetry.h), measured
// on the requests that ran; nothing here is estimated or invented.
#pragma once

#include <cstdint>

#include "core/strict_json.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace moe::server {

class ModelManager;
class ServerStats;
struct ServerCore;

class SpeculativeTelemetry;
Json telemetry_snapshot(const ModelManager& models, const ServerStats& stats, const SpeculativeTelemetry& speculative,
                        uint64_t seq);

// Answers GET /workbench/v1/telemetry?interval_ms=&max_events= with the SSE stream (or 400 / 503).
void start_telemetry_stream(ServerCore& core, const httplib::Request& req, httplib::Response& res);

// Resident and peak resident set size of this process in bytes (from /proc/self/status); -1 if unknown.
struct ProcessMemory {
    int64_t rss_bytes = -1;
    int64_t peak_rss_bytes = -1;
};
ProcessMemory process_memory();

}  // namespace moe::server
