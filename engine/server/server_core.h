// What every route handler of `moe-engine serve` shares: the options, the model, the statistics
// and the worker that runs the model.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "server/generation_worker.h"
#include "server/model_manager.h"
#include "server/route_table.h"
#include "server/server_stats.h"
#include "server/speculative_telemetry.h"
#include "server/train_jobs.h"

namespace moe::server {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;                        // 0: any free port (printed in the "listening" line)
    std::string api_key;                    // "" = no authentication
    size_t max_body_bytes = 4u << 20;       // request bodies (JSON); larger gets 413
    int64_t max_prompt_tokens = 0;          // 0: the model's context capacity
    size_t queue_capacity = 32;             // waiting generations; more gets 503 + Retry-After
    size_t max_telemetry_streams = 4;       // concurrent telemetry SSE subscribers
    int telemetry_interval_ms = 500;        // default snapshot interval
    std::string backend = "auto";           // for models loaded through the API without "backend"
    int64_t max_context = 4096;             // KV-cache capacity for loads without "max_context"
    int64_t parallel = 1;                   // plain generations decoded side by side (serve --parallel)
    std::chrono::milliseconds token_delay{0};  // test-only: sleep after each token (makes cancellation observable)
    std::string runs_dir;                   // fine-tune runs ("" = $XDG_DATA_HOME/moe-workbench/runs)
    bool speculative = false;               // speculative decoding for requests that do not say (serve --speculative)
    int64_t draft_tokens = 0;               // drafts per step when a request does not say (0: one per MTP module)
};

struct ServerCore {
    explicit ServerCore(ServerOptions o)
        : options(std::move(o)), worker(models, stats, speculative, options.queue_capacity, options.token_delay) {}

    bool loopback() const;  // bound to 127.0.0.0/8, ::1 or localhost

    ServerOptions options;
    ModelManager models;
    ServerStats stats;
    SpeculativeTelemetry speculative;  // acceptance counters (GET /workbench/v1/speculative)
    RouteTable routes;  // filled by the route registrations, read by the 405 handler
    std::atomic<bool> stopping{false};
    std::atomic<int> telemetry_streams{0};
    std::atomic<uint64_t> telemetry_seq{0};
    GenerationWorker worker;  // its thread uses everything above
    // Fine-tune runs (child processes); made by `serve` once the core exists, destroyed first.
    std::unique_ptr<TrainJobs> train;
};

}  // namespace moe::server
