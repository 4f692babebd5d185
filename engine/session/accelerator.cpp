#include "session/accelerator.h"

#ifdef MOE_HAVE_CUDA
#include "cuda/cuda_backend.h"
#include "cuda/cuda_device.h"
#endif

namespace moe {

std::optional<Backend::DeviceMemory> probe_gpu_memory() {
#ifdef MOE_HAVE_CUDA
    std::string why_not;
    if (auto dev = cuda::probe_cuda_device(0, &why_not))
        return Backend::DeviceMemory{dev->name, uint64_t(dev->free_bytes), uint64_t(dev->total_bytes)};
#endif
    return std::nullopt;
}

std::string gpu_unavailable_reason() {
#ifdef MOE_HAVE_CUDA
    return cuda_unavailable_reason();
#else
    return "backend.unavailable: this build has no CUDA backend (nvcc was not found at build time)";
#endif
}

}  // namespace moe
