#include "cuda/ids_readback.h"

#include <algorithm>
#include <cstring>

namespace moe::cuda {

void IdsReadback::retire(Pending& p) {
    MOE_CUDA_CHECK(cudaEventSynchronize(p.done->get()));
    spare_host_.push_back(std::move(p.host));
    spare_events_.push_back(std::move(p.done));
}

void IdsReadback::start(const Tensor& ids, const int32_t* device_ids, cudaStream_t stream) {
    if (pending_.size() >= kMaxPending) {
        retire(pending_.front());
        pending_.erase(pending_.begin());
    }
    Pending p;
    p.key = ids;
    p.count = size_t(ids.numel());
    const size_t bytes = std::max<size_t>(p.count * 4, 4);
    auto fits = std::find_if(spare_host_.begin(), spare_host_.end(), [&](const auto& b) { return b->bytes() >= bytes; });
    if (fits != spare_host_.end()) {
        p.host = std::move(*fits);
        spare_host_.erase(fits);
    } else {
        p.host = std::make_unique<PinnedBuffer>(std::max<size_t>(bytes, size_t(64) << 10));
    }
    if (!spare_events_.empty()) {
        p.done = std::move(spare_events_.back());
        spare_events_.pop_back();
    } else {
        p.done = std::make_unique<Event>(cudaEventDisableTiming);
    }
    MOE_CUDA_CHECK(cudaMemcpyAsync(p.host->as<void>(), device_ids, p.count * 4, cudaMemcpyDeviceToHost, stream));
    MOE_CUDA_CHECK(cudaEventRecord(p.done->get(), stream));
    pending_.push_back(std::move(p));
}

std::optional<std::vector<int32_t>> IdsReadback::get(const Tensor& ids) {
    const auto same = [&](const Tensor& key) {
        return key.storage() == ids.storage() && key.numel() == ids.numel();
    };
    for (const Read& r : read_)
        if (same(r.key)) return r.values;
    auto it = std::find_if(pending_.begin(), pending_.end(), [&](const Pending& p) { return same(p.key); });
    if (it == pending_.end()) return std::nullopt;
    MOE_CUDA_CHECK(cudaEventSynchronize(it->done->get()));
    Read r{it->key, std::vector<int32_t>(it->count)};
    std::memcpy(r.values.data(), it->host->as<int32_t>(), it->count * 4);
    retire(*it);
    pending_.erase(it);
    if (read_.size() >= kMaxRead) read_.pop_front();
    read_.push_back(std::move(r));
    return read_.back().values;
}

}  // namespace moe::cuda
