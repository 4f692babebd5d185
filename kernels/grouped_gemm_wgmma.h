// The wgmma (sm_90a) body of kernels/grouped_gemm.h's variant kGroupedWgmma, compiled for sm_90a
// only (kernels/CMakeLists.txt); grouped_gemm_bf16 calls it on a compute-capability-9.0 device and
// runs the same-shaped mma.sync tile (variant 0) anywhere else.
#pragma once

#include <cuda_runtime.h>

#include "grouped_gemm.h"

namespace moe::kernels {

cudaError_t grouped_gemm_wgmma_bf16(const GroupedGemmArgs& args, cudaStream_t stream);

}  // namespace moe::kernels
