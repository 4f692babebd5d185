// A lost GPU context. A sticky CUDA error — an illegal address, a failed launch, a kernel trap, an
// uncorrectable ECC error — leaves the process's CUDA context unusable: every later CUDA call fails
// until the process exits. Where CUDA errors become exceptions (cuda/cuda_check.cpp) such an error
// is also reported here; `serve` watches for it and, once the failing request has its answer,
// exits with kExitDeviceFault, so the workbench restarts the engine and loads the model again
// (rather than an engine that fails every later request).
#pragma once

#include <optional>
#include <string>

namespace moe {

inline constexpr int kExitDeviceFault = 3;

// Records the first fault (later ones describe the same loss). Thread-safe.
void report_device_fault(const std::string& what);

// The first fault's description, if one was reported.
std::optional<std::string> device_fault();

}  // namespace moe
