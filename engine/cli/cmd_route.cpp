// moe-engine route --model DIR --tokens 1,2,3 --out F.json : per MoE layer and token, the
// experts chosen and their weights, keyed by the model's layer index.
#include <cstdio>

#include <spdlog/spdlog.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/npy_writer.h"
#include "core/strict_json.h"
#include "session/model_session.h"

namespace moe::cli {

Json routing_to_json(const ForwardRouting& routing, const RoutingTrace& trace) {
    Json layers = Json::object();
    for (const auto& [layer, r] : routing.layers) {
        Json experts = Json::array(), weights = Json::array();
        for (int64_t t = 0; t < r.tokens(); ++t) {
            Json e = Json::array(), w = Json::array();
            for (int64_t k = 0; k < r.top_k; ++k) {
                e.push_back(r.expert_ids[size_t(t * r.top_k + k)]);
                w.push_back(r.weights[size_t(t * r.top_k + k)]);
            }
            experts.push_back(std::move(e));
            weights.push_back(std::move(w));
        }
        Json entry = {{"top_k", r.top_k}, {"experts", std::move(experts)}, {"weights", std::move(weights)}};
        const auto bias = trace.bias(layer);
        if (!bias.empty()) entry["bias"] = bias;
        layers[std::to_string(layer)] = std::move(entry);
    }
    return layers;
}

int cmd_route(const std::vector<std::string>& argv) {
    const std::vector<OptionSpec> specs = {
        {"model", true, "checkpoint directory"},
        {"tokens", true, "comma-separated token ids"},
        {"out", true, "output .json path"},
        {"backend", true, "cpu | cuda | auto (default auto)"},
        {"help", false, "show this help"}};
    Args args(argv, specs);
    if (args.has("help")) {
        std::fputs(usage_for("route", "--model DIR --tokens 1,2,3 --out F.json", specs).c_str(), stdout);
        return 0;
    }
    const auto tokens = parse_token_list(args.require("tokens"));
    const std::string out = args.require("out");
    auto session = open_model(args.require("model"), args.get_or("backend", "auto"), int64_t(tokens.size()));
    session.model->forward(tokens, 0, LogitRows::Last);
    const RoutingTrace& trace = session.model->routing_trace();
    Json doc = {{"model", session.checkpoint->dir()},
                {"architecture", architecture_name(session.model->config().arch)},
                {"tokens", tokens},
                {"layers", routing_to_json(trace.last_forward(), trace)}};
    write_text_atomic(out, doc.dump(1) + "\n");
    spdlog::info("wrote {}: {} MoE layers x {} tokens", out, doc["layers"].size(), tokens.size());
    return 0;
}

}  // namespace moe::cli
