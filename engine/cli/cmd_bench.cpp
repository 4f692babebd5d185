// moe-engine bench: prefill and batch-1 greedy decode throughput of real-shape models (the engine's
// model code over random bf16 weights drawn on the GPU) against the copy bandwidth and bf16 GEMM
// rate measured in the same run (engine/cuda/bench/). With --speculative: plain vs speculative
// decoding of a real checkpoint, on any backend (cmd_bench_speculative.cpp); with --streams: N
// concurrent generations of a real checkpoint, batched (cmd_bench_streams.cpp).
//   moe-engine bench [--models a,b] [--model-dir DIR]... [--prefill 512,2048] [--contexts 512,4096]
//                    [--decode-tokens 128] [--repeats 5] [--routing-trace] [--sample] [--fp8-experts] [--json out.json]
#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/staging_dir.h"
#include "core/strict_json.h"
#include "session/gpu_bench.h"

namespace moe::cli {

int cmd_bench(const std::vector<std::string>& argv);

namespace {

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

std::vector<int64_t> int_list(const std::string& s) {
    std::vector<int64_t> out;
    for (const auto& item : split_list(s)) {
        try {
            size_t used = 0;
            const long long v = std::stoll(item, &used);
            if (used != item.size() || v <= 0) throw std::invalid_argument(item);
            out.push_back(v);
        } catch (const std::exception&) {
            throw Error("cli.bad_argument", "", "expected a comma-separated list of positive integers, got '" + s + "'");
        }
    }
    return out;
}

// What --sample draws with: every filter of the GPU sampler on, so the figure is its worst case.
SamplingParams bench_sampling_params() {
    SamplingParams p;
    p.temperature = 0.8f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    p.repetition_penalty = 1.1f;
    p.seed = 1;
    return p;
}

}  // namespace

int cmd_bench(const std::vector<std::string>& argv) {
    if (std::find(argv.begin(), argv.end(), "--speculative") != argv.end()) return cmd_bench_speculative(argv);
    if (std::find(argv.begin(), argv.end(), "--streams") != argv.end()) return cmd_bench_streams(argv);
    const std::vector<OptionSpec> specs = {
        {"models", true, "comma-separated built-in shapes (default: all): moonlight-16b-a3b, deepseek-v2-lite, "
                         "r1-distill-qwen-1.5b, r1-distill-qwen-7b"},
        {"model-dir", true, "also bench the shape of this local checkpoint (its config.json; weights not read)"},
        {"prefill", true, "prefill lengths (default 512,2048; none: skip)"},
        {"contexts", true, "decode contexts (default 512,4096)"},
        {"decode-tokens", true, "new tokens per decode run (default 128)"},
        {"repeats", true, "timed repetitions, median reported (default 5)"},
        {"fp8-experts", false, "routed experts as fp8 e4m3 with 128x128 block scales (a DeepSeek-V3 fp8 checkpoint's "
                               "layout, dequantised in the kernels); every other weight bf16"},
        {"routing-trace", false, "decode reads every MoE layer's routing back too (what serve's telemetry costs)"},
        {"sample", false, "decode samples on the GPU (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, repetition "
                          "penalty 1.1: every filter on) instead of greedy"},
        {"json", true, "write the report here"},
        {"speculative", false, "plain vs speculative decoding of --model DIR instead (any backend; bench --speculative --help)"},
        {"streams", true, "concurrent streams of --model DIR instead, batched (any backend; bench --streams 1 --help)"},
        {"help", false, "show this help"}};
    Args args(argv, specs);
    if (args.has("help")) {
        std::fputs(usage_for("bench", "[--models a,b] [--model-dir DIR] [--json out.json]", specs).c_str(), stdout);
        return 0;
    }
    GpuBenchRequest o;
    o.shapes = args.has("models") ? split_list(*args.get("models")) : gpu_bench_shape_names();
    if (args.has("model-dir")) {
        o.model_dirs.push_back(*args.get("model-dir"));
        if (!args.has("models")) o.shapes.clear();
    }
    if (args.has("prefill")) o.prefill_tokens = *args.get("prefill") == "none" ? std::vector<int64_t>{} : int_list(*args.get("prefill"));
    if (args.has("contexts")) o.decode_contexts = int_list(*args.get("contexts"));
    o.decode_tokens = args.get_int("decode-tokens", 128);
    o.repeats = int(args.get_int("repeats", 5));
    o.trace_routing = args.has("routing-trace");
    o.fp8_experts = args.has("fp8-experts");
    if (args.has("sample")) o.sample = bench_sampling_params();
    const Json report = run_gpu_bench(o);  // backend.unavailable without a CUDA GPU
    if (args.has("json")) {
        write_file_atomic(*args.get("json"), report.dump(2) + "\n");
        spdlog::info("wrote {}", *args.get("json"));
    }
    return 0;
}

}  // namespace moe::cli
