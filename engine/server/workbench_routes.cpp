// GET /health, GET /workbench/v1/status, GET /workbench/v1/telemetry (SSE),
// GET /workbench/v1/telemetry/snapshot.
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

// The queue until batched decoding lands: what runs, and who waits in which position (1 runs next).
Json queue_json(const GenerationWorker& worker) {
    const QueueSnapshot snap = worker.snapshot();
    Json running = nullptr;
    if (snap.running) {
        running = entry_json(*snap.running);
        running["running_ms"] = snap.running->running_ms;
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
                {"waiting", std::move(waiting)}};
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
                       {"queue", queue_json(core.worker)}});
    });
    get_route(http, core, "/workbench/v1/telemetry", [&core](const httplib::Request& req, httplib::Response& res) {
        start_telemetry_stream(core, req, res);
    });
    get_route(http, core, "/workbench/v1/telemetry/snapshot",
              [&core](const httplib::Request&, httplib::Response& res) {
                  Json snap = telemetry_snapshot(core.models, core.stats, ++core.telemetry_seq);
                  snap["training"] = core.train ? core.train->telemetry() : Json(nullptr);
                  send_json(res, 200, snap);
              });
}

}  // namespace moe::server
