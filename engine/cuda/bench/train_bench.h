// `moe-engine bench-train`: training-step throughput on the GPU (train_shapes.h says which runs):
// warm-up steps, then timed steps (median), tokens/s, MFU against the bf16 GEMM rate measured in
// the same run, the loss of every step, and device memory: the plan (train/memory_plan.h) printed
// before the first step beside what was measured after it. docs/performance.md, "Training step".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/strict_json.h"

namespace moe::bench {

struct TrainBenchOptions {
    std::vector<std::string> shapes = {"lora-moonlight", "full-100m"};
    int64_t seq_len = 2048;
    int64_t batch = 1;             // sequences per step (one micro-batch)
    int steps = 8;                 // timed steps (median reported)
    int warmup = 2;                // steps before them (the first one allocates and is measured for memory)
    bool checkpoint_layers = false;
    bool recompute_experts = false;  // train::GraphOptions::recompute_experts
    uint64_t seed = 1;
};

// Runs the shapes one after the other (a shape that fails is reported with its error and the next
// runs), prints a summary per shape to stdout and the memory plan to stderr; returns the JSON report.
Json run_train_bench(const TrainBenchOptions& options);

}  // namespace moe::bench
