// The model worker: one dispatcher thread takes queued jobs (generations, loads, unloads) in FIFO
// order. A job that needs the model to itself (a load, an unload, a speculative generation, any
// generation when the model has no generation slots) runs on the dispatcher once nothing else
// runs; a plain generation, when the model has slots (serve --parallel), runs on a thread of its
// own in a free slot, beside the others, their decode steps batched. The queue is bounded; a full
// queue is answered with 503 + Retry-After by the caller rather than piling up waiting clients.
// A cancelled job leaves the queue at once, so its place is free for the next request.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
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
    std::optional<QueueEntry> running;       // the longest-running job
    std::vector<QueueEntry> running_all;     // every running job, oldest first
    std::vector<int64_t> running_slots;      // each one's generation slot (-1: it has the model to itself)
    std::vector<QueueEntry> waiting;         // FIFO: waiting[0] runs next
};

class GenerationWorker {
public:
    GenerationWorker(ModelManager& models, ServerStats& stats, SpeculativeTelemetry& speculative, size_t capacity,
                     std::chrono::milliseconds token_delay = std::chrono::milliseconds(0));
    ~GenerationWorker();  // shutdown()
    GenerationWorker(const GenerationWorker&) = delete;
    GenerationWorker& operator=(const GenerationWorker&) = delete;

    enum class Submit { Queued, Full, Stopping };
    Submit submit(std::shared_ptr<Job> job);
    // Asks `job` to stop; a job still waiting is removed and abandoned without running.
    void cancel(const std::shared_ptr<Job>& job);
    // Abandons what waits, cancels what runs, joins the threads. Idempotent.
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
    struct Running {
        std::shared_ptr<Job> job;
        Clock::time_point since;
        int64_t slot = -1;  // -1: it has the model to itself
    };
    struct Runner {  // the thread of a job running in a slot
        std::thread thread;
        bool done = false;
    };
    void loop();
    // Caller holds mutex_: the slot the queue's head may start in now (-1: on the dispatcher, with
    // the model to itself), or nullopt when it must wait.
    std::optional<int64_t> placement(const Job& head);
    void start_in_slot(std::shared_ptr<Job> job, int64_t slot);  // caller holds mutex_
    void run_alone(std::unique_lock<std::mutex>& lock, std::shared_ptr<Job> job);
    void finish(const std::shared_ptr<Job>& job);  // caller holds mutex_
    void reap_runners();  // caller holds mutex_ (joins only threads that are done)
    void publish_queue_length();  // caller holds mutex_
    void record_run_time(double seconds);  // caller holds mutex_

    WorkerContext ctx_;
    const size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Queued> queue_;
    std::vector<Running> running_;  // oldest first
    std::list<Runner> runners_;
    double mean_run_s_ = 0;  // exponential moving average of the jobs' run times; 0 before the first
    bool stopping_ = false;
    std::thread thread_;  // last member: starts after everything it uses exists
};

}  // namespace moe::server
