// fp8 routed experts on the device (cuda_fp8_experts.cpp): a checkpoint's e4m3 expert weights kept
// as stored, with their f32 block scales, so decode streams half the bytes of bf16 (kernels/moe_fp8.cu)
// and prefill dequantises one expert at a time for its GEMMs (cuda_moe.cpp).
#pragma once

#include <cstdint>

#include "cuda/cuda_storage.h"
#include "fp8.h"

namespace moe::cuda {

// The kernels' view of an fp8 set: gate_up as 2E matrices [inter, hidden], down as E [hidden, inter].
kernels::Fp8Stack gate_up_stack(const CudaExpertSetStorage& es);
kernels::Fp8Stack down_stack(const CudaExpertSetStorage& es);

// bf16 [E, 2I, H] / [E, H, I] for the training GEMMs: the set's own weights, or for an fp8 set a
// bf16 copy made once on `stream` (counted in the backend's weight bytes; warned about once).
const uint16_t* bf16_gate_up(const CudaExpertSetStorage& es, cudaStream_t stream);
const uint16_t* bf16_down(const CudaExpertSetStorage& es, cudaStream_t stream);

}  // namespace moe::cuda
