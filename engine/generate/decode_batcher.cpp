#include "generate/decode_batcher.h"

#include <algorithm>

#include "core/error.h"

namespace moe {

using Clock = std::chrono::steady_clock;

DecodeBatcher::DecodeBatcher(Model& model, std::chrono::microseconds max_wait) : model_(model), max_wait_(max_wait) {
    if (!model.supports_sequences())
        throw Error("engine.unsupported", "", "batched decoding needs a model that holds several sequences");
}

bool DecodeBatcher::batch_ready(Clock::time_point now) const {
    if (model_busy_ || waiting_.empty()) return false;
    return int64_t(waiting_.size()) >= members_ || now - first_wait_ >= max_wait_;
}

std::vector<float> DecodeBatcher::decode(int64_t sequence, int32_t token, int64_t pos) {
    Pending mine;
    mine.sequence = sequence;
    mine.token = token;
    mine.pos = pos;
    wait_for_step(mine);
    return std::move(mine.logits);
}

int32_t DecodeBatcher::decode_greedy(int64_t sequence, int32_t token, int64_t pos, int64_t vocab_limit) {
    Pending mine;
    mine.sequence = sequence;
    mine.token = token;
    mine.pos = pos;
    mine.greedy_limit = std::max<int64_t>(vocab_limit, 0);
    wait_for_step(mine);
    // A row whose limit differed from the step's other greedy rows got its logits instead.
    if (!mine.logits.empty()) return host_greedy_choice(mine.logits, mine.greedy_limit);
    return checked_greedy_id(mine.id);
}

void DecodeBatcher::wait_for_step(Pending& mine) {
    std::unique_lock lock(mutex_);
    if (waiting_.empty()) first_wait_ = Clock::now();
    waiting_.push_back(&mine);
    cv_.notify_all();  // this arrival may complete the batch another thread waits on
    while (!mine.done) {
        if (batch_ready(Clock::now())) {
            run_batch(lock);
            continue;
        }
        if (model_busy_ || waiting_.empty())
            cv_.wait(lock);
        else
            cv_.wait_until(lock, first_wait_ + max_wait_);
    }
    if (mine.error) std::rethrow_exception(mine.error);
}

void DecodeBatcher::run_batch(std::unique_lock<std::mutex>& lock) {
    std::vector<Pending*> batch;
    batch.swap(waiting_);
    model_busy_ = true;
    lock.unlock();
    std::exception_ptr error;
    const auto t0 = Clock::now();
    try {
        if (batch.size() == 1)
            step_alone(*batch[0]);
        else
            step_batched(batch);
    } catch (...) {
        error = std::current_exception();
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    lock.lock();
    for (Pending* p : batch) {
        p->error = error;
        p->done = true;
    }
    stats_.step_seconds += seconds;
    ++stats_.steps;
    stats_.rows += batch.size();
    stats_.max_rows = std::max(stats_.max_rows, int64_t(batch.size()));
    model_busy_ = false;
    // Rows that arrived during this step wait afresh for the rows it just released, which come
    // back at once: otherwise they would run at once, alone, and the members would settle into
    // two half-size batches taking turns.
    if (!waiting_.empty()) first_wait_ = Clock::now();
    cv_.notify_all();
}

// A row alone replays its sequence's own recorded step (on CUDA one graph per sequence, what a
// generation running without the batcher gets); a batched step cannot (its rows and their caches
// change from step to step), so one stream under the batcher decodes as fast as one without it.
void DecodeBatcher::step_alone(Pending& p) {
    struct Restore {
        Model& m;
        ~Restore() { m.select_sequence(0); }
    };
    model_.select_sequence(p.sequence);
    const Restore restore{model_};
    if (p.greedy_limit >= 0) {
        p.id = model_.forward_greedy(p.token, p.pos, p.greedy_limit);
        return;
    }
    p.logits = model_.forward(std::span(&p.token, 1), p.pos, LogitRows::Last).data;
}

void DecodeBatcher::step_batched(const std::vector<Pending*>& batch) {
    // The greedy rows that share the first one's vocabulary limit get their ids from the backend;
    // every other row gets its logits.
    int64_t limit = -1;
    for (const Pending* p : batch)
        if (p->greedy_limit >= 0) {
            limit = p->greedy_limit;
            break;
        }
    std::vector<Model::BatchRow> rows;
    for (const Pending* p : batch)
        rows.push_back({p->sequence, p->token, p->pos, limit < 0 || p->greedy_limit != limit});
    std::vector<int32_t> ids;
    const Logits logits = model_.decode_batch(rows, limit >= 0 ? &ids : nullptr, std::max<int64_t>(limit, 0));
    int64_t next_logits = 0;
    for (size_t b = 0; b < batch.size(); ++b) {
        if (rows[b].want_logits) {
            const auto row = logits.row(next_logits++);
            batch[b]->logits.assign(row.begin(), row.end());
        } else {
            batch[b]->id = ids.at(b);
        }
    }
}

void DecodeBatcher::exclusive(const std::function<void(Model&)>& f) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !model_busy_; });
    model_busy_ = true;
    lock.unlock();
    std::exception_ptr error;
    try {
        f(model_);
    } catch (...) {
        error = std::current_exception();
    }
    lock.lock();
    model_busy_ = false;
    if (!waiting_.empty()) first_wait_ = Clock::now();  // the caller (after a prefill) may join them
    cv_.notify_all();
    lock.unlock();
    if (error) std::rethrow_exception(error);
}

void DecodeBatcher::join() {
    std::lock_guard lock(mutex_);
    ++members_;
}

void DecodeBatcher::leave() {
    {
        std::lock_guard lock(mutex_);
        members_ = std::max<int64_t>(0, members_ - 1);
    }
    cv_.notify_all();  // the waiters may now be all the members left
}

DecodeBatcherStats DecodeBatcher::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

}  // namespace moe
