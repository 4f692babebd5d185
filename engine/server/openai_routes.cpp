// GET /v1/models[/{id}], POST /v1/chat/completions, POST /v1/completions.
#include <httplib.h>

#include "server/generation_response.h"
#include "server/generation_spec.h"
#include "server/openai_protocol.h"
#include "server/request_fields.h"
#include "server/route_util.h"
#include "server/routes.h"

namespace moe::server {

void register_openai_routes(httplib::Server& http, ServerCore& core) {
    get_route(http, core, "/v1/models", [&core](const httplib::Request&, httplib::Response& res) {
        Json data = Json::array();
        if (auto info = core.models.info()) data.push_back(info->to_json());
        send_json(res, 200, Json{{"object", "list"}, {"data", std::move(data)}});
    });

    get_route(http, core, R"(/v1/models/(.+))", [&core](const httplib::Request& req, httplib::Response& res) {
        send_json(res, 200, resolve_model(core, req.matches[1].str())->to_json());
    });

    post_route(http, core, "/v1/chat/completions",
               [&core](const httplib::Request& req, httplib::Response& res, const std::string& body) {
                   const ChatCompletionRequest r = parse_chat_request(parse_request_body(body));
                   auto model = resolve_model(core, r.common.model);
                   respond_with_generation(core, req, res, chat_spec(core, std::move(model), r), ResponseKind::Chat,
                                           r.common.stream, r.common.include_usage);
               });

    post_route(http, core, "/v1/completions",
               [&core](const httplib::Request& req, httplib::Response& res, const std::string& body) {
                   const CompletionRequest r = parse_completion_request(parse_request_body(body));
                   auto model = resolve_model(core, r.common.model);
                   respond_with_generation(core, req, res, completion_spec(core, std::move(model), r),
                                           ResponseKind::Completion, r.common.stream, r.common.include_usage);
               });
}

}  // namespace moe::server
