#include "cuda/bench/train_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <random>

#include "core/error.h"
#include "cuda/bench/ceilings.h"
#include "cuda/bench/device_memory.h"
#include "cuda/bench/train_shapes.h"
#include "cuda/cuda_backend.h"
#include "cuda/expert_groups.h"
#include "train/memory_plan.h"
#include "train/step_profile.h"
#include "train/train_graph.h"
#include "train/trainer.h"

namespace moe::bench {

namespace {

using Clock = std::chrono::steady_clock;

double gib(double bytes) { return bytes / double(int64_t(1) << 30); }

// One random batch (uniform token ids), the same for every step: the loss then falls as the model
// fits it, while every step does the work of any batch of this shape.
train::MicroBatch random_batch(const TrainBenchOptions& o, int64_t vocab) {
    std::mt19937_64 rng(o.seed);
    std::uniform_int_distribution<int32_t> token(0, int32_t(vocab - 1));
    std::vector<std::vector<int32_t>> seqs(size_t(o.batch), std::vector<int32_t>(size_t(o.seq_len)));
    for (auto& s : seqs)
        for (auto& t : s) t = token(rng);
    return train::batch_of_sequences(seqs);
}

Json shape_description(const TrainShape& s, const TrainBenchOptions& o) {
    Json j{{"shape", s.name},
           {"model", s.model},
           {"mode", s.mode},
           {"seq_len", o.seq_len},
           {"batch", o.batch},
           {"tokens_per_step", o.seq_len * o.batch},
           {"checkpoint_layers", o.checkpoint_layers},
           {"recompute_experts", o.recompute_experts},
           {"objectives",
            {{"mtp_lambda", s.objectives.mtp_lambda},
             {"balance_alpha", s.objectives.balance_alpha},
             {"bias_gamma", s.objectives.bias_gamma}}},
           {"adamw",
            {{"lr", s.adamw.lr},
             {"beta1", s.adamw.beta1},
             {"beta2", s.adamw.beta2},
             {"eps", s.adamw.eps},
             {"weight_decay", s.adamw.weight_decay},
             {"clip", s.adamw.clip}}}};
    if (s.lora.rank > 0) j["lora"] = {{"rank", s.lora.rank}, {"alpha", s.lora.alpha}, {"targets", s.lora.targets}};
    return j;
}

Json bench_train_shape(CudaBackend& be, const TrainShape& shape, const TrainBenchOptions& o, double gemm_tflops) {
    Json out = shape_description(shape, o);
    std::printf("\n== %s (%s, %s)\n", shape.name.c_str(), shape.model.c_str(), shape.mode.c_str());
    std::fflush(stdout);
    if (o.seq_len > shape.config.max_position_embeddings)
        throw Error("bench.context_too_long", "",
                    shape.name + " holds " + std::to_string(shape.config.max_position_embeddings) +
                        " positions; --seq-len asks for " + std::to_string(o.seq_len));

    DeviceMemoryMeter meter;  // from here: this shape's memory
    const train::TrainableSpec spec = train_spec(shape, o.seed);
    train::ParameterStore params(be);
    train::GraphOptions graph_options;
    graph_options.checkpoint_layers = o.checkpoint_layers;
    graph_options.recompute_experts = o.recompute_experts;
    const auto t_init = Clock::now();
    const std::unique_ptr<train::TrainGraph> graph = train::make_train_graph(spec, params, graph_options);
    be.synchronize();
    out["init_s"] = std::chrono::duration<double>(Clock::now() - t_init).count();

    const std::vector<train::ModelTensor> tensors = train::model_tensors(spec);
    const train::ParameterCounts counts = train::count_parameters(tensors, params);
    out["parameters"] = {{"total", counts.total},
                         {"trainable", counts.trainable},
                         {"lora", counts.lora},
                         {"embedding", counts.embedding},
                         {"mtp_modules", graph->mtp_depth()}};
    std::printf("  parameters: %.2fM total (%.2fM embedding), %.2fM trained, %.2fM LoRA, %ld MTP module(s)\n",
                double(counts.total) / 1e6, double(counts.embedding) / 1e6, double(counts.trainable) / 1e6,
                double(counts.lora) / 1e6, long(graph->mtp_depth()));

    train::MemoryPlanOptions plan_options;
    plan_options.balance_loss = shape.objectives.balance_alpha > 0.0f;
    const train::MemoryPlan plan =
        train::plan_training_memory(spec, params, o.batch, o.seq_len, graph_options, plan_options);
    std::fprintf(stderr, "memory plan of %s (seq %ld x %ld%s%s):\n%s", shape.name.c_str(), long(o.batch),
                 long(o.seq_len), o.checkpoint_layers ? ", checkpointed layers" : "",
                 o.recompute_experts ? ", experts recomputed" : "", plan.table().c_str());
    out["memory_plan"] = plan.to_json();

    const train::StepFlops flops = train::training_step_flops(shape.config, tensors, params, o.batch, o.seq_len);
    out["flops_per_step"] = {{"matmul_trained", flops.matmul_trained},
                             {"matmul_frozen", flops.matmul_frozen},
                             {"lora", flops.lora},
                             {"attention", flops.attention},
                             {"total", flops.total()}};

    train::Trainer trainer(*graph, params, shape.objectives, shape.adamw);
    const train::MicroBatch batch = random_batch(o, shape.config.vocab_size);
    std::vector<double> seconds, timed, losses, ce;
    int64_t skipped = 0;
    DeviceMemoryReading first_step;
    // MOE_TRAIN_PROFILE=1: where the timed steps' time goes (each part waits for the device, so the
    // profiled steps run slower than the figures printed without it).
    if (train::StepProfile::enabled()) train::StepProfile::enable([&be] { be.synchronize(); });
    for (int i = 0; i < o.warmup + o.steps; ++i) {
        if (i == o.warmup) train::StepProfile::reset();
        const auto t0 = Clock::now();
        const train::StepResult r = trainer.step({batch}, shape.adamw.lr);
        be.synchronize();
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        if (i == 0) first_step = meter.read();
        seconds.push_back(s);
        if (i >= o.warmup) timed.push_back(s);
        losses.push_back(r.total);
        ce.push_back(r.ce);
        if (r.skipped) ++skipped;
        std::printf("  step %2d%s: %8.1f ms  loss %.4f (ce %.4f)%s\n", i + 1, i < o.warmup ? " (warm-up)" : "", s * 1e3,
                    r.total, r.ce, r.skipped ? "  SKIPPED:" : "");
        if (r.skipped) std::printf("    %s\n", r.skip_reason.c_str());
        std::fflush(stdout);
    }
    const DeviceMemoryReading whole_run = meter.read();
    if (train::StepProfile::enabled())
        std::fprintf(stderr, "step profile of %s over %d steps (MOE_TRAIN_PROFILE=1):\n%s", shape.name.c_str(), o.steps,
                     train::StepProfile::table().c_str());

    const double step_s = median(timed), tokens = double(o.batch * o.seq_len);
    const double tflops = flops.total() / step_s / 1e12;
    const bool finite = std::all_of(losses.begin(), losses.end(), [](double v) { return std::isfinite(v); });
    out["step_seconds"] = seconds;
    out["median_step_s"] = step_s;
    out["tokens_per_s"] = tokens / step_s;
    out["model_tflops"] = tflops;
    out["mfu"] = tflops / gemm_tflops;
    out["losses"] = losses;
    out["ce"] = ce;
    out["losses_finite"] = finite;
    out["loss_decreased"] = finite && losses.back() < losses.front();
    out["skipped_steps"] = skipped;
    out["measured_memory_first_step"] = first_step.to_json();
    out["measured_memory"] = whole_run.to_json();
    // The plan is the steady state: the AdamW moments are made at the first optimiser step, after
    // that step's activations are gone, so only from the second step on do both coexist. Compare
    // with the whole run's peak (the first step's is reported beside it).
    const double error = plan.peak() / whole_run.peak() - 1.0;
    out["plan_vs_measured"] = {{"plan_peak_bytes", plan.peak()},
                               {"measured_peak_bytes", whole_run.peak()},
                               {"measured_first_step_peak_bytes", first_step.peak()},
                               {"relative_error", error},
                               {"within_10_percent", std::abs(error) <= 0.10}};

    std::printf("  %s: %.1f ms/step (median of %d), %.0f tokens/s, %.1f model TFLOP/s = MFU %.1f%% of the "
                "measured bf16 GEMM rate\n",
                shape.name.c_str(), step_s * 1e3, o.steps, tokens / step_s, tflops, 100 * tflops / gemm_tflops);
    std::printf("  memory: whole run %.2f GiB measured (%.2f outside the pool + %.2f pool high-water), plan %.2f GiB "
                "(%+.1f%%); after step 1 (before the AdamW moments coexist with activations) %.2f GiB\n",
                gib(whole_run.peak()), gib(whole_run.outside_pool), gib(whole_run.pool_used_high), gib(plan.peak()),
                100 * error, gib(first_step.peak()));
    std::printf("  loss %.4f -> %.4f over %zu steps%s\n", losses.front(), losses.back(), losses.size(),
                !finite ? " (NOT FINITE)" : (losses.back() < losses.front() ? "" : " (did not decrease)"));
    return out;
}

}  // namespace

Json run_train_bench(const TrainBenchOptions& o) {
    if (o.steps < 1 || o.warmup < 0 || o.batch < 1 || o.seq_len < 2)
        throw Error("cli.bad_argument", "", "bench-train needs --steps >= 1, --warmup >= 0 and --seq-len >= 2");
    CudaBackend be;
    Json report = Json::object();
    const std::time_t now = std::time(nullptr);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    report["date"] = date;
    report["device"] = be.device().summary();
    report["precision"] =
        "F32 masters, gradients and AdamW moments; bf16 compute copies of the weights (frozen weights bf16 only); "
        "F32 activations";
    report["flops_formula"] = train::kStepFlopsFormula;
    // How the routed experts' GEMMs ran (MOE_EXPERT_GEMM): runs of different modes compare only so.
    report["expert_gemm"] = cuda::expert_gemm_mode_name(cuda::expert_gemm_mode());
    report["timing"] = "warm-up steps, then the median of the timed steps; a step = forward + backward + clip + "
                       "AdamW + routing-bias update, ending in a device synchronisation";
    const double gemm_tflops = measure_gemm_tflops(be, 8192, 10);
    report["gemm_bf16_tflops"] = gemm_tflops;
    std::printf("device: %s\nexpert GEMMs: %s (MOE_EXPERT_GEMM)\nmeasured: bf16 GEMM 8192^3 %.0f TFLOP/s (the MFU peak)\n",
                be.device().summary().c_str(), cuda::expert_gemm_mode_name(cuda::expert_gemm_mode()), gemm_tflops);

    Json runs = Json::array();
    for (const std::string& name : o.shapes) {
        const TrainShape shape = train_shape(name);  // an unknown name is the caller's error: stop
        try {
            runs.push_back(bench_train_shape(be, shape, o, gemm_tflops));
        } catch (const Error& e) {
            std::printf("  %s: %s: %s\n", name.c_str(), e.code().c_str(), e.what());
            Json j = shape_description(shape, o);
            j["error"] = e.code();
            j["detail"] = e.what();
            runs.push_back(j);
        }
        be.synchronize();
    }
    report["runs"] = runs;
    return report;
}

}  // namespace moe::bench
