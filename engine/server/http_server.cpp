#include "server/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include "core/error.h"
#include "core/version.h"
#include "server/access_log.h"
#include "server/route_util.h"
#include "server/routes.h"
#include "server/server_policies.h"

namespace moe::server {

// Debian's cpp-httplib listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into the
// shared library). When more clients connect at once while the accept thread is not scheduled,
// Linux drops the handshake's last ACK; the client's request then arrives seconds late and httplib
// closes the connection after its keep-alive wait, unanswered. Listening again with a deep backlog
// (allowed on a listening socket) avoids it.
class HttpListener : public httplib::Server {
public:
    void deepen_backlog() {
        const socket_t s = svr_sock_;
        if (s != INVALID_SOCKET) ::listen(s, SOMAXCONN);
    }
};

namespace {

// A path that some route serves with another method: 405, and the methods it takes.
ApiError method_not_allowed(const httplib::Request& req, const std::string& allow) {
    ApiError e;
    e.status = 405;
    e.type = "invalid_request_error";
    e.code = "method_not_allowed";
    e.message = req.path + " takes " + allow + ", not " + req.method + " (see docs/api.md)";
    return e;
}

ApiError http_status_error(const httplib::Request& req, int status) {
    ApiError e;
    e.status = status;
    e.type = status >= 500 ? "server_error" : "invalid_request_error";
    switch (status) {
        case 404:
            e.code = "not_found";
            e.message = "no endpoint " + req.method + " " + req.path + " (see docs/api.md)";
            break;
        case 413:
            e.code = "request_too_large";
            e.message = "the request body is larger than the server's limit (serve --max-body-bytes)";
            break;
        case 414:
            e.code = "uri_too_long";
            e.message = "the request URI is too long";
            break;
        default:
            e.code = "http_" + std::to_string(status);
            e.message = "the request failed with HTTP status " + std::to_string(status);
    }
    return e;
}

}  // namespace

HttpServer::HttpServer(ServerOptions options)
    : core_(std::make_unique<ServerCore>(std::move(options))), http_(std::make_unique<HttpListener>()) {
    const ServerOptions& o = core_->options;
    // Every waiting generation and every telemetry stream holds a connection thread; the spare ones
    // answer health checks, model lists and "queue full" while the model is busy.
    const size_t threads = o.queue_capacity + 1 + o.max_telemetry_streams + 8;
    http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http_->set_payload_max_length(o.max_body_bytes);
    http_->set_keep_alive_max_count(1000);
    // httplib notices a stop only between requests, after an idle connection's keep-alive wait: with
    // its default of 5 s, one idle client (a health poller, an app between chats) held SIGTERM up
    // for 5 s. One second keeps connection reuse for bursts of requests and stops promptly.
    http_->set_keep_alive_timeout(1);
    http_->set_tcp_nodelay(true);  // stream chunks leave as soon as they are written
    install_policies();
    register_openai_routes(*http_, *core_);
    register_workbench_routes(*http_, *core_);
    register_model_routes(*http_, *core_);
    // Training yields to generation: a run is stopped while a generation runs (train_jobs.h).
    ServerCore* c = core_.get();
    core_->train = std::make_unique<TrainJobs>(TrainJobsOptions{o.runs_dir, "", o.backend},
                                               [c] { return c->worker.snapshot().running.has_value(); });
    register_train_routes(*http_, *core_);
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::install_policies() {
    ServerCore& core = *core_;
    http_->set_pre_routing_handler([&core](const httplib::Request& req, httplib::Response& res) {
        access_log_begin();
        std::optional<ApiError> e = check_host(core, req.get_header_value("Host"));
        if (!e) e = check_auth(core, req.path, req.get_header_value("Authorization"));
        if (!e) return httplib::Server::HandlerResponse::Unhandled;
        send_error(res, *e);
        res.set_header("Connection", "close");  // the body (if any) was never read
        return httplib::Server::HandlerResponse::Handled;
    });
    // httplib's own failures (unknown path, oversized or malformed request) get the same JSON errors.
    // A known path asked with the wrong method is 405 + Allow rather than httplib's 404.
    const httplib::Server::HandlerWithResponse on_error = [&core](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty() || res.content_provider_) return httplib::Server::HandlerResponse::Unhandled;
        const std::string allow = res.status == 404 ? core.routes.allowed_methods(req.path) : "";
        if (!allow.empty()) {
            send_error(res, method_not_allowed(req, allow));
            res.set_header("Allow", allow);
        } else {
            send_error(res, http_status_error(req, res.status));
        }
        return httplib::Server::HandlerResponse::Handled;
    };
    http_->set_error_handler(on_error);
    // Every response names the server and its version; every request leaves one line in the log file.
    http_->set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
        res.set_header("Server", std::string("moe-engine/") + engine_version());
    });
    http_->set_logger([](const httplib::Request& req, const httplib::Response& res) { access_log_end(req, res); });
    http_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        send_error(res, current_exception_error(ep));
    });
}

ModelEvent HttpServer::load_model(const LoadOptions& options, const std::function<void(const ModelEvent&)>& on_event) {
    auto job = std::make_shared<ModelJob>(ModelJob::Action::Load, options);
    if (core_->worker.submit(job) != GenerationWorker::Submit::Queued)
        throw Error("server.busy", "", "the model queue does not accept work (full or stopping)");
    while (true) {
        std::optional<ModelEvent> ev = job->events().pop(std::chrono::milliseconds(200));
        if (!ev) {
            if (job->events().drained()) throw Error("server.internal", "", "model load ended without a result");
            continue;
        }
        if (on_event) on_event(*ev);
        if (ev->kind != ModelEvent::Kind::Progress) return *ev;
    }
}

int HttpServer::bind() {
    const ServerOptions& o = core_->options;
    const int port = o.port == 0 ? http_->bind_to_any_port(o.host) : (http_->bind_to_port(o.host, o.port) ? o.port : -1);
    if (port <= 0)
        throw Error("server.bind_failed", "",
                    "cannot listen on " + o.host + ":" + std::to_string(o.port) +
                        " (the port is in use, or the host is not an address of this machine)");
    http_->deepen_backlog();
    port_ = port;
    return port;
}

bool HttpServer::serve() { return http_->listen_after_bind(); }

void HttpServer::stop() {
    core_->stopping = true;
    core_->worker.shutdown();  // running generations end at their next token; queued ones get 503
    http_->stop();             // then httplib stops accepting and joins its connection threads
}

}  // namespace moe::server
