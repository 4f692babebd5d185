// CudaBackend::device_memory: what telemetry reports as the GPU's memory while a model runs.
#include <cuda_runtime.h>

#include "cuda/cuda_backend.h"

namespace moe {

std::optional<Backend::DeviceMemory> CudaBackend::device_memory() const {
    const cuda::CudaDeviceInfo& dev = device();
    // The caller may be any thread (an HTTP handler): make this backend's GPU its current device.
    size_t free_b = 0, total_b = 0;
    if (cudaSetDevice(dev.index) != cudaSuccess || cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
        (void)cudaGetLastError();  // leave no sticky error for the model's next call to find
        return std::nullopt;
    }
    return DeviceMemory{dev.name, uint64_t(free_b), uint64_t(total_b)};
}

}  // namespace moe
