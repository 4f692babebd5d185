// Device queries made before any backend exists (`hub files` asks whether a model would fit on this
// machine's GPU). A loaded model's device is asked through Backend::device_memory() instead.
#pragma once

#include <optional>
#include <string>

#include "model/backend.h"

namespace moe {

// The GPU `--backend auto` would pick (device 0), with its free and total memory; nullopt in a
// build without CUDA or where no usable GPU is found (never throws).
std::optional<Backend::DeviceMemory> probe_gpu_memory();

// "" when `--backend cuda` can run here, else why not ("cuda.no_device: ...", or that this build
// has no CUDA backend).
std::string gpu_unavailable_reason();

}  // namespace moe
