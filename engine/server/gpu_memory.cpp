#include "server/gpu_memory.h"

#ifdef MOE_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace moe::server {

std::optional<GpuMemory> gpu_memory() {
#ifdef MOE_HAVE_CUDA
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
        (void)cudaGetLastError();  // leave no sticky error for the model's next call to find
        return std::nullopt;
    }
    return GpuMemory{int64_t(total_b - free_b), int64_t(total_b)};
#else
    return std::nullopt;
#endif
}

}  // namespace moe::server
