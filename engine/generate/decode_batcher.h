// Continuous batching over one Model: several generations, each on its own thread with its own
// Generator over a SequenceModel (generate/sequence_model.h: one sequence of the shared model),
// meet here for their one-token decode steps, which run together as one Model::decode_batch —
// the weights are read once per step for every stream instead of once per stream. Anything else
// a generation does with the model (its prefill, a rollback) runs with the model to itself
// between batches (exclusive()).
//
// When a step runs: as soon as every member (a generation past its prefill, join()..leave()) is
// waiting, or when the first waiter has waited max_wait — so a member busy elsewhere (its prefill,
// slow host work) delays the others by at most that. Whichever waiting thread finds the batch
// ready runs it; requests may join and leave between any two steps.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <vector>

#include "model/model.h"

namespace moe {

struct DecodeBatcherStats {
    uint64_t steps = 0;     // decode steps run (a row alone, or decode_batch)
    uint64_t rows = 0;      // rows over those calls (rows / steps: the mean batch)
    int64_t max_rows = 0;   // the largest batch
    double step_seconds = 0;  // wall time inside the model's steps (the rest: host work and waiting)
};

class DecodeBatcher {
public:
    // The model must support sequences (Model::supports_sequences) and outlive the batcher.
    explicit DecodeBatcher(Model& model, std::chrono::microseconds max_wait = std::chrono::microseconds(2000));
    DecodeBatcher(const DecodeBatcher&) = delete;
    DecodeBatcher& operator=(const DecodeBatcher&) = delete;

    // Runs `token` at `pos` of `sequence` in the next batched step; blocks until that step ran and
    // returns the row's logits [vocab]. Rethrows what the step threw (every row of it gets it).
    std::vector<float> decode(int64_t sequence, int32_t token, int64_t pos);
    // The same row, for its greedy choice among ids [0, vocab_limit) only (0: all): chosen on the
    // backend with the step's other greedy rows, so one id comes back instead of a [vocab] row.
    // Throws "model.no_finite_logit" when the row has no finite logit.
    int32_t decode_greedy(int64_t sequence, int32_t token, int64_t pos, int64_t vocab_limit);

    // Runs f() with the model to itself: no batch runs meanwhile.
    void exclusive(const std::function<void(Model&)>& f);

    // A generation that takes decode steps, for as long as it lives: the batcher waits for every
    // member to arrive before it runs a step (or max_wait). Leaving wakes the waiters, who may now
    // be everyone.
    class Member {
    public:
        explicit Member(DecodeBatcher& b) : batcher_(b) { batcher_.join(); }
        ~Member() { batcher_.leave(); }
        Member(const Member&) = delete;
        Member& operator=(const Member&) = delete;

    private:
        DecodeBatcher& batcher_;
    };

    DecodeBatcherStats stats() const;
    Model& model() { return model_; }

private:
    struct Pending {
        int64_t sequence = 0;
        int32_t token = 0;
        int64_t pos = 0;
        int64_t greedy_limit = -1;  // >= 0: only the greedy id among the first greedy_limit ids (0: all)
        std::vector<float> logits;  // the row's logits, when it wanted them
        int32_t id = -1;            // the greedy id, when it wanted only that
        std::exception_ptr error;
        bool done = false;
    };
    // Waits until `mine` ran in a step (running the step itself when it finds it ready).
    void wait_for_step(Pending& mine);
    // Caller holds `lock`; runs the waiting rows as one step with the lock released meanwhile.
    void run_batch(std::unique_lock<std::mutex>& lock);
    void step_alone(Pending& p);                          // model_busy_ held, lock released
    void step_batched(const std::vector<Pending*>& batch);  // likewise
    bool batch_ready(std::chrono::steady_clock::time_point now) const;  // caller holds mutex_
    void join();
    void leave();

    Model& model_;
    const std::chrono::microseconds max_wait_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<Pending*> waiting_;
    std::chrono::steady_clock::time_point first_wait_{};
    int64_t members_ = 0;
    bool model_busy_ = false;  // a batch or an exclusive() call holds the model
    DecodeBatcherStats stats_;
};

}  // namespace moe
