// The server's fine-tune runs (POST /workbench/v1/train ...; docs/api.md "Training"). Each run is
// a `moe-engine train RUN.json --json` child process in its own session, so that it keeps going
// when the window — and with it this server — goes away, and a crash in it never takes serving down.
// The run folder is the state: run.json, history.jsonl (steps, evals), events.jsonl (every event the
// child printed), job.json (pid, whether the user paused it). A server started later finds running
// runs there and reattaches (status, history, pause/resume/cancel keep working).
//
// Training yields to generation: while a generation request runs, the child is stopped (SIGSTOP)
// between the server's polls and continued afterwards — training runs in the slices between
// generations. User pause is SIGSTOP too (exact: the run continues where it stopped); cancel is
// SIGTERM (the run saves a checkpoint and exits).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "core/strict_json.h"

namespace moe::server {

struct TrainJobsOptions {
    std::string runs_root;      // where run folders go (default $XDG_DATA_HOME/moe-workbench/runs)
    std::string engine_binary;  // the moe-engine to run (default /proc/self/exe)
    std::string backend = "auto";
};

class TrainJobs {
public:
    // generation_busy: whether a generation is running now (training then yields).
    TrainJobs(TrainJobsOptions options, std::function<bool()> generation_busy);
    ~TrainJobs();  // stops supervising; running children keep running (they are detached)

    // Starts a run from a run description (the run file's JSON). Throws ApiError: 400 for a bad
    // description, 409 while another run is active.
    Json start(const Json& description);
    // What a run of `description` would train on and need, without training: the data report and
    // the plan (trainable parameters, memory), from a `train --dry-run` child. 400 on a bad run.
    Json plan(const Json& description);
    Json list() const;
    Json status(const std::string& id) const;
    // Step/eval events with step > since, in order.
    Json history(const std::string& id, int64_t since) const;
    Json pause(const std::string& id);
    Json resume(const std::string& id);
    Json cancel(const std::string& id);
    // The active (or latest) run's latest step and eval, for the telemetry stream.
    Json telemetry() const;
    const std::string& runs_root() const { return options_.runs_root; }
    // The folder of run `id`; throws ApiError 404 for an unknown one.
    std::string run_dir(const std::string& id) const;

private:
    struct Child {
        pid_t pid = 0;
        bool ours = false;        // spawned by this server (waitpid works) or reattached
        bool user_paused = false;
        bool yielding = false;    // stopped for a generation
        int exit_status = -1;     // once reaped
    };
    void supervise();
    void reattach();
    void write_job_file(const std::string& id) const;
    std::string state_of(const std::string& id) const;
    // Validated run config with absolute paths (ApiError 400 when invalid).
    Json checked_config(const Json& description, const std::string& out) const;

    TrainJobsOptions options_;
    std::function<bool()> generation_busy_;
    mutable std::mutex mu_;
    std::map<std::string, Child> children_;  // by run id
    std::atomic<bool> stop_{false};
    std::thread supervisor_;
};

}  // namespace moe::server
