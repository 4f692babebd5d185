// GET /health, GET /workbench/v1/status, GET /workbench/v1/telemetry (SSE),
// GET /workbench/v1/telemetry/snapshot, GET /workbench/v1/speculative.
#include <httplib.h>

#include "core/version.h"
#include "server/route_util.h"
#include "server/routes.h"
#include "server/telemetry_stream.h"

namespace moe::server {
namespace {

Json or_null(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

Json entry_json(const QueueEntry& e) {
    return Json{{"kind", e.label.kind}, {"id", or_null(e.label.id)}, {"request_id", or_null(e.label.request_id)}};
}

// The queue: what runs (with serve --parallel, several generations, each in its slot), and who
// waits in which position (1 runs next).
Json queue_json(const GenerationWorker& worker, const std::shared_ptr<const ModelInfo>& info,
                const DecodeBatcherStats& batches) {
    const QueueSnapshot snap = worker.snapshot();
    Json running = nullptr;
    if (snap.running) {
        running = entry_json(*snap.running);
        running["running_ms"] = snap.running->running_ms;
    }
    Json running_all = Json::array();
    for (size_t i = 0; i < snap.running_all.size(); ++i) {
        Json r = entry_json(snap.running_all[i]);
        r["running_ms"] = snap.running_all[i].running_ms;
        r["slot"] = snap.running_slots[i] < 0 ? Json(nullptr) : Json(snap.running_slots[i]);
        running_all.push_back(std::move(r));
    }
    Json waiting = Json::array();
    for (size_t i = 0; i < snap.waiting.size(); ++i) {
        Json w = entry_json(snap.waiting[i]);
        w["position"] = i + 1;
        w["waiting_ms"] = snap.waiting[i].waiting_ms;
        waiting.push_back(std::move(w));
    }
    return Json{{"capacity", snap.capacity},
                {"length", snap.waiting.size()},
                {"retry_after_s", worker.retry_after_s()},
                {"running", std::move(running)},
                {"running_all", std::move(running_all)},
                {"parallel", {{"requested", info ? info->parallel_requested : 1},
                              {"slots", info ? info->parallel_slots : 0},
                              {"limit", info && !info->parallel_limit.empty() ? Json(info->parallel_limit) : Json(nullptr)},
                              {"batched_steps", batches.steps},
                              {"mean_batch", batches.steps ? double(batches.rows) / double(batches.steps) : 0.0},
                              {"max_batch", batches.max_rows}}},
                {"waiting", std::move(waiting)}};
}

// GET /workbench/v1/speculative[?history=N]: the acceptance summary, the server's default and the
// model's MTP modules.
Json speculative_summary(const ServerCore& core, const httplib::Request& req) {
    size_t history = SpeculativeTelemetry::kHistory;
    if (req.has_param("history")) {
        const std::string text = req.get_param_value("history");
        size_t used = 0;
        long long v = -1;
        try {
            v = std::stoll(text, &used);
        } catch (...) {
        }
        if (used != text.size() || v < 0 || v > int64_t(SpeculativeTelemetry::kHistory))
            throw_invalid_request("history", "query parameter 'history' must be an integer between 0 and " +
                                                 std::to_string(SpeculativeTelemetry::kHistory) + ", got '" + text + "'");
        history = size_t(v);
    }
    const auto info = core.models.info();
    Json j = core.speculative.summary_json(history);
    j["object"] = "workbench.speculative";
    j["model"] = info ? Json(info->id) : Json(nullptr);
    j["default"] = Json{{"enabled", core.options.speculative}, {"draft_tokens", core.options.draft_tokens}};
    return j;
}

}  // namespace

void register_workbench_routes(httplib::Server& http, ServerCore& core) {
    get_route(http, core, "/health", [&core](const httplib::Request&, httplib::Response& res) {
        auto info = core.models.info();
        Json g = core.stats.generation_json();
        send_json(res, core.stopping ? 503 : 200,
                  Json{{"status", core.stopping ? "stopping" : "ok"},
                       {"model", info ? Json(info->id) : Json(nullptr)},
                       {"generating", g["active"]},
                       {"queued", core.worker.queued()}});
    });
    get_route(http, core, "/workbench/v1/status", [&core](const httplib::Request&, httplib::Response& res) {
        auto info = core.models.info();
        send_json(res, 200,
                  Json{{"object", "workbench.status"},
                       {"version", engine_version()},
                       {"status", core.stopping ? "stopping" : "ok"},
                       {"model", info ? Json(info->id) : Json(nullptr)},
                       {"queue", queue_json(core.worker, info, core.models.batch_stats())}});
    });
    get_route(http, core, "/workbench/v1/telemetry", [&core](const httplib::Request& req, httplib::Response& res) {
        start_telemetry_stream(core, req, res);
    });
    get_route(http, core, "/workbench/v1/telemetry/snapshot",
              [&core](const httplib::Request&, httplib::Response& res) {
                  Json snap = telemetry_snapshot(core.models, core.stats, core.speculative, ++core.telemetry_seq);
                  snap["training"] = core.train ? core.train->telemetry() : Json(nullptr);
                  send_json(res, 200, snap);
              });
    get_route(http, core, "/workbench/v1/speculative", [&core](const httplib::Request& req, httplib::Response& res) {
        send_json(res, 200, speculative_summary(core, req));
    });
}

}  // namespace moe::server
