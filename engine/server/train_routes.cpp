// The fine-tune runs of `serve` (server/train_jobs.h; docs/api.md "Training"):
//   POST /workbench/v1/train                       start a run from a run description (202)
//   POST /workbench/v1/train/plan                  its data report and plan, without training
//   GET  /workbench/v1/train                       the runs in the runs folder, newest first
//   GET  /workbench/v1/train/{id}                  state, config, data report, latest metrics, checkpoints
//   GET  /workbench/v1/train/{id}/history?since=N  step and eval events after step N (default: all)
//   POST /workbench/v1/train/{id}/pause | resume | cancel
//   POST /workbench/v1/train/{id}/export           {"dtype"?, "step"?} -> an HF checkpoint folder
#include <httplib.h>

#include <filesystem>

#include "server/route_util.h"
#include "server/routes.h"
#include "train/export.h"

namespace moe::server {

namespace {

TrainJobs& jobs(ServerCore& core) {
    if (!core.train)
        throw ApiException(ApiError{503, "server_error", "train.unavailable", "this server runs no training jobs", ""});
    return *core.train;
}

Json parse_body(const std::string& body) {
    try {
        return body.empty() ? Json::object() : parse_strict_json(body, "request", "request");
    } catch (const moe::Error& e) {
        throw ApiException(invalid_request("body", e.what(), "invalid_json"));
    }
}

// Exports a run's checkpoint into <run>/export-step-N[-dtype] (or "out"), in this thread.
Json export_checkpoint(ServerCore& core, const std::string& id, const Json& req) {
    train::ExportOptions o;
    o.run_dir = jobs(core).run_dir(id);
    o.step = req.value("step", int64_t(-1));
    o.dtype = req.value("dtype", std::string("auto"));
    const Json status = jobs(core).status(id);
    const Json& ckpts = status["checkpoints"];
    if (ckpts.empty())
        throw ApiException(ApiError{409, "invalid_request_error", "export.no_checkpoint", "the run has no checkpoint yet", ""});
    const std::string step_name = o.step >= 0 ? std::to_string(o.step) : ckpts.back().get<std::string>().substr(5);
    o.out = req.value("out", (std::filesystem::path(o.run_dir) / ("export-" + step_name + "-" + o.dtype)).string());
    try {
        return train::export_run(o);
    } catch (const moe::Error& e) {
        throw ApiException(api_error_from(e));
    }
}

}  // namespace

void register_train_routes(httplib::Server& http, ServerCore& core) {
    post_route(http, core, "/workbench/v1/train",
               [&core](const httplib::Request&, httplib::Response& res, const std::string& body) {
                   send_json(res, 202, jobs(core).start(parse_body(body)));
               });
    post_route(http, core, "/workbench/v1/train/plan",
               [&core](const httplib::Request&, httplib::Response& res, const std::string& body) {
                   send_json(res, 200, jobs(core).plan(parse_body(body)));
               });
    get_route(http, core, "/workbench/v1/train", [&core](const httplib::Request&, httplib::Response& res) {
        send_json(res, 200, jobs(core).list());
    });
    get_route(http, core, R"(/workbench/v1/train/([A-Za-z0-9_.-]+))",
              [&core](const httplib::Request& req, httplib::Response& res) {
                  send_json(res, 200, jobs(core).status(req.matches[1]));
              });
    get_route(http, core, R"(/workbench/v1/train/([A-Za-z0-9_.-]+)/history)",
              [&core](const httplib::Request& req, httplib::Response& res) {
                  int64_t since = -1;  // everything, the evaluation before step 1 (step 0) included
                  if (req.has_param("since")) {
                      try {
                          since = std::stoll(req.get_param_value("since"));
                      } catch (const std::exception&) {
                          throw ApiException(invalid_request("since", "since must be a step number"));
                      }
                  }
                  send_json(res, 200, jobs(core).history(req.matches[1], since));
              });
    post_route(http, core, R"(/workbench/v1/train/([A-Za-z0-9_.-]+)/(pause|resume|cancel))",
               [&core](const httplib::Request& req, httplib::Response& res, const std::string&) {
                   const std::string id = req.matches[1], action = req.matches[2];
                   TrainJobs& j = jobs(core);
                   send_json(res, 200, action == "pause" ? j.pause(id) : action == "resume" ? j.resume(id) : j.cancel(id));
               });
    post_route(http, core, R"(/workbench/v1/train/([A-Za-z0-9_.-]+)/export)",
               [&core](const httplib::Request& req, httplib::Response& res, const std::string& body) {
                   send_json(res, 200, export_checkpoint(core, req.matches[1], parse_body(body)));
               });
}

}  // namespace moe::server
