// The wgmma (sm_90a) bodies of kernels/grouped_gemm.h's variants 6–9, compiled for sm_90a only
// (kernels/CMakeLists.txt); grouped_gemm_bf16 calls them on a compute-capability-9.0 device and runs
// the same-shaped mma.sync tile (variant 0 or 2) anywhere else.
#pragma once

#include <cuda_runtime.h>

#include "grouped_gemm.h"

namespace moe::kernels {

// Any of the four wgmma variants (6–9); the persistent ones (8, 9) go to grouped_gemm_wgmma_ws_bf16.
cudaError_t grouped_gemm_wgmma_bf16(const GroupedGemmArgs& args, cudaStream_t stream);
cudaError_t grouped_gemm_wgmma_ws_bf16(const GroupedGemmArgs& args, cudaStream_t stream);
// grouped_gemm_tma_ready's answer on a wgmma device.
bool grouped_gemm_wgmma_ws_tma_ready(const GroupedGemmArgs& args);

}  // namespace moe::kernels
