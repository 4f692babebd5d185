// One function per moe-engine subcommand; each takes the arguments after the subcommand name.
#pragma once

#include <string>
#include <vector>

#include "core/strict_json.h"
#include "telemetry/routing_trace.h"

namespace moe::cli {

int cmd_inspect(const std::vector<std::string>& argv);
int cmd_tokenize(const std::vector<std::string>& argv);
int cmd_logits(const std::vector<std::string>& argv);
int cmd_route(const std::vector<std::string>& argv);
int cmd_generate(const std::vector<std::string>& argv);
int cmd_serve(const std::vector<std::string>& argv);
int cmd_demo(const std::vector<std::string>& argv);
int cmd_bench(const std::vector<std::string>& argv);
int cmd_bench_speculative(const std::vector<std::string>& argv);  // bench --speculative
int cmd_bench_streams(const std::vector<std::string>& argv);      // bench --streams
int cmd_bench_train(const std::vector<std::string>& argv);
int cmd_download(const std::vector<std::string>& argv);
int cmd_hub(const std::vector<std::string>& argv);
int cmd_grad(const std::vector<std::string>& argv);
int cmd_train(const std::vector<std::string>& argv);
int cmd_export(const std::vector<std::string>& argv);
int cmd_distill(const std::vector<std::string>& argv);

// Routing of one forward as JSON: {"<layer>": {"top_k", "experts": [[...] per token], "weights", "bias"?}}.
Json routing_to_json(const ForwardRouting& routing, const RoutingTrace& trace);

}  // namespace moe::cli
