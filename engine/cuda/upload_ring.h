// Host-to-device copies that never make the host wait for the GPU.
//
// From pageable memory, cudaMemcpyAsync synchronises the stream before it copies (CUDA's
// documented behaviour for pageable host-to-device transfers), so every small upload in a
// training step (grouped-GEMM pointer tables, token ids, row indices) drained the whole queue and
// left the GPU idle while the host caught up: 10 ms of a 155 ms LoRA step (tools/gpu/trace/).
// The ring stages the bytes in page-locked memory instead and copies from there; an event after
// each copy says when its bytes may be overwritten. The host waits only when the ring wraps onto
// copies the GPU has not reached yet.
#pragma once

#include <cuda_runtime.h>

#include <array>
#include <cstddef>
#include <memory>
#include <mutex>

#include "cuda/device_buffer.h"

namespace moe::cuda {

class UploadRing {
public:
    explicit UploadRing(size_t capacity_bytes) : capacity_(capacity_bytes) {}
    UploadRing(const UploadRing&) = delete;
    UploadRing& operator=(const UploadRing&) = delete;

    // Copies `bytes` from host `src` to device `dst` in the order of `stream`; `src` may be reused
    // as soon as this returns. Copies larger than the ring, and copies while `stream` is being
    // captured into a graph (a graph would read the ring again at every replay), go directly.
    void copy(void* dst, const void* src, size_t bytes, cudaStream_t stream);

private:
    static constexpr size_t kSlots = 128;  // copies in flight before the oldest must be done
    static constexpr size_t kAlign = 256;
    struct Slot {
        size_t begin = 0, end = 0;
        bool live = false;
    };
    void retire_overlapping(size_t begin, size_t end);

    size_t capacity_;
    std::unique_ptr<PinnedBuffer> staging_;  // made on the first copy
    std::array<Slot, kSlots> slots_{};
    std::array<std::unique_ptr<Event>, kSlots> events_{};
    size_t head_ = 0;       // next free byte of the ring
    size_t next_slot_ = 0;  // slots are used round-robin
    std::mutex mutex_;
};

}  // namespace moe::cuda
