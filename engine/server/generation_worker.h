// The single model worker: one thread runs queued jobs (generations, loads, unloads) one at a time,
// because one model and one KV cache serve one sequence at a time. The queue is bounded; a full
// queue is answered with 503 + Retry-After by the caller rather than piling up waiting clients.
// A cancelled job leaves the queue at once, so its slot is free for the next request.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "server/job.h"

namespace moe::server {

// The queue as GET /workbench/v1/status shows it.
struct QueueEntry {
    JobLabel label;
    double waiting_ms = 0;  // since it was queued
    double running_ms = 0;  // since it started (the running job only)
};
struct QueueSnapshot {
    size_t capacity = 0;
    std::optional<QueueEntry> running;
    std::vector<QueueEntry> waiting;  // FIFO: waiting[0] runs next
};

class GenerationWorker {
public:
    GenerationWorker(ModelManager& models, ServerStats& stats, size_t capacity,
                     std::chrono::milliseconds token_delay = std::chrono::milliseconds(0));
    ~GenerationWorker();  // shutdown()
    GenerationWorker(const GenerationWorker&) = delete;
    GenerationWorker& operator=(const GenerationWorker&) = delete;

    enum class Submit { Queued, Full, Stopping };
    Submit submit(std::shared_ptr<Job> job);
    // Asks `job` to stop; a job still waiting is removed and abandoned without running.
    void cancel(const std::shared_ptr<Job>& job);
    // Abandons what waits, cancels what runs, joins the thread. Idempotent.
    void shutdown();

    size_t queued() const;
    size_t capacity() const { return capacity_; }
    QueueSnapshot snapshot() const;
    // The Retry-After a full queue answers with: the recent jobs' mean run time, in whole seconds,
    // 1..60 (1 before any job ran). A hint: the job running now may end sooner or later.
    int retry_after_s() const;

private:
    using Clock = std::chrono::steady_clock;
    struct Queued {
        std::shared_ptr<Job> job;
        Clock::time_point since;
    };
    void loop();
    void publish_queue_length();  // caller holds mutex_
    void record_run_time(double seconds);  // caller holds mutex_

    WorkerContext ctx_;
    const size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Queued> queue_;
    std::shared_ptr<Job> running_;
    Clock::time_point running_since_{};
    double mean_run_s_ = 0;  // exponential moving average of the jobs' run times; 0 before the first
    bool stopping_ = false;
    std::thread thread_;  // last member: starts after everything it uses exists
};

}  // namespace moe::server
