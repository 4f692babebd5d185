// A prefill MoE layer's routed experts with the rows grouped ON THE DEVICE: the router's expert
// ids never come to the host, so the layer queues without a stream sync and the GPU never waits
// for the host between the router and the expert GEMMs (26 such waits a moonlight prefill, 2–3 ms
// of idle GPU at 2048 tokens: docs/performance.md). The steps (kernels/expert_grouping.h,
// kernels/grouped_gemm.h): slots grouped by expert, inputs gathered to bf16 rows, ONE persistent
// grouped GEMM for gate|up with the SwiGLU epilogue writing the bf16 SwiGLU rows, ONE for down
// (f32 rows), and the combine that adds w_k · y_k per token in k order — the host path's numbers
// (engine/cuda/cuda_moe.cpp, moe_prefill) with its fused epilogue, without its sync.
#pragma once

#include <cstdint>

#include "cuda/cuda_context.h"
#include "model/backend.h"

namespace moe::cuda {

// Whether it can run E experts of hidden H and width I here: a wgmma GPU (the persistent grouped
// GEMM and its SwiGLU epilogue), H and I multiples of 8, E ≤ 1024, the expert GEMM mode auto or
// tiles (MOE_EXPERT_GEMM), and MOE_PREFILL_DEVICE_GROUPING=1 (read once). Opt-in: measured on an
// H100 (docs/performance.md, 2026-12-07 22:27) its first grouping kernels cost 5 ms of a moonlight
// prefill and saved 1–1.5 ms of idle GPU; the chunked kernels that replaced them are not measured yet.
bool device_grouped_prefill_available(int64_t E, int64_t H, int64_t I);

// out [T, H] = Σ_k w[t, k] · FFN_{ids[t, k]}(x[t]) (+ out's own values when accumulate) for x [T, H]
// f32 and routing's ids and weights [T, K]; gate_up bf16 [E, 2I, H] (gate rows then up rows per
// expert), down bf16 [E, H, I].
void device_grouped_prefill(DeviceContext& ctx, const Tensor& x, const RouterOutput& routing, const void* gate_up,
                            const void* down, int64_t E, int64_t I, Tensor& out, bool accumulate);

}  // namespace moe::cuda
