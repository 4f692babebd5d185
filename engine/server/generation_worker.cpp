#include "server/generation_worker.h"

#include <algorithm>
#include <cmath>

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

}  // namespace

GenerationWorker::GenerationWorker(ModelManager& models, ServerStats& stats, size_t capacity,
                                   std::chrono::milliseconds token_delay)
    : ctx_{models, stats, token_delay}, capacity_(std::max<size_t>(capacity, 1)), thread_([this] { loop(); }) {}

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
    if (was_queued) job->abandon(cancelled_error());
}

void GenerationWorker::shutdown() {
    std::deque<Queued> dropped;
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && !thread_.joinable()) return;
        stopping_ = true;
        dropped.swap(queue_);
        if (running_) running_->cancel();
    }
    cv_.notify_all();
    for (auto& q : dropped) q.job->abandon(stopping_error());
    if (thread_.joinable()) thread_.join();
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
    if (running_) snap.running = QueueEntry{running_->label(), 0, ms_between(running_since_, now)};
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

void GenerationWorker::loop() {
    while (true) {
        std::shared_ptr<Job> job;
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            job = std::move(queue_.front().job);
            queue_.pop_front();
            publish_queue_length();
            running_ = job;
            running_since_ = Clock::now();
        }
        try {
            if (job->cancelled()) job->abandon(cancelled_error());
            else job->run(ctx_);  // jobs report their own errors ...
        } catch (...) {
            job->abandon(current_exception_error(std::current_exception()));  // ... but the thread must survive
        }
        std::lock_guard lock(mutex_);
        record_run_time(ms_between(running_since_, Clock::now()) / 1000.0);
        running_.reset();
    }
}

}  // namespace moe::server
