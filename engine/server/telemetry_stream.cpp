#include "server/telemetry_stream.h"

#include <httplib.h>

#include <chrono>
#include <fstream>
#include <numeric>
#include <string>
#include <thread>
#include <utility>

#include "server/model_manager.h"
#include "server/route_util.h"
#include "server/server_core.h"
#include "server/server_stats.h"
#include "server/sse.h"

namespace moe::server {
namespace {

int64_t kib_field(const std::string& line, const char* key) {
    if (line.rfind(key, 0) != 0) return -1;
    try {
        return std::stoll(line.substr(std::string(key).size())) * 1024;  // "VmRSS:   1234 kB"
    } catch (...) {
        return -1;
    }
}

Json routing_json(const RoutingSnapshot& snap, const ModelInfo& info) {
    Json layers = Json::array();
    for (const auto& [layer, load] : snap.expert_load) {
        const uint64_t hits = std::accumulate(load.begin(), load.end(), uint64_t(0));
        Json l = {{"layer", layer},
                  {"mtp", layer >= info.num_layers},
                  {"expert_load", load},
                  {"routed_tokens", info.top_k > 0 ? hits / uint64_t(info.top_k) : 0}};
        auto b = snap.bias.find(layer);
        l["bias"] = b == snap.bias.end() ? Json(nullptr) : Json(b->second);
        layers.push_back(std::move(l));
    }
    return Json{{"forwards", snap.forwards},
                {"top_k", info.top_k},
                {"n_experts", info.n_experts},
                {"layers", std::move(layers)}};
}

// Process memory, plus the device's when the model runs on an accelerator (null otherwise, also on
// a query failure). used = total - free: device-wide, as nvidia-smi shows it.
Json memory_json(const ProcessMemory& mem, const std::optional<Backend::DeviceMemory>& device) {
    Json m = {{"rss_bytes", mem.rss_bytes}, {"peak_rss_bytes", mem.peak_rss_bytes},
              {"gpu_used_bytes", nullptr}, {"gpu_total_bytes", nullptr}};
    if (device) {
        m["gpu_used_bytes"] = device->total_bytes - device->free_bytes;
        m["gpu_total_bytes"] = device->total_bytes;
    }
    return m;
}

}  // namespace

ProcessMemory process_memory() {
    ProcessMemory m;
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);) {
        if (int64_t v = kib_field(line, "VmRSS:"); v >= 0) m.rss_bytes = v;
        if (int64_t v = kib_field(line, "VmHWM:"); v >= 0) m.peak_rss_bytes = v;
    }
    return m;
}

Json telemetry_snapshot(const ModelManager& models, const ServerStats& stats, uint64_t seq) {
    const auto info = models.info();
    const auto routing = models.routing_snapshot();
    const ProcessMemory mem = process_memory();
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    Json j = {{"object", "workbench.telemetry"},
              {"seq", seq},
              {"time", now},
              {"model", info ? Json(info->id) : Json(nullptr)},
              {"generation", stats.generation_json()},
              {"kv_cache", stats.kv_cache_json()},
              {"memory", memory_json(mem, models.device_memory())}};
    j["routing"] = info && routing && info->is_moe() ? routing_json(*routing, *info) : Json(nullptr);
    return j;
}

// ---- the SSE stream --------------------------------------------------------------------------

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kPoll{50};

int64_t query_int(const httplib::Request& req, const char* key, int64_t fallback, int64_t lo, int64_t hi) {
    if (!req.has_param(key)) return fallback;
    const std::string text = req.get_param_value(key);
    try {
        size_t used = 0;
        const int64_t v = std::stoll(text, &used);
        if (used == text.size() && v >= lo && v <= hi) return v;
    } catch (...) {
    }
    throw_invalid_request(key, std::string("query parameter '") + key + "' must be an integer between " +
                                   std::to_string(lo) + " and " + std::to_string(hi) + ", got '" + text + "'");
}

struct TelemetryState {
    ServerCore& core;
    std::chrono::milliseconds interval;
    int64_t max_events;  // 0: until the client leaves
    int64_t sent = 0;
    Clock::time_point next{};
    bool counted = true;  // holds one of core.telemetry_streams

    // Frees the stream's slot once: as soon as the last event is out (the client may open the next
    // stream before httplib destroys this response), or when the response goes away.
    void release() {
        if (std::exchange(counted, false)) --core.telemetry_streams;
    }
};

bool telemetry_step(TelemetryState& s, httplib::DataSink& sink) {
    if (s.core.stopping) return false;
    const auto now = Clock::now();
    if (s.sent > 0 && now < s.next) {
        std::this_thread::sleep_for(std::min<Clock::duration>(kPoll, s.next - now));
        return sink.is_writable();  // notices a client that left between snapshots
    }
    s.next = (s.sent == 0 || s.next + s.interval < now) ? now + s.interval : s.next + s.interval;
    Json snap = telemetry_snapshot(s.core.models, s.core.stats, ++s.core.telemetry_seq);
    snap["training"] = s.core.train ? s.core.train->telemetry() : Json(nullptr);
    const std::string ev = sse_event(snap);
    if (!sink.write(ev.data(), ev.size())) return false;
    if (++s.sent == s.max_events) {
        s.release();
        sink.done();
    }
    return true;
}

}  // namespace

void start_telemetry_stream(ServerCore& core, const httplib::Request& req, httplib::Response& res) {
    const auto interval = std::chrono::milliseconds(
        query_int(req, "interval_ms", core.options.telemetry_interval_ms, 20, 60'000));
    const int64_t max_events = query_int(req, "max_events", 0, 0, 1'000'000'000);
    if (++core.telemetry_streams > int(core.options.max_telemetry_streams)) {
        --core.telemetry_streams;
        ApiError e = queue_full_error(core.options.max_telemetry_streams);
        e.code = "too_many_streams";
        e.message = "at most " + std::to_string(core.options.max_telemetry_streams) +
                    " telemetry streams may be open at once (serve --max-telemetry-streams)";
        return send_error(res, e);
    }
    auto state = std::make_shared<TelemetryState>(TelemetryState{core, interval, max_events});
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [state](size_t, httplib::DataSink& sink) { return guarded_step([&] { return telemetry_step(*state, sink); }); },
        [state](bool) { state->release(); });
}

}  // namespace moe::server
