// Device memory a run uses, measured (bench-train): memory allocated outside the stream-ordered
// pool since the meter was made (cudaMalloc'd weights, from cudaMemGetInfo less what the pool
// reserves) plus the pool's high-water mark of memory in use (F32 tensors: masters, gradients,
// moments, activations, workspaces). The sum is the allocation peak, comparable to PyTorch's
// torch.cuda.max_memory_allocated(); what the pool keeps cached on top is reported apart.
#pragma once

#include <cstddef>

#include "core/strict_json.h"

namespace moe::bench {

struct DeviceMemoryReading {
    double outside_pool = 0;        // bytes allocated outside the pool since the meter's baseline
    double pool_used_high = 0;      // the pool's in-use high-water mark since reset_peak()
    double pool_reserved_high = 0;  // what the pool held from the driver at most (cached blocks included)
    double device_used = 0;         // cudaMemGetInfo: total - free, everything on the device now
    double peak() const { return outside_pool + pool_used_high; }
    Json to_json() const;
};

class DeviceMemoryMeter {
public:
    // Synchronises the device, returns the pool's cached memory to the driver and takes the
    // baseline (what is outside the pool now is not the run's).
    DeviceMemoryMeter();
    // Restarts the pool's high-water marks (the next readings count from here).
    void reset_peak();
    DeviceMemoryReading read() const;

private:
    double baseline_outside_ = 0;
};

}  // namespace moe::bench
