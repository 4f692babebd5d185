// serve --parallel N: the sequences of the loaded model that plain generations decode in side by
// side (continuous batching, generate/decode_batcher.h). Each slot is one model sequence with its
// own Generator, so a chat that comes back to the slot it used reuses its cached prefix. Made when
// the model loads, as many as asked for and as the accelerator's memory allows (each slot's KV
// caches are allocated up front: a request never runs out of cache memory mid-way).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "generate/decode_batcher.h"
#include "generate/generator.h"
#include "generate/sequence_model.h"

namespace moe::server {

struct GenerationSlot {
    int64_t index = 0;  // 0..slots-1, for the status
    std::unique_ptr<SequenceModel> model;
    std::unique_ptr<Generator> generator;
    int64_t sequence() const { return model->sequence(); }
};

class GenerationSlots {
public:
    GenerationSlots() = default;
    // Up to `parallel` slots over `model` (none for parallel <= 1, or a model that holds one
    // sequence: every generation then runs alone on the model, as before). On an accelerator, a
    // slot is made only while the free memory stays above `reserve_bytes` after it (activations,
    // workspace); fewer than asked for is logged and reported by limit_reason().
    GenerationSlots(Model& model, int64_t parallel, uint64_t reserve_bytes, std::optional<uint64_t> free_bytes);
    ~GenerationSlots() { clear(); }
    GenerationSlots(GenerationSlots&& other) noexcept { *this = std::move(other); }
    GenerationSlots& operator=(GenerationSlots&& other) noexcept;
    // Removes the slots (their sequences, through the batcher) and then the batcher.
    void clear();

    size_t size() const { return slots_.size(); }
    GenerationSlot& at(size_t i) { return *slots_[i]; }
    int64_t requested() const { return requested_; }
    const std::string& limit_reason() const { return limit_reason_; }
    DecodeBatcher* batcher() { return batcher_.get(); }
    // The batched steps so far (zeros without slots).
    DecodeBatcherStats batch_stats() const { return batcher_ ? batcher_->stats() : DecodeBatcherStats{}; }

    // Of the free slots (free[i]: slot i is free), the one whose cached sequence shares the longest
    // prefix with `prompt` (ties: the lowest index); -1 when none is free.
    int64_t choose(std::span<const int32_t> prompt, const std::vector<bool>& free) const;

private:
    std::unique_ptr<DecodeBatcher> batcher_;
    std::vector<std::unique_ptr<GenerationSlot>> slots_;
    int64_t requested_ = 1;
    std::string limit_reason_;
};

}  // namespace moe::server
