#include "session/gpu_bench.h"

#include "core/error.h"
#include "session/accelerator.h"

#ifdef MOE_HAVE_CUDA
#include "cuda/bench/bench_runner.h"
#include "cuda/bench/bench_shapes.h"
#include "cuda/bench/train_bench.h"
#include "cuda/bench/train_shapes.h"
#endif

namespace moe {

std::vector<std::string> gpu_bench_shape_names() {
#ifdef MOE_HAVE_CUDA
    return bench::builtin_shape_names();
#else
    return {};
#endif
}

ModelConfig gpu_bench_shape_config(const std::string& name) {
#ifndef MOE_HAVE_CUDA
    throw Error("backend.unavailable", "",
                "the built-in shape '" + name + "' is for the CUDA benchmarks, and this build has none (no nvcc at build time)");
#else
    return bench::builtin_shape(name).config;
#endif
}

Json run_gpu_bench(const GpuBenchRequest& r) {
#ifndef MOE_HAVE_CUDA
    (void)r;
    throw Error("backend.unavailable", "", "bench measures the CUDA backend, and this build has none (no nvcc at build time)");
#else
    bench::BenchOptions o;
    o.shapes = r.shapes;
    o.model_dirs = r.model_dirs;
    o.prefill_tokens = r.prefill_tokens;
    o.decode_contexts = r.decode_contexts;
    o.decode_tokens = r.decode_tokens;
    o.repeats = r.repeats;
    o.trace_routing = r.trace_routing;
    o.fp8_experts = r.fp8_experts;
    o.sample = r.sample;
    bench::check_bench_options(o);  // bad options fail before the GPU
    const std::string reason = gpu_unavailable_reason();
    if (!reason.empty()) throw Error("backend.unavailable", "", "bench needs a CUDA GPU: " + reason);
    return bench::run_bench(o);
#endif
}

Json run_gpu_train_bench(const GpuTrainBenchRequest& r) {
#ifndef MOE_HAVE_CUDA
    (void)r;
    throw Error("backend.unavailable", "",
                "bench-train measures the CUDA backend, and this build has none (no nvcc at build time)");
#else
    bench::TrainBenchOptions o;
    if (!r.shapes.empty()) o.shapes = r.shapes;
    for (const std::string& name : o.shapes) (void)bench::train_shape(name);  // unknown names fail before the GPU
    o.seq_len = r.seq_len;
    o.steps = r.steps;
    o.warmup = r.warmup;
    o.checkpoint_layers = r.checkpoint_layers;
    o.recompute_experts = r.recompute_experts;
    const std::string reason = gpu_unavailable_reason();
    if (!reason.empty()) throw Error("backend.unavailable", "", "bench-train needs a CUDA GPU: " + reason);
    return bench::run_train_bench(o);
#endif
}

}  // namespace moe
