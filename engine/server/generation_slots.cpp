#include "server/generation_slots.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace moe::server {

GenerationSlots::GenerationSlots(Model& model, int64_t parallel, uint64_t reserve_bytes,
                                 std::optional<uint64_t> free_bytes)
    : requested_(std::max<int64_t>(parallel, 1)) {
    if (parallel <= 1) return;
    if (!model.supports_sequences()) {
        limit_reason_ = "this model holds one sequence only, so generations run one at a time";
        spdlog::warn("serve --parallel {}: {}", parallel, limit_reason_);
        return;
    }
    batcher_ = std::make_unique<DecodeBatcher>(model);
    const auto per_slot = uint64_t(model.sequence_cache_bytes());
    for (int64_t i = 0; i < parallel; ++i) {
        if (free_bytes && *free_bytes < per_slot * uint64_t(i + 1) + reserve_bytes) {
            limit_reason_ = "the accelerator's free memory holds the KV caches of " + std::to_string(i) +
                            " concurrent generations (" + std::to_string(per_slot >> 20) + " MiB each, " +
                            std::to_string(reserve_bytes >> 20) + " MiB kept free)";
            spdlog::warn("serve --parallel {}: {}", parallel, limit_reason_);
            break;
        }
        auto slot = std::make_unique<GenerationSlot>();
        slot->index = i;
        slot->model = std::make_unique<SequenceModel>(*batcher_);
        slot->generator = std::make_unique<Generator>(*slot->model);
        slots_.push_back(std::move(slot));
    }
    if (slots_.size() < 2) slots_.clear();  // one slot is no better than the model itself
}

void GenerationSlots::clear() {
    slots_.clear();  // each slot removes its sequence through the batcher: it must still exist
    batcher_.reset();
}

GenerationSlots& GenerationSlots::operator=(GenerationSlots&& other) noexcept {
    if (this == &other) return *this;
    clear();
    slots_ = std::move(other.slots_);
    batcher_ = std::move(other.batcher_);
    requested_ = other.requested_;
    limit_reason_ = std::move(other.limit_reason_);
    return *this;
}

int64_t GenerationSlots::choose(std::span<const int32_t> prompt, const std::vector<bool>& free) const {
    int64_t best = -1;
    size_t best_common = 0;
    for (size_t i = 0; i < slots_.size() && i < free.size(); ++i) {
        if (!free[i]) continue;
        const std::vector<int32_t>& cached = slots_[i]->generator->cached_sequence();
        size_t common = 0;
        while (common < cached.size() && common < prompt.size() && cached[common] == prompt[common]) ++common;
        if (best < 0 || common > best_common) {
            best = int64_t(i);
            best_common = common;
        }
    }
    return best;
}

}  // namespace moe::server
