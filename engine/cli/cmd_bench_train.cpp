// moe-engine bench-train: training-step throughput on the GPU (engine/cuda/bench/train_bench.h):
// LoRA on the moonlight-16b-a3b shape and a full fine-tune of a ~100M DeepSeek-V3-shaped model,
// with MFU against the bf16 GEMM rate measured in the same run, the losses, and device memory
// against the memory plan (engine/train/memory_plan.h). docs/performance.md, "Training step".
//   moe-engine bench-train [--shapes lora-moonlight,full-100m] [--seq-len 2048] [--steps 8]
//                          [--warmup 2] [--checkpoint-layers] [--recompute-experts] [--json out.json]
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/staging_dir.h"
#include "core/strict_json.h"

#include "session/gpu_bench.h"

namespace moe::cli {

namespace {

std::vector<std::string> comma_list(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

}  // namespace

int cmd_bench_train(const std::vector<std::string>& argv) {
    const std::vector<OptionSpec> specs = {
        {"shapes", true, "comma-separated runs (default: all): lora-moonlight, full-100m"},
        {"seq-len", true, "tokens per sequence (default 2048)"},
        {"steps", true, "timed optimiser steps, median reported (default 8)"},
        {"warmup", true, "steps before the timed ones (default 2)"},
        {"checkpoint-layers", false, "recompute each layer's activations in backward (less memory)"},
        {"recompute-experts", false,
         "recompute the routed experts' forward in backward instead of keeping their rows (less memory)"},
        {"json", true, "write the report here"},
        {"help", false, "show this help"}};
    Args args(argv, specs);
    if (args.has("help")) {
        std::fputs(usage_for("bench-train", "[--shapes a,b] [--seq-len N] [--steps N] [--json out.json]", specs).c_str(),
                   stdout);
        return 0;
    }
    GpuTrainBenchRequest o;
    if (args.has("shapes")) o.shapes = comma_list(*args.get("shapes"));
    o.seq_len = args.get_int("seq-len", 2048);
    o.steps = int(args.get_int("steps", 8));
    o.warmup = int(args.get_int("warmup", 2));
    o.checkpoint_layers = args.has("checkpoint-layers");
    o.recompute_experts = args.has("recompute-experts");
    if (o.seq_len < 2 || o.steps < 1 || o.warmup < 0)
        throw Error("cli.bad_argument", "", "--seq-len must be >= 2, --steps >= 1 and --warmup >= 0");
    const Json report = run_gpu_train_bench(o);
    if (args.has("json")) {
        write_file_atomic(*args.get("json"), report.dump(2) + "\n");
        std::fprintf(stderr, "wrote %s\n", args.get("json")->c_str());
    }
    return 0;
}

}  // namespace moe::cli
