// Per-token routed experts for `return_routed_experts`, in SGLang's layout so one client decodes
// both this server and an SGLang cluster (checked against sglang's routed_experts_capturer.py):
//   int32, little-endian, shape [tokens, num_hidden_layers, top_k], row-major, base64-encoded;
//   tokens = prompt + completion - 1 (the last sampled token is never run through the model),
//   minus the first routed_experts_start_len rows.
// The layer axis covers every decoder layer, indexed by layer id, as SGLang's buffer is; dense layers
// (first_k_dense_replace) hold -1, which SGLang leaves as zeros (indistinguishable from expert 0)
// and sglang-jax documents as -1.
//
// The recorder keeps one row per position of each sequence's KV cache (the model's sequences:
// serve --parallel decodes several at once), so tokens served from the prefix cache still have
// their routing: a forward at start_pos drops that sequence's rows from start_pos on, as the cache does.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/strict_json.h"
#include "telemetry/routing_trace.h"

namespace moe::server {

class RoutingRecorder {
public:
    // Observes `trace` until destroyed; `trace` must outlive the recorder.
    RoutingRecorder(RoutingTrace& trace, int64_t num_layers, int64_t top_k);
    ~RoutingRecorder();
    RoutingRecorder(const RoutingRecorder&) = delete;
    RoutingRecorder& operator=(const RoutingRecorder&) = delete;

    // Rows [begin, end) of a model sequence's cache: [end - begin, num_layers, top_k].
    std::vector<int32_t> rows(int64_t sequence, int64_t begin, int64_t end) const;
    // The routing weights of the same rows (the final, normalised and scaled weights the MoE layer
    // mixed its experts with); dense layers and never-seen positions hold 0.
    std::vector<float> weight_rows(int64_t sequence, int64_t begin, int64_t end) const;
    int64_t positions(int64_t sequence) const;
    int64_t num_layers() const { return layers_; }
    int64_t top_k() const { return top_k_; }

private:
    struct Track {
        std::vector<int32_t> data;    // [positions, layers, top_k]
        std::vector<float> weights;   // [positions, layers, top_k], same layout
    };
    int64_t row_size() const { return layers_ * top_k_; }
    void on_forward(const ForwardRouting& f);
    // Caller holds mutex_. An empty track for a sequence never seen.
    const Track& track(int64_t sequence) const;

    RoutingTrace& trace_;
    int observer_id_ = 0;
    int64_t layers_;
    int64_t top_k_;
    mutable std::mutex mutex_;  // forwards of different sequences may come from different threads
    std::map<int64_t, Track> tracks_;  // per model sequence
};

std::string base64_encode(const void* data, size_t bytes);

// The response value: the base64 string, or nested arrays [tokens][layers][top_k] for "json".
Json routed_experts_value(const std::vector<int32_t>& rows, int64_t num_layers, int64_t top_k, bool as_json);
// The weights in the same layout: base64 of little-endian float32, or nested arrays for "json".
Json routed_expert_weights_value(const std::vector<float>& rows, int64_t num_layers, int64_t top_k, bool as_json);

}  // namespace moe::server
