// Expert ids on their way to the host, started the moment the router has chosen them.
//
// The MoE ops that group rows by expert (training, prefill) need the router's choice on the host.
// Read at the start of the op, that was a stream sync: the queue drained and the GPU sat idle
// while the host grouped the rows and launched the next kernels (26 × ~125 µs of a LoRA step,
// tools/gpu/trace/). Copied into page-locked memory right after the router kernel instead, the
// op waits for that copy alone, and whatever the graph queued in between (the shared expert)
// keeps the GPU busy while the host groups. The host copy stays readable afterwards, so the
// training graph's per-layer loads read the same ids without another copy or wait.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "cuda/device_buffer.h"
#include "model/tensor.h"

namespace moe::cuda {

class IdsReadback {
public:
    // Copies ids [T, K] (I32, device) to the host after the work queued so far on `stream`.
    void start(const Tensor& ids, const int32_t* device_ids, cudaStream_t stream);
    // The values of `ids` if start() copied them (waiting for that copy only, the first time),
    // else nothing. The tensor must not have been written since start() (router outputs are not).
    std::optional<std::vector<int32_t>> get(const Tensor& ids);

private:
    static constexpr size_t kMaxPending = 4;  // copies never read (routing only looked at) age out
    static constexpr size_t kMaxRead = 64;    // host copies kept after their first read (a step's layers)
    struct Pending {
        Tensor key;  // kept alive, so that its storage is not reused while its values are cached
        size_t count = 0;
        std::unique_ptr<PinnedBuffer> host;
        std::unique_ptr<Event> done;
    };
    struct Read {
        Tensor key;
        std::vector<int32_t> values;
    };
    void retire(Pending& p);  // waits for its copy, keeps its buffers for the next start()

    std::vector<Pending> pending_;  // oldest first
    std::deque<Read> read_;         // oldest first
    std::vector<std::unique_ptr<PinnedBuffer>> spare_host_;
    std::vector<std::unique_ptr<Event>> spare_events_;
};

}  // namespace moe::cuda
