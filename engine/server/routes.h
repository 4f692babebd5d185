// The route tables of `moe-engine serve`, one function per group of endpoints (docs/api.md).
#pragma once

namespace httplib {
class Server;
}

namespace moe::server {

struct ServerCore;

// GET /v1/models[/{id}], POST /v1/chat/completions, POST /v1/completions
void register_openai_routes(httplib::Server& http, ServerCore& core);
// GET /health, GET /workbench/v1/status, GET /workbench/v1/telemetry[/snapshot]
void register_workbench_routes(httplib::Server& http, ServerCore& core);
// POST /workbench/v1/models/load, POST /workbench/v1/models/unload
void register_model_routes(httplib::Server& http, ServerCore& core);
// POST/GET /workbench/v1/train, GET /workbench/v1/train/{id}[/history], POST .../{pause,resume,cancel,export}
void register_train_routes(httplib::Server& http, ServerCore& core);

}  // namespace moe::server
