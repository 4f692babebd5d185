// `moe-engine bench` reaches the CUDA benchmark (engine/cuda/bench/) through here, so that cli/
// includes no CUDA header (tests/architecture checks it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/strict_json.h"
#include "model/sampling_params.h"
#include "io/model_config.h"

namespace moe {

// The benchmark's options (engine/cuda/bench/bench_runner.h, BenchOptions), with the same defaults.
struct GpuBenchRequest {
    std::vector<std::string> shapes;          // built-in names
    std::vector<std::string> model_dirs;      // local checkpoints (config.json only)
    std::vector<int64_t> prefill_tokens = {512, 2048};
    std::vector<int64_t> decode_contexts = {512, 4096};
    int64_t decode_tokens = 128;
    int repeats = 5;                          // timed repetitions (median) after one warm-up
    bool trace_routing = false;               // decode with routing telemetry on
    bool fp8_experts = false;                 // routed experts fp8 (128x128 block scales)
    std::optional<SamplingParams> sample;     // sampled decode (the GPU sampler) instead of greedy
};

// bench-train's options (engine/cuda/bench/train_bench.h, TrainBenchOptions).
struct GpuTrainBenchRequest {
    std::vector<std::string> shapes;  // empty: all
    int64_t seq_len = 2048;
    int steps = 8;
    int warmup = 2;
    bool checkpoint_layers = false;
    bool recompute_experts = false;
};
// Runs bench-train; the same errors as run_gpu_bench, plus bench.unknown_shape before touching the GPU.
Json run_gpu_train_bench(const GpuTrainBenchRequest& request);

// The built-in shape names (empty in a build without CUDA).
std::vector<std::string> gpu_bench_shape_names();
// A built-in shape's config (bench --streams --shape): "bench.unknown_shape" listing the names, or
// "backend.unavailable" in a build without CUDA.
ModelConfig gpu_bench_shape_config(const std::string& name);

// Runs the benchmark (its table goes to stdout as it runs) and returns the JSON report.
// Throws moe::Error("backend.unavailable") without a usable CUDA GPU or in a build without CUDA.
Json run_gpu_bench(const GpuBenchRequest& request);

}  // namespace moe
