// Device memory of the GPU the CUDA backend runs on, for the telemetry snapshot's "memory".
// Device-wide numbers (cudaMemGetInfo), as nvidia-smi shows them: other processes count too.
#pragma once

#include <cstdint>
#include <optional>

namespace moe::server {

struct GpuMemory {
    int64_t used_bytes = 0;
    int64_t total_bytes = 0;
};

// nullopt in a build without CUDA or when the query fails. Cheap: no device synchronisation.
std::optional<GpuMemory> gpu_memory();

}  // namespace moe::server
