#include "cuda/upload_ring.h"

#include <cstring>

namespace moe::cuda {

void UploadRing::retire_overlapping(size_t begin, size_t end) {
    for (size_t i = 0; i < kSlots; ++i) {
        Slot& s = slots_[i];
        if (!s.live || s.end <= begin || s.begin >= end) continue;
        MOE_CUDA_CHECK(cudaEventSynchronize(events_[i]->get()));  // at once if the copy is done
        s.live = false;
    }
}

void UploadRing::copy(void* dst, const void* src, size_t bytes, cudaStream_t stream) {
    if (bytes == 0) return;
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    MOE_CUDA_CHECK(cudaStreamIsCapturing(stream, &capture));
    if (bytes > capacity_ || capture != cudaStreamCaptureStatusNone) {
        MOE_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
        return;
    }
    const std::lock_guard<std::mutex> lock(mutex_);
    if (!staging_) staging_ = std::make_unique<PinnedBuffer>(capacity_);
    if (head_ + bytes > capacity_) head_ = 0;
    const size_t begin = head_, end = begin + bytes;
    retire_overlapping(begin, end);
    const size_t slot = next_slot_;
    next_slot_ = (next_slot_ + 1) % kSlots;
    if (slots_[slot].live) retire_overlapping(slots_[slot].begin, slots_[slot].end);  // its event is reused
    if (!events_[slot]) events_[slot] = std::make_unique<Event>(cudaEventDisableTiming);
    unsigned char* staged = staging_->as<unsigned char>() + begin;
    std::memcpy(staged, src, bytes);
    MOE_CUDA_CHECK(cudaMemcpyAsync(dst, staged, bytes, cudaMemcpyHostToDevice, stream));
    MOE_CUDA_CHECK(cudaEventRecord(events_[slot]->get(), stream));
    slots_[slot] = Slot{begin, end, true};
    head_ = (end + kAlign - 1) / kAlign * kAlign;
}

}  // namespace moe::cuda
