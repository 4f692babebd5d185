// A fine-tune run end to end: the run file → model, tokenizer, data (report first) → steps with
// gradient accumulation and the LR schedule → per-domain evaluation → atomic checkpoints with exact
// resume → events. `moe-engine train` drives it from the command line, the server's training job
// (engine/server/train_job.*) from HTTP; both see the same JSON events:
//   {"event":"data_report", ...}  {"event":"plan", memory...}  {"event":"step","step":k,...}
//   {"event":"eval","step":k,"domains":{...},"routing_bias":{...}}  {"event":"checkpoint","step":k,"path":...}
//   {"event":"done"|"cancelled"|"error", ...}
// A run that starts from step 0 with evaluation on evaluates once before its first step (step 0):
// the per-domain losses, expert loads and routing bias of the model it started from.
// Every step and eval event is also appended to OUT/history.jsonl, so a run's curves reopen with it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/strict_json.h"
#include "train/run_config.h"

namespace moe {
class Backend;
class Checkpoint;
class Tokenizer;
}  // namespace moe

namespace moe::train {

class Dataset;
class ParameterStore;
class TrainGraph;
class Trainer;
struct MicroBatch;
struct PackedBatch;

// Pause / cancel from another thread; the run looks at them between steps.
struct RunControl {
    std::atomic<bool> cancel{false};
    std::atomic<bool> pause{false};
    // Asked before every step: return false to wait (the server yields to generation requests).
    std::function<bool()> may_step;
};

using EventSink = std::function<void(const Json& event)>;

class TrainingRun {
public:
    // Opens the model and the data (the data report is the first event) and, when OUT holds a
    // checkpoint of the same run, loads the latest one (exact resume). Throws train.* / data.* /
    // checkpoint.* errors naming what is wrong.
    TrainingRun(RunConfig config, EventSink sink, std::unique_ptr<Backend> backend = nullptr);
    ~TrainingRun();

    // Runs until the last step, cancellation or an error; returns the final event ("done",
    // "cancelled"). A NaN/Inf step is skipped and reported, never applied.
    Json run(RunControl& control);

    const RunConfig& config() const { return config_; }
    int64_t step() const;
    // The latest checkpoint folder written (or resumed from), "" if none.
    const std::string& last_checkpoint() const { return last_checkpoint_; }
    Json data_report() const;
    Json memory_estimate() const;
    Json status() const;  // state, step, steps, latest metrics

    // Writes a checkpoint of the current state now (also what run() does at its intervals).
    std::string save_checkpoint();
    // The run's graph (forward-only evaluation in tests and tools).
    TrainGraph& graph() { return *graph_; }

private:
    void open_model();
    void open_data();
    void resume_if_possible();
    std::vector<MicroBatch> next_micro_batches();
    Json step_event(const struct StepResult& r, double seconds, int64_t tokens) const;
    // One optimiser step; a cuda.out_of_memory error gets RunConfig::memory_advice() added.
    struct StepResult step_or_advise(const std::vector<MicroBatch>& mbs, float lr);
    Json evaluate();
    void emit(const Json& event, bool history);
    void prune_checkpoints();

    RunConfig config_;
    EventSink sink_;
    std::unique_ptr<Backend> backend_;
    std::unique_ptr<Checkpoint> checkpoint_;
    std::unique_ptr<Tokenizer> tokenizer_;
    std::unique_ptr<Dataset> data_;
    std::unique_ptr<ParameterStore> params_;
    std::unique_ptr<TrainGraph> graph_;
    std::unique_ptr<Trainer> trainer_;
    std::string last_checkpoint_;
    Json last_metrics_ = Json::object();
    std::string state_ = "starting";
    double active_flops_per_token_ = 0.0;
};

// OUT/checkpoints/step-NNNNNNNN folders that are complete, oldest first.
std::vector<std::string> list_checkpoints(const std::string& run_dir);

}  // namespace moe::train
