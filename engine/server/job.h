// Work for the model worker: generations, model loads and unloads share one FIFO queue. Model
// jobs and speculative generations need the model to themselves; plain generations may run side
// by side in generation slots (serve --parallel, server/generation_slots.h).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include "server/api_error.h"

namespace moe::server {

class ModelManager;
class ServerStats;
class SpeculativeTelemetry;
struct GenerationSlot;

struct WorkerContext {
    ModelManager& models;
    ServerStats& stats;
    SpeculativeTelemetry& speculative;
    std::chrono::milliseconds token_delay{0};  // test-only throttle (serve --test-token-delay-ms)
    // The slot a concurrent job runs in (its generator, on its own model sequence); null: the job
    // has the model to itself.
    GenerationSlot* slot = nullptr;
};

// What GET /workbench/v1/status shows of a queued or running job, so that a client can find its
// request in the queue.
struct JobLabel {
    std::string kind;        // "chat.completion" | "text_completion" | "model.load" | "model.unload"
    std::string id;          // a generation's response id ("chatcmpl-..."); "" for model jobs
    std::string request_id;  // the client's X-Request-Id header; "" without one
};

class Job {
public:
    virtual ~Job() = default;
    // On the worker thread. Reports its own results and errors to whoever waits for it.
    virtual void run(WorkerContext& ctx) = 0;
    // The job will never run (cancelled while queued, or the server is stopping).
    virtual void abandon(const ApiError& why) = 0;
    // Whether it may run beside other such jobs, in a generation slot, when the model has slots.
    virtual bool concurrent() const { return false; }
    // Its prompt: a concurrent job goes to the free slot whose cache shares the longest prefix.
    virtual std::span<const int32_t> prompt() const { return {}; }

    // Any thread: asks the job to stop at its next check (between tokens).
    void cancel() { cancelled_.store(true); }
    bool cancelled() const { return cancelled_.load(); }

    // Set before the job is submitted; constant afterwards.
    void set_label(JobLabel label) { label_ = std::move(label); }
    const JobLabel& label() const { return label_; }

private:
    std::atomic<bool> cancelled_{false};
    JobLabel label_;
};

}  // namespace moe::server
