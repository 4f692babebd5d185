#include "cuda/bench/bench_runner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

#include "core/error.h"
#include "cuda/bench/bench_cost.h"
#include "cuda/bench/bench_shapes.h"
#include "cuda/bench/ceilings.h"
#include "cuda/cuda_backend.h"
#include "cuda/expert_groups.h"
#include "fp8.h"
#include "model/model.h"
#include "model/weight_source.h"

namespace moe::bench {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<int32_t> random_tokens(int64_t n, int64_t vocab, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int32_t> d(0, int32_t(vocab - 1));
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (auto& x : t) x = d(rng);
    return t;
}

// One decode step as the product runs it: Model::forward_greedy (one replayed step, the argmax on
// the device, the id the only read-back, plus the routing when traced) or, with o.sample,
// Model::forward_sample (the same step ending in the GPU sampler). history: the tokens so far, the
// repetition penalty's set.
int32_t decode_step(Model& m, int32_t token, int64_t pos, const BenchOptions& o, std::vector<int32_t>& history) {
    if (!o.sample) return m.forward_greedy(token, pos);
    history.push_back(token);
    const SampleRequest request{*o.sample, history, uint64_t(history.size())};
    return m.forward_sample(token, pos, request);
}

// Seconds for o.decode_tokens steps from context n.
double time_decode_run(Model& m, int64_t n, const BenchOptions& o) {
    std::vector<int32_t> history;
    int32_t token = 1;
    const auto t0 = Clock::now();
    for (int64_t i = 0; i < o.decode_tokens; ++i) token = decode_step(m, token, n + i, o, history);
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

Json bench_shape(CudaBackend& be, const BenchShape& shape, const BenchOptions& o, double copy_gbs, double gemm_tflops) {
    const ModelConfig& c = shape.config;
    int64_t capacity = 0;
    for (int64_t p : o.prefill_tokens) capacity = std::max(capacity, p);
    for (int64_t n : o.decode_contexts) capacity = std::max(capacity, n + o.decode_tokens + 2);
    Json out = Json::object();
    out["model"] = shape.name;
    out["architecture"] = c.model_type;

    // The model users run (engine/model/), its weights drawn on the GPU instead of read from a checkpoint.
    const auto t_load = Clock::now();
    const size_t bytes_before = be.weight_bytes();
    be.set_random_experts_fp8(o.fp8_experts);
    RandomSource source(c, be, o.seed);
    const std::unique_ptr<Model> m = load_model(source, ModelOptions{capacity});
    be.synchronize();
    const double load_s = std::chrono::duration<double>(Clock::now() - t_load).count();
    const size_t weight_bytes = be.weight_bytes() - bytes_before;
    if (m->max_context() < capacity)
        throw Error("bench.context_too_long", "",
                    shape.name + " holds at most " + std::to_string(m->max_context()) + " positions; the runs need " +
                        std::to_string(capacity));
    m->routing_trace().set_enabled(o.trace_routing);
    out["weight_bytes"] = double(weight_bytes);
    out["weight_gib"] = double(weight_bytes) / double(1ull << 30);
    out["synthetic_init_s"] = load_s;
    out["routing_trace"] = o.trace_routing;
    out["fp8_experts"] = o.fp8_experts;
    std::printf("\n== %s (%s): %.2f GiB of %s weights made on the GPU in %.1f s, KV capacity %ld%s\n",
                shape.name.c_str(), c.model_type.c_str(), double(weight_bytes) / double(1ull << 30),
                o.fp8_experts ? "bf16 + fp8-expert" : "bf16", load_s, long(capacity),
                o.trace_routing ? ", routing traced" : "");

    Json prefill = Json::array();
    for (int64_t T : o.prefill_tokens) {
        const auto tokens = random_tokens(T, c.vocab_size, o.seed + uint64_t(T));
        std::vector<double> secs;
        for (int i = -1; i < o.repeats; ++i) {
            const auto t0 = Clock::now();
            (void)m->forward(tokens, 0, LogitRows::Last);  // reads the [1, vocab] logits back, as generate does
            be.synchronize();
            if (i >= 0) secs.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
        }
        const double s = median(secs), flops = prefill_flops(c, T);
        const double tflops = flops / s / 1e12;
        Json r = {{"tokens", T},           {"seconds", s},        {"tokens_per_s", double(T) / s},
                  {"model_tflop", flops / 1e12}, {"tflops", tflops}, {"fraction_of_gemm_rate", tflops / gemm_tflops}};
        std::printf("  prefill %5ld tokens: %8.2f ms  %9.0f tok/s  %6.1f TFLOP/s = %5.1f%% of the GEMM rate\n", long(T),
                    s * 1e3, double(T) / s, tflops, 100 * tflops / gemm_tflops);
        prefill.push_back(r);
    }
    out["prefill"] = prefill;

    Json decode = Json::array();
    for (int64_t n : o.decode_contexts) {
        // Random KV rows stand in for a prefill of n tokens. The first greedy step of a model runs
        // eagerly and records the step graph (CUDA); later ones, at any position, replay it.
        m->fill_cache_for_bench(n, o.seed);
        const auto t_first = Clock::now();
        std::vector<int32_t> warm_history;
        (void)decode_step(*m, 1, n, o, warm_history);
        const double first_ms = std::chrono::duration<double>(Clock::now() - t_first).count() * 1e3;
        std::vector<double> runs;
        for (int rep = 0; rep < std::max(1, o.repeats / 2); ++rep) {
            m->fill_cache_for_bench(n, o.seed + uint64_t(rep) + 1);
            be.synchronize();
            runs.push_back(time_decode_run(*m, n, o));
        }
        const double s = median(runs);
        const double tps = double(o.decode_tokens) / s;
        const double bytes = decode_bytes(c, n + o.decode_tokens / 2, o.fp8_experts);  // mean context over the run
        const double gbs = bytes * tps / 1e9;
        Json r = {{"context", n},
                  {"new_tokens", o.decode_tokens},
                  {"sampled", o.sample.has_value()},
                  {"seconds", s},
                  {"tokens_per_s", tps},
                  {"ms_per_token", 1e3 / tps},
                  {"first_step_ms", first_ms},
                  {"bytes_per_token", bytes},
                  {"achieved_gbs", gbs},
                  {"fraction_of_roofline", gbs / copy_gbs},
                  {"roofline_tokens_per_s", copy_gbs * 1e9 / bytes}};
        std::printf("  decode%s ctx %5ld, %ld new: %7.1f tok/s  %6.3f ms/token  %6.2f GB/token  %7.0f GB/s = %5.1f%% of copy "
                    "roofline (ceiling %.0f tok/s)\n",
                    o.sample ? " (sampled)" : "", long(n), long(o.decode_tokens), tps, 1e3 / tps, bytes / 1e9, gbs, 100 * gbs / copy_gbs,
                    copy_gbs * 1e9 / bytes);
        decode.push_back(r);
    }
    out["decode"] = decode;
    return out;
}

}  // namespace

void check_bench_options(const BenchOptions& o) {
    if (!o.fp8_experts) return;
    std::vector<BenchShape> shapes;
    for (const auto& n : o.shapes) shapes.push_back(builtin_shape(n));
    for (const auto& d : o.model_dirs) shapes.push_back(shape_from_dir(d));
    for (const BenchShape& s : shapes) {
        const ModelConfig& c = s.config;
        if (c.n_routed_experts == 0 || !kernels::fp8_shape_ok(c.hidden_size, 128, 128) ||
            !kernels::fp8_shape_ok(c.moe_intermediate_size, 128, 128))
            throw Error("bench.fp8_unsupported", "",
                        s.name + ": --fp8-experts needs routed experts whose hidden and intermediate sizes are "
                                 "multiples of 16 (this model: " + std::to_string(c.n_routed_experts) +
                            " routed experts, hidden " + std::to_string(c.hidden_size) + ", intermediate " +
                            std::to_string(c.moe_intermediate_size) + ")");
    }
}

Json run_bench(const BenchOptions& o) {
    check_bench_options(o);
    CudaBackend be;
    Json report = Json::object();
    const std::time_t now = std::time(nullptr);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    report["date"] = date;
    report["device"] = be.device().summary();
    report["precision"] = "bf16 weights, f32 activations / KV cache / accumulation";
    report["expert_gemm"] = cuda::expert_gemm_mode_name(cuda::expert_gemm_mode());  // MoE prefill (MOE_EXPERT_GEMM)

    const double copy_gbs = measure_copy_gbs(be, size_t(2) << 30, 10);
    const double gemm_tflops = measure_gemm_tflops(be, 8192, 10);
    report["copy_gbs"] = copy_gbs;
    report["gemm_bf16_tflops"] = gemm_tflops;
    std::printf("device: %s\nmeasured: device-to-device copy %.0f GB/s (read + write), bf16 GEMM 8192^3 %.0f TFLOP/s\n",
                be.device().summary().c_str(), copy_gbs, gemm_tflops);

    std::vector<BenchShape> shapes;
    for (const auto& n : o.shapes) shapes.push_back(builtin_shape(n));
    for (const auto& d : o.model_dirs) shapes.push_back(shape_from_dir(d));
    Json models = Json::array();
    for (const auto& s : shapes) {
        try {
            models.push_back(bench_shape(be, s, o, copy_gbs, gemm_tflops));
        } catch (const Error& e) {
            std::printf("  %s: %s: %s\n", s.name.c_str(), e.code().c_str(), e.what());
            models.push_back(Json{{"model", s.name}, {"error", e.code()}, {"detail", e.what()}});
        }
        be.synchronize();
    }
    report["models"] = models;
    return report;
}

}  // namespace moe::bench
