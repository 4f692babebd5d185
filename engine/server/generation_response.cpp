#include "server/generation_response.h"

#include <httplib.h>

#include "server/access_log.h"
#include "server/connection_probe.h"
#include "server/route_util.h"
#include "server/sse.h"

namespace moe::server {
namespace {

// How often a waiting handler looks at its client between events.
constexpr std::chrono::milliseconds kPoll{50};

struct StreamState {
    ServerCore& core;
    std::shared_ptr<GenerationJob> job;
    ResponseIds ids;
    bool include_usage = false;
    bool started = false;
    bool finished = false;
    std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();

    bool write(httplib::DataSink& sink, const std::string& data) {
        last_write = std::chrono::steady_clock::now();
        return sink.write(data.data(), data.size());
    }
};

std::string render_event(StreamState& s, const GenerationEvent& ev) {
    if (ev.kind == GenerationEvent::Kind::Done) access_log_tokens(ev.outcome.prompt_tokens, ev.outcome.completion_tokens);
    if (ev.kind == GenerationEvent::Kind::Done && s.job->cancelled()) {
        // Cut short by a server shutdown: say so, rather than end like a complete reply.
        s.finished = true;
        return sse_event(server_stopping_error().body()) + sse_done();
    }
    switch (ev.kind) {
        case GenerationEvent::Kind::Delta: return sse_event(delta_chunk(s.ids, ev.delta, s.include_usage));
        case GenerationEvent::Kind::Done: {
            s.finished = true;
            std::string out = sse_event(finish_chunk(s.ids, ev.outcome, s.include_usage));
            if (s.include_usage) out += sse_event(usage_chunk(s.ids, ev.outcome));
            return out + sse_done();
        }
        case GenerationEvent::Kind::Error:
            // Headers (200) are gone already; errors mid-stream travel as an event, as vLLM sends them.
            s.finished = true;
            return sse_event(ev.error.body()) + sse_done();
    }
    return {};
}

// One call of httplib's chunked content provider. Returning false ends the response; the
// releaser then cancels the job if it had not finished.
bool stream_step(StreamState& s, httplib::DataSink& sink) {
    if (!s.started) {
        s.started = true;
        if (s.ids.kind != ResponseKind::Chat) return true;
        return s.write(sink, sse_event(role_chunk(s.ids, s.include_usage)));
    }
    std::optional<GenerationEvent> ev = s.job->events().pop(kPoll);
    if (!ev) {
        if (s.job->events().drained()) return false;  // closed without a final event: cannot happen
        if (std::chrono::steady_clock::now() - s.last_write > kSseKeepAlive) return s.write(sink, sse_keepalive());
        return sink.is_writable();  // peeks at the socket: false once the client has gone
    }
    if (!s.write(sink, render_event(s, *ev))) return false;
    if (s.finished) sink.done();
    return true;
}

void respond_streaming(ServerCore& core, httplib::Response& res, std::shared_ptr<GenerationJob> job,
                       const ResponseIds& ids, bool include_usage) {
    auto state = std::make_shared<StreamState>(StreamState{core, std::move(job), ids, include_usage});
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");  // reverse proxies must not hold the stream back
    res.set_chunked_content_provider(
        "text/event-stream",
        [state](size_t, httplib::DataSink& sink) { return guarded_step([&] { return stream_step(*state, sink); }); },
        [state](bool) {
            if (!state->finished) state->core.worker.cancel(state->job);
        });
}

void respond_blocking(ServerCore& core, const httplib::Request& req, httplib::Response& res,
                      const std::shared_ptr<GenerationJob>& job, const ResponseIds& ids) {
    const ConnectionProbe probe(req.remote_addr, req.remote_port, req.local_port);
    ReasoningDelta text;
    while (true) {
        std::optional<GenerationEvent> ev = job->events().pop(kPoll);
        if (!ev) {
            if (job->events().drained()) throw std::runtime_error("generation ended without a result");
            if (probe.peer_closed()) {
                core.worker.cancel(job);
                res.status = 499;  // nobody will read it
                res.set_header("Connection", "close");
                return;
            }
            continue;
        }
        if (ev->kind == GenerationEvent::Kind::Delta) {
            text.reasoning += ev->delta.reasoning;
            text.content += ev->delta.content;
        } else if (ev->kind == GenerationEvent::Kind::Done) {
            access_log_tokens(ev->outcome.prompt_tokens, ev->outcome.completion_tokens);
            if (job->cancelled()) return send_error(res, server_stopping_error());
            return send_json(res, 200, full_response(ids, text, ev->outcome));
        } else {
            return send_error(res, ev->error);
        }
    }
}

}  // namespace

void respond_with_generation(ServerCore& core, const httplib::Request& req, httplib::Response& res,
                             GenerationSpec spec, ResponseKind kind, bool stream, bool include_usage) {
    const ResponseIds ids = new_response_ids(kind, spec.model->id);
    auto job = std::make_shared<GenerationJob>(std::move(spec));
    job->set_label(job_label(req, kind == ResponseKind::Chat ? "chat.completion" : "text_completion", ids.id));
    switch (core.worker.submit(job)) {
        case GenerationWorker::Submit::Full:
            return send_error(res, queue_full_error(core.worker.capacity(), core.worker.retry_after_s()));
        case GenerationWorker::Submit::Stopping: return send_error(res, server_stopping_error());
        case GenerationWorker::Submit::Queued: break;
    }
    if (stream) respond_streaming(core, res, std::move(job), ids, include_usage);
    else respond_blocking(core, req, res, job, ids);
}

}  // namespace moe::server
