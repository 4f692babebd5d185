// POST /workbench/v1/models/load and /workbench/v1/models/unload: queued model jobs whose progress
// is answered as SSE events (default) or, with "stream": false, as one JSON reply.
#include <httplib.h>

#include "server/model_job.h"
#include "server/request_fields.h"
#include "server/route_util.h"
#include "server/routes.h"
#include "server/sse.h"

namespace moe::server {
namespace {

constexpr std::chrono::milliseconds kPoll{50};

Json model_event_json(const ModelEvent& ev) {
    switch (ev.kind) {
        case ModelEvent::Kind::Progress:
            return Json{{"type", "progress"}, {"stage", ev.stage}, {"message", ev.message}, {"detail", ev.detail}};
        case ModelEvent::Kind::Loaded:
            return Json{{"type", "loaded"}, {"model", ev.model ? ev.model->to_json() : Json(nullptr)}};
        case ModelEvent::Kind::Unloaded:
            return Json{{"type", "unloaded"}, {"model", ev.model ? Json(ev.model->id) : Json(nullptr)}};
        case ModelEvent::Kind::Error: {
            Json j = ev.error.body();
            j["type"] = "error";
            j["status"] = ev.error.status;
            return j;
        }
    }
    return {};
}

struct ModelStreamState {
    ServerCore& core;
    std::shared_ptr<ModelJob> job;
    bool finished = false;
    std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
};

bool model_stream_step(ModelStreamState& s, httplib::DataSink& sink) {
    std::optional<ModelEvent> ev = s.job->events().pop(kPoll);
    const auto now = std::chrono::steady_clock::now();
    if (!ev) {
        if (s.job->events().drained()) return false;
        if (now - s.last_write <= kSseKeepAlive) return sink.is_writable();
        s.last_write = now;  // a large checkpoint can take minutes between stages
        const std::string ping = sse_keepalive();
        return sink.write(ping.data(), ping.size());
    }
    s.finished = ev->kind != ModelEvent::Kind::Progress;
    Json j = model_event_json(*ev);
    j["object"] = "workbench.model_event";
    const std::string out = sse_event(j);
    s.last_write = now;
    if (!sink.write(out.data(), out.size())) return false;
    if (s.finished) sink.done();
    return true;
}

void stream_model_job(ServerCore& core, httplib::Response& res, std::shared_ptr<ModelJob> job) {
    auto state = std::make_shared<ModelStreamState>(ModelStreamState{core, std::move(job)});
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [state](size_t, httplib::DataSink& sink) { return guarded_step([&] { return model_stream_step(*state, sink); }); },
        [state](bool) {
            // Only a job still waiting is dropped; a load that has started completes (model_job.h).
            if (!state->finished) state->core.worker.cancel(state->job);
        });
}

void await_model_job(httplib::Response& res, const std::shared_ptr<ModelJob>& job) {
    while (true) {
        std::optional<ModelEvent> ev = job->events().pop(kPoll);
        if (!ev) {
            if (job->events().drained()) throw std::runtime_error("model job ended without a result");
            continue;
        }
        if (ev->kind == ModelEvent::Kind::Progress) continue;
        if (ev->kind == ModelEvent::Kind::Error) return send_error(res, ev->error);
        Json j = model_event_json(*ev);
        return send_json(res, 200, ev->kind == ModelEvent::Kind::Loaded ? j["model"] : j);
    }
}

void respond_model_job(ServerCore& core, const httplib::Request& req, httplib::Response& res,
                       std::shared_ptr<ModelJob> job, bool stream) {
    job->set_label(job_label(req, job->action() == ModelJob::Action::Load ? "model.load" : "model.unload"));
    switch (core.worker.submit(job)) {
        case GenerationWorker::Submit::Full:
            return send_error(res, queue_full_error(core.worker.capacity(), core.worker.retry_after_s()));
        case GenerationWorker::Submit::Stopping: return send_error(res, server_stopping_error());
        case GenerationWorker::Submit::Queued: break;
    }
    if (stream) stream_model_job(core, res, std::move(job));
    else await_model_job(res, job);
}

// Loading a model names a path on this machine: over a network that must at least be authenticated.
void check_management_allowed(const ServerCore& core) {
    if (core.loopback() || !core.options.api_key.empty()) return;
    ApiError e;
    e.status = 403;
    e.type = "invalid_request_error";
    e.code = "forbidden";
    e.message = "loading and unloading models over a non-loopback address needs serve --api-key";
    throw ApiException(e);
}

LoadOptions parse_load(const ServerCore& core, const Json& body, bool& stream) {
    RequestFields f(body);
    LoadOptions o;
    o.dir = f.require_string("model");
    o.id = f.string("id").value_or("");
    o.backend = f.string("backend").value_or(core.options.backend);
    o.max_context = f.integer("max_context", 1, int64_t(1) << 24).value_or(core.options.max_context);
    o.parallel = core.options.parallel;
    stream = f.boolean("stream").value_or(true);
    if (!is_directory(o.dir)) {
        ApiError e = invalid_request("model", "'" + o.dir + "' is not a directory on the server", "model_path_not_found");
        e.status = 404;
        throw ApiException(e);
    }
    return o;
}

}  // namespace

void register_model_routes(httplib::Server& http, ServerCore& core) {
    post_route(http, core, "/workbench/v1/models/load",
               [&core](const httplib::Request& req, httplib::Response& res, const std::string& body) {
                   check_management_allowed(core);
                   bool stream = true;
                   LoadOptions o = parse_load(core, parse_request_body(body), stream);
                   respond_model_job(core, req, res, std::make_shared<ModelJob>(ModelJob::Action::Load, std::move(o)),
                                     stream);
               });
    post_route(http, core, "/workbench/v1/models/unload",
               [&core](const httplib::Request& req, httplib::Response& res, const std::string& body) {
                   check_management_allowed(core);
                   const Json j = body.empty() ? Json::object() : parse_request_body(body);
                   const bool stream = RequestFields(j).boolean("stream").value_or(true);
                   respond_model_job(core, req, res, std::make_shared<ModelJob>(ModelJob::Action::Unload, LoadOptions{}),
                                     stream);
               });
}

}  // namespace moe::server
