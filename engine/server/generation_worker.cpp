#include "server/generation_worker.h"

#include <algorithm>
#include <cmath>

#include "server/model_manager.h"
#include "server/server_stats.h"

namespace moe::server {
namespace {

ApiError stopping_error() {
    ApiError e;
    e.status = 503;
    e.code = "server_stopping";
    e.message = "the server is shutting down";
    return e;
}

double ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

ApiError cancelled_error() {
    ApiError e;
    e.status = 499;  // nginx's "client closed request": nobody is left to read it
    e.code = "cancelled";
    e.message = "the request was cancelled";
    return e;
}

void run_job(Job& job, WorkerContext& ctx) {
    try {
        if (job.cancelled()) job.abandon(cancelled_error());
        else job.run(ctx);  // jobs report their own errors ...
    } catch (...) {
        job.abandon(current_exception_error(std::current_exception()));  // ... but the thread must survive
    }
}

}  // namespace

GenerationWorker::GenerationWorker(ModelManager& models, ServerStats& stats, SpeculativeTelemetry& speculative,
                                   size_t capacity, std::chrono::milliseconds token_delay)
    : ctx_{models, stats, speculative, token_delay}, capacity_(std::max<size_t>(capacity, 1)), thread_([this] { loop(); }) {}

GenerationWorker::~GenerationWorker() { shutdown(); }

void GenerationWorker::publish_queue_length() { ctx_.stats.set_queued(int64_t(queue_.size())); }

GenerationWorker::Submit GenerationWorker::submit(std::shared_ptr<Job> job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return Submit::Stopping;
        if (queue_.size() >= capacity_) return Submit::Full;
        queue_.push_back({std::move(job), Clock::now()});
        publish_queue_length();
    }
    cv_.notify_one();
    return Submit::Queued;
}

void GenerationWorker::cancel(const std::shared_ptr<Job>& job) {
    job->cancel();
    bool was_queued = false;
    {
        std::lock_guard lock(mutex_);
        auto it = std::find_if(queue_.begin(), queue_.end(), [&](const Queued& q) { return q.job == job; });
        if (it != queue_.end()) {
            queue_.erase(it);
            was_queued = true;
            publish_queue_length();
        }
    }
    cv_.notify_all();  // the head may have left: the next one may start now
    if (was_queued) job->abandon(cancelled_error());
}

void GenerationWorker::shutdown() {
    std::deque<Queued> dropped;
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && !thread_.joinable()) return;
        stopping_ = true;
        dropped.swap(queue_);
        for (const Running& r : running_) r.job->cancel();
    }
    cv_.notify_all();
    for (auto& q : dropped) q.job->abandon(stopping_error());
    if (thread_.joinable()) thread_.join();  // the dispatcher joins the slot threads before it ends
}

size_t GenerationWorker::queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

QueueSnapshot GenerationWorker::snapshot() const {
    const auto now = Clock::now();
    std::lock_guard lock(mutex_);
    QueueSnapshot snap;
    snap.capacity = capacity_;
    for (const Running& r : running_) {
        snap.running_all.push_back(QueueEntry{r.job->label(), 0, ms_between(r.since, now)});
        snap.running_slots.push_back(r.slot);
    }
    if (!snap.running_all.empty()) snap.running = snap.running_all.front();
    for (const Queued& q : queue_) snap.waiting.push_back(QueueEntry{q.job->label(), ms_between(q.since, now), 0});
    return snap;
}

int GenerationWorker::retry_after_s() const {
    std::lock_guard lock(mutex_);
    return int(std::clamp(std::ceil(mean_run_s_), 1.0, 60.0));
}

void GenerationWorker::record_run_time(double seconds) {
    mean_run_s_ = mean_run_s_ <= 0 ? seconds : 0.8 * mean_run_s_ + 0.2 * seconds;
}

std::optional<int64_t> GenerationWorker::placement(const Job& head) {
    ModelRuntime* rt = ctx_.models.runtime();  // changed only by jobs that run alone, on this thread
    const size_t slots = rt ? rt->slots.size() : 0;
    const bool alone_running = std::any_of(running_.begin(), running_.end(), [](const Running& r) { return r.slot < 0; });
    if (!head.concurrent() || slots == 0) {
        if (running_.empty()) return -1;
        return std::nullopt;
    }
    if (alone_running) return std::nullopt;
    std::vector<bool> free(slots, true);
    for (const Running& r : running_) free[size_t(r.slot)] = false;
    const int64_t slot = rt->slots.choose(head.prompt(), free);
    if (slot < 0) return std::nullopt;
    return slot;
}

void GenerationWorker::finish(const std::shared_ptr<Job>& job) {
    const auto it = std::find_if(running_.begin(), running_.end(), [&](const Running& r) { return r.job == job; });
    if (it == running_.end()) return;
    record_run_time(ms_between(it->since, Clock::now()) / 1000.0);
    running_.erase(it);
}

void GenerationWorker::start_in_slot(std::shared_ptr<Job> job, int64_t slot) {
    running_.push_back({job, Clock::now(), slot});
    Runner& runner = runners_.emplace_back();
    runner.thread = std::thread([this, job = std::move(job), slot, &runner] {
        WorkerContext ctx = ctx_;
        GenerationSlots& slots = ctx_.models.runtime()->slots;
        ctx.slot = &slots.at(size_t(slot));
        {
            // A member while it runs: each batched step waits for it (at most max_wait).
            const DecodeBatcher::Member member(*slots.batcher());
            run_job(*job, ctx);
        }
        {
            std::lock_guard lock(mutex_);
            finish(job);
            runner.done = true;
        }
        cv_.notify_all();
    });
}

void GenerationWorker::run_alone(std::unique_lock<std::mutex>& lock, std::shared_ptr<Job> job) {
    running_.push_back({job, Clock::now(), -1});
    lock.unlock();
    run_job(*job, ctx_);
    lock.lock();
    finish(job);
}

void GenerationWorker::reap_runners() {
    for (auto it = runners_.begin(); it != runners_.end();) {
        if (!it->done) {
            ++it;
            continue;
        }
        it->thread.join();  // done: it only has to return
        it = runners_.erase(it);
    }
}

void GenerationWorker::loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        reap_runners();
        std::optional<int64_t> where;
        if (!queue_.empty()) where = placement(*queue_.front().job);
        if (!where) {
            cv_.wait(lock);  // a new job, a job that ended, a cancel, or the stop
            continue;
        }
        std::shared_ptr<Job> job = std::move(queue_.front().job);
        queue_.pop_front();
        publish_queue_length();
        if (*where >= 0)
            start_in_slot(std::move(job), *where);
        else
            run_alone(lock, std::move(job));
    }
    // Stopping: the running jobs were cancelled; wait for their threads.
    std::list<Runner> left;
    left.swap(runners_);
    lock.unlock();
    for (Runner& r : left) r.thread.join();
}

}  // namespace moe::server
