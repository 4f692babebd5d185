// `moe-engine bench`: prefill and batch-1 greedy decode of real-shape models on the GPU, with the two
// ceilings measured in the same run (device-to-device copy bandwidth, bf16 GEMM rate), so every
// number is reported as a fraction of what this GPU measurably does (docs/performance.md). The
// models are the engine's own (load_model over a RandomSource: random bf16 weights drawn on the
// device), so the bench times the code `generate` and `serve` run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/strict_json.h"
#include "model/sampling_params.h"

namespace moe::bench {

struct BenchOptions {
    std::vector<std::string> shapes;          // built-in names
    std::vector<std::string> model_dirs;      // local checkpoints (config.json only)
    std::vector<int64_t> prefill_tokens = {512, 2048};
    std::vector<int64_t> decode_contexts = {512, 4096};
    int64_t decode_tokens = 128;
    int repeats = 5;                          // timed repetitions (median) after one warm-up
    uint64_t seed = 1;
    bool trace_routing = false;               // decode also reads every MoE layer's routing back (serve's telemetry)
    bool fp8_experts = false;                 // routed experts fp8 e4m3, 128x128 block scales (the rest bf16)
    // Decode draws each token with these (Model::forward_sample: the sampler on the GPU, what
    // `generate`/`serve` run for sampled requests) instead of the greedy argmax.
    std::optional<SamplingParams> sample;
};

// Refuses options that cannot run before any GPU work (bench.fp8_unsupported: --fp8-experts on a
// model without routed experts the fp8 kernels can take); unknown shape names throw too.
void check_bench_options(const BenchOptions& options);

// Runs everything, prints a table to stdout as it goes, and returns the JSON report.
Json run_bench(const BenchOptions& options);

}  // namespace moe::bench
