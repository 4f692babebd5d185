// fp8 checkpoints on the device (cuda_fp8_experts.cpp): the routed experts' e4m3 weights kept as
// stored, with their f32 block scales, so decode streams half the bytes of bf16 (kernels/moe_fp8.cu)
// and prefill dequantises one expert at a time for its GEMMs (cuda_moe.cpp); the other matrices
// dequantised to bf16 on the device at load.
#pragma once

#include <cstdint>

#include "cuda/cuda_storage.h"
#include "fp8.h"

namespace moe {
class WeightMatrix;
}

namespace moe::cuda {

// The kernels' view of an fp8 set: gate_up as 2E matrices [inter, hidden], down as E [hidden, inter].
kernels::Fp8Stack gate_up_stack(const CudaExpertSetStorage& es);
kernels::Fp8Stack down_stack(const CudaExpertSetStorage& es);

// bf16 [E, 2I, H] / [E, H, I] for the training GEMMs: the set's own weights, or for an fp8 set a
// bf16 copy made once on `stream` (counted in the backend's weight bytes; warned about once).
const uint16_t* bf16_gate_up(const CudaExpertSetStorage& es, cudaStream_t stream);
const uint16_t* bf16_down(const CudaExpertSetStorage& es, cudaStream_t stream);

// An fp8 checkpoint's other matrices (attention, router, shared experts, dense layers, lm_head:
// e4m3 with block scales, in a shape the kernels take) dequantised to bf16 on the device into dst
// [rows, cols] bf16: the bytes and scales copied as stored (half of bf16's bytes, no pass through
// f32 on the host), the same rounding as WeightMatrix::rows_f32 then bf16. False, nothing done, for
// any other matrix (load_weight converts those on the host).
bool dequantise_fp8_on_device(const WeightMatrix& w, uint16_t* dst, cudaStream_t stream);

}  // namespace moe::cuda
