// SwiGLU FFN and the routed-expert mixture (CPU twin: engine/cpu/cpu_moe.cpp).
//   ffn(x) = down(silu(gate x) * up x);   moe(x) = Σ_k w_k · Expert_{id_k}(x) (+ shared(x))
// Decode (few tokens): two bandwidth-bound kernels for the whole block, the chosen routed experts
// AND the shared expert (or one dense FFN) together, the expert ids read on the device (no host
// round trip, CUDA-graph safe):
//   moe_decode gate/up: warp per hidden row of the concatenation [expert_0 | .. | expert_K-1 | shared]
//                       h = w_k · silu(g) u (the router weight folded in; 1 for the shared expert)
//   moe_decode down:    block per 8 output elements (t, j..j+7), one warp per expert (the shared
//                       expert's row cut into expert-sized pieces): Σ over all K + 1 experts' rows,
//                       each warp's 16-byte loads in flight at once and its slice of h read once for
//                       the 8 rows, the warps' sums added in a fixed order (deterministic, no
//                       atomics, no separate combine kernel).
// Prefill: tokens are permuted by expert (gather_rows_bf16), the active experts' gate|up and down
// projections run as cuBLAS GEMMs over their rows (engine/cuda/cuda_moe.cpp; gate|up written in
// bf16, silu_mul_bf16_to_bf16 in kernels/elementwise.h), and moe_combine adds the weighted expert
// outputs back per token in a fixed order (deterministic, no atomics).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "fp8.h"

namespace moe::kernels {

struct MoeDecodeArgs {
    const float* x = nullptr;          // [T, hidden]
    int64_t T = 0, hidden = 0;
    // Routed experts (top_k == 0: none): expert e's gate rows [inter, hidden] at gate_up + e * 2 inter
    // hidden, its up rows right after; down [E, hidden, inter].
    const int32_t* ids = nullptr;      // [T, top_k]
    const float* weights = nullptr;    // [T, top_k]
    int64_t top_k = 0, inter = 0;
    const uint16_t* gate_up = nullptr;
    const uint16_t* down = nullptr;
    // Or the routed experts as stored fp8 (gate_up8.w set; gate_up / down unused): gate_up8 the 2E
    // matrices [inter, hidden] (expert e's gate, then its up), down8 the E matrices [hidden, inter];
    // hidden and inter multiples of 16 (fp8_shape_ok). The kernels dequantise in registers.
    Fp8Stack gate_up8, down8;
    // The shared expert or a dense FFN (shared_inter == 0: none), weight 1.
    const uint16_t* s_gate = nullptr;  // [shared_inter, hidden]
    const uint16_t* s_up = nullptr;    // [shared_inter, hidden]
    const uint16_t* s_down = nullptr;  // [hidden, shared_inter]
    int64_t shared_inter = 0;
    float* h = nullptr;                // workspace [T, top_k * inter + shared_inter]
    float* out = nullptr;              // [T, hidden], overwritten
};
// Workspace floats moe_decode needs in `h`.
inline int64_t moe_decode_hidden_floats(const MoeDecodeArgs& a) { return a.T * (a.top_k * a.inter + a.shared_inter); }
cudaError_t moe_decode(const MoeDecodeArgs& a, cudaStream_t stream);
// moe_decode's kernels for fp8 routed experts (kernels/moe_fp8.cu): same outputs, same order of sums.
cudaError_t moe_decode_fp8(const MoeDecodeArgs& a, cudaStream_t stream);

// dst [n, cols] bf16 = src[rows[i]] (src f32 [*, cols]); rows[i] < 0 gives a zero row (padding).
cudaError_t gather_rows_bf16(const float* src, int64_t cols, const int32_t* rows, int64_t n, uint16_t* dst,
                             cudaStream_t stream);

// out [T, hidden] = Σ_k weights[t, k] · y[slot[t, k]] (y f32 [T * top_k, hidden]), k in order;
// weights nullptr: all 1 (the input gradient of the grouped rows, summed back per token).
// y_keep (bf16 [T * top_k, hidden], optional): the rows of y that slots name, copied in bf16 on the way.
// accumulate: out = out + Σ_k (the shared expert's output already there, added first).
cudaError_t moe_combine(const float* y, const int32_t* slot, const float* weights, int64_t T, int64_t top_k,
                        int64_t hidden, float* out, cudaStream_t stream, uint16_t* y_keep = nullptr,
                        bool accumulate = false);
// moe_combine over bf16 y rows (hidden % 4 == 0, y 8-byte and out 16-byte aligned, weights given).
cudaError_t moe_combine_bf16(const uint16_t* y, const int32_t* slot, const float* weights, int64_t T, int64_t top_k,
                             int64_t hidden, float* out, cudaStream_t stream, bool accumulate);

// ---- training (CpuBackend::swiglu*, moe_experts_train / _backward; engine/cuda/cuda_moe.cpp) ----

// h = silu(g) ⊙ u over n elements (f32).
cudaError_t swiglu_f32(const float* g, const float* u, int64_t n, float* h, cudaStream_t stream);
// dg = dh ⊙ u ⊙ silu'(g), du = dh ⊙ silu(g), with silu'(v) = σ(v)(1 + v(1 − σ(v))).
cudaError_t swiglu_backward_f32(const float* g, const float* u, const float* dh, int64_t n, float* dg, float* du,
                                cudaStream_t stream);
// The stacked layout of an expert set from F32 masters: gate_up [E, 2I, H] bf16 (expert e's gate
// rows, then its up rows) from gate, up [E·I, H].
cudaError_t stack_gate_up_bf16(const float* gate, const float* up, int64_t E, int64_t I, int64_t H, uint16_t* gate_up,
                               cudaStream_t stream);

// Rows grouped by expert (engine/cuda/expert_groups.h): row r carries token token_of[r] in slot
// slot_of_row[r] = t·K + k; padding rows have −1 in both and always come out zero. Dropout masks
// are the CPU's: element (slot, c) of a projection with input width `cols` uses
// rng::dropout_scale(seed, slot·cols + c, p); p = 0 means no mask.
// dst [n, cols] bf16 = x[token] ⊙ mask (x f32 [T, cols]): a LoRA's input rows.
cudaError_t gather_dropout_rows_bf16(const float* x, int64_t cols, const int32_t* token_of, const int32_t* slot_of_row,
                                     int64_t n, float p, uint64_t seed, uint16_t* dst, cudaStream_t stream);
// dst [n, cols] bf16 = src [n, cols] bf16 ⊙ mask (the down LoRA's input from the SwiGLU rows).
cudaError_t dropout_rows_bf16(const uint16_t* src, int64_t cols, const int32_t* slot_of_row, int64_t n, float p,
                              uint64_t seed, uint16_t* dst, cudaStream_t stream);
// acc [n, cols] += add [n, cols] ⊙ mask (f32): a LoRA input gradient back through its dropout.
cudaError_t masked_add_rows_f32(float* acc, const float* add, int64_t cols, const int32_t* slot_of_row, int64_t n,
                                float p, uint64_t seed, cudaStream_t stream);
// dst [n, H] bf16 = weights[slot] · dy[token] (dy f32 [T, H], weights [T·K]): the expert rows' output gradient.
cudaError_t scale_rows_by_slot_bf16(const float* dy, int64_t H, const int32_t* token_of, const int32_t* slot_of_row,
                                    const float* weights, int64_t n, uint16_t* dst, cudaStream_t stream);
// d_weights[slot] = dy[token] · y[r] (y [n, H] f32, or bf16 bits: the rows a training forward
// kept) for every non-padding row r; a warp per row.
cudaError_t slot_dots(const float* dy, const float* y, int64_t H, const int32_t* token_of, const int32_t* slot_of_row,
                      int64_t n, float* d_weights, cudaStream_t stream);
cudaError_t slot_dots(const float* dy, const uint16_t* y, int64_t H, const int32_t* token_of,
                      const int32_t* slot_of_row, int64_t n, float* d_weights, cudaStream_t stream);
// dgu [n, 2I] bf16 = [dh ⊙ u ⊙ silu'(g) | dh ⊙ silu(g)] from gu = [g | u] [n, 2I] (f32, or bf16
// bits: the rows a training forward kept) and dh [n, I] f32.
cudaError_t swiglu_backward_rows_bf16(const float* gu, const float* dh, int64_t n, int64_t I, uint16_t* dgu,
                                      cudaStream_t stream);
cudaError_t swiglu_backward_rows_bf16(const uint16_t* gu, const float* dh, int64_t n, int64_t I, uint16_t* dgu,
                                      cudaStream_t stream);

}  // namespace moe::kernels
